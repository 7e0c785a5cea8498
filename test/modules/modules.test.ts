import { Testing } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LogFormat } from "../../functions/flowlog/format";
import { Alerting } from "../../modules/alerting";
import { ArchiveBucket } from "../../modules/archive-bucket";
import { DeliveryRole } from "../../modules/delivery-role";
import { FlowLogs } from "../../modules/flow-logs";
import { EnvironmentKey } from "../../modules/kms-key";
import { FlowLogGroup } from "../../modules/log-group";

const ctx = { account: "123456789012", region: "eu-west-1" };
type Synth = Record<string, Record<string, Record<string, Record<string, unknown>>>>;
const parse = (json: string) => JSON.parse(json) as Synth;
const only = (s: Synth, type: string) => {
  const all = Object.values(s.resource?.[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0]!;
};
const policy = (r: Record<string, unknown>, key = "policy") => JSON.parse(r[key] as string);

describe("EnvironmentKey", () => {
  it("creates a rotating key whose policy limits CloudWatch Logs to this account's log groups", () => {
    const s = parse(Testing.synthScope((scope) => new EnvironmentKey(scope, "Kms", { ...ctx, name: "dev" })));
    const key = only(s, "aws_kms_key");
    expect(key.enable_key_rotation).toBe(true);
    const statements = policy(key).Statement;
    const logs = statements.find((st: { Sid: string }) => st.Sid === "CloudWatchLogsUsesKeyForThisAccountsLogGroups");
    expect(logs.Principal).toEqual({ Service: "logs.eu-west-1.amazonaws.com" });
    expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe("arn:aws:logs:eu-west-1:123456789012:log-group:*");
    const delivery = statements.find((st: { Sid: string }) => st.Sid === "LogDeliveryWritesEncryptedArchive");
    expect(delivery.Condition.StringEquals["aws:SourceAccount"]).toBe("123456789012");
    expect(only(s, "aws_kms_alias").name).toBe("alias/flowlogs-dev");
  });

  it("creates nothing when a key ARN is given", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    let key: EnvironmentKey | undefined;
    const json = Testing.synthScope((scope) => {
      key = new EnvironmentKey(scope, "Kms", { ...ctx, name: "dev", existingKeyArn: arn });
    });
    expect(json).not.toHaveResource(KmsKey);
    expect(parse(json).resource).toBeUndefined();
    expect(key!.keyArn).toBe(arn);
  });
});

describe("FlowLogGroup", () => {
  it("sets retention from the class and encrypts with the key", () => {
    const json = Testing.synthScope((scope) => new FlowLogGroup(scope, "Logs", { name: "/x", retentionDays: 14, kmsKeyArn: "arn:k" }));
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "/x",
      retention_in_days: 14,
      kms_key_id: "arn:k",
    });
  });
});

describe("Alerting", () => {
  const s = parse(Testing.synthScope((scope) => new Alerting(scope, "Alerting", { ...ctx, name: "dev", kmsKeyArn: "arn:k" })));

  it("gives the findings topic a policy of its own: this account's CloudWatch alarms publish, nothing else is granted", () => {
    const topicPolicy = only(s, "aws_sns_topic_policy");
    expect(topicPolicy.arn).toMatch(/^\$\{aws_sns_topic\.Alerting_Topic_[0-9A-F]+\.arn\}$/);
    expect(policy(topicPolicy).Statement).toEqual([
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: "arn:aws:sns:eu-west-1:123456789012:flowlogs-dev-findings",
        Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*" } },
      },
    ]);
  });
});

describe("DeliveryRole", () => {
  const s = parse(Testing.synthScope((scope) => new DeliveryRole(scope, "Delivery", { ...ctx, roleName: "r", logGroupNames: ["/flowlog-kit/dev/vpc-flow-logs"] })));

  it("trusts only the flow-logs service for this account's flow logs", () => {
    const trust = policy(only(s, "aws_iam_role"), "assume_role_policy").Statement[0];
    expect(trust.Principal).toEqual({ Service: "vpc-flow-logs.amazonaws.com" });
    expect(trust.Condition).toEqual({
      StringEquals: { "aws:SourceAccount": "123456789012" },
      ArnLike: { "aws:SourceArn": "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*" },
    });
    expect(trust.Resource).toBeUndefined();
  });

  it("may write to each of its log groups and to no other", () => {
    const two = parse(Testing.synthScope((scope) => new DeliveryRole(scope, "Delivery", { ...ctx, roleName: "r", logGroupNames: ["/flowlog-kit/dev/vpc-flow-logs", "/flowlog-kit/dev/detail/subnet-01234567"] })));
    const st = policy(only(two, "aws_iam_role_policy")).Statement;
    expect(st).toHaveLength(2);
    expect(st[0].Resource).toEqual([
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs:*",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/detail/subnet-01234567",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/detail/subnet-01234567:*",
    ]);
    expect(only(two, "aws_iam_role").description).toBe("Publishes VPC flow logs to /flowlog-kit/dev/vpc-flow-logs and 1 more log group(s)");
  });

  it("may write only to the one log group, and find it (DescribeLogGroups takes no resource ARN)", () => {
    const st = policy(only(s, "aws_iam_role_policy")).Statement;
    expect(st).toHaveLength(2);
    expect(st[0].Resource).toEqual([
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs:*",
    ]);
    expect(st[0].Action).not.toContain("logs:CreateLogGroup");
    expect(JSON.stringify(st[0])).not.toContain('"*"');
    // The VPC user guide lists it for the delivery role; without it delivery fails.
    expect(st[1]).toEqual({ Sid: "FindLogGroupsNoResourceLevel", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" });
  });
});

describe("ArchiveBucket", () => {
  const make = (retentionDays: 90 | 180 | 365) =>
    parse(Testing.synthScope((scope) => new ArchiveBucket(scope, "Archive", { ...ctx, bucketName: "flowlogs-dev-archive", retentionDays, kmsKeyArn: "arn:k" })));
  const s = make(365);

  it("enforces bucket-owner ownership, versioning, SSE-KMS with a bucket key and a full public access block", () => {
    expect(only(s, "aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    expect(only(s, "aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
    expect(only(s, "aws_s3_bucket_server_side_encryption_configuration").rule).toEqual([
      { apply_server_side_encryption_by_default: { kms_master_key_id: "arn:k", sse_algorithm: "aws:kms" }, bucket_key_enabled: true },
    ]);
    expect(only(s, "aws_s3_bucket_public_access_block")).toMatchObject({
      block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true,
    });
    expect(s.resource?.aws_s3_bucket_acl).toBeUndefined();
  });

  it("denies non-TLS access and lets log delivery write only under this account's AWSLogs prefixes, default and Hive-compatible", () => {
    const st = policy(only(s, "aws_s3_bucket_policy")).Statement;
    const deny = st.find((x: { Sid: string }) => x.Sid === "DenyInsecureTransport");
    expect(deny).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const write = st.find((x: { Sid: string }) => x.Sid === "AWSLogDeliveryWrite");
    expect(write.Resource).toEqual([
      "arn:aws:s3:::flowlogs-dev-archive/AWSLogs/123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/AWSLogs/aws-account-id=123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/parquet/AWSLogs/123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/parquet/AWSLogs/aws-account-id=123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/transit-gateway/AWSLogs/123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/transit-gateway/AWSLogs/aws-account-id=123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/transit-gateway/parquet/AWSLogs/123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/transit-gateway/parquet/AWSLogs/aws-account-id=123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/incidents/*/AWSLogs/123456789012/*",
      "arn:aws:s3:::flowlogs-dev-archive/incidents/*/AWSLogs/aws-account-id=123456789012/*",
    ]);
    expect(write.Condition).toEqual({
      StringEquals: { "aws:SourceAccount": "123456789012" },
      ArnLike: { "aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*" },
    });
    expect(JSON.stringify(st)).not.toContain("x-amz-acl");
  });

  it("allows delivery to every key AWS writes for the kit's layouts, and to no key outside this account's AWSLogs trees", () => {
    const write = policy(only(s, "aws_s3_bucket_policy")).Statement.find((x: { Sid: string }) => x.Sid === "AWSLogDeliveryWrite");
    const allowed = (key: string) => (write.Resource as string[]).some((r) => new RegExp(`^${r.replace(/[.?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(`arn:aws:s3:::flowlogs-dev-archive/${key}`));
    const hive = "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=11/day=22/hour=05/123456789012_vpcflowlogs_eu-west-1_fl-1_20261122T0505Z_hash.log.parquet";
    const plain = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/22/123456789012_vpcflowlogs_eu-west-1_fl-1_20261122T0505Z_hash.log.gz";
    for (const key of [plain, hive, `parquet/${hive}`, `incidents/inc-1/${plain}`, `incidents/inc-1/${hive}`]) expect(allowed(key)).toBe(true);
    for (const key of ["AWSLogs/999999999999/x.log.gz", "AWSLogs/aws-account-id=999999999999/x", "other/file"]) expect(allowed(key)).toBe(false);
  });

  const makeCold = (retentionDays: 90 | 180 | 365) =>
    parse(Testing.synthScope((scope) => new ArchiveBucket(scope, "Archive", { ...ctx, bucketName: "flowlogs-dev-archive", retentionDays, storage: "cold", kmsKeyArn: "arn:k" })));
  it.each([
    [90, "queryable", make, [{ days: 30, storage_class: "STANDARD_IA" }]],
    [365, "queryable", make, [{ days: 30, storage_class: "STANDARD_IA" }, { days: 90, storage_class: "GLACIER_IR" }]],
    [365, "cold", makeCold, [{ days: 30, storage_class: "STANDARD_IA" }, { days: 90, storage_class: "GLACIER_IR" }, { days: 180, storage_class: "DEEP_ARCHIVE" }]],
  ] as const)("for %i days and %s storage: transitions that fit, expiration, noncurrent expiry and multipart abort", (days, _storage, build, transitions) => {
    const rule = (only(build(days), "aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[])[0]!;
    expect(rule).toMatchObject({
      status: "Enabled",
      transition: transitions,
      expiration: [{ days }],
      noncurrent_version_expiration: [{ noncurrent_days: 7 }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
    });
  });

  it("keeps every object in a class Athena reads by default: nothing goes to Glacier Flexible Retrieval or Deep Archive", () => {
    for (const days of [90, 180, 365] as const) {
      expect(JSON.stringify(only(make(days), "aws_s3_bucket_lifecycle_configuration").rule)).not.toMatch(/DEEP_ARCHIVE|"GLACIER"/);
    }
  });

  it("removes expired delete markers in a rule of its own (S3 rejects them next to days)", () => {
    const rules = only(s, "aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[];
    expect(rules).toHaveLength(2);
    expect(rules[1]).toEqual({ id: "remove-expired-delete-markers", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ expired_object_delete_marker: true }] });
    expect(rules[0]!.expiration).toEqual([{ days: 365 }]);
  });
});

describe("FlowLogs", () => {
  const base = { trafficType: "ALL" as const, aggregationSeconds: 600 as const, logFormat: LogFormat.DEFAULT };
  const s = parse(
    Testing.synthScope(
      (scope) =>
        new FlowLogs(scope, "FlowLogs", {
          namePrefix: "flowlogs-dev",
          cloudWatch: { logGroupArn: "arn:lg", deliveryRoleArn: "arn:role" },
          s3: { destinationArn: "arn:aws:s3:::b" },
          targets: [
            { ...base, resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true } },
            { ...base, resource: "subnet", id: "subnet-01234567", trafficType: "REJECT", destinations: ["cloudwatch"], logFormat: LogFormat.custom(["srcaddr", "dstaddr"], "subnet") },
            { ...base, resource: "eni", id: "eni-0123456789abcdef0", aggregationSeconds: 60, destinations: ["s3"], s3: { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false } },
          ],
        }),
    ),
  );
  const logs = Object.values(s.resource!.aws_flow_log!);

  it("creates one flow log per scope and destination", () => {
    expect(logs).toHaveLength(4);
  });

  it("delivers to CloudWatch through the delivery role and to S3 with the scope's file options", () => {
    expect(logs).toContainEqual(expect.objectContaining({ vpc_id: "vpc-0123456789abcdef0", log_destination_type: "cloud-watch-logs", log_destination: "arn:lg", iam_role_arn: "arn:role", traffic_type: "ALL", max_aggregation_interval: 600 }));
    expect(logs).toContainEqual(expect.objectContaining({ vpc_id: "vpc-0123456789abcdef0", log_destination_type: "s3", destination_options: { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true } }));
    expect(logs).toContainEqual(expect.objectContaining({ eni_id: "eni-0123456789abcdef0", max_aggregation_interval: 60, log_destination_type: "s3" }));
    const s3Logs = logs.filter((l) => l.log_destination_type === "s3");
    for (const l of s3Logs) expect(l.iam_role_arn).toBeUndefined();
  });

  it("writes each file format under its own folder: plain text at the root, Parquet under parquet/", () => {
    expect(logs.find((l) => l.vpc_id && l.log_destination_type === "s3")!.log_destination).toBe("arn:aws:s3:::b/parquet/");
    expect(logs.find((l) => l.eni_id)!.log_destination).toBe("arn:aws:s3:::b");
    const incident = parse(
      Testing.synthScope(
        (scope) =>
          new FlowLogs(scope, "F", {
            namePrefix: "x",
            s3: { destinationArn: "arn:aws:s3:::b/incidents/inc-1/" },
            targets: [{ ...base, resource: "eni", id: "eni-0123456789abcdef0", destinations: ["s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: false, perHourPartition: true } }],
          }),
      ),
    );
    expect(Object.values(incident.resource!.aws_flow_log!)[0]!.log_destination).toBe("arn:aws:s3:::b/incidents/inc-1/parquet/");
  });

  it("sends a target with a log group of its own there, and the others to the shared group", () => {
    const r = parse(
      Testing.synthScope(
        (scope) =>
          new FlowLogs(scope, "F", {
            namePrefix: "x",
            cloudWatch: { logGroupArn: "arn:shared", deliveryRoleArn: "arn:role" },
            targets: [
              { ...base, resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] },
              { ...base, resource: "subnet", id: "subnet-01234567", destinations: ["cloudwatch"], logGroupArn: "arn:detail" },
            ],
          }),
      ),
    );
    const byTarget = Object.values(r.resource!.aws_flow_log!).map((l) => [l.vpc_id ?? l.subnet_id, l.log_destination]);
    expect(byTarget).toEqual(expect.arrayContaining([["vpc-0123456789abcdef0", "arn:shared"], ["subnet-01234567", "arn:detail"]]));
    expect(byTarget).toHaveLength(2);
  });

  it("sends the custom format escaped for Terraform, and no format for the AWS default", () => {
    const subnet = logs.find((l) => l.subnet_id === "subnet-01234567")!;
    expect(subnet.log_format).toBe("$${srcaddr} $${dstaddr}");
    expect(subnet.traffic_type).toBe("REJECT");
    expect(logs.find((l) => l.vpc_id)!.log_format).toBeUndefined();
  });

  it("refuses a CloudWatch target without a log group", () => {
    expect(() =>
      Testing.synthScope((scope) => new FlowLogs(scope, "F", { namePrefix: "x", targets: [{ ...base, resource: "vpc", id: "vpc-01234567", destinations: ["cloudwatch"] }] })),
    ).toThrow("FlowLogs: target vpc-01234567 delivers to CloudWatch but no log group was given");
    expect(() =>
      Testing.synthScope((scope) => new FlowLogs(scope, "F", { namePrefix: "x", targets: [{ ...base, resource: "vpc", id: "vpc-01234567", destinations: ["s3"] }] })),
    ).toThrow("FlowLogs: target vpc-01234567 delivers to S3 but no bucket was given");
  });
});
