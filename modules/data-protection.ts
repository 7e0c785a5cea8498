import { Construct } from "constructs";
import { TerraformProvider } from "cdktf";
import { CloudwatchLogDataProtectionPolicy } from "@cdktf/provider-aws/lib/cloudwatch-log-data-protection-policy";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { partitionOf } from "../policies/iam";
import type { CloudWatchRetentionDays } from "../policies/retention";

export interface DataProtectionProps {
  readonly name: string;
  /** The region: managed data identifiers live in its partition (aws, aws-cn, aws-us-gov). */
  readonly region: string;
  /** The flow-log groups whose IP addresses are masked: every group flow logs deliver to. */
  readonly logGroupNames: readonly string[];
  readonly kmsKeyArn: string;
  /** Retention of the audit-findings log group. */
  readonly retentionDays: CloudWatchRetentionDays;
  /**
   * The provider of `region`: the policies and the audit group live in the flow-log groups' Region.
   * @default - the stack's default provider
   */
  readonly provider?: TerraformProvider;
}

/**
 * A CloudWatch Logs data-protection policy on each flow-log group that masks IP addresses for
 * readers without logs:Unmask, auditing findings to one log group of their own.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data.html
 */
export class DataProtection extends Construct {
  constructor(scope: Construct, id: string, props: DataProtectionProps) {
    super(scope, id);
    const audit = new CloudwatchLogGroup(this, "AuditLogs", {
      provider: props.provider,
      name: `/flowlog-kit/${props.name}/data-protection-audit`,
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
    // China and GovCloud have their own partition; an `aws` identifier there is rejected.
    const ip = [`arn:${partitionOf(props.region)}:dataprotection::aws:data-identifier/IpAddress`];
    props.logGroupNames.forEach((logGroupName, i) => {
      new CloudwatchLogDataProtectionPolicy(this, i === 0 ? "Policy" : `Policy${i + 1}`, {
        provider: props.provider,
        logGroupName,
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
    });
  }
}
