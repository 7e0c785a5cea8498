import { Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { archiveLayout, athenaColumns } from "../../functions/flowlog/athena";
import { LogFormat } from "../../functions/flowlog/format";
import { Alarms } from "../../modules/alarms";
import { Athena } from "../../modules/athena";
import { FirehoseSourceRole } from "../../modules/firehose-role";
import { FlowLogs } from "../../modules/flow-logs";
import { InsightsQueries } from "../../modules/insights-queries";
import { FlowLogGroup } from "../../modules/log-group";
import { archiveBucketPolicy, deliveryPermissions, deliveryTrustPolicy, kmsKeyPolicy } from "../../policies/iam";

const ctx = { account: "123456789012", region: "eu-west-1" };
type Synth = { resource?: Record<string, Record<string, Record<string, unknown>>> };
const parse = (json: string) => JSON.parse(json) as Synth;
const all = (s: Synth, type: string) => Object.values(s.resource?.[type] ?? {});
const TGW = LogFormat.TRANSIT_GATEWAY_DEFAULT;

describe("FlowLogs for transit gateways and Firehose", () => {
  const tgw = { resource: "transit-gateway" as const, id: "tgw-0123456789abcdef0", aggregationSeconds: 60 as const, logFormat: TGW };
  const s = parse(
    Testing.synthScope(
      (scope) =>
        new FlowLogs(scope, "FlowLogs", {
          namePrefix: "flowlogs-dev",
          cloudWatch: { logGroupArn: "arn:lg", deliveryRoleArn: "arn:role" },
          s3: { destinationArn: "arn:aws:s3:::b" },
          firehose: { sourceRoleArn: "arn:aws:iam::123456789012:role/flowlogs-dev-firehose" },
          targets: [
            { ...tgw, destinations: ["cloudwatch", "s3"], s3: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: false } },
            {
              resource: "transit-gateway-attachment",
              id: "tgw-attach-0123456789abcdef0",
              aggregationSeconds: 60,
              logFormat: TGW,
              destinations: ["firehose"],
              firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem", crossAccountRoleArn: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole" },
            },
            { resource: "vpc", id: "vpc-0123456789abcdef0", trafficType: "ALL", aggregationSeconds: 600, logFormat: LogFormat.DEFAULT, destinations: ["firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local" } },
          ],
        }),
    ),
  );
  const logs = all(s, "aws_flow_log");

  it("watch a transit gateway by transit_gateway_id, at 60 seconds, with no traffic type, in the transit-gateway default format written out", () => {
    const cw = logs.find((l) => l.transit_gateway_id && l.log_destination_type === "cloud-watch-logs")!;
    expect(cw).toMatchObject({ transit_gateway_id: "tgw-0123456789abcdef0", max_aggregation_interval: 60, log_destination: "arn:lg", iam_role_arn: "arn:role" });
    expect(cw).not.toHaveProperty("traffic_type");
    expect(cw).not.toHaveProperty("vpc_id");
    expect(cw.log_format).toBe(TGW.toAwsFormat().replace(/\$\{/g, () => "$${"));
    expect(String(cw.log_format)).toMatch(/^\$\$\{version\} \$\$\{resource-type\} \$\$\{account-id\} \$\$\{tgw-id\}/);
  });

  it("deliver transit-gateway records to S3 under transit-gateway/, apart from VPC records (AWS writes both under the same keys)", () => {
    expect(logs.find((l) => l.transit_gateway_id && l.log_destination_type === "s3")!.log_destination).toBe("arn:aws:s3:::b/transit-gateway/parquet/");
  });

  it("stream to a Firehose of another account through the source-account role and the destination account's role", () => {
    expect(logs.find((l) => l.transit_gateway_attachment_id)).toMatchObject({
      transit_gateway_attachment_id: "tgw-attach-0123456789abcdef0",
      log_destination_type: "kinesis-data-firehose",
      log_destination: "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem",
      iam_role_arn: "arn:aws:iam::123456789012:role/flowlogs-dev-firehose",
      deliver_cross_account_role: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole",
    });
  });

  it("stream to a Firehose of the same account with no role at all (AWS's service-linked role delivers) and no S3 options", () => {
    const local = logs.find((l) => l.vpc_id)!;
    expect(local).toMatchObject({ log_destination_type: "kinesis-data-firehose", log_destination: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local", traffic_type: "ALL" });
    expect(local).not.toHaveProperty("iam_role_arn");
    expect(local).not.toHaveProperty("deliver_cross_account_role");
    expect(local).not.toHaveProperty("destination_options");
  });

  it("refuse a cross-account Firehose target without a source-account role", () => {
    expect(() =>
      Testing.synthScope(
        (scope) =>
          new FlowLogs(scope, "F", {
            namePrefix: "x",
            targets: [{ ...tgw, destinations: ["firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:210987654321:deliverystream/siem", crossAccountRoleArn: "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole" } }],
          }),
      ),
    ).toThrow("FlowLogs: target tgw-0123456789abcdef0 delivers to Firehose in another account but no source-account role was given");
  });

  it("are created by the given Region's provider", () => {
    const r = parse(
      Testing.synthScope((scope) => {
        const provider = new AwsProvider(scope, "aws_useast1", { alias: "us-east-1", region: "us-east-1" });
        new FlowLogs(scope, "F", { namePrefix: "x", s3: { destinationArn: "arn:aws:s3:::b" }, provider, targets: [{ ...tgw, destinations: ["s3"] }] });
      }),
    );
    expect(all(r, "aws_flow_log")[0]!.provider).toBe("aws.us-east-1");
  });
});

describe("FirehoseSourceRole", () => {
  const s = parse(
    Testing.synthScope(
      (scope) =>
        new FirehoseSourceRole(scope, "Firehose", {
          ...ctx,
          roleName: "flowlogs-dev-firehose",
          targets: [
            { resource: "transit-gateway-attachment", id: "tgw-attach-0123456789abcdef0", region: "eu-west-1" },
            { resource: "eni", id: "eni-0123456789abcdef0", region: "us-east-1" },
          ],
          destinationRoleArns: ["arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole", "arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole"],
        }),
    ),
  );
  const role = all(s, "aws_iam_role")[0]!;
  const statements = JSON.parse(all(s, "aws_iam_role_policy")[0]!.policy as string).Statement as { Sid: string; Action: unknown; Resource: unknown; Condition?: unknown }[];

  it("is assumed by log delivery, as the VPC user guide's trust policy says", () => {
    expect(JSON.parse(role.assume_role_policy as string).Statement).toEqual([{ Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: "sts:AssumeRole" }]);
  });

  it("may be passed only to log delivery and only for the watched resources, each in its Region", () => {
    expect(statements.find((st) => st.Sid === "PassOnlyToLogDeliveryForWatchedResources")).toEqual({
      Sid: "PassOnlyToLogDeliveryForWatchedResources",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: "arn:aws:iam::123456789012:role/flowlogs-dev-firehose",
      Condition: {
        StringEquals: { "iam:PassedToService": "delivery.logs.amazonaws.com" },
        StringLike: {
          "iam:AssociatedResourceARN": [
            "arn:aws:ec2:eu-west-1:123456789012:transit-gateway-attachment/tgw-attach-0123456789abcdef0",
            "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0123456789abcdef0",
          ],
        },
      },
    });
  });

  it("manages log deliveries and assumes only the destination-account roles, each once", () => {
    expect(statements.find((st) => st.Sid === "LogDeliveriesNoResourceLevel")!.Action).toEqual(["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:GetLogDelivery"]);
    expect(statements.find((st) => st.Sid === "AssumeDestinationAccountRoles")!.Resource).toEqual(["arn:aws:iam::210987654321:role/AWSLogDeliveryFirehoseCrossAccountRole"]);
    expect(statements).toHaveLength(3);
  });
});

describe("FlowLogGroup log class", () => {
  const group = (logGroupClass?: "STANDARD" | "INFREQUENT_ACCESS") =>
    all(parse(Testing.synthScope((scope) => new FlowLogGroup(scope, "Logs", { name: "/g", retentionDays: 14, kmsKeyArn: "arn:k", logGroupClass }))), "aws_cloudwatch_log_group")[0]!;

  it("is STANDARD unless Infrequent Access is asked for", () => {
    expect(group().log_group_class).toBe("STANDARD");
    expect(group("INFREQUENT_ACCESS").log_group_class).toBe("INFREQUENT_ACCESS");
  });
});

describe("Alarms on an Infrequent Access log group", () => {
  const props = { name: "dev", logGroupName: "/flowlog-kit/dev/vpc-flow-logs", format: LogFormat.DEFAULT, topicArn: "arn:topic", rejectedAdminThreshold: 100, logGapThreshold: 1, email: [], https: [] };
  const ia = parse(Testing.synthScope((scope) => new Alarms(scope, "Alarms", { ...props, logGroupClass: "INFREQUENT_ACCESS" })));
  const alarms = all(ia, "aws_cloudwatch_metric_alarm");

  it("create no metric filter, and no alarm on a metric-filter metric", () => {
    expect(ia.resource?.aws_cloudwatch_log_metric_filter).toBeUndefined();
    expect(alarms.every((a) => a.namespace === undefined || a.namespace === "AWS/Logs")).toBe(true);
    expect(alarms.map((a) => a.alarm_name).sort()).toEqual(["flowlogs-dev-delivery-stopped", "flowlogs-dev-volume-drop"]);
  });

  it("watch the group's own IncomingBytes against its expected band for a partial outage", () => {
    const drop = alarms.find((a) => a.alarm_name === "flowlogs-dev-volume-drop")!;
    expect(drop).toMatchObject({ comparison_operator: "LessThanLowerThreshold", threshold_metric_id: "expected", evaluation_periods: 2, datapoints_to_alarm: 2, treat_missing_data: "notBreaching", alarm_actions: ["arn:topic"] });
    expect(drop.metric_query).toEqual([
      { id: "bytes", return_data: true, metric: { namespace: "AWS/Logs", metric_name: "IncomingBytes", dimensions: { LogGroupName: "/flowlog-kit/dev/vpc-flow-logs" }, period: 3600, stat: "Sum" } },
      { id: "expected", expression: "ANOMALY_DETECTION_BAND(bytes, 3)", label: "Expected IncomingBytes", return_data: true },
    ]);
  });

  it("leave a Standard group's alarms as they were: metric filters, and no volume-drop alarm", () => {
    const std = parse(Testing.synthScope((scope) => new Alarms(scope, "Alarms", props)));
    expect(all(std, "aws_cloudwatch_log_metric_filter")).toHaveLength(3);
    expect(all(std, "aws_cloudwatch_metric_alarm").map((a) => a.alarm_name)).not.toContain("flowlogs-dev-volume-drop");
  });
});

describe("saved queries and Athena over transit-gateway records", () => {
  it("parse the transit-gateway default format (Logs Insights discovers only the VPC default) and ask nothing of action", () => {
    const s = parse(Testing.synthScope((scope) => new InsightsQueries(scope, "Q", { folder: "flowlog-kit/dev/transit-gateway", logGroupName: "/g", format: TGW })));
    const queries = all(s, "aws_cloudwatch_query_definition");
    const names = queries.map((q) => String(q.name).replace("flowlog-kit/dev/transit-gateway/", ""));
    expect(names).toEqual(expect.arrayContaining(["latest-records", "bytes-by-source-destination-direction", "detect-rdp-brute-force", "packets-lost-by-attachment"]));
    expect(names).not.toContain("rejected-ssh-by-source");
    expect(names).not.toContain("detect-port-scan");
    for (const q of queries) {
      expect(q.query_string).toContain('parse @message "' + TGW.names.map(() => "*").join(" ") + '" as version, resource_type, account_id, tgw_id');
      expect(q.query_string).not.toMatch(/\baction\b/);
    }
    expect(queries.find((q) => String(q.name).endsWith("packets-lost-by-attachment"))!.query_string).toContain(
      "stats sum(packets_lost_no_route) as packets_lost_no_route, sum(packets_lost_blackhole) as packets_lost_blackhole, sum(packets_lost_mtu_exceeded) as packets_lost_mtu_exceeded, sum(packets_lost_ttl_expired) as packets_lost_ttl_expired by tgw_attachment_id",
    );
  });

  it("give a VPC format no packets-lost query", () => {
    const s = parse(Testing.synthScope((scope) => new InsightsQueries(scope, "Q", { folder: "f", logGroupName: "/g", format: LogFormat.DEFAULT })));
    expect(all(s, "aws_cloudwatch_query_definition").map((q) => q.name)).not.toContain("f/packets-lost-by-attachment");
  });

  it("type the Parquet protocol column as transit gateways write it (INT_64), and as VPCs do (INT_32)", () => {
    expect(athenaColumns(TGW).find((c) => c.name === "protocol")).toEqual({ name: "protocol", type: "bigint" });
    // Athena's own Parquet DDL for VPC flow logs reads protocol as bigint too, which reads an INT_32 column as well.
    expect(athenaColumns(LogFormat.DEFAULT).find((c) => c.name === "protocol")).toEqual({ name: "protocol", type: "bigint" });
    expect(athenaColumns(TGW).map((c) => c.name)).toEqual(expect.arrayContaining(["packets_lost_no_route", "tgw_attachment_id", "resource_type"]));
  });

  it("read a transit-gateway table from transit-gateway/, with the queries its fields answer", () => {
    const s = parse(
      Testing.synthScope(
        (scope) =>
          new Athena(scope, "Athena", {
            ...ctx,
            workgroup: "wg",
            database: "db",
            archiveBucket: "b",
            resultsBucket: "r",
            kmsKeyArn: "arn:k",
            bytesScannedCutoffPerQuery: 1,
            tables: [{ name: "transit_gateway_flow_logs", format: TGW, options: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: false } }],
          }),
      ),
    );
    const table = all(s, "aws_glue_catalog_table").find((t) => t.name === "transit_gateway_flow_logs")!;
    expect((table.storage_descriptor as { location: string }).location).toBe("s3://b/transit-gateway/parquet/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/");
    const names = all(s, "aws_athena_named_query").map((q) => q.name);
    expect(names.sort()).toEqual(["transit_gateway_flow_logs: hourly-traffic-summary", "transit_gateway_flow_logs: packets-lost-by-attachment", "transit_gateway_flow_logs: top-sources-by-bytes"]);
    const lost = all(s, "aws_athena_named_query").find((q) => String(q.name).endsWith("packets-lost-by-attachment"))!.query as string;
    expect(lost).toContain("SELECT tgw_attachment_id, sum(packets_lost_no_route) AS packets_lost_no_route");
    expect(lost).toContain("WHERE (year, month, day) IN");
  });

  it("project the Region as a partition when a table reads the flow logs of several Regions", () => {
    const layout = archiveLayout("b", "123456789012", ["eu-west-1", "us-east-1"], { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false });
    expect(layout.locationTemplate).toBe("s3://b/AWSLogs/123456789012/vpcflowlogs/${aws_region}/${year}/${month}/${day}/");
    expect(layout.location).toBe("s3://b/AWSLogs/123456789012/vpcflowlogs/");
    expect(layout.partitionColumns).toEqual([{ name: "aws_region", type: "string" }, { name: "year", type: "int" }, { name: "month", type: "int" }, { name: "day", type: "int" }]);
    expect(layout.projection).toMatchObject({ "projection.aws_region.type": "enum", "projection.aws_region.values": "eu-west-1,us-east-1" });
    const hive = archiveLayout("b", "123456789012", ["eu-west-1", "us-east-1"], { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true });
    expect(hive.locationTemplate).toBe("s3://b/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=${aws_region}/year=${year}/month=${month}/day=${day}/hour=${hour}/");
    // One Region keeps the layout it always had.
    expect(archiveLayout("b", "123456789012", ["eu-west-1"], { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false })).toEqual(
      archiveLayout("b", "123456789012", "eu-west-1", { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false }),
    );
  });
});

describe("policies for flow logs of several Regions", () => {
  const multi = { ...ctx, deliveryRegions: ["eu-west-1", "us-east-1"] };

  it("let the delivery role be assumed for the flow logs of every delivery Region, and write to groups in each", () => {
    expect(deliveryTrustPolicy(multi).Statement[0]!.Condition!.ArnLike).toEqual({ "aws:SourceArn": ["arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*", "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"] });
    expect(deliveryTrustPolicy(ctx).Statement[0]!.Condition!.ArnLike).toEqual({ "aws:SourceArn": "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*" });
    expect(deliveryPermissions(ctx, ["/a", { region: "us-east-1", name: "/a" }]).Statement[0]!.Resource).toEqual([
      "arn:aws:logs:eu-west-1:123456789012:log-group:/a",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/a:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:/a",
      "arn:aws:logs:us-east-1:123456789012:log-group:/a:*",
    ]);
  });

  it("let log delivery of every delivery Region write the archive and use its key, and no other Region", () => {
    const write = archiveBucketPolicy(multi, "b").Statement.find((st) => st.Sid === "AWSLogDeliveryWrite")!;
    expect(write.Condition!.ArnLike).toEqual({ "aws:SourceArn": ["arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:us-east-1:123456789012:*"] });
    const key = kmsKeyPolicy(multi).Statement.find((st) => st.Sid === "LogDeliveryWritesEncryptedArchive")!;
    expect(key.Condition!.ArnLike).toEqual({ "aws:SourceArn": ["arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:us-east-1:123456789012:*"] });
    expect(kmsKeyPolicy(ctx).Statement.find((st) => st.Sid === "LogDeliveryWritesEncryptedArchive")!.Condition!.ArnLike).toEqual({ "aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*" });
  });
});
