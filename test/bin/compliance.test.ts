import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findChromium } from "../../scripts/ensure-chromium.js";
import { runCli } from "../support/cli";
import { baseInput, tempDir, useEnvironmentsDir, writeEnvFiles } from "../support/env";

describe("flowlog-kit compliance", () => {
  const envDir = tempDir("compliance-envs");
  const work = tempDir("compliance");
  const out = path.join(work, "cdktf.out");
  useEnvironmentsDir(envDir);

  it("prints, per environment, the retention table and every control with its result and evidence", async () => {
    const r = await runCli("compliance", "--synth-out", out);
    expect(r.code).toBe(0);
    expect(r.out).toContain("prod (flowlogs-prod, 410987654323 eu-central-1): 14/15 pass, 1 excepted");
    expect(r.out).toContain("stg (flowlogs-stg, 310987654322 eu-west-1): 13/15 pass, 2 excepted");
    expect(r.out).toMatch(/cloudwatch days\s+s3 days\s+transitions\s+expiration\s+noncurrent expiry\s+not queryable by Athena/);
    expect(r.out).toMatch(/30\s+365\s+STANDARD_IA@30d GLACIER_IR@90d\s+365\s+7\s+none/);
    expect(r.out).toMatch(/FLOW-1\s+PASS\s+HIGH/);
    expect(r.out).toMatch(/CWL-365\s+EXCEPTION\s+LOW/);
    expect(r.out).toContain("KMS-1 EXCEPTION: no key is managed by this stack");
  });

  it("reports only the environments named, as JSON with a summary", async () => {
    const r = await runCli("compliance", "dev", "--format", "json", "--synth-out", out);
    const doc = JSON.parse(r.out);
    expect(doc.environments.map((e: { environment: string }) => e.environment)).toEqual(["dev"]);
    expect(doc.environments[0].summary).toEqual({ passed: 14, failed: 0, excepted: 1, total: 15 });
    expect(doc.environments[0].retention).toMatchObject({ cloudWatchDays: [7], archiveDays: [90], transitions: ["STANDARD_IA@30d"] });
  });

  it("writes Markdown for a pull request", async () => {
    const file = path.join(work, "report.md");
    const r = await runCli("compliance", "--format", "md", "--out", file, "--synth-out", out);
    expect(r.out).toContain(`Wrote the md report for dev, prod, stg to ${file}.`);
    const md = fs.readFileSync(file, "utf8");
    expect(md).toContain("| control | result | severity | title | mappings | detail | evidence |");
    expect(md).toContain("| FLOW-1 | **PASS** | HIGH | Every VPC has a flow log that captures REJECT traffic | CIS AWS Foundations 3.9; Security Hub EC2.6; CKV2_AWS_11 |");
  });

  it("exits 1 and names the failing controls when a control fails", async () => {
    const failing = tempDir("compliance-fail");
    writeEnvFiles(failing, { qa: baseInput({ name: "qa", vpcs: ["vpc-0123456789abcdef0", "vpc-0fedcba9876543210"] }) });
    process.env.FLOWLOG_KIT_ENVIRONMENTS = failing;
    try {
      const r = await runCli("compliance", "--synth-out", path.join(work, "fail.out"));
      expect(r.code).toBe(1);
      expect(r.err).toContain("qa: 2 control(s) FAIL: FLOW-1, CWL-365");
      expect(r.out).toContain("FLOW-1 FAIL: no VPC-level flow log capturing REJECT for vpc-0fedcba9876543210");
    } finally {
      process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    }
  });

  it("shows the days Athena cannot read when an environment opts into cold storage, and fails RET-4", async () => {
    const cold = tempDir("compliance-cold");
    writeEnvFiles(cold, { qa: baseInput({ name: "qa", retention: { cloudwatch: "production", archive: "personal-data", archiveStorage: "cold" } }) });
    process.env.FLOWLOG_KIT_ENVIRONMENTS = cold;
    try {
      const r = await runCli("compliance", "--synth-out", path.join(work, "cold.out"));
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/365\s+STANDARD_IA@30d GLACIER_IR@90d DEEP_ARCHIVE@180d\s+365\s+7\s+DEEP_ARCHIVE days 180-365/);
      expect(r.out).toMatch(/RET-4\s+FAIL/);
      expect(r.out).toContain("days 180-365 of 365 are not queryable by Athena (DEEP_ARCHIVE from day 180)");
    } finally {
      process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    }
  });

  it("rejects an unknown format", async () => {
    const r = await runCli("compliance", "--format", "pdf", "--synth-out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--format: unknown report format (got "pdf"). Use one of "table", "md", "json", "html".');
  });

  const browser = process.env.FLOWLOG_KIT_SKIP_BROWSER === "1" ? undefined : (process.env.FLOWLOG_KIT_CHROMIUM ?? findChromium());
  (browser ? it : it.skip)("writes one self-contained HTML file that headless Chromium renders with every result", async () => {
    const file = path.join(work, "report.html");
    await runCli("compliance", "--format", "html", "--out", file, "--synth-out", out);
    const html = fs.readFileSync(file, "utf8");
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3)/);
    const profile = fs.mkdtempSync(path.join(work, "chromium-"));
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`];
    const dom = spawnSync(browser!, [...flags, "--dump-dom", `file://${file}`], { encoding: "utf8", timeout: 60_000 });
    expect(dom.status).toBe(0);
    expect(dom.stdout).toContain("<h1>Flow-log compliance report</h1>");
    expect(dom.stdout).toMatch(/<section id="prod"><h2>prod <span class="summary">14\/15 pass, 1 excepted<\/span><\/h2>/);
    expect(dom.stdout).toMatch(/<tr class="exception"><td>CWL-365<\/td><td class="result">EXCEPTION<\/td>/);
    expect((dom.stdout.match(/<td class="result">PASS<\/td>/g) ?? []).length).toBe(38);
    const png = path.join(work, "report.png");
    const shot = spawnSync(browser!, [...flags, `--screenshot=${png}`, "--window-size=1400,2000", `file://${file}`], { encoding: "utf8", timeout: 60_000 });
    expect(shot.status).toBe(0);
    expect(fs.statSync(png).size).toBeGreaterThan(20_000);
  });
});
