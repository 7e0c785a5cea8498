import { Construct } from "constructs";
import { ITerraformDependable, TerraformProvider } from "cdktf";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { FlowLogResourceType } from "../functions/flowlog/fields";
import { LogFormat } from "../functions/flowlog/format";
import { archiveFolder } from "../policies/iam";
import { literal } from "./literal";

/** What one flow log watches and how; destinations are wired by the FlowLogs construct. */
export interface FlowLogTarget {
  readonly resource: FlowLogResourceType;
  /** vpc-, subnet-, eni-, tgw- or tgw-attach- id. */
  readonly id: string;
  /**
   * Which traffic to log.
   * @default - unset, as AWS requires for a transit gateway or attachment (it logs all traffic)
   * @see https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html
   */
  readonly trafficType?: "ACCEPT" | "REJECT" | "ALL";
  /**
   * 60 or 600 seconds; transit gateways take 60 only.
   * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-aggregation-interval
   */
  readonly aggregationSeconds: 60 | 600;
  readonly destinations: readonly ("cloudwatch" | "s3" | "firehose")[];
  readonly logFormat: LogFormat;
  /** Only with an S3 destination. */
  readonly s3?: {
    readonly fileFormat: "plain-text" | "parquet";
    readonly hiveCompatiblePartitions: boolean;
    readonly perHourPartition: boolean;
  };
  /**
   * The log group of this target's CloudWatch destination, when it is not the shared one (a
   * subnet or ENI inside a VPC that is logged to the shared group gets its own).
   * @default - FlowLogsProps.cloudWatch.logGroupArn
   */
  readonly logGroupArn?: string;
  /**
   * The stream of the Firehose destination; only with it. Flow logs reach Firehose as plain
   * text, so no S3-style options apply.
   * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-firehose.html
   */
  readonly firehose?: { readonly deliveryStreamArn: string; readonly crossAccountRoleArn?: string };
}

export interface FlowLogsProps {
  readonly targets: readonly FlowLogTarget[];
  /** Required when any target delivers to CloudWatch. */
  readonly cloudWatch?: { readonly logGroupArn: string; readonly deliveryRoleArn: string };
  /**
   * Required when any target delivers to S3. `destinationArn` is the bucket ARN, optionally
   * followed by `/<prefix>/`; each file format is written under its own folder below it
   * (ARCHIVE_FORMAT_FOLDERS). `dependsOn` should hold the bucket policy.
   */
  readonly s3?: { readonly destinationArn: string; readonly dependsOn?: ITerraformDependable[] };
  /**
   * Required when a target delivers to a Firehose stream of another account: the
   * source-account role log delivery uses (`iam_role_arn`), next to the target's
   * destination-account role (`deliver_cross_account_role`).
   * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
   */
  readonly firehose?: { readonly sourceRoleArn: string };
  /**
   * The provider of the targets' Region: a flow log is created in the Region of what it watches.
   * @default - the stack's default provider
   */
  readonly provider?: TerraformProvider;
  /** Name tag prefix; each flow log is tagged `<prefix>-<id>-<destination>`. */
  readonly namePrefix: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

const RESOURCE_ARG = { vpc: "vpcId", subnet: "subnetId", eni: "eniId", "transit-gateway": "transitGatewayId", "transit-gateway-attachment": "transitGatewayAttachmentId" } as const;

/** One aws_flow_log per target × destination. */
export class FlowLogs extends Construct {
  readonly flowLogs: FlowLog[] = [];

  constructor(scope: Construct, id: string, props: FlowLogsProps) {
    super(scope, id);
    for (const target of props.targets) {
      const common = {
        provider: props.provider,
        [RESOURCE_ARG[target.resource]]: target.id,
        trafficType: target.trafficType,
        maxAggregationInterval: target.aggregationSeconds,
        logFormat: target.logFormat.isDefault ? undefined : literal(target.logFormat.toAwsFormat()),
      };
      const base = target.id.replace(/-/g, "");
      for (const destination of target.destinations) {
        const name = `${props.namePrefix}-${target.id}-${destination}`;
        const tags = { ...props.tags, Name: name };
        if (destination === "cloudwatch") {
          if (!props.cloudWatch) throw new Error(`FlowLogs: target ${target.id} delivers to CloudWatch but no log group was given`);
          this.flowLogs.push(
            new FlowLog(this, `${base}ToCloudWatch`, {
              ...common,
              logDestinationType: "cloud-watch-logs",
              logDestination: target.logGroupArn ?? props.cloudWatch.logGroupArn,
              iamRoleArn: props.cloudWatch.deliveryRoleArn,
              tags,
            }),
          );
        } else if (destination === "firehose") {
          if (!target.firehose) throw new Error(`FlowLogs: target ${target.id} delivers to Firehose but names no stream`);
          const crossAccount = target.firehose.crossAccountRoleArn;
          if (crossAccount && !props.firehose) throw new Error(`FlowLogs: target ${target.id} delivers to Firehose in another account but no source-account role was given`);
          this.flowLogs.push(
            new FlowLog(this, `${base}ToFirehose`, {
              ...common,
              logDestinationType: "kinesis-data-firehose",
              logDestination: target.firehose.deliveryStreamArn,
              // Same account: AWS's service-linked role delivers; across accounts, these two roles.
              iamRoleArn: crossAccount ? props.firehose!.sourceRoleArn : undefined,
              deliverCrossAccountRole: crossAccount,
              tags,
            }),
          );
        } else {
          if (!props.s3) throw new Error(`FlowLogs: target ${target.id} delivers to S3 but no bucket was given`);
          const options = target.s3;
          // AWS takes a folder as <bucket-arn>/<folder>/ and writes AWSLogs/... below it.
          const withSlash = props.s3.destinationArn.endsWith("/") ? props.s3.destinationArn : `${props.s3.destinationArn}/`;
          const folder = archiveFolder(target.logFormat.family, options?.fileFormat ?? "plain-text");
          this.flowLogs.push(
            new FlowLog(this, `${base}ToS3`, {
              ...common,
              logDestinationType: "s3",
              logDestination: folder ? `${withSlash}${folder}` : props.s3.destinationArn,
              destinationOptions: options && {
                fileFormat: options.fileFormat,
                hiveCompatiblePartitions: options.hiveCompatiblePartitions,
                perHourPartition: options.perHourPartition,
              },
              dependsOn: props.s3.dependsOn,
              tags,
            }),
          );
        }
      }
    }
  }
}
