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
  /** SKIPDATA records in 15 minutes that raise the log-gap alarm; greater than zero. */
  readonly logGapThreshold: number;
  /**
   * Consecutive 15-minute periods without a single record in the log group that raise the
   * delivery alarm.
   * @default 4
   */
  readonly deliveryOutagePeriods?: number;
  /**
   * The log group's class. An Infrequent Access group has no metric filters, so the
   * metric-filter alarms (rejected SSH/RDP, SKIPDATA) are not created; a volume-drop alarm on the
   * group's own AWS/Logs IncomingBytes takes the log-gap alarm's place.
   * @default "STANDARD"
   * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html
   */
  readonly logGroupClass?: "STANDARD" | "INFREQUENT_ACCESS";
  /** Topic subscriptions. */
  readonly email: readonly string[];
  readonly https: readonly string[];
}

/**
 * Metric filters on the flow-log group (rejected SSH/RDP attempts, SKIPDATA records), their
 * alarms and a delivery-outage alarm on the findings topic, and the topic's subscriptions.
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
    const metricFilters = (props.logGroupClass ?? "STANDARD") === "STANDARD";
    if (metricFilters && f.has("dstport") && f.has("action")) {
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
    if (metricFilters && f.has("log-status")) {
      // Only SKIPDATA means records were lost (AWS skipped them: capacity or an internal error).
      // NODATA is not a gap: it is how an interface without traffic reports an idle interval,
      // so counting it keeps an environment with any idle interface permanently in ALARM.
      // Missing data is not breaching here: no SKIPDATA records is the healthy case.
      filter("skipdata", "LogGaps", { "log-status": '"SKIPDATA"' });
      new CloudwatchMetricAlarm(this, "LogHealthAlarm", {
        alarmName: `flowlogs-${props.name}-log-gaps`,
        alarmDescription: `At least ${props.logGapThreshold} SKIPDATA records in 15 minutes: AWS skipped flow-log records`,
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
    // A total outage (flow logs deleted, delivery role broken, key disabled) writes no records,
    // so no metric filter emits anything, and an alarm on a filter metric stays quiet. The log
    // group's own IncomingLogEvents has data whenever delivery works, even for idle interfaces
    // (their NODATA records count), and none during an outage: alarm when it is below one for
    // every period of an hour, and treat missing data as breaching, because missing data is
    // exactly what an outage looks like. An hour tolerates the 10-minute aggregation interval
    // plus CloudWatch Logs' delivery delay. It does not depend on the log format.
    const outagePeriods = props.deliveryOutagePeriods ?? 4;
    new CloudwatchMetricAlarm(this, "DeliveryAlarm", {
      alarmName: `flowlogs-${props.name}-delivery-stopped`,
      alarmDescription: `No flow-log records reached ${props.logGroupName} for ${outagePeriods * 15} minutes: delivery has stopped`,
      namespace: "AWS/Logs",
      metricName: "IncomingLogEvents",
      dimensions: { LogGroupName: props.logGroupName },
      statistic: "Sum",
      period: 900,
      evaluationPeriods: outagePeriods,
      datapointsToAlarm: outagePeriods,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
      alarmActions: [props.topicArn],
      okActions: [props.topicArn],
    });
    if (!metricFilters) {
      // Without metric filters, SKIPDATA cannot be counted; what the group's own metrics show is
      // volume. Partial loss (a flow log deleted, one VPC of two silent) lowers IncomingBytes
      // below what CloudWatch has learnt for the hour of the week, long before it reaches zero
      // (the delivery alarm's case, which is why missing data does not breach here).
      new CloudwatchMetricAlarm(this, "VolumeDropAlarm", {
        alarmName: `flowlogs-${props.name}-volume-drop`,
        alarmDescription: `Flow-log bytes reaching ${props.logGroupName} fell below the expected band for two hours: part of the delivery may have stopped`,
        metricQuery: [
          {
            id: "bytes",
            returnData: true,
            metric: { namespace: "AWS/Logs", metricName: "IncomingBytes", dimensions: { LogGroupName: props.logGroupName }, period: 3600, stat: "Sum" },
          },
          { id: "expected", expression: "ANOMALY_DETECTION_BAND(bytes, 3)", label: "Expected IncomingBytes", returnData: true },
        ],
        thresholdMetricId: "expected",
        comparisonOperator: "LessThanLowerThreshold",
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: "notBreaching",
        alarmActions: [props.topicArn],
        okActions: [props.topicArn],
      });
    }
    props.email.forEach((endpoint, i) => new SnsTopicSubscription(this, `Email${i}`, { topicArn: props.topicArn, protocol: "email", endpoint }));
    props.https.forEach((endpoint, i) => new SnsTopicSubscription(this, `Https${i}`, { topicArn: props.topicArn, protocol: "https", endpoint }));
  }
}
