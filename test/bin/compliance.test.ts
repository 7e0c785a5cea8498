import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findChromium } from "../../scripts/ensure-chromium.js";
import { runCli } from "../support/cli";
import { baseArchive, baseInput, tempDir, useEnvironmentsDir, writeArchiveFiles, writeEnvFiles } from "../support/env";

describe("flowlog-kit compliance", () => {
  const envDir = tempDir("compliance-envs");
  const work = tempDir("compliance");
  const out = path.join(work, "cdktf.out");
  useEnvironmentsDir(envDir);

  it("prints, per environment, the retention table and every control with its result and evidence", async () => {
    const r = await runCli("compliance", "--synth-out", out);
    expect(r.code).toBe(0);
    expect(r.out).toContain("prod (flowlogs-prod, 410987654323 eu-central-1): 16/18 pass, 2 excepted");
    expect(r.out).toContain("stg (flowlogs-stg, 310987654322 eu-west-1): 14/18 pass, 4 excepted");
    expect(r.out).toMatch(/cloudwatch days\s+s3 days\s+transitions\s+expiration\s+noncurrent expiry\s+not queryable by Athena/);
    expect(r.out).toMatch(/30\s+365\s+STANDARD_IA@30d GLACIER_IR@90d\s+365\s+7\s+none/);
    expect(r.out).toMatch(/FLOW-1\s+PASS\s+HIGH/);
    expect(r.out).toMatch(/CWL-365\s+EXCEPTION\s+LOW/);
    expect(r.out).toContain("KMS-1 EXCEPTION: no key is managed by this stack");
    // Each role's tasks and every delivery path, with the rows as evidence; stg's given key is reviewed under its exceptions.
    expect(r.out).toMatch(/ACC-3\s+PASS\s+HIGH\s+AWS can deliver every flow log: the bucket, key, role and trust policies allow each request\s+aws_/);
    expect(r.out).toContain("ACC-1 EXCEPTION: ");
    expect(r.out).toContain("required task step(s) rest on policies outside the stack: key policy of arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b is not known here");
    // prod's permissions boundary is only referenced: a finding reviewed under prod's ACC-1 exception, not a pass.
    expect(r.out).toMatch(/ACC-1 EXCEPTION: \d+ of \d+ required task step\(s\) allowed without reservation; \d+ required task step\(s\) of flowlogs-prod-security-analyst, flowlogs-prod-security-engineer, flowlogs-prod-auditor are allowed only if permissions boundary arn:aws:iam::410987654323:policy\/SecurityBoundary allows them too/);
    expect(r.out).toContain("check that it allows each required action (athena:GetQueryExecution, ");
  });

  it("reports only the environments named, as JSON with a summary", async () => {
    const r = await runCli("compliance", "dev", "--format", "json", "--synth-out", out);
    const doc = JSON.parse(r.out);
    expect(doc.environments.map((e: { environment: string }) => e.environment)).toEqual(["dev"]);
    expect(doc.environments[0].summary).toEqual({ passed: 17, failed: 0, excepted: 1, total: 18 });
    expect(doc.environments[0].retention).toMatchObject({ cloudWatchDays: [7], archiveDays: [90], transitions: ["STANDARD_IA@30d"] });
    const acc = doc.environments[0].controls.find((c: { id: string }) => c.id === "ACC-3");
    expect(acc.evidence).toContainEqual({ address: expect.stringMatching(/^aws_s3_bucket_policy\.Archive_Policy_/), attribute: "Statement[AWSLogDeliveryWrite]", value: expect.stringMatching(/^allow: delivery\.logs\.amazonaws\.com s3:PutObject on arn:aws:s3:::flowlogs-dev-/) });
  });

  it("writes Markdown for a pull request", async () => {
    const file = path.join(work, "report.md");
    const r = await runCli("compliance", "--format", "md", "--out", file, "--synth-out", out);
    expect(r.out).toContain(`Wrote the md report for dev, prod, stg to ${file}.`);
    const md = fs.readFileSync(file, "utf8");
    expect(md).toContain("| control | result | severity | title | mappings | detail | evidence |");
    expect(md).toContain("| FLOW-1 | **PASS** | HIGH | Every VPC has a flow log that captures REJECT traffic | CIS AWS Foundations 3.9; Security Hub EC2.6; CKV2_AWS_11 |");
    expect(md).toContain("| ACC-2 | **PASS** | CRITICAL | No role can do what it must not: each step of a forbidden task is denied | - | all ");
    expect(md).toMatch(/\| ACC-1 \| \*\*EXCEPTION\*\* \| HIGH \| [^\n]*permissions boundary arn:aws:iam::410987654323:policy\/SecurityBoundary/);
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
    expect(dom.stdout).toMatch(/<section id="prod"><h2>prod <span class="summary">16\/18 pass, 2 excepted<\/span><\/h2>/);
    expect(dom.stdout).toMatch(/<tr class="exception"><td>CWL-365<\/td><td class="result">EXCEPTION<\/td>/);
    expect(dom.stdout).toMatch(/<tr class="pass"><td>ACC-1<\/td><td class="result">PASS<\/td>/);
    // One PASS cell per passing control of every section, the central archive's included.
    const json = JSON.parse((await runCli("compliance", "--format", "json", "--synth-out", out)).out) as { environments: { kind: string; summary: { passed: number } }[] };
    expect(json.environments.map((e) => e.kind)).toEqual(["environment", "environment", "environment", "archive"]);
    expect((dom.stdout.match(/<td class="result">PASS<\/td>/g) ?? []).length).toBe(json.environments.reduce((n, e) => n + e.summary.passed, 0));
    expect(dom.stdout).toMatch(/<section id="archive-log-archive"><h2>archive log-archive <span class="summary">9\/9 pass<\/span><\/h2>/);
    const png = path.join(work, "report.png");
    const shot = spawnSync(browser!, [...flags, `--screenshot=${png}`, "--window-size=1400,2000", `file://${file}`], { encoding: "utf8", timeout: 60_000 });
    expect(shot.status).toBe(0);
    expect(fs.statSync(png).size).toBeGreaterThan(20_000);
  });
});

describe("flowlog-kit compliance with central archives", () => {
  const work = tempDir("compliance-central");
  const envDir = tempDir("compliance-central-envs");
  useEnvironmentsDir(envDir, false);
  beforeAll(() => {
    writeEnvFiles(envDir, { qa: baseInput({ name: "qa", archive: { central: "central" } }), own: baseInput({ name: "own", account: "210987654321" }) });
    writeArchiveFiles(envDir, { central: baseArchive({ objectLock: { mode: "COMPLIANCE" } }) });
  });

  it("reports the archive stack in a section of its own, with its Object Lock", async () => {
    const r = await runCli("compliance", "--synth-out", path.join(work, "all"));
    expect(r.out).toContain("archive central (flowlogs-archive-central, 999999999999 eu-west-1): 9/9 pass");
    expect(r.out).toMatch(/-\s+90\s+STANDARD_IA@30d\s+90\s+7\s+none\s+COMPLIANCE 90d/);
    expect(r.out).toMatch(/S3-4\s+PASS\s+MEDIUM\s+The archive is versioned\s+aws_s3_bucket_versioning\./);
  });

  it("evaluates the bucket controls of an environment with a central archive on the archive's stack, and says so", async () => {
    const r = await runCli("compliance", "qa", "--format", "json", "--synth-out", path.join(work, "qa"));
    const doc = JSON.parse(r.out) as { environments: { kind: string; environment: string; retention: { archiveDays: number[]; objectLock: string[] }; controls: { id: string; result: string; message: string; evidence: { address: string }[] }[] }[] };
    // Named environments: their central archive is reported with them.
    expect(doc.environments.map((e) => [e.kind, e.environment])).toEqual([["environment", "qa"], ["archive", "central"]]);
    const qa = doc.environments[0]!;
    expect(qa.retention).toMatchObject({ archiveDays: [90], objectLock: ["COMPLIANCE 90d"] });
    for (const id of ["RET-2", "RET-3", "RET-4", "S3-1", "S3-2", "S3-3", "S3-4"]) {
      const c = qa.controls.find((x) => x.id === id)!;
      expect(c.result).toBe("PASS");
      expect(c.message.startsWith("evaluated on flowlogs-archive-central: ")).toBe(true);
      expect(c.evidence[0]!.address.startsWith("flowlogs-archive-central:")).toBe(true);
    }
  });

  it("names the archive when one of its controls fails", async () => {
    const failing = tempDir("compliance-central-fail");
    writeEnvFiles(failing, { own: baseInput({ name: "own", account: "210987654321" }) });
    writeArchiveFiles(failing, { central: baseArchive({ kms: { keyArn: "arn:aws:kms:eu-west-1:999999999999:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } }) });
    process.env.FLOWLOG_KIT_ENVIRONMENTS = failing;
    try {
      const r = await runCli("compliance", "--synth-out", path.join(work, "fail"));
      expect(r.code).toBe(1);
      expect(r.err).toContain("archive central: 1 control(s) FAIL: KMS-1");
    } finally {
      process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    }
  });
});
