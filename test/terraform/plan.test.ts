/**
 * Terraform suite: every example stack is initialised, validated and planned offline against
 * the real hashicorp/aws 5.100.0 provider. Terraform init runs once for the whole suite (one
 * shared data folder and plugin cache); each stack reuses it.
 */
import * as fs from "fs";
import * as path from "path";
import { synthesize, stackDir } from "../../bin/synth";
import { OFFLINE_OVERRIDE_FILE, INSTALL_HINT, runTerraform, terraformInit, terraformVersion, writeOfflineOverride } from "../../bin/terraform";
import { loadEnvironments } from "../../environments";
import { complianceChanges, planSummaryLine } from "../../policies/plan-changes";
import { runCli } from "../support/cli";
import { copyExampleEnvironments, tempDir } from "../support/env";

const skip = process.env.FLOWLOG_KIT_SKIP_TERRAFORM === "1";
if (skip) {
  // Said out loud, never silent: the opt-out is deliberate.
  process.stderr.write("FLOWLOG_KIT_SKIP_TERRAFORM=1: the Terraform validate/plan suite is skipped on purpose.\n");
}

(skip ? describe.skip : describe)("terraform validate and offline plan", () => {
  const work = tempDir("tf");
  const outdir = path.join(work, "cdktf.out");
  const dataDir = path.join(work, "tfdata");
  const envs = loadEnvironments(path.join(__dirname, "..", "..", "environments"));

  beforeAll(() => {
    const version = terraformVersion();
    if (version === undefined) {
      throw new Error(`terraform is not installed or cannot run. ${INSTALL_HINT} To skip this suite on purpose, set FLOWLOG_KIT_SKIP_TERRAFORM=1.`);
    }
    synthesize({ outdir, all: envs });
    const dirs = envs.map((e) => stackDir(outdir, e.stackName));
    for (const dir of dirs) writeOfflineOverride(dir);
    // Same override backend everywhere, so one init (one data folder) serves every stack.
    terraformInit(dirs[0]!, { TF_DATA_DIR: dataDir });
    for (const dir of dirs.slice(1)) fs.copyFileSync(path.join(dirs[0]!, ".terraform.lock.hcl"), path.join(dir, ".terraform.lock.hcl"));
  });

  it.each(["dev", "stg", "prod"])("%s validates against the real provider schema", (name) => {
    const dir = stackDir(outdir, `flowlogs-${name}`);
    const r = runTerraform(["validate", "-json", "-no-color"], { cwd: dir, env: { TF_DATA_DIR: dataDir } });
    const result = JSON.parse(r.stdout) as { valid: boolean; warning_count: number; diagnostics: unknown[] };
    expect(result.valid).toBe(true);
    expect(result.diagnostics).toEqual([]);
  });

  it.each([
    ["dev", 54],
    // stg and prod: a detail log group with its saved queries for the scope inside a logged VPC.
    ["stg", 66],
    ["prod", 76],
  ] as const)("%s plans offline with no credentials: %i resources to add", (name, count) => {
    const dir = stackDir(outdir, `flowlogs-${name}`);
    const plan = runTerraform(["plan", "-input=false", "-lock=false", "-no-color", "-out=tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } });
    expect(planSummaryLine(plan.stdout)).toBe(`Plan: ${count} to add, 0 to change, 0 to destroy.`);
    const shown = JSON.parse(runTerraform(["show", "-json", "tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } }).stdout);
    const env = envs.find((e) => e.name === name)!;
    const changes = complianceChanges(shown);
    expect(changes).toContainEqual(expect.objectContaining({ aspect: "retention (days)", after: String(env.retention.cloudwatch.days) }));
    expect(changes.filter((c) => c.aspect === "scope")).toHaveLength(env.flowLogs.flatMap((s) => s.destinations).length);
    expect(changes.every((c) => !c.risk)).toBe(true);
  });

  it("leaves the synthesized stack production-correct: the override is a separate file", () => {
    const dir = stackDir(outdir, "flowlogs-prod");
    const stack = fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8");
    expect(stack).not.toContain("skip_credentials_validation");
    expect(JSON.parse(stack).terraform.backend.s3.bucket).toBe("northwind-tfstate-prod");
    expect(fs.existsSync(path.join(dir, OFFLINE_OVERRIDE_FILE))).toBe(true);
  });

  it("`flowlog-kit plan dev --offline` prints the summary and the compliance-relevant changes", async () => {
    const envDir = tempDir("plan-envs");
    copyExampleEnvironments(envDir);
    const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    try {
      const r = await runCli("plan", "dev", "--offline", "--out", path.join(work, "cli.out"));
      // Progress only: each step that takes seconds says so before it runs.
      expect(r.err.split("\n").filter(Boolean).every((l) => l.startsWith("... "))).toBe(true);
      expect(r.err).toContain("... terraform plan (");
      expect(r.code).toBe(0);
      expect(r.out).toContain("flowlogs-dev (offline): Plan: 54 to add, 0 to change, 0 to destroy.");
      expect(r.out).toMatch(/create\s+retention \(days\)\s+-\s+7\s+aws_cloudwatch_log_group\./);
      expect(r.out).toMatch(/create\s+scope\s+-\s+vpc-0d3a5e7f9b1c2d4e6 ALL -> s3\s+aws_flow_log\./);
      expect(r.out).toMatch(/create\s+lifecycle\s+-\s+STANDARD_IA@30d expire@90d/);
    } finally {
      if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
      else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
    }
  });
});
