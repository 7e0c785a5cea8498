import * as fs from "fs";
import * as path from "path";
import { Testing } from "cdktf";
import { writeOfflineOverride } from "../../bin/terraform";
import { evaluateControls } from "../../policies/controls";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { env, tempDir } from "../support/env";

type Res = Record<string, unknown>;
type Synth = { provider: { aws: Res[] }; resource: Record<string, Record<string, Res>> };
const synthJson = (overrides: Record<string, unknown>) => Testing.synth(new EnvironmentStack(Testing.app(), env(overrides)));
const synth = (overrides: Record<string, unknown>) => JSON.parse(synthJson(overrides)) as Synth;
const all = (s: Synth, type: string): (Res & { address: string })[] => Object.entries(s.resource[type] ?? {}).map(([name, values]) => ({ ...values, address: `${type}.${name}` }));
const ref = (s: Synth, type: string, pick: (r: Res) => boolean, attr = "arn") => `\${${all(s, type).find(pick)!.address}.${attr}}`;
const statement = (r: Res, sid: string, key = "policy") => (JSON.parse(r[key] as string).Statement as Res[]).find((st) => st.Sid === sid)!;

const VPC = { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] };
const TGW = { resource: "transit-gateway", id: "tgw-0123456789abcdef0", destinations: ["cloudwatch", "s3"] };
const ATTACHMENT = { resource: "transit-gateway-attachment", id: "tgw-attach-0123456789abcdef0", destinations: ["cloudwatch"] };
const SIEM = { deliveryStreamArn: "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem", crossAccountRoleArn: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole" };

describe("EnvironmentStack with transit gateways", () => {
  const s = synth({ flowLogs: [VPC, TGW, ATTACHMENT] });
  const groups = all(s, "aws_cloudwatch_log_group");

  it("gives transit-gateway records a log group of their own, and an attachment of a logged transit gateway a detail group", () => {
    const names = groups.map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(["/flowlog-kit/test/vpc-flow-logs", "/flowlog-kit/test/transit-gateway-flow-logs", "/flowlog-kit/test/detail/tgw-attach-0123456789abcdef0"]));
    const logs = all(s, "aws_flow_log");
    expect(logs.find((l) => l.transit_gateway_id && l.log_destination_type === "cloud-watch-logs")!.log_destination).toBe(ref(s, "aws_cloudwatch_log_group", (g) => g.name === "/flowlog-kit/test/transit-gateway-flow-logs"));
    expect(logs.find((l) => l.transit_gateway_attachment_id)!.log_destination).toBe(ref(s, "aws_cloudwatch_log_group", (g) => g.name === "/flowlog-kit/test/detail/tgw-attach-0123456789abcdef0"));
    for (const l of logs.filter((x) => x.transit_gateway_id || x.transit_gateway_attachment_id)) {
      expect(l.max_aggregation_interval).toBe(60);
      expect(l).not.toHaveProperty("traffic_type");
    }
  });

  it("lets the delivery role write to the transit-gateway groups", () => {
    const delivery = all(s, "aws_iam_role_policy").find((p) => p.name === "deliver-to-log-group")!;
    expect(JSON.stringify(statement(delivery, "WriteFlowLogsToNamedLogGroups").Resource)).toContain("log-group:/flowlog-kit/test/transit-gateway-flow-logs:*");
  });

  it("saves transit-gateway queries on the transit-gateway group, and keeps the detector, alarms and dashboard on the VPC group", () => {
    const queries = all(s, "aws_cloudwatch_query_definition");
    const tgw = queries.filter((q) => String(q.name).startsWith("flowlog-kit/test/transit-gateway/"));
    expect(tgw.map((q) => q.name)).toContain("flowlog-kit/test/transit-gateway/packets-lost-by-attachment");
    for (const q of tgw) expect(q.log_group_names).toEqual(["/flowlog-kit/test/transit-gateway-flow-logs"]);
    const fn = all(s, "aws_lambda_function")[0]!;
    expect((fn.environment as { variables: Record<string, string> }).variables.FLOWLOG_LOG_GROUP).toBe("/flowlog-kit/test/vpc-flow-logs");
    for (const a of all(s, "aws_cloudwatch_metric_alarm").filter((x) => x.namespace === "AWS/Logs")) expect(a.dimensions).toEqual({ LogGroupName: "/flowlog-kit/test/vpc-flow-logs" });
  });

  it("archives transit-gateway records under transit-gateway/ with an Athena table of their own", () => {
    const tables = all(s, "aws_glue_catalog_table");
    expect(tables.map((t) => t.name).sort()).toEqual(["findings", "flow_logs", "transit_gateway_flow_logs"]);
    const tgw = tables.find((t) => t.name === "transit_gateway_flow_logs")!;
    expect((tgw.storage_descriptor as { location: string }).location).toBe("s3://flowlogs-test-123456789012-eu-west-1/transit-gateway/AWSLogs/123456789012/vpcflowlogs/eu-west-1/");
    expect(all(s, "aws_flow_log").find((l) => l.transit_gateway_id && l.log_destination_type === "s3")!.log_destination).toBe("arn:aws:s3:::flowlogs-test-123456789012-eu-west-1/transit-gateway/");
  });
});

describe("EnvironmentStack with Firehose", () => {
  it("creates the source-account role for a stream of another account, and names it in the flow log next to the destination role", () => {
    const s = synth({ flowLogs: [VPC, { ...ATTACHMENT, destinations: ["firehose"], firehose: SIEM }] });
    const role = all(s, "aws_iam_role").find((r) => r.name === "flowlogs-test-firehose")!;
    expect(JSON.parse(role.assume_role_policy as string).Statement[0].Principal).toEqual({ Service: "delivery.logs.amazonaws.com" });
    const firehose = all(s, "aws_flow_log").find((l) => l.log_destination_type === "kinesis-data-firehose")!;
    expect(firehose).toMatchObject({ iam_role_arn: "arn:aws:iam::123456789012:role/flowlogs-test-firehose", deliver_cross_account_role: SIEM.crossAccountRoleArn, log_destination: SIEM.deliveryStreamArn });
  });

  it("creates no role for a stream of the environment's own account", () => {
    const s = synth({ flowLogs: [{ ...VPC, destinations: ["firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local" } }] });
    expect(all(s, "aws_iam_role").map((r) => r.name)).not.toContain("flowlogs-test-firehose");
    expect(all(s, "aws_flow_log")[0]).not.toHaveProperty("iam_role_arn");
  });
});

describe("EnvironmentStack with the Infrequent Access class", () => {
  const s = synth({ logGroupClass: "INFREQUENT_ACCESS", flowLogs: [VPC, { ...VPC, resource: "subnet", id: "subnet-0123456789abcdef0", vpc: VPC.id, destinations: ["cloudwatch"] }, TGW] });

  it("puts every flow-log group in Infrequent Access, and leaves the detector's own group Standard", () => {
    const flow = all(s, "aws_cloudwatch_log_group").filter((g) => String(g.name).startsWith("/flowlog-kit/test/"));
    expect(flow.map((g) => g.log_group_class)).toEqual(flow.map(() => "INFREQUENT_ACCESS"));
    expect(flow).toHaveLength(3);
    expect(all(s, "aws_cloudwatch_log_group").find((g) => g.name === "/aws/lambda/flowlogs-test-detector")!.log_group_class).toBeUndefined();
  });

  it("creates nothing AWS does not support on such groups: no metric filter, subscription filter or data protection policy", () => {
    expect(s.resource.aws_cloudwatch_log_metric_filter).toBeUndefined();
    expect(s.resource.aws_cloudwatch_log_subscription_filter).toBeUndefined();
    expect(s.resource.aws_cloudwatch_log_data_protection_policy).toBeUndefined();
  });

  it("watches log health with the group's AWS/Logs metrics: delivery stopped, volume dropped", () => {
    const alarms = all(s, "aws_cloudwatch_metric_alarm").filter((a) => String(a.alarm_name).startsWith("flowlogs-test-") && !String(a.alarm_name).includes("detector"));
    expect(alarms.map((a) => a.alarm_name).sort()).toEqual(["flowlogs-test-delivery-stopped", "flowlogs-test-volume-drop"]);
  });

  it("keeps the Logs Insights features: saved queries, dashboard, detector", () => {
    expect(all(s, "aws_cloudwatch_query_definition").length).toBeGreaterThan(0);
    expect(all(s, "aws_cloudwatch_dashboard")).toHaveLength(1);
    expect(all(s, "aws_lambda_function")).toHaveLength(1);
    // OpenSearch SQL queries Standard groups only: the detector is told, and reads records where it has no archive to query.
    expect((all(s, "aws_lambda_function")[0]!.environment as { variables: Record<string, string> }).variables.FLOWLOG_LOG_CLASS).toBe("INFREQUENT_ACCESS");
  });
});

describe("EnvironmentStack with scopes in several Regions", () => {
  const OTHER = { resource: "vpc", id: "vpc-0fedcba9876543210", region: "us-east-1", destinations: ["cloudwatch", "s3"] };
  const json = synthJson({ flowLogs: [VPC, OTHER, { ...TGW, region: "us-east-1", destinations: ["cloudwatch"] }] });
  const s = JSON.parse(json) as Synth;
  const inUsEast = (r: Res) => r.provider === "aws.us-east-1";

  it("adds a provider per other Region, pinned to the account with the same default tags", () => {
    expect(s.provider.aws).toHaveLength(2);
    const [main, other] = s.provider.aws;
    expect(other).toEqual({ ...main, alias: "us-east-1", region: "us-east-1" });
  });

  it("creates that Region's key, log groups and saved queries there, and its flow logs by its provider", () => {
    const key = all(s, "aws_kms_key").find(inUsEast)!;
    expect(JSON.stringify(statement(key, "CloudWatchLogsUsesKeyForThisAccountsLogGroups").Principal)).toContain("logs.us-east-1.amazonaws.com");
    const groups = all(s, "aws_cloudwatch_log_group").filter(inUsEast);
    expect(groups.map((g) => g.name).sort()).toEqual(["/flowlog-kit/test/transit-gateway-flow-logs", "/flowlog-kit/test/vpc-flow-logs"]);
    for (const g of groups) expect(g.kms_key_id).toBe(`\${${key.address}.arn}`);
    expect(all(s, "aws_cloudwatch_query_definition").filter(inUsEast).length).toBeGreaterThan(0);
    const logs = all(s, "aws_flow_log");
    expect(logs.filter((l) => l.vpc_id === OTHER.id || l.transit_gateway_id).every(inUsEast)).toBe(true);
    expect(logs.filter((l) => l.vpc_id === VPC.id).some(inUsEast)).toBe(false);
    expect(logs.find((l) => l.vpc_id === OTHER.id && l.log_destination_type === "cloud-watch-logs")!.log_destination).toBe(ref(s, "aws_cloudwatch_log_group", (g) => inUsEast(g) && g.name === "/flowlog-kit/test/vpc-flow-logs"));
  });

  it("delivers the other Region's S3 flow logs to the environment's archive, whose bucket and key policies name both Regions", () => {
    const logs = all(s, "aws_flow_log").filter((l) => l.log_destination_type === "s3");
    expect(logs.map((l) => l.log_destination)).toEqual(["arn:aws:s3:::flowlogs-test-123456789012-eu-west-1", "arn:aws:s3:::flowlogs-test-123456789012-eu-west-1"]);
    expect(all(s, "aws_s3_bucket")).toHaveLength(2); // the archive and Athena's results, both in eu-west-1
    expect(all(s, "aws_s3_bucket").some(inUsEast)).toBe(false);
    const both = ["arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:us-east-1:123456789012:*"];
    const bucketPolicy = all(s, "aws_s3_bucket_policy").find((p) => String(p.policy).includes("AWSLogDeliveryWrite"))!;
    expect((statement(bucketPolicy, "AWSLogDeliveryWrite").Condition as { ArnLike: unknown }).ArnLike).toEqual({ "aws:SourceArn": both });
    const mainKey = all(s, "aws_kms_key").find((k) => !inUsEast(k))!;
    expect((statement(mainKey, "LogDeliveryWritesEncryptedArchive").Condition as { ArnLike: unknown }).ArnLike).toEqual({ "aws:SourceArn": both });
  });

  it("trusts the one delivery role for the flow logs of both Regions", () => {
    const role = all(s, "aws_iam_role").find((r) => r.name === "flowlogs-test-delivery")!;
    expect(JSON.parse(role.assume_role_policy as string).Statement[0].Condition.ArnLike).toEqual({ "aws:SourceArn": ["arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*", "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"] });
  });

  it("reads both Regions from one Athena table, the Region a partition", () => {
    const table = all(s, "aws_glue_catalog_table").find((t) => t.name === "flow_logs")!;
    expect((table.parameters as Record<string, string>)["projection.aws_region.values"]).toBe("eu-west-1,us-east-1");
  });

  it("keeps alarms and the detector in the environment's Region", () => {
    expect(all(s, "aws_cloudwatch_metric_alarm").some(inUsEast)).toBe(false);
    expect(all(s, "aws_lambda_function").some(inUsEast)).toBe(false);
  });

  it("uses the replica of a given multi-Region key there, and creates no key", () => {
    const mrk = "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef";
    const given = synth({ kms: { keyArn: mrk }, flowLogs: [VPC, OTHER] });
    expect(given.resource.aws_kms_key).toBeUndefined();
    expect(all(given, "aws_cloudwatch_log_group").find(inUsEast)!.kms_key_id).toBe("arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef");
  });

  it("creates nothing in a Region whose scopes deliver only to S3 but the flow logs", () => {
    const s3Only = synth({ flowLogs: [VPC, { ...OTHER, destinations: ["s3"] }] });
    expect(all(s3Only, "aws_kms_key").some(inUsEast)).toBe(false);
    expect(all(s3Only, "aws_cloudwatch_log_group").some(inUsEast)).toBe(false);
    expect(all(s3Only, "aws_flow_log").filter(inUsEast)).toHaveLength(1);
  });

  it("is reviewed in every Region: a log group whose key is in another Region fails CWL-1, with each group's Region as evidence", () => {
    const ctx = { vpcs: [VPC.id, OTHER.id] };
    const passing = evaluateControls(JSON.parse(json), ctx, [], "2026-12-01").find((c) => c.id === "CWL-1")!;
    expect(passing.result).toBe("PASS");
    expect(passing.evidence).toContainEqual(expect.objectContaining({ attribute: "region", value: "us-east-1" }));
    const broken = JSON.parse(json) as Synth;
    const [name] = Object.entries(broken.resource.aws_cloudwatch_log_group!).find(([, g]) => inUsEast(g))!;
    const mainKey = Object.keys(broken.resource.aws_kms_key!).find((k) => !inUsEast(broken.resource.aws_kms_key![k]!))!;
    broken.resource.aws_cloudwatch_log_group![name]!.kms_key_id = `\${aws_kms_key.${mainKey}.arn}`;
    const failing = evaluateControls(broken as never, ctx, [], "2026-12-01").find((c) => c.id === "CWL-1")!;
    expect(failing.result).toBe("FAIL");
    expect(failing.message).toBe(`aws_cloudwatch_log_group.${name}: its key is in eu-west-1, the group in us-east-1`);
  });

  it("is reviewed in every Region: FLOW-1 finds the other Region's VPC, RET-1 and KMS-1 the other Region's group and key", () => {
    const outcomes = evaluateControls(JSON.parse(json), { vpcs: [VPC.id, OTHER.id] }, [], "2026-12-01");
    expect(outcomes.find((c) => c.id === "FLOW-1")!.result).toBe("PASS");
    const broken = JSON.parse(json) as Synth;
    const [group] = Object.entries(broken.resource.aws_cloudwatch_log_group!).find(([, g]) => inUsEast(g))!;
    broken.resource.aws_cloudwatch_log_group![group]!.retention_in_days = 0;
    const [key] = Object.entries(broken.resource.aws_kms_key!).find(([, k]) => inUsEast(k))!;
    broken.resource.aws_kms_key![key]!.enable_key_rotation = false;
    const failing = evaluateControls(broken as never, { vpcs: [VPC.id, OTHER.id] }, [], "2026-12-01");
    expect(failing.find((c) => c.id === "RET-1")!.message).toContain(`aws_cloudwatch_log_group.${group}`);
    expect(failing.find((c) => c.id === "KMS-1")!.message).toBe(`aws_kms_key.${key}: rotation off`);
  });

  it("is planned offline in every Region: the override skips credentials for each aliased provider too", () => {
    const dir = tempDir("regions");
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), json);
    const override = JSON.parse(fs.readFileSync(writeOfflineOverride(dir), "utf8"));
    expect(override.provider.aws).toHaveLength(2);
    expect(override.provider.aws[0]).not.toHaveProperty("alias");
    expect(override.provider.aws[1]).toMatchObject({ alias: "us-east-1", skip_credentials_validation: true, allowed_account_ids: null });
  });
});
