import * as fs from "fs";
import * as path from "path";
import { runCli } from "../support/cli";
import { baseInput, snapshotTree, tempDir, useEnvironmentsDir, writeEnvFiles } from "../support/env";

const snapshot = snapshotTree;

describe("flowlog-kit synth", () => {
  const envDir = tempDir("envs");
  const work = tempDir("out");
  useEnvironmentsDir(envDir);

  it("synthesizes every environment and prints the summary table", async () => {
    const out = path.join(work, "a");
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^environment\s+scopes\s+destinations\s+cloudwatch days\s+s3 days\s+kms/);
    expect(r.out).toMatch(/prod\s+2 vpc, 1 eni\s+cloudwatch, s3\s+30 \(large\)\s+365 \(personal-data\)\s+created, rotation on/);
    expect(r.out).toMatch(/stg\s+1 vpc, 1 subnet\s+cloudwatch, s3\s+14 \(production\)\s+90 \(internal\)\s+given key\/6f1c2a3b/);
    expect(r.out).toContain(`Synthesized 3 environment stacks into ${out}/stacks.`);
    expect(fs.readdirSync(path.join(out, "stacks")).sort()).toEqual(["flowlogs-dev", "flowlogs-prod", "flowlogs-stg"]);
  });

  it("gives byte-identical output for the same config, with no machine paths in it", async () => {
    const a = path.join(work, "twice-a");
    const b = path.join(work, "twice-b");
    await runCli("synth", "--out", a);
    const first = snapshot(a);
    await runCli("synth", "--out", a);
    expect(snapshot(a)).toEqual(first);
    await runCli("synth", "--out", b);
    expect(snapshot(b)).toEqual(first);
    const text = Object.values(first).map((v) => Buffer.from(v, "base64").toString()).join("\n");
    expect(text).not.toContain(work);
    expect(text).not.toContain(process.cwd());
  });

  it("synthesizes only the environments named", async () => {
    const out = path.join(work, "one");
    const r = await runCli("synth", "dev", "--out", out);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(out, "stacks"))).toEqual(["flowlogs-dev"]);
  });

  it("on invalid config reports every problem, exits 1 and leaves the previous output untouched", async () => {
    const out = path.join(work, "keep");
    await runCli("synth", "--out", out);
    const before = snapshot(out);
    writeEnvFiles(envDir, { broken: baseInput({ name: "broken", account: "12", flowLogs: [] }) });
    try {
      const r = await runCli("synth", "--out", out);
      expect(r.code).toBe(1);
      expect(r.err).toContain("2 configuration problems:");
      expect(r.err).toContain('broken.account: is not a 12-digit AWS account id (got "12").');
      expect(r.err).toContain("broken.flowLogs: is empty: the environment logs nothing (got []).");
      expect(r.out).toBe("");
      expect(snapshot(out)).toEqual(before);
      expect(fs.readdirSync(work).filter((f) => f.includes(".tmp-") || f.includes(".old-"))).toEqual([]);
    } finally {
      fs.rmSync(path.join(envDir, "broken.ts"));
    }
  });

  it("rejects an unknown environment name without writing", async () => {
    const out = path.join(work, "unknown");
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('qa: unknown environment (got "qa"). Use one of "dev", "prod", "stg".');
    expect(fs.existsSync(out)).toBe(false);
  });

  it("rejects planning an unknown environment before synthesizing", async () => {
    const out = path.join(work, "plan-unknown");
    const r = await runCli("plan", "qa", "--offline", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('qa: no environment or synthesized stack has this name (got "qa"). Use one of "dev", "flowlogs-dev", "prod", "flowlogs-prod", "stg", "flowlogs-stg".');
    expect(fs.existsSync(out)).toBe(false);
  });

  it("takes a stack name wherever it takes an environment name", () => {
    const { resolvePlanTarget } = require("../../bin/synth") as typeof import("../../bin/synth");
    const { loadEnvironments } = require("../../environments") as typeof import("../../environments");
    const all = loadEnvironments();
    expect(resolvePlanTarget(all, "flowlogs-stg", [])).toMatchObject({ stack: "flowlogs-stg", destroy: false });
    const incident = { id: "sec-1", environment: "dev", enis: ["eni-0a1b2c3d"], reason: "r", ticket: "SEC-1", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-02T00:00:00.000Z" };
    expect(resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "open" }])).toMatchObject({ stack: "flowlogs-dev-incident-sec-1", destroy: false });
    expect(resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "closing", closingAt: incident.expiresAt }])).toMatchObject({ destroy: true });
    expect(() => resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "closed", closedAt: incident.expiresAt }])).toThrow('flowlogs-dev-incident-sec-1: no environment or synthesized stack has this name');
  });
});
