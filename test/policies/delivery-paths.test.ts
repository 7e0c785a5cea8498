import type { StackJson } from "../../policies/controls/stack";
import { deliveryDecisions, deliveryPlan, flowLogSettings, logStreamName, placeholderInterfaceId, s3ObjectKey, s3ObjectKeyTemplate } from "../../policies/delivery-paths";
import { placeholderFlowLogId, stackModel } from "../../policies/stack-model";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const at = new Date(Date.UTC(2018, 5, 20, 16, 20));

describe("s3ObjectKey: the keys the VPC user guide documents", () => {
  const base = { prefix: "", account: ACCOUNT, region: REGION, flowLogId: "fl-1234abcd", at, hash: "fe123456", fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false } as const;

  it("reproduces the guide's example file name in the default folder structure", () => {
    expect(s3ObjectKey(base)).toBe("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz");
  });

  it("adds the hour folder for hourly partitions", () => {
    expect(s3ObjectKey({ ...base, perHourPartition: true })).toBe("AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz");
  });

  it("uses key=value folders for Hive-compatible prefixes, daily and hourly", () => {
    expect(s3ObjectKey({ ...base, hiveCompatiblePartitions: true })).toBe(
      "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
    );
    expect(s3ObjectKey({ ...base, hiveCompatiblePartitions: true, perHourPartition: true })).toBe(
      "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
    );
  });

  it("names Parquet files .log.parquet, as delivered objects are", () => {
    const key = s3ObjectKey({ ...base, account: "111111111111", region: "eu-west-3", flowLogId: "fl-0f46d0a2ed744cfa1", at: new Date(Date.UTC(2022, 8, 15, 14, 20)), hash: "740b4cc6", fileFormat: "parquet", hiveCompatiblePartitions: true });
    expect(key).toBe("AWSLogs/aws-account-id=111111111111/aws-service=vpcflowlogs/aws-region=eu-west-3/year=2022/month=09/day=15/111111111111_vpcflowlogs_eu-west-3_fl-0f46d0a2ed744cfa1_20220915T1420Z_740b4cc6.log.parquet");
  });

  it("stamps the file with the start of its 5-minute period (records ending 16:20:00 to 16:24:59)", () => {
    expect(s3ObjectKey({ ...base, at: new Date(Date.UTC(2018, 5, 20, 16, 24, 59)) })).toContain("_20180620T1620Z_");
  });

  it("puts the destination's folder before AWSLogs, with or without its trailing slash", () => {
    expect(s3ObjectKey({ ...base, prefix: "my-logs/" })).toMatch(/^my-logs\/AWSLogs\/123456789012\/vpcflowlogs\//);
    expect(s3ObjectKey({ ...base, prefix: "incidents/inc-1" })).toMatch(/^incidents\/inc-1\/AWSLogs\//);
  });

  it("refuses AWSLogs as a folder name, which AWS reserves", () => {
    expect(() => s3ObjectKey({ ...base, prefix: "AWSLogs/" })).toThrow('log_destination: the folder uses the reserved name AWSLogs (got "AWSLogs/"). Choose another folder; AWS adds AWSLogs/ itself.');
  });

  it("writes the layout as a template with placeholders", () => {
    expect(s3ObjectKeyTemplate({ ...base, perHourPartition: true })).toBe(
      "AWSLogs/123456789012/vpcflowlogs/us-east-1/<yyyy>/<mm>/<dd>/<hh>/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_<yyyymmddTHHmmZ>_<hash>.log.gz",
    );
  });
});

describe("logStreamName", () => {
  it("is the interface id and the traffic type, one stream per interface", () => {
    expect(logStreamName("eni-0c4d6e8f0a2b4c6d8", "ALL")).toBe("eni-0c4d6e8f0a2b4c6d8-all");
    expect(logStreamName("eni-0c4d6e8f0a2b4c6d8", "REJECT")).toBe("eni-0c4d6e8f0a2b4c6d8-reject");
  });
});

// Policies as the AWS documentation gives them, for a stack that follows it.
const bucketName = "flow-log-bucket";
const bucketArn = `arn:aws:s3:::${bucketName}`;
const docsBucketPolicy = (resources: string[]) => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "AWSLogDeliveryWrite",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: resources,
      Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control" }, ArnLike: { "aws:SourceArn": `arn:aws:logs:${REGION}:${ACCOUNT}:*` } },
    },
    {
      Sid: "AWSLogDeliveryAclCheck",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: bucketArn,
      Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": `arn:aws:logs:${REGION}:${ACCOUNT}:*` } },
    },
  ],
});
const docsKeyPolicy = {
  Version: "2012-10-17",
  Statement: [
    { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
    {
      Sid: "Allow VPC Flow Logs to use the key",
      Effect: "Allow",
      Principal: { Service: ["delivery.logs.amazonaws.com"] },
      Action: "kms:GenerateDataKey*",
      Resource: "*",
      Condition: { StringEquals: { "aws:SourceAccount": [ACCOUNT] }, ArnLike: { "aws:SourceArn": [`arn:aws:logs:${REGION}:${ACCOUNT}:*`] } },
    },
    {
      Sid: "Allow CloudWatch Logs",
      Effect: "Allow",
      Principal: { Service: `logs.${REGION}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*` } },
    },
  ],
};
const docsRolePolicy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"], Resource: "*" }] };
const docsTrustPolicy = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc-flow-log/*` } },
    },
  ],
};

function stack(flowLogs: Record<string, Record<string, unknown>>, overrides: { bucketPolicy?: object; rolePolicy?: object } = {}): StackJson {
  return {
    resource: {
      aws_s3_bucket: { Archive: { bucket: bucketName } },
      aws_s3_bucket_policy: { ArchivePolicy: { bucket: "${aws_s3_bucket.Archive.id}", policy: JSON.stringify(overrides.bucketPolicy ?? docsBucketPolicy([`${bucketArn}/AWSLogs/${ACCOUNT}/*`, `${bucketArn}/AWSLogs/aws-account-id=${ACCOUNT}/*`])) } },
      aws_s3_bucket_server_side_encryption_configuration: {
        ArchiveEncryption: { bucket: "${aws_s3_bucket.Archive.id}", rule: [{ apply_server_side_encryption_by_default: { kms_master_key_id: "${aws_kms_key.Key.arn}", sse_algorithm: "aws:kms" }, bucket_key_enabled: true }] },
      },
      aws_kms_key: { Key: { policy: JSON.stringify(docsKeyPolicy) } },
      aws_cloudwatch_log_group: { Group: { name: "/vpc/flow-logs", kms_key_id: "${aws_kms_key.Key.arn}" } },
      aws_iam_role: { Delivery: { name: "flow-logs-delivery", assume_role_policy: JSON.stringify(docsTrustPolicy) } },
      aws_iam_role_policy: { DeliveryPolicy: { role: "${aws_iam_role.Delivery.id}", policy: JSON.stringify(overrides.rolePolicy ?? docsRolePolicy) } },
      aws_flow_log: flowLogs,
    },
  };
}

const toS3 = (options?: Record<string, unknown>, destination = "${aws_s3_bucket.Archive.arn}") => ({ vpc_id: "vpc-0123456789abcdef0", traffic_type: "ALL", log_destination_type: "s3", log_destination: destination, ...(options ? { destination_options: options } : {}) });
const toCloudWatch = (target: Record<string, string>, trafficType = "ALL") => ({ ...target, traffic_type: trafficType, log_destination_type: "cloud-watch-logs", log_destination: "${aws_cloudwatch_log_group.Group.arn}", iam_role_arn: "${aws_iam_role.Delivery.arn}" });

describe("flowLogSettings", () => {
  it("reads each aws_flow_log with references resolved and the provider's defaults applied", () => {
    const s = stack({
      Plain: toS3(),
      Hive: toS3({ file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true }),
      Legacy: { eni_id: "eni-0c4d6e8f0a2b4c6d8", traffic_type: "REJECT", log_group_name: "/vpc/flow-logs", iam_role_arn: "${aws_iam_role.Delivery.arn}" },
    });
    const settings = flowLogSettings(s, stackModel(s, { account: ACCOUNT, region: REGION }));
    expect(settings.map((f) => [f.address, f.destinationType, f.destination, f.s3])).toEqual([
      ["aws_flow_log.Hive", "s3", bucketArn, { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true }],
      ["aws_flow_log.Legacy", "cloud-watch-logs", `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/vpc/flow-logs`, undefined],
      ["aws_flow_log.Plain", "s3", bucketArn, { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false }],
    ]);
    expect(settings[1]).toMatchObject({ resourceType: "eni", resourceId: "eni-0c4d6e8f0a2b4c6d8", trafficType: "REJECT", iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/flow-logs-delivery` });
    expect(settings[1]!.flowLogId).toBe(placeholderFlowLogId("aws_flow_log.Legacy"));
    expect(settings[1]!.flowLogArn).toMatch(new RegExp(`^arn:aws:ec2:${REGION}:${ACCOUNT}:vpc-flow-log/fl-[0-9a-f]{17}$`));
  });
});

describe("deliveryPlan: S3 destinations", () => {
  const plan = (s: StackJson) => deliveryPlan(s, ACCOUNT, REGION, { at });
  const decisions = (s: StackJson) => deliveryDecisions(s, ACCOUNT, REGION, { at }).map(({ request, decision }) => [request.action, request.required, decision.decision, decision.statement]);

  it("makes the requests the guide describes: bucket check, object write with the bucket-owner ACL, and a data key for SSE-KMS", () => {
    const p = plan(stack({ Flow: toS3({ file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true }) }));
    const flowLogId = placeholderFlowLogId("aws_flow_log.Flow");
    const key = `AWSLogs/aws-account-id=${ACCOUNT}/aws-service=vpcflowlogs/aws-region=${REGION}/year=2018/month=06/day=20/hour=16/${ACCOUNT}_vpcflowlogs_${REGION}_${flowLogId}_20180620T1620Z_`;
    expect(p.paths).toEqual([
      { flowLog: "aws_flow_log.Flow", destinationType: "s3", destination: bucketArn, writes: `AWSLogs/aws-account-id=${ACCOUNT}/`, template: expect.stringMatching(/^AWSLogs\/aws-account-id=123456789012\/aws-service=vpcflowlogs\/aws-region=us-east-1\/year=<yyyy>\/month=<mm>\/day=<dd>\/hour=<hh>\//) },
    ]);
    expect(p.requests.map((r) => [r.principal, r.action, r.resource.startsWith(`${bucketArn}/`) ? `${bucketArn}/...` : r.resource])).toEqual([
      ["delivery.logs.amazonaws.com", "s3:GetBucketAcl", bucketArn],
      ["delivery.logs.amazonaws.com", "s3:ListBucket", bucketArn],
      ["delivery.logs.amazonaws.com", "s3:PutObject", `${bucketArn}/...`],
      ["delivery.logs.amazonaws.com", "kms:GenerateDataKey", `arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-Key`],
    ]);
    const put = p.requests[2]!;
    expect(put.resource).toMatch(new RegExp(`^${bucketArn}/${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[0-9a-f]{8}\\.log\\.parquet$`));
    expect(put.context).toEqual({ "aws:SourceAccount": ACCOUNT, "aws:SourceArn": `arn:aws:logs:${REGION}:${ACCOUNT}:*`, "aws:SecureTransport": "true", "s3:x-amz-acl": "bucket-owner-full-control" });
    expect(p.requests[3]!.context).toMatchObject({ "kms:ViaService": `s3.${REGION}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucketArn });
    expect(p.unresolved).toEqual([]);
  });

  it("is allowed end to end by the guide's bucket and key policies, for every layout", () => {
    for (const options of [undefined, { file_format: "plain-text", hive_compatible_partitions: false, per_hour_partition: true }, { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: false }]) {
      expect(decisions(stack({ Flow: toS3(options) }))).toEqual([
        ["s3:GetBucketAcl", true, "allow", "AWSLogDeliveryAclCheck"],
        ["s3:ListBucket", false, "allow", "AWSLogDeliveryAclCheck"],
        ["s3:PutObject", true, "allow", "AWSLogDeliveryWrite"],
        ["kms:GenerateDataKey", true, "allow", "Allow VPC Flow Logs to use the key"],
      ]);
    }
  });

  it("is denied for Hive-compatible prefixes when the bucket policy names only AWSLogs/<account>/", () => {
    const s = stack({ Flow: toS3({ file_format: "plain-text", hive_compatible_partitions: true, per_hour_partition: false }) }, { bucketPolicy: docsBucketPolicy([`${bucketArn}/AWSLogs/${ACCOUNT}/*`]) });
    const put = deliveryDecisions(s, ACCOUNT, REGION, { at }).find((d) => d.request.action === "s3:PutObject")!;
    expect(put.decision.decision).toBe("implicit-deny");
    expect(put.decision.note).toContain(`no statement of aws_s3_bucket_policy.ArchivePolicy allows delivery.logs.amazonaws.com s3:PutObject on ${bucketArn}/AWSLogs/aws-account-id=${ACCOUNT}/`);
  });

  it("writes under the destination's folder, and marks a bucket of another stack unverified", () => {
    const s = stack({ Incident: { ...toS3({ file_format: "plain-text", hive_compatible_partitions: false, per_hour_partition: true }, "arn:aws:s3:::env-archive/incidents/inc-1/"), eni_id: "eni-0c4d6e8f0a2b4c6d8", vpc_id: undefined } });
    const p = plan(s);
    expect(p.paths[0]).toMatchObject({ destination: "arn:aws:s3:::env-archive", writes: `incidents/inc-1/AWSLogs/${ACCOUNT}/` });
    expect(p.unresolved).toEqual([{ flowLog: "aws_flow_log.Incident", what: "default encryption of arn:aws:s3:::env-archive", value: "not in this stack", fix: "Pass the stack that defines the bucket in options.companions, or check that delivery.logs.amazonaws.com may use its KMS key." }]);
    const put = deliveryDecisions(s, ACCOUNT, REGION, { at }).find((d) => d.request.action === "s3:PutObject")!;
    expect(put.request.resource).toMatch(/^arn:aws:s3:::env-archive\/incidents\/inc-1\/AWSLogs\/123456789012\/vpcflowlogs\/us-east-1\/2018\/06\/20\/16\//);
    expect(put.decision).toMatchObject({ decision: "unverified", statement: "implicit deny" });
    expect(put.decision.note).toContain("bucket policy of arn:aws:s3:::env-archive is not known here: check that it allows delivery.logs.amazonaws.com s3:PutObject");
  });

  it("reads an incident stack with its environment stack as companion: the bucket's policy and key, and the key from remote state, are known", () => {
    const environment: StackJson = { ...stack({}, { bucketPolicy: docsBucketPolicy([`${bucketArn}/incidents/*/AWSLogs/${ACCOUNT}/*`]) }), output: { kms_key_arn: { value: "${aws_kms_key.Key.arn}" } } } as StackJson;
    const incident: StackJson = {
      resource: {
        aws_cloudwatch_log_group: { Logs: { name: "/vpc/incidents/inc-1", kms_key_id: "${data.terraform_remote_state.Environment.outputs.kms_key_arn}" } },
        aws_iam_role: { Delivery: { name: "inc-1-delivery", assume_role_policy: JSON.stringify(docsTrustPolicy) } },
        aws_iam_role_policy: { DeliveryPolicy: { role: "${aws_iam_role.Delivery.id}", policy: JSON.stringify(docsRolePolicy) } },
        aws_flow_log: {
          ToS3: { eni_id: "eni-0c4d6e8f0a2b4c6d8", traffic_type: "ALL", log_destination_type: "s3", log_destination: `${bucketArn}/incidents/inc-1/`, destination_options: { file_format: "plain-text", hive_compatible_partitions: false, per_hour_partition: true } },
          ToCloudWatch: { eni_id: "eni-0c4d6e8f0a2b4c6d8", traffic_type: "ALL", log_destination_type: "cloud-watch-logs", log_destination: "${aws_cloudwatch_log_group.Logs.arn}", iam_role_arn: "${aws_iam_role.Delivery.arn}" },
        },
      },
    };
    expect(deliveryPlan(incident, ACCOUNT, REGION, { companions: [environment] }).unresolved).toEqual([]);
    const rows = deliveryDecisions(incident, ACCOUNT, REGION, { at, companions: [environment] }).filter((r) => r.request.required);
    expect(rows.filter((r) => r.decision.decision !== "allow").map((r) => [r.request.action, r.decision.decision])).toEqual([]);
    expect(rows.find((r) => r.request.action === "s3:PutObject")!.request.resource).toMatch(/^arn:aws:s3:::flow-log-bucket\/incidents\/inc-1\/AWSLogs\/123456789012\/vpcflowlogs\//);
    expect(rows.filter((r) => r.request.action === "kms:GenerateDataKey").map((r) => [r.request.principal, r.request.resource])).toEqual([
      [`logs.${REGION}.amazonaws.com`, `arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-Key`],
      ["delivery.logs.amazonaws.com", `arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-Key`],
    ]);
  });

  it("refuses a destination that is not a bucket ARN", () => {
    expect(() => plan(stack({ Flow: toS3(undefined, "arn:aws:logs:us-east-1:123456789012:log-group:x") }))).toThrow(
      'aws_flow_log.Flow.log_destination: not an S3 bucket ARN (got "arn:aws:logs:us-east-1:123456789012:log-group:x"). Use arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/<folder>/.',
    );
  });
});

describe("deliveryPlan: CloudWatch Logs destinations", () => {
  const group = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/vpc/flow-logs`;
  const role = `arn:aws:iam::${ACCOUNT}:role/flow-logs-delivery`;

  it("assumes the role with the flow log as source, then writes one stream per interface into the group", () => {
    const p = deliveryPlan(stack({ Eni: toCloudWatch({ eni_id: "eni-0c4d6e8f0a2b4c6d8" }) }), ACCOUNT, REGION);
    const stream = `${group}:log-stream:eni-0c4d6e8f0a2b4c6d8-all`;
    expect(p.paths).toEqual([{ flowLog: "aws_flow_log.Eni", destinationType: "cloud-watch-logs", destination: group, writes: group, template: `${group}:log-stream:<interface-id>-all` }]);
    expect(p.requests.map((r) => [r.principal, r.action, r.resource, r.required])).toEqual([
      ["vpc-flow-logs.amazonaws.com", "sts:AssumeRole", role, true],
      [role, "logs:DescribeLogGroups", "*", true],
      [role, "logs:CreateLogGroup", group, false],
      [role, "logs:DescribeLogStreams", group, true],
      [role, "logs:CreateLogStream", stream, true],
      [role, "logs:PutLogEvents", stream, true],
      [`logs.${REGION}.amazonaws.com`, "kms:GenerateDataKey", `arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-Key`, true],
    ]);
    expect(p.requests[0]!.context).toEqual({ "aws:SourceAccount": ACCOUNT, "aws:SourceArn": `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc-flow-log/${placeholderFlowLogId("aws_flow_log.Eni")}` });
    expect(p.requests[6]!.context).toEqual({ "kms:EncryptionContext:aws:logs:arn": group });
  });

  it("stands in one interface for a VPC or subnet, named after the traffic type", () => {
    const p = deliveryPlan(stack({ Subnet: toCloudWatch({ subnet_id: "subnet-0a7b9c1d3e5f7a9b2" }, "REJECT") }), ACCOUNT, REGION);
    const put = p.requests.find((r) => r.action === "logs:PutLogEvents")!;
    expect(put.resource).toBe(`${group}:log-stream:${placeholderInterfaceId("aws_flow_log.Subnet")}-reject`);
    expect(put.note).toBe(`${placeholderInterfaceId("aws_flow_log.Subnet")} stands in for each interface of subnet-0a7b9c1d3e5f7a9b2`);
  });

  it("is allowed by the guide's role policy, trust policy and CloudWatch Logs key policy", () => {
    const rows = deliveryDecisions(stack({ Vpc: toCloudWatch({ vpc_id: "vpc-0123456789abcdef0" }) }), ACCOUNT, REGION).map(({ request, decision }) => [request.action, decision.decision]);
    expect(rows).toEqual([
      ["sts:AssumeRole", "allow"],
      ["logs:DescribeLogGroups", "allow"],
      ["logs:CreateLogGroup", "allow"],
      ["logs:DescribeLogStreams", "allow"],
      ["logs:CreateLogStream", "allow"],
      ["logs:PutLogEvents", "allow"],
      ["kms:GenerateDataKey", "allow"],
    ]);
  });

  it("is denied where a role policy scoped to the group leaves out DescribeLogGroups, which the guide lists as a minimum", () => {
    const scoped = { Version: "2012-10-17", Statement: [{ Sid: "Write", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [group, `${group}:*`] }] };
    const rows = deliveryDecisions(stack({ Vpc: toCloudWatch({ vpc_id: "vpc-0123456789abcdef0" }) }, { rolePolicy: scoped }), ACCOUNT, REGION);
    expect(rows.filter((r) => r.request.required && r.decision.decision !== "allow").map((r) => r.request.action)).toEqual(["logs:DescribeLogGroups"]);
  });

  it("lists what the stack cannot resolve, and resolves it from options.references", () => {
    const s = stack({ Eni: toCloudWatch({ eni_id: "eni-0c4d6e8f0a2b4c6d8" }) });
    const ref = "${data.terraform_remote_state.Environment.outputs.kmsKeyArn}";
    (s.resource!.aws_cloudwatch_log_group!.Group as Record<string, unknown>).kms_key_id = ref;
    expect(deliveryPlan(s, ACCOUNT, REGION).unresolved).toEqual([
      { flowLog: "aws_flow_log.Eni", what: "kms_key_id of log group /vpc/flow-logs", value: ref, fix: "Pass the stack that defines it in options.companions (for an incident stack: its environment stack), or its value in options.references." },
    ]);
    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const resolved = deliveryPlan(s, ACCOUNT, REGION, { references: { [ref]: key } });
    expect(resolved.unresolved).toEqual([]);
    expect(resolved.requests.at(-1)).toMatchObject({ action: "kms:GenerateDataKey", resource: key });
    const decision = deliveryDecisions(s, ACCOUNT, REGION, { references: { [ref]: key } }).at(-1)!.decision;
    expect(decision.decision).toBe("unverified");
  });
});

describe("deliveryPlan: Firehose destinations", () => {
  it("writes with the log delivery service-linked role, whose managed policy is outside the stack", () => {
    const stream = `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/flows`;
    const s = stack({ Fh: { vpc_id: "vpc-0123456789abcdef0", traffic_type: "ALL", log_destination_type: "kinesis-data-firehose", log_destination: stream } });
    const rows = deliveryDecisions(s, ACCOUNT, REGION);
    expect(rows.map(({ request, decision }) => [request.principal, request.action, request.resource, decision.decision])).toEqual([
      [`arn:aws:iam::${ACCOUNT}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery`, "firehose:PutRecord", stream, "unverified"],
      [`arn:aws:iam::${ACCOUNT}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery`, "firehose:PutRecordBatch", stream, "unverified"],
    ]);
    expect(rows[0]!.request.note).toBe("AWSServiceRoleForLogDelivery's managed policy allows streams tagged LogDeliveryEnabled=true: check the stream's tag");
  });

  // The VPC user guide, "IAM roles for cross account delivery": the source-account role trusts
  // delivery.logs.amazonaws.com and may assume the destination-account role, which trusts it.
  const DESTINATION = "999988887777";
  const crossStream = `arn:aws:firehose:${REGION}:${DESTINATION}:deliverystream/siem`;
  const destinationRole = `arn:aws:iam::${DESTINATION}:role/AWSLogDeliveryFirehoseCrossAccountRoleSiem`;
  const sourcePermissions = (assumable: string[]) => ({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:GetLogDelivery"], Resource: "*" },
      { Sid: "AssumeDestinationRole", Effect: "Allow", Action: "sts:AssumeRole", Resource: assumable },
    ],
  });
  const crossAccount = (assumable = [destinationRole]): StackJson => {
    const s = stack({ Fh: { vpc_id: "vpc-0123456789abcdef0", traffic_type: "ALL", log_destination_type: "kinesis-data-firehose", log_destination: crossStream, iam_role_arn: "${aws_iam_role.Source.arn}", deliver_cross_account_role: destinationRole } });
    s.resource!.aws_iam_role!.Source = { name: "mySourceRole", assume_role_policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: "sts:AssumeRole" }] }) };
    s.resource!.aws_iam_role_policy!.SourcePolicy = { role: "${aws_iam_role.Source.id}", policy: JSON.stringify(sourcePermissions(assumable)) };
    return s;
  };
  const sourceRole = `arn:aws:iam::${ACCOUNT}:role/mySourceRole`;

  it("across accounts: the delivery service assumes the source role, which assumes the destination role, which writes; the other account's part is unverified", () => {
    const rows = deliveryDecisions(crossAccount(), ACCOUNT, REGION);
    expect(rows.map(({ request, decision }) => [request.principal, request.action, request.resource, decision.decision, decision.statement])).toEqual([
      ["delivery.logs.amazonaws.com", "sts:AssumeRole", sourceRole, "allow", "aws_iam_role.Source.assume_role_policy#1"],
      [sourceRole, "sts:AssumeRole", destinationRole, "unverified", "AssumeDestinationRole"],
      // Nothing the stack holds decides these (access shows "undecided: policies of <role> not known").
      [destinationRole, "firehose:PutRecord", crossStream, "unverified", expect.any(String)],
      [destinationRole, "firehose:PutRecordBatch", crossStream, "unverified", expect.any(String)],
    ]);
    expect(rows[1]!.decision.note).toContain(`trust policy of ${destinationRole} is not known here: check that it allows ${sourceRole} sts:AssumeRole`);
    expect(rows[2]!.decision.note).toContain(`policies of ${destinationRole} not known here: check whether it allows ${destinationRole} firehose:PutRecord on ${crossStream}`);
    expect(rows.some(({ request }) => request.principal.includes("AWSServiceRoleForLogDelivery"))).toBe(false);
  });

  it("across accounts: denied when the source role's own policy may not assume the destination role, which the stack decides", () => {
    const rows = deliveryDecisions(crossAccount([`arn:aws:iam::${DESTINATION}:role/AWSLogDeliveryFirehoseCrossAccountRoleOther`]), ACCOUNT, REGION);
    expect(rows.find(({ request }) => request.resource === destinationRole)!.decision).toMatchObject({ decision: "implicit-deny" });
  });

  it("across accounts: lists a missing destination-account role as unresolved", () => {
    const s = crossAccount();
    delete s.resource!.aws_flow_log!.Fh!.deliver_cross_account_role;
    const plan = deliveryPlan(s, ACCOUNT, REGION);
    expect(plan.requests).toEqual([]);
    expect(plan.unresolved).toEqual([expect.objectContaining({ flowLog: "aws_flow_log.Fh", what: "deliver_cross_account_role of aws_flow_log.Fh", value: "nothing" })]);
  });
});

describe("stackModel: the policies AWS evaluates, read from a stack", () => {
  const s: StackJson = {
    resource: {
      aws_kms_key: { NoPolicy: { description: "AWS attaches its default key policy" } },
      aws_sns_topic: { Topic: { name: "findings" } },
      aws_lambda_function: { Fn: { function_name: "detector" } },
      aws_cloudwatch_event_rule: { Rule: { name: "detector-schedule" } },
      aws_lambda_permission: { Schedule: { statement_id: "AllowSchedule", action: "lambda:InvokeFunction", function_name: "${aws_lambda_function.Fn.function_name}", principal: "events.amazonaws.com", source_arn: "${aws_cloudwatch_event_rule.Rule.arn}" } },
      aws_iam_policy: { Boundary: { name: "Boundary", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sns:*", Resource: "*" }] }) } },
      aws_iam_role: { R: { name: "worker", path: "/svc/", assume_role_policy: JSON.stringify(docsTrustPolicy), permissions_boundary: "${aws_iam_policy.Boundary.arn}", managed_policy_arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] } },
      aws_iam_role_policy: { Inline: { role: "${aws_iam_role.R.name}", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Publish", Effect: "Allow", Action: "sns:Publish", Resource: "${aws_sns_topic.Topic.arn}" }] }) } },
      aws_cloudwatch_log_group: { Escaped: { name: "/literal/$${not-a-reference}" } },
    },
  };
  const m = stackModel(s, { account: ACCOUNT, region: REGION });
  const role = `arn:aws:iam::${ACCOUNT}:role/svc/worker`;

  it("resolves references to the ARNs AWS gives, keeps Terraform's $${ escape, and lists stand-ins", () => {
    expect(m.resolve("${aws_iam_role.R.arn}")).toBe(role);
    expect(m.resolve("${aws_lambda_function.Fn.arn}")).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:detector`);
    expect(m.resolve("${aws_cloudwatch_log_group.Escaped.arn}")).toBe(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/literal/$\${not-a-reference}`);
    expect(m.resolve("${aws_unknown.X.arn}")).toBe("${aws_unknown.X.arn}");
    expect(m.resolve("${aws_kms_key.NoPolicy.arn}")).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-NoPolicy`);
    expect(m.placeholders).toContainEqual({ reference: "${aws_kms_key.NoPolicy.arn}", value: `arn:aws:kms:${REGION}:${ACCOUNT}:key/tf-NoPolicy` });
  });

  it("gives a role its inline policies, attached managed policies (unknown when outside the stack) and its boundary", () => {
    const set = m.policiesFor(role, `arn:aws:sns:${REGION}:${ACCOUNT}:findings`);
    expect(set.identity!.map((p) => [p.name, p.document === undefined])).toEqual([
      ["aws_iam_role_policy.Inline", false],
      ["managed policy arn:aws:iam::aws:policy/ReadOnlyAccess", true],
    ]);
    expect(set.permissionsBoundary).toMatchObject({ arn: `arn:aws:iam::${ACCOUNT}:policy/Boundary`, document: { Statement: [{ Action: "sns:*" }] } });
    // SNS applies a default topic policy the model does not hold.
    expect(set.resourcePolicy).toEqual({ name: "default access policy of aws_sns_topic.Topic", document: undefined });
    expect(m.policiesFor(`arn:aws:sts::${ACCOUNT}:assumed-role/worker/s1`, "*").identity).toHaveLength(2);
  });

  it("builds a function's resource policy from its aws_lambda_permission resources", () => {
    const fn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:detector`;
    const set = m.policiesFor("events.amazonaws.com", fn);
    expect(set).toEqual({
      identity: [],
      resourcePolicy: {
        name: "resource policy of aws_lambda_function.Fn",
        document: {
          Version: "2012-10-17",
          Statement: [{ Sid: "AllowSchedule", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "lambda:InvokeFunction", Resource: fn, Condition: { ArnLike: { "AWS:SourceArn": `arn:aws:events:${REGION}:${ACCOUNT}:rule/detector-schedule` } } }],
        },
      },
    });
  });

  it("uses AWS's default key policy for a key created without one, and says what it does not know", () => {
    expect(m.policiesFor(role, m.resolve("${aws_kms_key.NoPolicy.arn}")).resourcePolicy).toEqual({
      name: "aws_kms_key.NoPolicy.policy",
      document: { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] },
    });
    expect(m.policiesFor(role, `arn:aws:kms:${REGION}:${ACCOUNT}:key/other`).resourcePolicy).toEqual({ name: `key policy of arn:aws:kms:${REGION}:${ACCOUNT}:key/other`, document: undefined });
    expect(m.policiesFor(role, "arn:aws:s3:::elsewhere/x").resourcePolicy).toEqual({ name: "bucket policy of arn:aws:s3:::elsewhere", document: undefined });
    expect(m.policiesFor(role, `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/x`).resourcePolicy).toBeNull();
    expect(m.policiesFor(`arn:aws:iam::${ACCOUNT}:role/elsewhere`, "*").identity).toEqual([{ name: `policies of arn:aws:iam::${ACCOUNT}:role/elsewhere`, document: undefined }]);
  });
});
