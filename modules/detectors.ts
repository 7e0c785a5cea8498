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
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import type { DetectorThresholds } from "../functions/detect/thresholds";
import type { LogFormat } from "../functions/flowlog/format";
import { RENDERER } from "../functions/handlers/renderer";
import { AthenaSettings, AthenaTableTarget, planJobs, QUERY_CONCURRENCY } from "../functions/handlers/scheduled";
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
  /**
   * The longest aggregation interval of the environment's flow logs: records arrive this much
   * after their start, before delivery. @default 600 (AWS's default)
   */
  readonly aggregationSeconds?: number;
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
  /** The log group is in the Infrequent Access class: OpenSearch SQL cannot query it, so the rules run on the engine over its records. @default false */
  readonly infrequentAccess?: boolean;
  /**
   * Where the scheduled run queries the archive with Athena: the workgroup, database, results
   * location and the VPC flow-log tables.
   * @default - no Athena: the scheduled run runs every rule as a Logs Insights OpenSearch SQL query on logGroupName
   */
  readonly athena?: DetectorAthenaProps;
  /**
   * Where each run's findings are stored for Athena (the Athena results bucket's findings
   * folder, encrypted with `kmsKeyArn`): the function gets it as FLOWLOG_FINDINGS, its role may
   * put objects exactly there.
   * @default - findings go to Security Hub and SNS only
   */
  readonly findings?: { readonly bucket: string; readonly prefix: string };
  /**
   * The ledger of findings already published to SNS (the Athena results bucket's published/
   * folder, which its lifecycle expires): the function gets it as FLOWLOG_PUBLISHED, its role may
   * put and read objects exactly there.
   * @default - no ledger: every run publishes every finding it raises to SNS
   */
  readonly published?: { readonly bucket: string; readonly prefix: string };
  /**
   * Threat lists the detector reads from S3 on every run (`s3://bucket/key`); its role may read
   * exactly these objects.
   * @default []
   */
  readonly threatLists?: readonly { readonly name: string; readonly s3: string }[];
}

/** The Athena side of the detector: where its queries run and what they read. */
export interface DetectorAthenaProps {
  readonly workgroup: string;
  readonly database: string;
  readonly resultsBucket: string;
  /** The workgroup's results folder, e.g. `results/`. */
  readonly resultsFolder: string;
  /** The VPC flow-log tables, with their partition keys and Regions. */
  readonly tables: readonly AthenaTableTarget[];
}

/** What the function is given, and why (TSDoc of detectorSizing). */
export interface DetectorSizing {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Queries of one scheduled run. */
  readonly queries: number;
  readonly concurrency: number;
  /** How long one query may run before it is stopped, ms. */
  readonly queryTimeoutMs: number;
}

/** Memory of the Node.js runtime, the SDK clients and the bundle before any data, measured as about 150 MB; rounded up. */
const BASELINE_MB = 192;
/** What one aggregate row costs the engine, all told (thresholds.ts rowBudget: about 300 bytes, measured). */
const BYTES_PER_ROW = 300;
/** Time kept after the last query for delivery to Security Hub and SNS, seconds. */
const DELIVERY_SECONDS = 60;

/**
 * Memory and timeout from what the function does in this environment.
 *
 * Memory: a scheduled run holds only the rows past thresholds that its queries return, so its
 * memory does not grow with the record count; the same function also runs the engine on new
 * archive objects and on `flowlog-kit detect --env`, where memory is bounded by the rule
 * state's row budget (thresholds.rowBudget, about 300 bytes a row). So: the runtime's baseline
 * plus the row budget, rounded up to 64 MB, between 256 MB and Lambda's 10,240 MB.
 *
 * Timeout: a query's time grows with the data it scans, that is with its range (the look-back,
 * or the 1-hour horizon when longer): one query may take 60 s plus 60 s per hour of range
 * (partition pruning keeps every query to its range's partitions), 120 s to 600 s. The run's
 * queries (rules x horizons x Athena tables) go in waves of `concurrency`; the timeout is the
 * waves' worst case plus a minute for delivery, at least 300 s (an archive object read whole),
 * at most Lambda's 900 s. A run that would need longer continues in a new invocation
 * (functions/handlers/scheduled.ts), so the cap never cuts a run short silently.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export function detectorSizing(o: { readonly queries: number; readonly longestRangeSeconds: number; readonly rowBudget: number; readonly concurrency?: number }): DetectorSizing {
  const concurrency = o.concurrency ?? QUERY_CONCURRENCY;
  const queryTimeoutSeconds = queryTimeoutSecondsFor(o.longestRangeSeconds);
  const waves = Math.ceil(o.queries / concurrency);
  const timeoutSeconds = Math.min(900, Math.max(300, waves * queryTimeoutSeconds + DELIVERY_SECONDS, queryTimeoutSeconds + DELIVERY_SECONDS + 30));
  const memoryMb = Math.min(10_240, Math.max(256, Math.ceil((BASELINE_MB + (o.rowBudget * BYTES_PER_ROW) / 1024 ** 2) / 64) * 64));
  return { memoryMb, timeoutSeconds, queries: o.queries, concurrency, queryTimeoutMs: queryTimeoutSeconds * 1000 };
}

/** How long one query over a range of this length may take (detectorSizing): 60 s plus 60 s per hour, 120 s to 600 s. */
export function queryTimeoutSecondsFor(rangeSeconds: number): number {
  return Math.min(600, Math.max(120, 60 + 60 * Math.ceil(rangeSeconds / 3600)));
}

/** The time one run keeps for delivery after its last query (detectorSizing), seconds. */
export const DETECTOR_DELIVERY_SECONDS = DELIVERY_SECONDS;

/**
 * The deployed function's sizing: the scheduled run's queries and their longest ranges, as the
 * stack sizes it (the Detectors construct, and `flowlog-kit detect --env --since` to size its chunks).
 */
export function scheduledSizing(props: Pick<DetectorsProps, "athena" | "thresholds" | "logFormat" | "unmask"> & Partial<Pick<DetectorsProps, "logGroupName" | "infrequentAccess">>, lookback: number): DetectorSizing {
  const jobs = scheduledQueries(props, lookback);
  // Sized for the run whose ranges are longest (an hour-long rule's range reaches almost two hours).
  const longest = scheduledQueries(props, lookback, LONGEST_RANGES_END);
  return detectorSizing({ queries: jobs.length, longestRangeSeconds: Math.max(lookback, ...longest.map((j) => j.end - j.start)), rowBudget: props.thresholds.rowBudget });
}

/** A run's end one second before an hour boundary: its horizon-aligned ranges are the longest a run has. */
export const LONGEST_RANGES_END = 1_800_003_599;

/** The queries of one scheduled run, as the function will plan them (its renderer, its tables). */
export function scheduledQueries(props: Pick<DetectorsProps, "athena" | "thresholds" | "logFormat" | "unmask"> & Partial<Pick<DetectorsProps, "logGroupName" | "infrequentAccess">>, lookback: number, end = 1_800_000_000): ReturnType<typeof planJobs> {
  const renderer = RENDERER;
  const athena: AthenaSettings | undefined = props.athena && { workgroup: props.athena.workgroup, database: props.athena.database, tables: props.athena.tables };
  // The rules, horizons and tables do not depend on the end; the ranges' lengths do, because a
  // range starts on its horizon's boundary: on an hour boundary (the default) they are the
  // shortest, one second before one (LONGEST_RANGES_END) the longest.
  // Without a name (cost estimates, which count queries and ranges only) a stand-in of the kit's
  // own naming; the stack passes the real name, so a query too long for it fails synth.
  const logGroupName = props.logGroupName ?? "/flowlog-kit/environment/vpc-flow-logs";
  return planJobs(renderer, { end, lookbackSeconds: lookback, thresholds: props.thresholds, athena, format: props.logFormat, unmask: props.unmask ?? false, infrequentAccess: props.infrequentAccess ?? false, logGroupName });
}

/**
 * How far back a scheduled run looks: the schedule's period, plus the longest aggregation
 * interval of the environment's flow logs (a record is written only once its capture window
 * closes, up to 10 minutes after its `start`), plus five minutes, because flow logs then reach
 * CloudWatch Logs about five minutes later. So every record lies in the look-back of some run that
 * starts after it arrived. A cron schedule is taken as hourly. Overlapping runs are harmless:
 * finding ids are deterministic, so Security Hub updates instead of duplicating.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-aggregration-interval
 */
export function lookbackSeconds(schedule: string, aggregationSeconds = DEFAULT_AGGREGATION_SECONDS): number {
  return schedulePeriodSeconds(schedule) + aggregationSeconds + DELIVERY_LATENESS_SECONDS;
}

/** Seconds between two scheduled runs: a rate schedule's period; a cron schedule is taken as hourly. */
export function schedulePeriodSeconds(schedule: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (!m) return 3600;
  return Number(m[1]) * (m[2]!.startsWith("minute") ? 60 : m[2]!.startsWith("hour") ? 3600 : 86400);
}

/** AWS's maximum aggregation interval when a flow log sets none. */
export const DEFAULT_AGGREGATION_SECONDS = 600;
/** How long after its capture window a record typically reaches CloudWatch Logs. */
export const DELIVERY_LATENESS_SECONDS = 300;

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
  readonly sizing: DetectorSizing;

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
    const a = props.athena;
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
          ...(a ? { athena: { workgroup: a.workgroup, database: a.database, tables: a.tables.map((t) => t.name), resultsBucket: a.resultsBucket, resultsFolder: a.resultsFolder } } : {}),
          threatLists: (props.threatLists ?? []).map((l) => l.s3),
          ...(props.findings ? { findings: props.findings } : {}),
          ...(props.published ? { published: props.published } : {}),
          functionName,
        }),
      ),
    });
    const lookback = lookbackSeconds(props.schedule, props.aggregationSeconds);
    this.sizing = scheduledSizing(props, lookback);
    // A table whose fields are the log group's travels without them: the variables are limited to 4 KB.
    const ownFields = props.logFormat.names.join(" ");
    const athenaVariable = a && {
      workgroup: a.workgroup,
      database: a.database,
      tables: a.tables.map(({ fields, ...t }) => (fields.join(" ") === ownFields ? t : { ...t, fields })),
    };
    const variables = {
      FLOWLOG_ENVIRONMENT: props.name,
      FLOWLOG_ACCOUNT: props.account,
      FLOWLOG_LOG_GROUP: props.logGroupName,
      FLOWLOG_TOPIC_ARN: props.topicArn,
      FLOWLOG_FORMAT: props.logFormat.isDefault ? "default" : props.logFormat.names.join(" "),
      FLOWLOG_THRESHOLDS: JSON.stringify(props.thresholds),
      FLOWLOG_LOOKBACK_SECONDS: String(lookback),
      FLOWLOG_UNMASK: props.unmask ? "1" : "0",
      FLOWLOG_LOG_CLASS: props.infrequentAccess ? "INFREQUENT_ACCESS" : "STANDARD",
      FLOWLOG_QUERY_TIMEOUT_MS: String(this.sizing.queryTimeoutMs),
      FLOWLOG_QUERY_CONCURRENCY: String(this.sizing.concurrency),
      ...(athenaVariable ? { FLOWLOG_ATHENA: JSON.stringify(athenaVariable) } : {}),
      ...(props.threatLists?.length ? { FLOWLOG_THREAT_LISTS: JSON.stringify(props.threatLists) } : {}),
      ...(props.findings ? { FLOWLOG_FINDINGS: `s3://${props.findings.bucket}/${props.findings.prefix}` } : {}),
      ...(props.published ? { FLOWLOG_PUBLISHED: `s3://${props.published.bucket}/${props.published.prefix}` } : {}),
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
      // detectorSizing says why.
      memorySize: this.sizing.memoryMb,
      timeout: this.sizing.timeoutSeconds,
      deadLetterConfig: { targetArn: this.deadLetterQueue.arn },
      environment: { variables },
      dependsOn: [logs],
    });

    // Asynchronous invocations (the schedule, archive objects, a run's own continuation) are not
    // retried: Lambda would run a failed scheduled event again with a new end (every query billed
    // again, SNS published again) and a failed continuation would hand over a second chain. A
    // failed invocation goes to the dead-letter queue and the Errors alarm at once; the next
    // scheduled run's overlapping look-back covers the same records again.
    // @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    new LambdaFunctionEventInvokeConfig(this, "AsyncInvokeConfig", {
      functionName: this.function.functionName,
      maximumRetryAttempts: 0,
    });

    const rule = new CloudwatchEventRule(this, "Schedule", {
      name: `${functionName}-schedule`,
      description: `Runs the ${props.name} detector's ${this.sizing.queries} ${a ? "Athena" : "Logs Insights"} queries over the last ${lookback / 60} minutes of flow logs (1 hour for hour-long rules)`,
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
