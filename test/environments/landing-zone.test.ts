import { LogFormat } from "../../functions/flowlog/format";
import { baseInput, env, validate } from "../support/env";

const VPC = "vpc-0123456789abcdef0";
const TGW = "tgw-0123456789abcdef0";
const ATTACHMENT = "tgw-attach-0123456789abcdef0";
const STREAM = "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem-flow-logs";
const DESTINATION_ROLE = "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole";
const problemsOf = (overrides: Record<string, unknown>) => validate(baseInput(overrides)).problems;
const withScope = (scope: Record<string, unknown>, overrides: Record<string, unknown> = {}) => problemsOf({ flowLogs: [scope], ...overrides });

describe("transit-gateway scopes", () => {
  it("default to 60-second aggregation, no traffic type and the transit-gateway default format", () => {
    const e = env({ flowLogs: [{ resource: "transit-gateway", id: TGW, destinations: ["cloudwatch"] }, { resource: "transit-gateway-attachment", id: ATTACHMENT, destinations: ["s3"] }] });
    for (const s of e.flowLogs) {
      expect(s).toMatchObject({ aggregationSeconds: 60, trafficType: undefined, region: "eu-west-1" });
      expect(s.logFormat).toBe(LogFormat.TRANSIT_GATEWAY_DEFAULT);
    }
  });

  it("keep the VPC defaults for VPC, subnet and ENI scopes", () => {
    expect(env().flowLogs[0]).toMatchObject({ trafficType: "ALL", aggregationSeconds: 600, logFormat: LogFormat.DEFAULT });
  });

  it("accept catalog fields of transit-gateway flow logs, tcp-flags and packets-lost-* included", () => {
    const fields = ["version", "tgw-attachment-id", "srcaddr", "dstaddr", "tcp-flags", "packets-lost-no-route", "packets-lost-blackhole"];
    const e = env({ flowLogs: [{ resource: "transit-gateway", id: TGW, destinations: ["cloudwatch"], logFormat: fields }] });
    expect(e.flowLogs[0]!.logFormat.names).toEqual(fields);
    expect(e.flowLogs[0]!.logFormat.family).toBe("tgw");
  });

  it.each([
    ["a 600-second interval", { aggregationSeconds: 600 },
      "test.flowLogs[0].aggregationSeconds: is 600 on a transit-gateway, whose flow logs AWS aggregates at 60 seconds only (got 600). Write 60, or leave aggregationSeconds out."],
    ["a traffic type", { trafficType: "REJECT" },
      'test.flowLogs[0].trafficType: is set on a transit-gateway, whose flow logs always capture all traffic: AWS refuses a traffic type there (got "REJECT"). Remove trafficType from this scope.'],
    ["the VPC-only field action", { logFormat: ["version", "srcaddr", "action"] },
      'test.flowLogs[0].logFormat: field "action" exists only in VPC flow logs, not for a transit-gateway (got ["version","srcaddr","action"]). Use field names from functions/flowlog/fields.ts.'],
    ["the VPC-only field interface-id", { logFormat: ["interface-id"] },
      'test.flowLogs[0].logFormat: field "interface-id" exists only in VPC flow logs, not for a transit-gateway (got ["interface-id"]). Use field names from functions/flowlog/fields.ts.'],
    ["vpc, which only subnets and ENIs take", { vpc: VPC },
      `test.flowLogs[0].vpc: is only for subnet and ENI scopes: a transit-gateway is not inside a VPC (got "${VPC}"). Remove vpc from this scope.`],
    ["a VPC id", { id: VPC },
      `test.flowLogs[0].id: is not a transit-gateway id (got "${VPC}"). Use "tgw-" followed by 8 or 17 lowercase hex digits.`],
  ])("refuse %s", (_what, fields, message) => {
    expect(withScope({ resource: "transit-gateway", id: TGW, destinations: ["cloudwatch"], ...fields })).toEqual([message]);
  });

  it("refuse a transit-gateway id on an attachment scope", () => {
    expect(withScope({ resource: "transit-gateway-attachment", id: TGW, destinations: ["s3"] })).toEqual([
      `test.flowLogs[0].id: is not a transit-gateway-attachment id (got "${TGW}"). Use "tgw-attach-" followed by 8 or 17 lowercase hex digits.`,
    ]);
  });

  it("refuse two transit-gateway scopes of one Region to CloudWatch in different formats: they share one log group", () => {
    expect(
      problemsOf({
        flowLogs: [
          { resource: "vpc", id: VPC, destinations: ["cloudwatch"] },
          { resource: "transit-gateway", id: TGW, destinations: ["cloudwatch"] },
          { resource: "transit-gateway-attachment", id: ATTACHMENT, destinations: ["cloudwatch"], logFormat: ["version", "srcaddr"] },
        ],
      }),
    ).toEqual([
      'test.flowLogs[2].logFormat: differs from the log format of flowLogs[1], and both deliver to the environment\'s one transit-gateway log group in eu-west-1 (got ["version","srcaddr"]). Give every CloudWatch scope the same log format, so one Logs Insights parse pattern fits the log group.',
    ]);
  });
});

describe("Firehose destinations", () => {
  const scope = (firehose: Record<string, unknown> | undefined, more: Record<string, unknown> = {}) => ({ resource: "vpc", id: VPC, destinations: ["firehose"], firehose, ...more });

  it("take a stream of the environment's account without a role, and one of another account with its AWSLogDeliveryFirehoseCrossAccountRole", () => {
    const same = env({ flowLogs: [scope({ deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local" })] });
    expect(same.flowLogs[0]!.firehose).toEqual({ deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local" });
    const other = env({ flowLogs: [scope({ deliveryStreamArn: STREAM, crossAccountRoleArn: `${DESTINATION_ROLE}-prod` })] });
    expect(other.flowLogs[0]!.firehose!.crossAccountRoleArn).toBe(`${DESTINATION_ROLE}-prod`);
  });

  it.each([
    ["no stream", scope(undefined),
      'test.flowLogs[0].firehose: is required with a Firehose destination (got nothing). Name the stream: firehose: { deliveryStreamArn: "arn:aws:firehose:<region>:<account>:deliverystream/<name>" }.'],
    ["a stream for a scope without a Firehose destination", scope({ deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/x" }, { destinations: ["s3"] }),
      'test.flowLogs[0].firehose: names a Firehose stream for a scope without a Firehose destination (got {"deliveryStreamArn":"arn:aws:firehose:eu-west-1:123456789012:deliverystream/x"}). Add "firehose" to destinations, or remove the firehose options.'],
    ["a Kinesis stream instead of a Firehose stream", scope({ deliveryStreamArn: "arn:aws:kinesis:eu-west-1:123456789012:stream/siem" }),
      'test.flowLogs[0].firehose.deliveryStreamArn: is not a Firehose stream ARN (got "arn:aws:kinesis:eu-west-1:123456789012:stream/siem"). Use arn:<partition>:firehose:<region>:<account>:deliverystream/<name>.'],
    ["a stream in another Region than the scope", scope({ deliveryStreamArn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/siem" }),
      'test.flowLogs[0].firehose.deliveryStreamArn: is a stream in us-east-1, but the scope is in eu-west-1 (the environment\'s region), and flow logs deliver to Firehose only in their own Region (got "arn:aws:firehose:us-east-1:123456789012:deliverystream/siem"). Use a stream in eu-west-1, or set this scope\'s region if the vpc is in us-east-1.'],
    ["a stream of the environment's Region for a scope of another", scope({ deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem" }, { region: "eu-central-1" }),
      'test.flowLogs[0].firehose.deliveryStreamArn: is a stream in eu-west-1, but the scope is in eu-central-1, and flow logs deliver to Firehose only in their own Region (got "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem"). Use a stream in eu-central-1, or set this scope\'s region if the vpc is in eu-west-1.'],
    ["a stream of another account without the cross-account role", scope({ deliveryStreamArn: STREAM }),
      'test.flowLogs[0].firehose.crossAccountRoleArn: is required: the stream is in account 210987654321, not the environment\'s 123456789012 (got nothing). Create the role AWSLogDeliveryFirehoseCrossAccountRole in 210987654321 (trusting arn:aws:iam::123456789012:role/flowlogs-test-firehose) and give its ARN; see the VPC user guide, "IAM roles for cross account delivery".'],
    ["a cross-account role for a stream of the environment's own account", scope({ deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local", crossAccountRoleArn: "arn:aws:iam::123456789012:role/AWSLogDeliveryFirehoseCrossAccountRole" }),
      'test.flowLogs[0].firehose.crossAccountRoleArn: is set, but the stream is in the environment\'s own account 123456789012, where AWS delivers without a cross-account role (got "arn:aws:iam::123456789012:role/AWSLogDeliveryFirehoseCrossAccountRole"). Remove crossAccountRoleArn.'],
    ["a cross-account role of a third account", scope({ deliveryStreamArn: STREAM, crossAccountRoleArn: "arn:aws:iam::310987654321:role/AWSLogDeliveryFirehoseCrossAccountRole" }),
      'test.flowLogs[0].firehose.crossAccountRoleArn: is a role of account 310987654321, but the stream is in account 210987654321 (got "arn:aws:iam::310987654321:role/AWSLogDeliveryFirehoseCrossAccountRole"). Use the AWSLogDeliveryFirehoseCrossAccountRole... role of the stream\'s account 210987654321.'],
    ["a cross-account role whose name AWS does not accept", scope({ deliveryStreamArn: STREAM, crossAccountRoleArn: "arn:aws:iam::210987654321:role/SiemWriter" }),
      'test.flowLogs[0].firehose.crossAccountRoleArn: is a role named "SiemWriter", but AWS delivers across accounts only through a role whose name starts with AWSLogDeliveryFirehoseCrossAccountRole (got "arn:aws:iam::210987654321:role/SiemWriter"). Create (or name) the destination-account role AWSLogDeliveryFirehoseCrossAccountRole<suffix> and give its ARN.'],
  ])("refuse %s", (_what, s, message) => {
    expect(withScope(s)).toEqual([message]);
  });
});

describe("the Infrequent Access log class", () => {
  it("is STANDARD by default and applies the metric-filter alarm defaults then", () => {
    const e = env();
    expect(e.logGroupClass).toBe("STANDARD");
    expect(e.analytics.alarms).toEqual({ rejectedAdminThreshold: 100, logGapThreshold: 1 });
  });

  it("is accepted with the analytics it supports: saved queries, dashboard, detector, SNS subscriptions", () => {
    const e = env({ logGroupClass: "INFREQUENT_ACCESS", analytics: { subscriptions: { email: ["secops@example.com"] } } });
    expect(e.logGroupClass).toBe("INFREQUENT_ACCESS");
    expect(e.analytics.subscriptions.email).toEqual(["secops@example.com"]);
  });

  it("refuses IP masking and metric-filter alarm thresholds, each naming the field", () => {
    expect(problemsOf({ logGroupClass: "INFREQUENT_ACCESS", analytics: { maskIpAddresses: true, alarms: { rejectedAdminThreshold: 50, logGapThreshold: 2 } } })).toEqual([
      'test.analytics.maskIpAddresses: masks IP addresses with a data protection policy, which CloudWatch Logs does not support on logGroupClass "INFREQUENT_ACCESS" log groups (got true). Set maskIpAddresses to false and let only the SecurityAnalyst role read the log groups, or use logGroupClass "STANDARD".',
      'test.analytics.alarms.rejectedAdminThreshold: sets a metric-filter alarm, and CloudWatch Logs has no metric filters on logGroupClass "INFREQUENT_ACCESS" log groups (got 50). Remove it (the detector\'s Logs Insights queries still find rejected SSH and RDP), or use logGroupClass "STANDARD".',
      'test.analytics.alarms.logGapThreshold: counts SKIPDATA records with a metric filter, and CloudWatch Logs has no metric filters on logGroupClass "INFREQUENT_ACCESS" log groups, whose log-health alarms use the AWS/Logs metrics IncomingLogEvents and IncomingBytes instead (got 2). Remove it, or use logGroupClass "STANDARD".',
    ]);
  });

  it("does not refuse them when no scope delivers to CloudWatch: nothing would be created", () => {
    expect(problemsOf({ logGroupClass: "INFREQUENT_ACCESS", analytics: { maskIpAddresses: true }, flowLogs: [{ resource: "vpc", id: VPC, destinations: ["s3"] }] })).toEqual([]);
  });

  it("refuses a class CloudWatch Logs does not offer for flow logs", () => {
    expect(problemsOf({ logGroupClass: "DELIVERY" })).toEqual(['test.logGroupClass: is not a log group class (got "DELIVERY"). Use "STANDARD", "INFREQUENT_ACCESS".']);
  });
});

describe("a scope's Region", () => {
  it("is the environment's by default, and may be another", () => {
    const e = env({ flowLogs: [{ resource: "vpc", id: VPC, destinations: ["s3"] }, { resource: "vpc", id: "vpc-0fedcba9876543210", region: "us-east-1", destinations: ["cloudwatch"] }] });
    expect(e.flowLogs.map((s) => s.region)).toEqual(["eu-west-1", "us-east-1"]);
  });

  it.each([
    ["a code that is not an AWS Region", "eu-wset-1", 'test.flowLogs[0].region: is not an AWS region (got "eu-wset-1"). Use "eu-west-1", the nearest region code; policies/regions.ts lists every region.'],
    ["a Region of another partition", "cn-north-1",
      'test.flowLogs[0].region: is in the "aws-cn" partition, but the environment\'s eu-west-1 is in "aws": one account and one delivery role cannot span partitions (got "cn-north-1"). Give the scope a Region of the environment\'s partition, or an environment of its own.'],
    ["a Region the pinned provider does not know", "ap-southeast-6",
      'test.flowLogs[0].region: is Asia Pacific (New Zealand), which the pinned AWS provider (hashicorp/aws 5.100.0) does not know: terraform plan would stop with "invalid AWS Region" (got "ap-southeast-6"). Use another region until the kit moves to a provider that knows it (policies/regions.ts).'],
  ])("refuses %s", (_what, region, message) => {
    expect(withScope({ resource: "vpc", id: VPC, destinations: ["s3"], region })).toEqual([message]);
  });

  it("refuses a CloudWatch scope outside the Region of a given single-Region key, and accepts a multi-Region key", () => {
    const scope = { resource: "vpc", id: VPC, region: "us-east-1", destinations: ["cloudwatch"] };
    expect(withScope(scope, { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } })).toEqual([
      'test.flowLogs[0].region: needs a KMS key in us-east-1 for its CloudWatch log group, but kms.keyArn is a single-Region key of eu-west-1 (got "us-east-1"). Use a multi-Region key (key/mrk-...) with a replica in us-east-1, or kms: { create: true } so that the kit creates a key in each Region.',
    ]);
    expect(withScope(scope, { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef" } })).toEqual([]);
    expect(withScope({ ...scope, destinations: ["s3"] }, { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } })).toEqual([]);
  });

  it("keeps the overlap rule within a Region: a subnet of another Region is not inside the environment's VPC", () => {
    const flowLogs = [
      { resource: "vpc", id: VPC, destinations: ["cloudwatch"] },
      { resource: "subnet", id: "subnet-0123456789abcdef0", region: "us-east-1", destinations: ["cloudwatch"] },
    ];
    expect(problemsOf({ flowLogs })).toEqual([]);
  });

  it("compares CloudWatch formats per Region: each Region has its own shared group", () => {
    const flowLogs = [
      { resource: "vpc", id: VPC, destinations: ["cloudwatch"] },
      { resource: "vpc", id: "vpc-0fedcba9876543210", region: "us-east-1", destinations: ["cloudwatch"], logFormat: ["version", "srcaddr", "dstaddr"] },
      { resource: "vpc", id: "vpc-0aaaaaaaaaaaaaaaa", region: "us-east-1", destinations: ["cloudwatch"] },
    ];
    expect(problemsOf({ flowLogs })).toEqual([
      'test.flowLogs[2].logFormat: differs from the log format of flowLogs[1], and both deliver to the environment\'s one log group in us-east-1 (got "default"). Give every CloudWatch scope the same log format, so one Logs Insights parse pattern fits the log group.',
    ]);
  });
});
