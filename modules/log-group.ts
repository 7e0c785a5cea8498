import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudWatchRetentionDays } from "../policies/retention";

export interface FlowLogGroupProps {
  /** Log group name, e.g. `/flowlog-kit/prod/vpc-flow-logs`. */
  readonly name: string;
  /** Retention from the environment's CloudWatch class; never 0 ("never expire"). */
  readonly retentionDays: CloudWatchRetentionDays;
  /** KMS key that encrypts the log group. */
  readonly kmsKeyArn: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** The CloudWatch Logs group flow logs are delivered to, for recent-incident investigation. */
export class FlowLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: FlowLogGroupProps) {
    super(scope, id);
    this.logGroup = new CloudwatchLogGroup(this, "LogGroup", {
      name: props.name,
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
      tags: props.tags,
    });
  }
}
