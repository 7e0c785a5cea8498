import { Construct } from "constructs";
import { CloudwatchLogDataProtectionPolicy } from "@cdktf/provider-aws/lib/cloudwatch-log-data-protection-policy";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { CloudWatchRetentionDays } from "../policies/retention";

export interface DataProtectionProps {
  readonly name: string;
  /** The flow-log group whose IP addresses are masked. */
  readonly logGroupName: string;
  readonly kmsKeyArn: string;
  /** Retention of the audit-findings log group. */
  readonly retentionDays: CloudWatchRetentionDays;
}

/**
 * A CloudWatch Logs data-protection policy that masks IP addresses in the flow-log group for
 * readers without logs:Unmask, auditing findings to a log group of their own.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data.html
 */
export class DataProtection extends Construct {
  constructor(scope: Construct, id: string, props: DataProtectionProps) {
    super(scope, id);
    const audit = new CloudwatchLogGroup(this, "AuditLogs", {
      name: `/flowlog-kit/${props.name}/data-protection-audit`,
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
    const ip = ["arn:aws:dataprotection::aws:data-identifier/IpAddress"];
    new CloudwatchLogDataProtectionPolicy(this, "Policy", {
      logGroupName: props.logGroupName,
      policyDocument: JSON.stringify({
        Name: `flowlog-kit-${props.name}-mask-ip-addresses`,
        Description: "Masks IP addresses in flow logs for readers without logs:Unmask",
        Version: "2021-06-01",
        Statement: [
          { Sid: "audit", DataIdentifier: ip, Operation: { Audit: { FindingsDestination: { CloudWatchLogs: { LogGroup: audit.name } } } } },
          { Sid: "redact", DataIdentifier: ip, Operation: { Deidentify: { MaskConfig: {} } } },
        ],
      }),
    });
  }
}
