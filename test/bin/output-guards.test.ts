/**
 * No command deletes what it did not write: output folders and report files are guarded, and
 * every refusal is one line in the usual form with exit 1, changing nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { OUTPUT_MARKER } from "../../bin/output";
import { runCli } from "../support/cli";
import { baseInput, snapshotTree, tempDir, useEnvironmentsDir, writeEnvFiles } from "../support/env";

const snapshot = snapshotTree;

/** A folder that looks like a user's project: sources, a .git folder, a README. */
function fakeProject(dir: string): string {
  fs.mkdirSync(path.join(dir, ".git", "objects"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  fs.writeFileSync(path.join(dir, "README.md"), "# mine\n");
  fs.writeFileSync(path.join(dir, "package.json"), "{}\n");
  return dir;
}

describe("output guards", () => {
  const envDir = tempDir("guard-envs");
  useEnvironmentsDir(envDir);
  const work = tempDir("guard-work");
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it("refuses synth --out . in a project folder, deleting nothing", async () => {
    const project = fakeProject(path.join(work, "project"));
    const before = snapshot(project);
    process.chdir(project);
    const r = await runCli("synth", "--out", ".");
    expect(r.code).toBe(1);
    expect(r.err).toContain('--out: is the folder this command runs in, or holds it (got "."). Choose a folder that is missing, empty, or a previous flowlog-kit output');
    expect(snapshot(project)).toEqual(before);
    expect(fs.readdirSync(work).filter((f) => f.includes(".tmp-") || f.includes(".old-"))).toEqual([]);
  });

  it.each<[string, (dir: string) => string, string]>([
    ["a folder holding a project (.git and sources)", (d) => fakeProject(path.join(d, "p")), "--out: the folder holds files flowlog-kit did not write, which it will not replace (got"],
    ["the environments folder", () => envDir, "--out: the folder holds files flowlog-kit did not write"],
    [
      "an existing regular file",
      (d) => {
        fs.writeFileSync(path.join(d, "notes.txt"), "keep me\n");
        return path.join(d, "notes.txt");
      },
      "--out: is a file, not an output folder (got",
    ],
    ["a folder with one stray file", (d) => (fs.mkdirSync(path.join(d, "stray")), fs.writeFileSync(path.join(d, "stray", "x"), "x"), path.join(d, "stray")), 'with 1 entry: x). Choose'],
  ])("refuses synth --out <%s>, changing nothing", async (_what, make, message) => {
    const base = fs.mkdtempSync(path.join(work, "case-"));
    const target = make(base);
    const watch = fs.statSync(target).isDirectory() ? target : base;
    const before = snapshot(watch);
    const r = await runCli("synth", "--out", target);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(snapshot(watch)).toEqual(before);
  });

  it("refuses compliance --synth-out <a folder with other files>, naming the option", async () => {
    const target = fakeProject(path.join(work, "synth-out"));
    const before = snapshot(target);
    const r = await runCli("compliance", "--synth-out", target);
    expect(r.code).toBe(1);
    expect(r.err).toContain("--synth-out: the folder holds files flowlog-kit did not write");
    expect(snapshot(target)).toEqual(before);
  });

  it("writes into a missing or empty folder, marks it, and replaces its own previous output", async () => {
    const empty = path.join(work, "empty");
    fs.mkdirSync(empty);
    expect((await runCli("synth", "dev", "--out", empty)).code).toBe(0);
    expect(fs.existsSync(path.join(empty, OUTPUT_MARKER))).toBe(true);
    const r = await runCli("synth", "--out", empty);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(empty, "stacks")).sort()).toEqual(["flowlogs-archive-log-archive", "flowlogs-dev", "flowlogs-prod", "flowlogs-stg"]);
    const missing = path.join(work, "not", "yet", "there");
    expect((await runCli("synth", "dev", "--out", missing)).code).toBe(0);
    expect(fs.readdirSync(path.join(work, "not", "yet")).sort()).toEqual(["there"]);
  });

  it("replaces an output written by an earlier version (cdktf manifest and stacks/ only, no marker)", async () => {
    const earlier = path.join(work, "earlier");
    fs.mkdirSync(path.join(earlier, "stacks", "flowlogs-old"), { recursive: true });
    fs.writeFileSync(path.join(earlier, "manifest.json"), JSON.stringify({ version: "0.21.0", stacks: {} }));
    expect((await runCli("synth", "dev", "--out", earlier)).code).toBe(0);
    expect(fs.readdirSync(path.join(earlier, "stacks"))).toEqual(["flowlogs-dev"]);
  });

  it.each<[string, string[], string]>([
    ["synth --out /proc/x", ["synth", "--out", "/proc/flowlog-kit-x"], '--out: cannot write there: a folder on the way does not exist and cannot be created (got "/proc/flowlog-kit-x"). Choose a folder you can write to'],
    ["plan --out /proc/x", ["plan", "dev", "--offline", "--out", "/proc/flowlog-kit-x"], '--out: cannot write there: a folder on the way does not exist and cannot be created (got "/proc/flowlog-kit-x")'],
    ["compliance --out /proc/x/r.md", ["compliance", "dev", "--out", "/proc/flowlog-kit-x/r.md"], '--out: cannot write there: a folder on the way does not exist and cannot be created (got "/proc/flowlog-kit-x/r.md"). Give a file path'],
    ["compliance --out /proc/r.md", ["compliance", "dev", "--out", "/proc/r.md"], '--out: cannot write there: a folder on the way does not exist and cannot be created (got "/proc/r.md")'],
  ])("reports %s in one line, exit 1, no stack trace", async (_what, args, message) => {
    const synthOut = ["compliance"].includes(args[0]!) ? ["--synth-out", path.join(work, `so-${args.length}`)] : [];
    const r = await runCli(...args, ...synthOut);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("refuses compliance --out <existing folder> and leaves no temporary file", async () => {
    const folder = path.join(work, "reports");
    fs.mkdirSync(folder);
    const r = await runCli("compliance", "dev", "--out", folder, "--synth-out", path.join(work, "so-folder"));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--out: is a folder, not a file (got "${folder}"). Give a file path`);
    expect(fs.readdirSync(folder)).toEqual([]);
    expect(fs.readdirSync(work).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses compliance --out <an existing file that is not a report>, keeping it; replaces an earlier report", async () => {
    const config = path.join(work, "dev.ts");
    fs.writeFileSync(config, "export default {};\n");
    const r = await runCli("compliance", "dev", "--out", config, "--synth-out", path.join(work, "so-config"));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--out: the file exists and is not an earlier report of this command, so it is kept (got "${config}"). Give a new file name, or delete the file yourself if it may go.`);
    expect(fs.readFileSync(config, "utf8")).toBe("export default {};\n");
    // Refused before synthesizing anything.
    expect(fs.existsSync(path.join(work, "so-config"))).toBe(false);
    for (const format of ["md", "json", "html", "table"]) {
      const report = path.join(work, `report.${format}`);
      expect((await runCli("compliance", "dev", "--format", format, "--out", report, "--synth-out", path.join(work, "so-report"))).code).toBe(0);
      expect((await runCli("compliance", "dev", "--format", format, "--out", report, "--synth-out", path.join(work, "so-report"))).code).toBe(0);
    }
  });

  it("refuses compliance --out <file>/r.md, keeping the file", async () => {
    const file = path.join(work, "plain.txt");
    fs.writeFileSync(file, "mine\n");
    const r = await runCli("compliance", "dev", "--out", path.join(file, "r.md"), "--synth-out", path.join(work, "so-file"));
    expect(r.code).toBe(1);
    expect(r.err).toContain("--out: cannot write there: a part of the path is a file, not a folder");
    expect(fs.readFileSync(file, "utf8")).toBe("mine\n");
  });

  it("refuses a local state path inside the output folder, which the next synth would delete", async () => {
    const stateDir = tempDir("guard-state-envs");
    writeEnvFiles(stateDir, { qa: baseInput({ name: "qa", backend: { type: "local", path: "terraform.tfstate" } }) });
    const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
    process.env.FLOWLOG_KIT_ENVIRONMENTS = stateDir;
    try {
      const out = path.join(work, "state-inside");
      const r = await runCli("synth", "--out", out);
      expect(r.code).toBe(1);
      expect(r.err).toContain(
        `qa.backend.path: puts flowlogs-qa's Terraform state inside the output folder, which every synth replaces (got "terraform.tfstate"). Point it outside the output folder (paths are relative to state-inside/stacks/flowlogs-qa), e.g. "../../../terraform.flowlogs-qa.tfstate", or leave it out for that default.`,
      );
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
    }
  });

  it("prints the version from package.json", async () => {
    const r = await runCli("--version");
    expect(r.out.trim()).toBe(require("../../package.json").version);
  });
});
