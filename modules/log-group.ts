import { Construct } from "constructs";
import { TerraformProvider } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudWatchRetentionDays } from "../policies/retention";

export interface FlowLogGroupProps {
  /** Log group name, e.g. `/flowlog-kit/prod/vpc-flow-logs`. */
  readonly name: string;
  /** Retention from the environment's CloudWatch class; never 0 ("never expire"). */
  readonly retentionDays: CloudWatchRetentionDays;
  /** KMS key that encrypts the log group: a key of the group's own Region. */
  readonly kmsKeyArn: string;
  /**
   * The log class. Infrequent Access costs half per GB ingested but has no metric filters,
   * subscription filters, data protection or Live Tail; AWS cannot change it after creation.
   * @default "STANDARD"
   * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html
   */
  readonly logGroupClass?: "STANDARD" | "INFREQUENT_ACCESS";
  /**
   * The provider of the group's Region.
   * @default - the stack's default provider
   */
  readonly provider?: TerraformProvider;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** The CloudWatch Logs group flow logs are delivered to, for recent-incident investigation. */
export class FlowLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: FlowLogGroupProps) {
    super(scope, id);
    this.logGroup = new CloudwatchLogGroup(this, "LogGroup", {
      provider: props.provider,
      name: props.name,
      logGroupClass: props.logGroupClass ?? "STANDARD",
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
      tags: props.tags,
    });
  }
}
