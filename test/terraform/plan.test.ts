/**
 * Terraform suite: every example stack is initialised, validated and planned offline against
 * the real hashicorp/aws 5.100.0 provider. Terraform init runs once for the whole suite (one
 * shared data folder and plugin cache); each stack reuses it.
 */
import * as fs from "fs";
import * as path from "path";
import { App } from "cdktf";
import { synthesize, stackDir } from "../../bin/synth";
import { OFFLINE_OVERRIDE_FILE, INSTALL_HINT, runTerraform, terraformInit, terraformVersion, writeOfflineOverride } from "../../bin/terraform";
import { loadEnvironments, validateEnvironment } from "../../environments";
import { loadArchives } from "../../environments/archives";
import { complianceChanges, PlanJson, planSummaryLine } from "../../policies/plan-changes";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { runCli } from "../support/cli";
import { baseInput, copyExampleEnvironments, tempDir } from "../support/env";

const skip = process.env.FLOWLOG_KIT_SKIP_TERRAFORM === "1";
if (skip) {
  // Said out loud, never silent: the opt-out is deliberate.
  process.stderr.write("FLOWLOG_KIT_SKIP_TERRAFORM=1: the Terraform validate/plan suite is skipped on purpose.\n");
}

(skip ? describe.skip : describe)("terraform validate and offline plan", () => {
  const work = tempDir("tf");
  // A plugin cache of this suite's own: terraform init re-links the cache's provider entry, and
  // a terraform of another suite (or run) starting the provider through it at that moment fails
  // with "fork/exec ... no such file or directory".
  process.env.FLOWLOG_KIT_CACHE_DIR = tempDir("tf-cache");
  const outdir = path.join(work, "cdktf.out");
  const dataDir = path.join(work, "tfdata");
  const envs = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
  // The example central archive, and an environment of its source account that delivers to it.
  const archives = loadArchives(path.join(__dirname, "..", "..", "environments", "archives"));
  const shared = validateEnvironment(
    {
      file: "shared.ts",
      input: baseInput({
        name: "shared",
        account: "410987654323",
        region: "eu-central-1",
        retention: { cloudwatch: "large", archive: "personal-data" },
        archive: { central: "log-archive" },
        rbac: { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::410987654323:role/SecOpsAnalysts"] } } },
      }),
    },
    [],
    archives,
  )!;

  beforeAll(() => {
    const version = terraformVersion();
    if (version === undefined) {
      throw new Error(`terraform is not installed or cannot run. ${INSTALL_HINT} To skip this suite on purpose, set FLOWLOG_KIT_SKIP_TERRAFORM=1.`);
    }
    synthesize({ outdir, all: [...envs, shared], archives });
    const dirs = [...envs, shared, ...archives].map((e) => stackDir(outdir, e.stackName));
    for (const dir of dirs) writeOfflineOverride(dir);
    // Same override backend everywhere, so one init (one data folder) serves every stack.
    terraformInit(dirs[0]!, { TF_DATA_DIR: dataDir });
    for (const dir of dirs.slice(1)) fs.copyFileSync(path.join(dirs[0]!, ".terraform.lock.hcl"), path.join(dir, ".terraform.lock.hcl"));
  });


  it.each([
    // The findings topic has its own policy (aws_sns_topic_policy); Athena's Glue tables include the detector's findings.
    ["dev", 57],
    // stg and prod: a detail log group with its saved queries for the scope inside a logged VPC.
    ["stg", 69],
    // prod also has QuickSight: a data source, two data sets (flows, findings) and a dashboard.
    ["prod", 85],
  ] as const)("%s validates and plans offline with no credentials, without a warning: %i resources to add", (name, count) => {
    const dir = stackDir(outdir, `flowlogs-${name}`);
    // terraform plan validates the configuration against the provider schema first, so one run
    // proves both; a deprecated or ignored argument would show as a warning.
    const plan = runTerraform(["plan", "-input=false", "-lock=false", "-no-color", "-out=tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } });
    expect(`${plan.stdout}${plan.stderr}`).not.toMatch(/Warning:/);
    expect(planSummaryLine(plan.stdout)).toBe(`Plan: ${count} to add, 0 to change, 0 to destroy.`);
    const shown = JSON.parse(runTerraform(["show", "-json", "tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } }).stdout);
    const env = envs.find((e) => e.name === name)!;
    const changes = complianceChanges(shown);
    expect(changes).toContainEqual(expect.objectContaining({ aspect: "retention (days)", after: String(env.retention.cloudwatch.days) }));
    expect(changes.filter((c) => c.aspect === "scope")).toHaveLength(env.flowLogs.flatMap((s) => s.destinations).length);
    expect(changes.every((c) => !c.risk)).toBe(true);
  });

  it("an environment with a central archive plans offline: flow logs to the central bucket, no archive bucket of its own", () => {
    const dir = stackDir(outdir, "flowlogs-shared");
    const plan = runTerraform(["plan", "-input=false", "-lock=false", "-no-color"], { cwd: dir, env: { TF_DATA_DIR: dataDir } });
    expect(plan.stdout).toMatch(/log_destination\s+= "arn:aws:s3:::flowlogs-archive-log-archive-610987654325-eu-central-1"/);
    expect([...plan.stdout.matchAll(/\+ bucket\s+= "([^"]+)"/g)].map((m) => m[1])).toEqual(["flowlogs-shared-ath-410987654323-eu-central-1"]);
  });

  it("leaves the synthesized stack production-correct: the override is a separate file", () => {
    const dir = stackDir(outdir, "flowlogs-prod");
    const stack = fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8");
    expect(stack).not.toContain("skip_credentials_validation");
    expect(JSON.parse(stack).terraform.backend.s3.bucket).toBe("northwind-tfstate-prod");
    expect(fs.existsSync(path.join(dir, OFFLINE_OVERRIDE_FILE))).toBe(true);
  });

  // The central archive stack is planned here only, through the CLI (its smallest plan): the summary, the locked bucket and the lifecycle.
  it("`flowlog-kit plan <stack> --offline` prints the summary and the compliance-relevant changes (the archive stack: the smallest plan)", async () => {
    const envDir = tempDir("plan-envs");
    copyExampleEnvironments(envDir);
    const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    try {
      const r = await runCli("plan", "flowlogs-archive-log-archive", "--offline", "--out", path.join(work, "cli.out"));
      // Progress only: each step that takes seconds says so before it runs.
      expect(r.err.split("\n").filter(Boolean).every((l) => l.startsWith("... "))).toBe(true);
      expect(r.err).toContain("... terraform plan (");
      expect(r.code).toBe(0);
      expect(r.out).toContain("flowlogs-archive-log-archive (offline): Plan: 10 to add, 0 to change, 0 to destroy.");
      expect(r.out).toMatch(/create\s+archive bucket\s+-\s+flowlogs-archive-log-archive-610987654325-eu-central-1\s+aws_s3_bucket\./);
      expect(r.out).toMatch(/create\s+lifecycle\s+-\s+STANDARD_IA@30d GLACIER_IR@90d expire@365d; remove expired delete markers/);
      expect(r.out).toMatch(/create\s+object lock\s+-\s+COMPLIANCE 365d/);
      expect(r.out).toContain("cannot be applied. With AWS credentials, run: flowlog-kit plan flowlogs-archive-log-archive --out ");
    } finally {
      if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
      else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
    }
  });

  // Transit gateways, Firehose (same and another account), Infrequent Access and a second
  // Region, planned against the real provider schema with the suite's one init.
  describe("a landing-zone environment", () => {
    const lzOut = path.join(work, "lz.out");
    const problems: string[] = [];
    const lz = validateEnvironment(
      {
        file: "lz.ts",
        input: {
          name: "lz",
          account: "123456789012",
          region: "eu-west-1",
          owner: "network-team",
          retention: { cloudwatch: "production", archive: "internal" },
          logGroupClass: "INFREQUENT_ACCESS",
          // The detector is the same in every environment and planned with the examples.
          detectors: { enabled: false },
          flowLogs: [
            { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] },
            { resource: "transit-gateway", id: "tgw-0123456789abcdef0", destinations: ["cloudwatch", "s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: true } },
            {
              resource: "transit-gateway-attachment",
              id: "tgw-attach-0123456789abcdef0",
              destinations: ["cloudwatch", "firehose"],
              firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem", crossAccountRoleArn: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole" },
            },
            { resource: "vpc", id: "vpc-0fedcba9876543210", region: "us-east-1", destinations: ["cloudwatch", "firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/local" } },
            { resource: "transit-gateway", id: "tgw-0fedcba9876543210", region: "us-east-1", destinations: ["cloudwatch"] },
          ],
        },
      },
      problems,
    );
    const dir = stackDir(lzOut, "flowlogs-lz");

    beforeAll(() => {
      expect(problems).toEqual([]);
      const app = new App({ outdir: lzOut });
      new EnvironmentStack(app, lz!);
      app.synth();
      writeOfflineOverride(dir);
      fs.copyFileSync(path.join(stackDir(outdir, "flowlogs-dev"), ".terraform.lock.hcl"), path.join(dir, ".terraform.lock.hcl"));
    });

    // terraform plan validates the configuration first: one run proves the schema and the plan.
    it("validates and plans offline in both Regions: transit-gateway, Firehose and Infrequent Access arguments as the provider takes them", () => {
      const plan = runTerraform(["plan", "-input=false", "-lock=false", "-no-color", "-out=tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } });
      expect(planSummaryLine(plan.stdout)).toBe("Plan: 88 to add, 0 to change, 0 to destroy.");
      const shown = JSON.parse(runTerraform(["show", "-json", "tfplan"], { cwd: dir, env: { TF_DATA_DIR: dataDir } }).stdout) as PlanJson;
      const after = (type: string) => (shown.resource_changes ?? []).filter((c) => c.type === type).map((c) => c.change.after ?? {});
      const flowLogs = after("aws_flow_log");
      expect(flowLogs.filter((f) => f.transit_gateway_id).map((f) => [f.max_aggregation_interval, f.traffic_type])).toEqual([[60, null], [60, null], [60, null]]);
      expect(flowLogs.find((f) => f.transit_gateway_attachment_id && f.log_destination_type === "kinesis-data-firehose")).toMatchObject({
        deliver_cross_account_role: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole",
        iam_role_arn: "arn:aws:iam::123456789012:role/flowlogs-lz-firehose",
      });
      const groups = after("aws_cloudwatch_log_group").filter((g) => String(g.name).startsWith("/flowlog-kit/lz/"));
      expect(groups.map((g) => g.log_group_class)).toEqual(groups.map(() => "INFREQUENT_ACCESS"));
      expect(after("aws_cloudwatch_log_metric_filter")).toEqual([]);
      const changes = complianceChanges(shown);
      expect(changes.filter((c) => c.aspect === "scope")).toHaveLength(lz!.flowLogs.flatMap((s) => s.destinations).length);
      expect(changes.filter((c) => c.aspect === "scope").map((c) => c.after)).toContain("tgw-0123456789abcdef0 ALL -> cloud-watch-logs");
      expect(changes.every((c) => !c.risk)).toBe(true);
    });
  });
});
