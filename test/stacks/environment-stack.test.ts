import * as path from "path";
import { Testing } from "cdktf";
import { loadEnvironments } from "../../environments";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { baseInput, env, validate } from "../support/env";

type Synth = {
  provider: { aws: Record<string, unknown>[] };
  terraform: { backend: Record<string, Record<string, unknown>> };
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: unknown;
};
const synth = (e = env()) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as Synth;
const examples = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
const example = (name: string) => examples.find((e) => e.name === name)!;

describe("EnvironmentStack", () => {
  it("runs the detector on new Parquet archive objects too: prod, which archives only Parquet, gets the trigger", () => {
    const s = synth(example("prod"));
    const filters = Object.values(s.resource.aws_s3_bucket_notification!).flatMap((n) => n.lambda_function as { filter_prefix: string; filter_suffix: string }[]);
    expect(filters.map((f) => [f.filter_prefix, f.filter_suffix])).toEqual(expect.arrayContaining([["parquet/AWSLogs/", ".log.parquet"]]));
  });

  it("refuses at synth a CloudWatch-only detector whose SQL query passes 9,000 characters, naming the setting that made it long (the rest is for threat lists read from S3)", () => {
    const cwOnly = (allowedSources: string[]) => env({ analytics: { athena: { enabled: false } }, detectors: { thresholds: { allowedSources } } });
    expect(() => synth(cwOnly(["10.0.0.1"]))).not.toThrow();
    const allowed = Array.from({ length: 200 }, (_, i) => `10.1.${i}.1`);
    expect(() => synth(cwOnly(allowed))).toThrow(
      /test\.detectors\.thresholds\.allowedSources: makes the Logs Insights SQL query of \S+ \((short|long) horizon\) \d+ characters, over the 9000 allowed \(StartQuery accepts 10000; synth keeps the rest for threat lists read from S3 at run time\) \(got 200 addresses/,
    );
  });

  describe("a detector on a log group that no query engine can aggregate (masked, or Infrequent Access)", () => {
    const cwOnly = (o: Record<string, unknown> = {}) => ({ analytics: { athena: { enabled: false } }, ...o });
    const variables = (s: Synth) => (Object.values(s.resource.aws_lambda_function!)[0]!.environment as { variables: Record<string, string> }).variables;
    const fix =
      'Archive the VPC scopes to S3 with Athena, so the rules run there (every VPC scope with destinations ["cloudwatch", "s3"], and analytics.athena.enabled true), ' +
      "or set detectors.readRecords to true to have each run read the log group's records instead (at most 10,000 a query: a minute with more is left out, and reported).";
    const lower = fix[0]!.toLowerCase() + fix.slice(1);

    it("refuses a masked CloudWatch-only detector, naming the setting, why the log group is queried, and the three fixes", () => {
      expect(() => synth(env(cwOnly({ analytics: { athena: { enabled: false }, maskIpAddresses: true } })))).toThrow(
        "test.analytics.maskIpAddresses: masks the IP addresses the detector's Logs Insights SQL queries read (unmask() exists only in the Logs Insights query language, which cannot express the rules), " +
          `and the detector queries the log group because analytics.athena.enabled is false (got true). Set maskIpAddresses to false, or ${lower}`,
      );
    });

    it("refuses an Infrequent Access CloudWatch-only detector, also when Athena is on but a VPC scope is not archived", () => {
      const problems = (e: ReturnType<typeof env>) => {
        try {
          synth(e);
          return [];
        } catch (err) {
          return (err as { problems?: string[] }).problems ?? [String(err)];
        }
      };
      const vpcs = [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] }, { resource: "vpc", id: "vpc-0123456789abcdef1", destinations: ["cloudwatch"] }];
      expect(problems(env({ logGroupClass: "INFREQUENT_ACCESS", flowLogs: vpcs }))).toEqual([
        'test.logGroupClass: puts the flow-log group in the Infrequent Access class, which Logs Insights SQL does not query (Standard-class groups only), ' +
          `and the detector queries the log group because flowLogs[1] (vpc-0123456789abcdef1) is not archived to S3, so its records are in no Athena table (got "INFREQUENT_ACCESS"). Use logGroupClass "STANDARD", or ${lower}`,
      ]);
    });

    it("says why the log group is queried: no archived scope, or a scope archived inside an archived VPC", () => {
      const reason = (e: ReturnType<typeof env>) => {
        try {
          synth(e);
          return "";
        } catch (err) {
          return /because (.*) \(got "INFREQUENT_ACCESS"\)/.exec(((err as { problems?: string[] }).problems ?? [])[0] ?? "")?.[1] ?? String(err);
        }
      };
      expect(reason(env({ logGroupClass: "INFREQUENT_ACCESS", flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] }] }))).toBe('no VPC, subnet or interface scope has the "s3" destination');
      const nested = [
        { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] },
        { resource: "subnet", id: "subnet-0123456789abcdef0", vpc: "vpc-0123456789abcdef0", destinations: ["s3"] },
      ];
      expect(reason(env({ logGroupClass: "INFREQUENT_ACCESS", flowLogs: nested }))).toBe("flowLogs[1] (subnet-0123456789abcdef0) is archived inside an archived VPC, so one Athena table would count its records twice");
    });

    it("asks nothing where no scope logs to the shared log group (transit gateways only, or S3 only), and says so of a readRecords there", () => {
      const tgwOnly = { logGroupClass: "INFREQUENT_ACCESS", flowLogs: [{ resource: "transit-gateway", id: "tgw-0123456789abcdef0", destinations: ["cloudwatch", "s3"] }] };
      expect(() => synth(env(tgwOnly))).not.toThrow();
      expect(() => synth(env({ analytics: { athena: { enabled: false }, maskIpAddresses: true }, flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"] }] }))).not.toThrow();
      expect(() => synth(env({ ...tgwOnly, detectors: { readRecords: true } }))).toThrow(
        "test.detectors.readRecords: is true, but no detector run reads records here: no scope of eu-west-1 logs to the shared log group /flowlog-kit/test/vpc-flow-logs (got true). Remove it.",
      );
    });

    it("refuses a readRecords that is not true or false, naming the field", () => {
      expect(validate(baseInput({ detectors: { readRecords: "yes" } })).problems).toEqual(['test.detectors.readRecords: must be true or false (got "yes"). Write true or false.']);
    });

    it("with detectors.readRecords, reads the records (the Lambda is told the group masks, or is Infrequent Access)", () => {
      expect(variables(synth(env(cwOnly({ analytics: { athena: { enabled: false }, maskIpAddresses: true }, detectors: { readRecords: true } })))).FLOWLOG_UNMASK).toBe("1");
      expect(variables(synth(env(cwOnly({ logGroupClass: "INFREQUENT_ACCESS", detectors: { readRecords: true } })))).FLOWLOG_LOG_CLASS).toBe("INFREQUENT_ACCESS");
    });

    it("needs nothing where the archive is queried (Athena reads the records as delivered, unmasked), and refuses readRecords where it changes nothing", () => {
      expect(() => synth(env({ analytics: { maskIpAddresses: true } }))).not.toThrow();
      expect(() => synth(env({ logGroupClass: "INFREQUENT_ACCESS" }))).not.toThrow();
      expect(() => synth(env({ detectors: { readRecords: true } }))).toThrow(
        "test.detectors.readRecords: is true, but no detector run reads records here: the rules run as Athena queries over the archive (got true). Remove it.",
      );
      expect(() => synth(env(cwOnly({ detectors: { readRecords: true } })))).toThrow(
        "test.detectors.readRecords: is true, but no detector run reads records here: the rules run as Logs Insights SQL queries over a Standard log group that does not mask IP addresses (got true). Remove it.",
      );
      expect(() => synth(env({ detectors: { enabled: false, readRecords: true } }))).toThrow("test.detectors.readRecords: is true, but no detector run reads records here: the detectors are off (detectors.enabled is false) (got true). Remove it.");
    });
  });

  it("is named flowlogs-<env>", () => {
    expect(new EnvironmentStack(Testing.app(), env()).node.id).toBe("flowlogs-test");
  });

  it("pins the provider to the environment's region and account, with default tags", () => {
    const s = synth(env({ tags: { CostCenter: "1" } }));
    expect(s.provider.aws[0]).toEqual({
      region: "eu-west-1",
      allowed_account_ids: ["123456789012"],
      default_tags: [{ tags: { CostCenter: "1", Owner: "platform-team", ManagedBy: "flowlog-kit" } }],
    });
  });

  it("keeps local state in the project folder by a relative path", () => {
    expect(synth().terraform.backend).toEqual({ local: { path: "../../../terraform.flowlogs-test.tfstate" } });
  });

  it("uses the S3 backend from config, with S3-native locking", () => {
    const s = synth(env({ backend: { type: "s3", bucket: "state-bucket" } }));
    expect(s.terraform.backend).toEqual({
      s3: { bucket: "state-bucket", key: "flowlog-kit/flowlogs-test/terraform.tfstate", region: "eu-west-1", encrypt: true, use_lockfile: true },
    });
  });

  it("builds prod: two VPCs to CloudWatch and S3 (parquet) and the bastion ENI to CloudWatch", () => {
    const s = synth(example("prod"));
    const logs = Object.values(s.resource.aws_flow_log!);
    expect(logs).toHaveLength(5);
    expect(logs.filter((l) => l.vpc_id && l.log_destination_type === "s3").map((l) => l.destination_options)).toEqual([
      { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true },
      { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true },
    ]);
    expect(logs.filter((l) => l.eni_id)).toEqual([expect.objectContaining({ max_aggregation_interval: 60, log_destination_type: "cloud-watch-logs" })]);
    expect(Object.values(s.resource.aws_cloudwatch_log_group!)[0]!.retention_in_days).toBe(30);
    const archiveRule = (Object.values(s.resource.aws_s3_bucket_lifecycle_configuration!)[0]!.rule as Record<string, unknown>[])[0];
    expect(archiveRule).toMatchObject({ expiration: [{ days: 365 }], transition: [{ days: 30, storage_class: "STANDARD_IA" }, { days: 90, storage_class: "GLACIER_IR" }] });
  });

  it("uses stg's given key for the log group and the archive, and creates no key", () => {
    const s = synth(example("stg"));
    expect(s.resource.aws_kms_key).toBeUndefined();
    const arn = "arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    expect(Object.values(s.resource.aws_cloudwatch_log_group!)[0]!.kms_key_id).toBe(arn);
    expect(JSON.stringify(s.resource.aws_s3_bucket_server_side_encryption_configuration)).toContain(arn);
  });

  it("has no data sources (offline plans cannot read them) and no public or ACL resources", () => {
    for (const e of examples) {
      const s = synth(e);
      expect(s.data).toBeUndefined();
      expect(s.resource.aws_s3_bucket_acl).toBeUndefined();
      expect(s.resource.aws_s3_bucket_public_access_block).toBeDefined();
    }
  });

  it("makes every S3 flow log wait for the bucket policy", () => {
    const s = synth(example("dev"));
    const s3Log = Object.values(s.resource.aws_flow_log!).find((l) => l.log_destination_type === "s3")!;
    expect(s3Log.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_policy\./)]);
  });
});

describe("EnvironmentStack RBAC", () => {
  it("creates the configured roles with MFA trust, session limit and boundary, and no others", () => {
    const s = synth(example("prod"));
    const roles = Object.values(s.resource.aws_iam_role!).filter((r) => String(r.name).includes("security") || String(r.name).includes("auditor"));
    expect(roles.map((r) => r.name).sort()).toEqual(["flowlogs-prod-auditor", "flowlogs-prod-security-analyst", "flowlogs-prod-security-engineer"]);
    for (const r of roles) {
      expect(r).toMatchObject({ max_session_duration: 3600, permissions_boundary: "arn:aws:iam::410987654323:policy/SecurityBoundary" });
      expect(JSON.parse(r.assume_role_policy as string).Statement[0].Condition).toEqual({ Bool: { "aws:MultiFactorAuthPresent": "true" } });
    }
    const stg = synth(example("stg"));
    expect(Object.values(stg.resource.aws_iam_role!).map((r) => r.name)).not.toContain("flowlogs-stg-auditor");
    expect(synth(example("dev")).resource.aws_iam_role).not.toHaveProperty("Rbac_Auditor");
  });
});

/** The keys AWS writes for an S3 flow log, by its destination folder and options (VPC user guide, "Flow log files"). */
function keysWritten(folder: string, o: { file_format: string; hive_compatible_partitions: boolean; per_hour_partition: boolean }, account: string, region: string): string {
  const ext = o.file_format === "parquet" ? "log.parquet" : "log.gz";
  const file = `${account}_vpcflowlogs_${region}_fl-0123456789abcdef0_20261122T0505Z_hash.${ext}`;
  return o.hive_compatible_partitions
    ? `${folder}AWSLogs/aws-account-id=${account}/aws-service=vpcflowlogs/aws-region=${region}/year=2026/month=11/day=22/${o.per_hour_partition ? "hour=05/" : ""}${file}`
    : `${folder}AWSLogs/${account}/vpcflowlogs/${region}/2026/11/22/${o.per_hour_partition ? "05/" : ""}${file}`;
}
const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);

describe("EnvironmentStack archive delivery", () => {
  it.each(["dev", "stg", "prod"])("lets log delivery write every key %s's S3 flow logs produce, Hive-compatible included", (name) => {
    const e = example(name);
    const s = synth(e);
    const bucket = `arn:aws:s3:::${e.archive.bucketName}`;
    const write = JSON.parse(Object.values(s.resource.aws_s3_bucket_policy!).find((p) => String(p.policy).includes("AWSLogDeliveryWrite"))!.policy as string).Statement.find(
      (st: { Sid: string }) => st.Sid === "AWSLogDeliveryWrite",
    );
    const s3Logs = Object.values(s.resource.aws_flow_log!).filter((l) => l.log_destination_type === "s3");
    expect(s3Logs.length).toBeGreaterThan(0);
    for (const l of s3Logs) {
      expect(String(l.log_destination).startsWith(bucket)).toBe(true);
      const folder = String(l.log_destination).slice(bucket.length).replace(/^\//, "");
      const key = keysWritten(folder, l.destination_options as never, e.account, e.region);
      expect((write.Resource as string[]).some((r) => glob(r, `${bucket}/${key}`))).toBe(true);
    }
  });
});

describe("EnvironmentStack overlapping CloudWatch scopes", () => {
  const vpc = { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] };
  const subnet = { resource: "subnet", id: "subnet-0123456789abcdef0", destinations: ["cloudwatch"], trafficType: "REJECT", aggregationSeconds: 60 };

  it("refuses a subnet or ENI to CloudWatch that does not name its VPC when a VPC is logged to CloudWatch too", () => {
    const { problems } = validate(baseInput({ flowLogs: [vpc, subnet, { resource: "eni", id: "eni-0123456789abcdef0", destinations: ["cloudwatch"] }] }));
    expect(problems).toEqual([
      'test.flowLogs[1].vpc: is required: flowLogs[0] logs vpc-0123456789abcdef0 to CloudWatch too, and a subnet inside it would be counted twice in the shared log group (got nothing). Name the VPC this scope belongs to, e.g. vpc: "vpc-0123456789abcdef0"; a subnet inside a VPC logged to CloudWatch then gets a log group of its own.',
      'test.flowLogs[2].vpc: is required: flowLogs[0] logs vpc-0123456789abcdef0 to CloudWatch too, and an ENI inside it would be counted twice in the shared log group (got nothing). Name the VPC this scope belongs to, e.g. vpc: "vpc-0123456789abcdef0"; an ENI inside a VPC logged to CloudWatch then gets a log group of its own.',
    ]);
  });

  it("refuses vpc on a VPC scope, and a malformed VPC id", () => {
    expect(validate(baseInput({ flowLogs: [{ ...vpc, vpc: "vpc-0123456789abcdef0" }] })).problems).toEqual([
      'test.flowLogs[0].vpc: is only for subnet and ENI scopes: a VPC scope is its own VPC (got "vpc-0123456789abcdef0"). Remove vpc from this scope.',
    ]);
    expect(validate(baseInput({ flowLogs: [vpc, { ...subnet, vpc: "subnet-0123456789abcdef0" }] })).problems).toEqual([
      'test.flowLogs[1].vpc: is not a VPC id (got "subnet-0123456789abcdef0"). Use "vpc-" followed by 8 or 17 lowercase hex digits.',
    ]);
  });

  it("sends a subnet inside a VPC logged to CloudWatch to a log group of its own, with its own queries, and keeps alarms and detectors on the shared group", () => {
    const s = synth(env({ flowLogs: [vpc, { ...subnet, vpc: vpc.id }], analytics: { maskIpAddresses: true }, detectors: { readRecords: true } }));
    const groups = Object.values(s.resource.aws_cloudwatch_log_group!).map((g) => g.name);
    expect(groups).toEqual(expect.arrayContaining(["/flowlog-kit/test/vpc-flow-logs", "/flowlog-kit/test/detail/subnet-0123456789abcdef0"]));
    const groupRef = (name: string) => `\${aws_cloudwatch_log_group.${Object.entries(s.resource.aws_cloudwatch_log_group!).find(([, g]) => g.name === name)![0]}.arn}`;
    const logs = Object.values(s.resource.aws_flow_log!);
    expect(logs.find((l) => l.vpc_id)!.log_destination).toBe(groupRef("/flowlog-kit/test/vpc-flow-logs"));
    expect(logs.find((l) => l.subnet_id)!.log_destination).toBe(groupRef("/flowlog-kit/test/detail/subnet-0123456789abcdef0"));
    const delivery = Object.values(s.resource.aws_iam_role_policy!).find((p) => String(p.policy).includes("WriteFlowLogsToNamedLogGroups"))!;
    expect(JSON.stringify(JSON.parse(delivery.policy as string).Statement[0].Resource)).toContain("log-group:/flowlog-kit/test/detail/subnet-0123456789abcdef0");
    const queries = Object.values(s.resource.aws_cloudwatch_query_definition!);
    expect(queries.filter((q) => String(q.name).startsWith("flowlog-kit/test/detail/subnet-0123456789abcdef0/")).length).toBeGreaterThan(0);
    for (const q of queries) expect(q.log_group_names).toEqual([String(q.name).includes("/detail/") ? "/flowlog-kit/test/detail/subnet-0123456789abcdef0" : "/flowlog-kit/test/vpc-flow-logs"]);
    const fn = Object.values(s.resource.aws_lambda_function!)[0]!;
    expect((fn.environment as { variables: Record<string, string> }).variables.FLOWLOG_LOG_GROUP).toBe("/flowlog-kit/test/vpc-flow-logs");
    for (const a of Object.values(s.resource.aws_cloudwatch_metric_alarm!).filter((x) => x.namespace === "AWS/Logs")) expect(a.dimensions).toEqual({ LogGroupName: "/flowlog-kit/test/vpc-flow-logs" });
    // Masking covers the detail group as well: it holds the same addresses.
    expect(Object.values(s.resource.aws_cloudwatch_log_data_protection_policy!)).toHaveLength(2);
  });

  it("keeps a subnet of a VPC not logged to CloudWatch in the shared group", () => {
    const s = synth(env({ flowLogs: [{ ...vpc, destinations: ["s3"] }, { ...subnet, vpc: vpc.id }] }));
    expect(Object.values(s.resource.aws_cloudwatch_log_group!).map((g) => g.name)).not.toContain("/flowlog-kit/test/detail/subnet-0123456789abcdef0");
  });

  it.each([
    ["stg", "subnet_id", "/flowlog-kit/stg/detail/subnet-0a7b9c1d3e5f7a9b2"],
    ["prod", "eni_id", "/flowlog-kit/prod/detail/eni-0c4d6e8f0a2b4c6d8"],
  ])("gives %s's scope inside a logged VPC its own log group", (name, attr, group) => {
    const s = synth(example(name));
    const [id] = Object.entries(s.resource.aws_cloudwatch_log_group!).find(([, g]) => g.name === group)!;
    expect(Object.values(s.resource.aws_flow_log!).find((l) => l[attr])!.log_destination).toBe(`\${aws_cloudwatch_log_group.${id}.arn}`);
  });
});

describe("EnvironmentStack detector environment", () => {
  it("refuses, at synth, thresholds that would not fit Lambda's 4 KB of environment variables, naming the field", () => {
    const allowedSources = Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    expect(() => synth(env({ detectors: { thresholds: { allowedSources } } }))).toThrow(
      /test\.detectors\.thresholds\.allowedSources: the detector's environment variables would take \d+ bytes, more than Lambda's 4096-byte limit, and this threshold takes the most room \(got 300 entries, \d+ bytes: \["10\.0\.0\.0",.*\)\. Shorten it by at least \d+ bytes; every threshold, the network context, the suppressions and the threat lists' entries travel in the one FLOWLOG_THRESHOLDS variable/,
    );
    expect(() => synth(env({ detectors: { thresholds: { allowedSources: allowedSources.slice(0, 50) } } }))).not.toThrow();
  });
});

describe("EnvironmentStack RBAC for Athena", () => {
  it("lets the analyst use the workgroup's results location and key", () => {
    const s = synth(example("prod"));
    const analyst = Object.values(s.resource.aws_iam_role_policy!).find((p) => p.name === "SecurityAnalyst")!;
    const st = JSON.parse(analyst.policy as string).Statement as { Sid: string; Action: string | string[]; Resource: unknown }[];
    const wg = Object.values(s.resource.aws_athena_workgroup!)[0]!.configuration as { result_configuration: { output_location: string } };
    const out = wg.result_configuration.output_location.replace(/^s3:\/\//, "arn:aws:s3:::");
    expect(st.find((x) => x.Sid === "WriteAndReadQueryResults")!.Resource).toBe(`${out}*`);
    expect(st.find((x) => x.Sid === "LocateQueryResults")!.Resource).toBe(out.slice(0, out.indexOf("/")));
  });
});
