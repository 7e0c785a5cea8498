import * as path from "path";
import { Construct } from "constructs";
import { AssetType, TerraformAsset, Token } from "cdktf";
import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import type { DetectorThresholds } from "../functions/detect/thresholds";
import type { LogFormat } from "../functions/flowlog/format";
import { ConfigError, showValue } from "../policies/errors";
import { AccountContext, archiveFolder, bucketArn, detectorPermissions, lambdaTrustPolicy } from "../policies/iam";
import type { CloudWatchRetentionDays } from "../policies/retention";
import { bundleHandler } from "./lambda-bundle";

export interface DetectorsProps extends AccountContext {
  /** Environment name; the function is `flowlogs-<name>-detector`. */
  readonly name: string;
  /** The flow-log group the scheduled run queries with Logs Insights. */
  readonly logGroupName: string;
  /** Format of the records in that log group. */
  readonly logFormat: LogFormat;
  readonly archiveBucket: string;
  /** The archive bucket's id, for the S3 notification. */
  readonly archiveBucketId: string;
  readonly kmsKeyArn: string;
  /**
   * The key of the archive's objects, when it is not `kmsKeyArn` (a central archive's key).
   * @default - kmsKeyArn
   */
  readonly archiveKmsKeyArn?: string;
  readonly topicArn: string;
  readonly thresholds: DetectorThresholds;
  /**
   * EventBridge schedule of the Logs Insights run.
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
   */
  readonly schedule: string;
  /** Retention of the function's own log group (the environment's CloudWatch class). */
  readonly logRetentionDays: CloudWatchRetentionDays;
  /**
   * Also run on every new VPC flow-log object in the archive: plain text (`AWSLogs/...log.gz`)
   * and Parquet (`parquet/AWSLogs/...log.parquet`, the folder ARCHIVE_FORMAT_FOLDERS gives it).
   * @default false
   */
  readonly onArchiveObjects?: boolean;
  /** The log group masks IP addresses: query with unmask() (the role gets logs:Unmask). @default false */
  readonly unmask?: boolean;
}

/**
 * How far back a scheduled run looks: the schedule's period plus five minutes, because flow logs
 * reach CloudWatch Logs up to about five minutes late. Overlapping runs are harmless: finding
 * ids are deterministic, so Security Hub updates instead of duplicating.
 */
export function lookbackSeconds(schedule: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (!m) return 3600;
  const unit = m[2]!.startsWith("minute") ? 60 : m[2]!.startsWith("hour") ? 3600 : 86400;
  return Number(m[1]) * unit + 300;
}

/**
 * Lambda's limit on a function's environment variables, all of them together.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** What an unresolved reference (the topic ARN, at synth) counts for: more than any ARN the kit passes. */
const UNRESOLVED_BYTES = 256;

/**
 * Size of a function's environment variables. Measured as their JSON (names, values, quotes
 * and separators), which is at least what Lambda counts, so a set that passes here fits.
 */
export function environmentSize(variables: Readonly<Record<string, string>>): number {
  const resolved = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, Token.isUnresolved(v) ? "x".repeat(UNRESOLVED_BYTES) : v]));
  return Buffer.byteLength(JSON.stringify(resolved), "utf8");
}

/**
 * Refuses, at synth, a detector whose environment variables exceed Lambda's limit (the apply
 * would fail instead). The thresholds travel in one variable, so the error names the threshold
 * that takes the most room: a long list such as `allowedSources` is the usual cause.
 */
export function checkDetectorEnvironment(environment: string, variables: Readonly<Record<string, string>>, thresholds: DetectorThresholds): void {
  const size = environmentSize(variables);
  if (size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const [largest, value] = Object.entries(thresholds).sort(([, a], [, b]) => JSON.stringify(b).length - JSON.stringify(a).length)[0]!;
  const entries = Array.isArray(value) ? `${value.length} entries, ` : "";
  throw new ConfigError([
    `${environment}.detectors.thresholds.${largest}: the detector's environment variables would take ${size} bytes, more than Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit, and this threshold takes the most room (got ${entries}${JSON.stringify(value).length} bytes: ${showValue(value)}). ` +
      `Shorten it by at least ${size - LAMBDA_ENVIRONMENT_LIMIT_BYTES} bytes; every threshold, the network context, the suppressions and the threat lists' entries travel in the one FLOWLOG_THRESHOLDS variable (a long threat list belongs to flowlog-kit detect --env).`,
  ]);
}

/**
 * The detector function and what it needs: a deterministic bundle, a least-privilege role, its
 * own encrypted log group, a dead-letter queue, the schedule, the optional S3 trigger, and
 * alarms on errors and dead letters.
 */
export class Detectors extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: DetectorsProps) {
    super(scope, id);
    const functionName = `flowlogs-${props.name}-detector`;
    const functionLogGroup = `/aws/lambda/${functionName}`;
    const bundle = bundleHandler(path.join(__dirname, "..", "functions", "handlers", "handler.ts"), "detector");
    const asset = new TerraformAsset(this, "Bundle", { path: bundle.zipPath, type: AssetType.FILE, assetHash: bundle.sha256.slice(0, 16) });

    const logs = new CloudwatchLogGroup(this, "FunctionLogs", { name: functionLogGroup, retentionInDays: props.logRetentionDays, kmsKeyId: props.kmsKeyArn });
    this.deadLetterQueue = new SqsQueue(this, "DeadLetters", {
      name: `${functionName}-dlq`,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: 14 * 24 * 3600,
    });
    this.role = new IamRole(this, "Role", {
      name: functionName,
      description: `flowlog-kit ${props.name} detector`,
      assumeRolePolicy: JSON.stringify(lambdaTrustPolicy(props)),
    });
    new IamRolePolicy(this, "Policy", {
      name: "detector",
      role: this.role.id,
      policy: JSON.stringify(
        detectorPermissions(props, {
          logGroupName: props.logGroupName,
          functionLogGroupName: functionLogGroup,
          archiveBucket: props.archiveBucket,
          kmsKeyArn: props.kmsKeyArn,
          archiveKmsKeyArn: props.archiveKmsKeyArn,
          topicArn: props.topicArn,
          deadLetterQueueArn: this.deadLetterQueue.arn,
        }),
      ),
    });
    const lookback = lookbackSeconds(props.schedule);
    const variables = {
      FLOWLOG_ENVIRONMENT: props.name,
      FLOWLOG_ACCOUNT: props.account,
      FLOWLOG_LOG_GROUP: props.logGroupName,
      FLOWLOG_TOPIC_ARN: props.topicArn,
      FLOWLOG_FORMAT: props.logFormat.isDefault ? "default" : props.logFormat.names.join(" "),
      FLOWLOG_THRESHOLDS: JSON.stringify(props.thresholds),
      FLOWLOG_LOOKBACK_SECONDS: String(lookback),
      FLOWLOG_UNMASK: props.unmask ? "1" : "0",
    };
    checkDetectorEnvironment(props.name, variables, props.thresholds);
    this.function = new LambdaFunction(this, "Function", {
      functionName,
      description: `flowlog-kit ${props.name}: scans, brute force, exfiltration, C2, lateral movement, anomalies`,
      role: this.role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: asset.path,
      sourceCodeHash: bundle.sourceCodeHash,
      memorySize: 1024,
      // Logs Insights queries of a busy environment take minutes; Lambda's maximum is 900 s.
      timeout: 900,
      deadLetterConfig: { targetArn: this.deadLetterQueue.arn },
      environment: { variables },
      dependsOn: [logs],
    });

    const rule = new CloudwatchEventRule(this, "Schedule", {
      name: `${functionName}-schedule`,
      description: `Runs the ${props.name} detector over the last ${lookback / 60} minutes of flow logs`,
      scheduleExpression: props.schedule,
    });
    new CloudwatchEventTarget(this, "ScheduleTarget", { rule: rule.name, arn: this.function.arn });
    new LambdaPermission(this, "AllowSchedule", {
      statementId: "AllowEventBridgeSchedule",
      action: "lambda:InvokeFunction",
      functionName: this.function.functionName,
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    });

    if (props.onArchiveObjects) {
      const allowS3 = new LambdaPermission(this, "AllowArchive", {
        statementId: "AllowArchiveNotifications",
        action: "lambda:InvokeFunction",
        functionName: this.function.functionName,
        principal: "s3.amazonaws.com",
        sourceArn: bucketArn(props.region, props.archiveBucket),
        sourceAccount: props.account,
      });
      new S3BucketNotification(this, "ArchiveNotification", {
        bucket: props.archiveBucketId,
        // One entry per file format: S3 refuses overlapping filters, and these share neither prefix nor suffix.
        lambdaFunction: (["plain-text", "parquet"] as const).map((fmt) => ({
          lambdaFunctionArn: this.function.arn,
          events: ["s3:ObjectCreated:*"],
          filterPrefix: `${archiveFolder("vpc", fmt)}AWSLogs/`,
          filterSuffix: fmt === "parquet" ? ".log.parquet" : ".log.gz",
        })),
        dependsOn: [allowS3],
      });
    }

    new CloudwatchMetricAlarm(this, "ErrorsAlarm", {
      alarmName: `${functionName}-errors`,
      alarmDescription: `The ${props.name} detector failed (query, S3 read, or delivery to Security Hub or SNS)`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: functionName },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [props.topicArn],
      okActions: [props.topicArn],
    });
    new CloudwatchMetricAlarm(this, "DeadLettersAlarm", {
      alarmName: `${functionName}-dead-letters`,
      alarmDescription: `Asynchronous ${props.name} detector invocations failed every retry`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: `${functionName}-dlq` },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [props.topicArn],
    });
  }
}
