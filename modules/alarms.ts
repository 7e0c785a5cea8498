import { Construct } from "constructs";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { LogFormat } from "../functions/flowlog/format";
import { metricFilterPattern } from "../functions/flowlog/insights";

export interface AlarmsProps {
  /** Environment name: metrics live in namespace `flowlog-kit/<name>`. */
  readonly name: string;
  readonly logGroupName: string;
  readonly format: LogFormat;
  readonly topicArn: string;
  /** Rejected SSH/RDP attempts in 5 minutes that raise the alarm; greater than zero. */
  readonly rejectedAdminThreshold: number;
  /** NODATA/SKIPDATA records in 15 minutes that raise the log-health alarm; greater than zero. */
  readonly logGapThreshold: number;
  /** Topic subscriptions. */
  readonly email: readonly string[];
  readonly https: readonly string[];
}

/**
 * Metric filters on the flow-log group (rejected SSH/RDP attempts, NODATA/SKIPDATA records),
 * their alarms on the findings topic, and the topic's subscriptions.
 */
export class Alarms extends Construct {
  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const namespace = `flowlog-kit/${props.name}`;
    const filter = (fid: string, metric: string, conditions: Record<string, string>) =>
      new CloudwatchLogMetricFilter(this, fid, {
        name: `${props.name}-${fid}`,
        logGroupName: props.logGroupName,
        pattern: metricFilterPattern(props.format, conditions),
        metricTransformation: { name: metric, namespace, value: "1", defaultValue: "0" },
      });
    const f = props.format;
    if (f.has("dstport") && f.has("action")) {
      // Metric filters cannot OR two values of one field, so SSH and RDP are two filters on one metric.
      filter("rejected-ssh", "RejectedAdminAttempts", { dstport: "22", action: '"REJECT"' });
      filter("rejected-rdp", "RejectedAdminAttempts", { dstport: "3389", action: '"REJECT"' });
      new CloudwatchMetricAlarm(this, "RejectedAdminAlarm", {
        alarmName: `flowlogs-${props.name}-rejected-ssh-rdp`,
        alarmDescription: `More than ${props.rejectedAdminThreshold} rejected SSH/RDP attempts in 5 minutes`,
        namespace,
        metricName: "RejectedAdminAttempts",
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: props.rejectedAdminThreshold,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [props.topicArn],
      });
    }
    if (f.has("log-status")) {
      filter("nodata", "LogGaps", { "log-status": '"NODATA"' });
      filter("skipdata", "LogGaps", { "log-status": '"SKIPDATA"' });
      new CloudwatchMetricAlarm(this, "LogHealthAlarm", {
        alarmName: `flowlogs-${props.name}-log-gaps`,
        alarmDescription: `At least ${props.logGapThreshold} NODATA/SKIPDATA records in 15 minutes: flow logs are missing data`,
        namespace,
        metricName: "LogGaps",
        statistic: "Sum",
        period: 900,
        evaluationPeriods: 1,
        threshold: props.logGapThreshold,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [props.topicArn],
      });
    }
    props.email.forEach((endpoint, i) => new SnsTopicSubscription(this, `Email${i}`, { topicArn: props.topicArn, protocol: "email", endpoint }));
    props.https.forEach((endpoint, i) => new SnsTopicSubscription(this, `Https${i}`, { topicArn: props.topicArn, protocol: "https", endpoint }));
  }
}
