/**
 * The detector's logic, free of Lambda: handed its clients and settings, it gathers flow-log
 * lines (Logs Insights or S3 objects), runs the engine, and delivers findings to Security Hub
 * and SNS. handler.ts parses the event and builds the clients; scheduled.ts runs the scheduled
 * queries, and reads records here (queryLines) for the rules Logs Insights cannot express.
 */
import { createHash } from "crypto";
import type { AthenaClient } from "@aws-sdk/client-athena";
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  GetQueryResultsCommandOutput,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchImportFindingsCommand, SecurityHubClient } from "@aws-sdk/client-securityhub";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Readable } from "stream";
import { LogFormat } from "../flowlog/format";
import { isParquetName, ParquetSource } from "../flowlog/parquet";
import { insightsRowToLine, ParseStats } from "../flowlog/parser";
import { batches, toAsff } from "../detect/asff";
import { DetectionEngine, DetectorError, EngineOptions } from "../detect/engine";
import type { Finding } from "../detect/findings";
import { snsMessage } from "../detect/report";
import { ANOMALY_RULE, SKIPPED_RULE } from "../detect/sql";
import { feedParquet, feedStream } from "../detect/run";
import type { DetectorThresholds } from "../detect/thresholds";
import { RetryPolicy, withRetry } from "./retry";
import { FindingsRun, FindingsStore, storeFindings } from "./findings-store";
import { claimFindings, Decision, PublishLedger, settleClaims } from "./publish-ledger";
import type { AthenaSettings, QueryRenderer } from "./scheduled";
import { loadThreatLists, S3ThreatList } from "./threat-lists";

/** Logs Insights returns at most this many rows per query. */
export const INSIGHTS_ROW_LIMIT = 10_000;

export interface DetectorClients {
  readonly logs: CloudWatchLogsClient;
  readonly s3: S3Client;
  readonly securityHub: SecurityHubClient;
  readonly sns: SNSClient;
  /** The scheduled run's Athena queries; absent where the environment has no Athena. */
  readonly athena?: AthenaClient;
  /** Self-invocation, for a run that continues in a new invocation. */
  readonly lambda?: LambdaClient;
}

export interface DetectorSettings {
  readonly environment: string;
  readonly account: string;
  readonly region: string;
  readonly logGroupName: string;
  readonly topicArn: string;
  readonly format: LogFormat;
  /** The log group masks IP addresses; query with unmask(). @default false */
  readonly unmask?: boolean;
  /** The log group is in the Infrequent Access class, which OpenSearch SQL cannot query: rules run on the engine over its records. @default false */
  readonly infrequentAccess?: boolean;
  readonly thresholds: DetectorThresholds;
  /** Give up on one Logs Insights query after this long. @default 60000 */
  readonly queryTimeoutMs?: number;
  /** Poll interval for GetQueryResults and GetQueryExecution. @default 1000 */
  readonly pollMs?: number;
  /**
   * The scheduled run queries the archive with Athena here (environments with an S3 archive and
   * Athena); without it, it runs Logs Insights OpenSearch SQL queries on `logGroupName`.
   * @default - Logs Insights
   */
  readonly athena?: AthenaSettings;
  /** Give up on one Athena query after this long. @default 120000 */
  readonly athenaQueryTimeoutMs?: number;
  /** Renders the rules as queries (functions/detect/sql.ts); the scheduled run needs it. */
  readonly renderer?: QueryRenderer;
  /** Queries in flight at once. @default QUERY_CONCURRENCY (5) */
  readonly concurrency?: number;
  /** Time kept for delivering findings after the last query, ms. @default 60000 */
  readonly deliveryReserveMs?: number;
  /** Threat lists read from S3 on every run. @default [] */
  readonly threatLists?: readonly S3ThreatList[];
  /** The function's own name, to continue a run in a new invocation (AWS_LAMBDA_FUNCTION_NAME). */
  readonly functionName?: string;
  /**
   * Each run's findings are also written here, for Athena and the QuickSight dashboard
   * (findings-store.ts); set where the environment has Athena.
   * @default - findings go to Security Hub and SNS only
   */
  readonly findingsStore?: FindingsStore;
  /**
   * The ledger of findings already published to SNS (publish-ledger.ts): scheduled and archive
   * runs publish a finding once, and again only when it is more severe. Set where the
   * environment has Athena (the results bucket's published/ folder).
   * @default - every run publishes every finding it raises
   */
  readonly publishLedger?: PublishLedger;
  /** Retries of throttled calls. @default - retry.ts defaults (6 attempts) */
  readonly retry?: RetryPolicy;
  /**
   * Options of the engine where a run reads records (its buffer size, the WebAssembly reader);
   * findings and counts never depend on them.
   * @default - the engine's defaults
   */
  readonly engine?: EngineOptions;
}

export interface DetectorDeps {
  readonly clients: DetectorClients;
  readonly settings: DetectorSettings;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** Time left before Lambda stops the invocation, ms (the context's getRemainingTimeInMillis). @default - unlimited */
  readonly remainingMs?: () => number;
  /** Jitter of retries, a number in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** What a run returns (the on-demand CLI prints it). */
export interface DetectorResult {
  readonly stats: ParseStats;
  readonly findings: readonly Finding[];
  /** Time ranges whose Logs Insights results hit the row cap even after splitting: records were left out. */
  readonly truncated: readonly { readonly start: number; readonly end: number }[];
  readonly delivered: Delivered;
}

/** Where a run's findings went. */
export interface Delivered {
  readonly securityHub: number;
  readonly sns: boolean;
  /** The S3 object the findings were stored in for Athena (findingsStore set, findings raised). */
  readonly stored?: string;
  /** With a publish ledger: the findings this run's SNS message carried (or tried to). */
  readonly alerted?: number;
  /** With a publish ledger: the findings left out of SNS, published before at the same or a higher severity. */
  readonly alreadyAlerted?: number;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The Logs Insights query: whole records, oldest first, as many as one query may return. */
export const INSIGHTS_QUERY = `fields @message | sort @timestamp asc | limit ${INSIGHTS_ROW_LIMIT}`;
/**
 * The same, for a log group that masks IP addresses (the role holds logs:Unmask). AWS documents
 * unmask() on @message; its result goes to a field of its own (UNMASKED_FIELD) rather than over
 * the reserved @message, which the documentation never shows as an alias.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Unmask.html
 */
export const UNMASKED_FIELD = "unmasked";
export const INSIGHTS_QUERY_UNMASKED = `fields unmask(@message) as ${UNMASKED_FIELD} | sort @timestamp asc | limit ${INSIGHTS_ROW_LIMIT}`;

/** A record's line from a row of INSIGHTS_QUERY or INSIGHTS_QUERY_UNMASKED. */
function rowLine(row: readonly { field?: string; value?: string }[], format: LogFormat): string {
  const unmasked = row.find((c) => c.field === UNMASKED_FIELD);
  return unmasked ? (unmasked.value ?? "") : insightsRowToLine(row, format);
}

async function runQuery(deps: DetectorDeps, start: number, end: number): Promise<GetQueryResultsCommandOutput["results"]> {
  const { logs } = deps.clients;
  const { logGroupName, queryTimeoutMs = 60_000, pollMs = 1000 } = deps.settings;
  const started = await withRetry(deps, "Logs Insights StartQuery", () => logs.send(new StartQueryCommand({ logGroupName, startTime: start, endTime: end, queryString: deps.settings.unmask ? INSIGHTS_QUERY_UNMASKED : INSIGHTS_QUERY, limit: INSIGHTS_ROW_LIMIT })), deps.settings.retry);
  const queryId = started.queryId;
  if (!queryId) throw new DetectorError(`Logs Insights returned no query id for the records of ${logGroupName} (got ${JSON.stringify(started.queryId ?? null)}). Run again; if it persists, check the log group in the Logs Insights console.`);
  const deadline = deps.now().getTime() + queryTimeoutMs;
  for (;;) {
    const r = await withRetry(deps, `Logs Insights GetQueryResults ${queryId}`, () => logs.send(new GetQueryResultsCommand({ queryId })), deps.settings.retry);
    if (r.status === "Complete") return r.results ?? [];
    if (r.status === "Failed" || r.status === "Cancelled" || r.status === "Timeout" || r.status === "Unknown") {
      throw new DetectorError(`Logs Insights query ${queryId} on ${logGroupName} ended ${r.status} (got records ${start} to ${end}). Check the query in the Logs Insights history; a Timeout means the range holds more than one query scans in 60 minutes: read a shorter range.`);
    }
    if (deps.now().getTime() >= deadline) {
      await logs.send(new StopQueryCommand({ queryId })).catch(() => undefined);
      throw new DetectorError(`Logs Insights query ${queryId} on ${logGroupName} did not finish within ${queryTimeoutMs} ms; it was stopped (got records ${start} to ${end}). Raise the detector's query timeout or read a shorter range.`);
    }
    await deps.sleep(pollMs);
  }
}

/**
 * Reads [start, end) from the log group. A result at the 10,000-row cap is split in halves and
 * queried again, down to one-minute ranges; a one-minute range still at the cap is reported in
 * `truncated` rather than silently cut.
 */
export async function queryLines(
  deps: DetectorDeps,
  start: number,
  end: number,
  onLine: (line: string) => void,
  truncated: { start: number; end: number }[],
): Promise<void> {
  const rows = (await runQuery(deps, start, end)) ?? [];
  if (rows.length >= INSIGHTS_ROW_LIMIT) {
    if (end - start > 60) {
      const mid = start + Math.floor((end - start) / 2);
      await queryLines(deps, start, mid, onLine, truncated);
      await queryLines(deps, mid, end, onLine, truncated);
      return;
    }
    truncated.push({ start, end });
    deps.log("Logs Insights result hit the row cap; records in this range were left out", { start, end, rows: rows.length });
  }
  for (const row of rows) onLine(rowLine(row, deps.settings.format));
}

/** The S3 objects of an S3 event notification (keys are URL-encoded with + for spaces). */
export function s3Objects(event: { Records?: { s3?: { bucket?: { name?: string }; object?: { key?: string } } }[] }): { bucket: string; key: string }[] {
  return (event.Records ?? []).flatMap((r) => {
    const bucket = r.s3?.bucket?.name;
    const key = r.s3?.object?.key;
    return bucket && key ? [{ bucket, key: decodeURIComponent(key.replace(/\+/g, " ")) }] : [];
  });
}

/**
 * Whether an import failed because Security Hub is off in the account and region. Security Hub is
 * enabled per account and region by the account's owners (often an organization's delegated
 * administrator), not by this stack: creating it here would fail where it is already enabled
 * and disable it account-wide when the stack is destroyed. Its absence shows up as
 * InvalidAccessException ("... is not subscribed to AWS Security Hub").
 * @see https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-settingup.html
 */
export function securityHubDisabled(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | undefined;
  return e?.name === "InvalidAccessException" || /not subscribed to (AWS )?Security Hub/i.test(e?.message ?? "");
}

/** The failure message for one Security Hub import, actionable when Security Hub is off. */
export function securityHubFailure(err: unknown, account: string, region: string): string {
  const e = err as { name?: string; message?: string } | undefined;
  if (securityHubDisabled(err)) {
    return (
      `Security Hub is not enabled in account ${account}, region ${region} (got ${e?.name ?? "an error"}: ${e?.message ?? ""}). ` +
      `Enable it there (Security Hub console, "aws securityhub enable-security-hub --region ${region}", or your organization's Security Hub administrator); SNS delivery is attempted regardless`
    );
  }
  return `Security Hub import failed: ${e?.message ?? String(err)}`;
}

/**
 * Delivers findings: Security Hub in batches of 100, one SNS message, then (findingsStore set)
 * one S3 object for Athena named after `run`. Each is attempted even when another fails; any
 * failure is thrown afterwards so it reaches the function's Errors metric (and the DLQ for
 * asynchronous invocations).
 */
export async function deliver(deps: DetectorDeps, findings: readonly Finding[], stats: ParseStats, run: FindingsRun, summary?: string): Promise<Delivered> {
  if (findings.length === 0) return { securityHub: 0, sns: false };
  const { settings, clients } = deps;
  const failures: string[] = [];
  let imported = 0;
  const now = deps.now();
  const asff = findings.map((f) => toAsff(f, { account: settings.account, region: settings.region, environment: settings.environment }, now));
  for (const batch of batches(asff)) {
    try {
      const r = await withRetry(deps, "Security Hub BatchImportFindings", () => clients.securityHub.send(new BatchImportFindingsCommand({ Findings: batch as never })), settings.retry);
      imported += r.SuccessCount ?? 0;
      if ((r.FailedCount ?? 0) > 0) {
        const first = r.FailedFindings?.[0];
        failures.push(`Security Hub rejected ${r.FailedCount} of ${batch.length} findings (first: ${first?.ErrorCode ?? "?"} ${first?.ErrorMessage ?? ""})`.trim());
      }
    } catch (err) {
      failures.push(securityHubFailure(err, settings.account, settings.region));
      // Security Hub answers every batch the same way when it is off: one message is enough.
      if (securityHubDisabled(err)) break;
    }
  }
  // A person who asked (on-demand) gets every finding; the automatic runs alert each finding once.
  const ledger = run.mode === "on-demand" ? undefined : settings.publishLedger;
  let decisions: Decision[] | undefined;
  let alert: readonly Finding[] = findings;
  if (ledger) {
    decisions = await claimFindings(deps, ledger, findings, settings.retry);
    const unchecked = decisions.flatMap((d) => (d.kind === "unchecked" ? [`${d.finding.id}: ${d.reason}`] : []));
    if (unchecked.length) deps.log("the publish ledger could not be used for some findings: they are published to SNS regardless", { findings: unchecked.length, reasons: unchecked.slice(0, 10) });
    alert = decisions.filter((d) => d.kind !== "skip").map((d) => d.finding);
  }
  const already = findings.length - alert.length;
  let published = false;
  if (alert.length === 0) {
    deps.log("every finding was published to SNS by an earlier run at the same or a higher severity: no SNS message; Security Hub has them updated", { findings: findings.length });
  } else {
    try {
      const { subject, message } = snsMessage(settings.environment, alert, stats);
      // A query run reads no records itself: its line says what the queries did instead.
      let body = summary === undefined ? message : message.replace(/^Records read .*$/m, summary);
      if (already) body = body.replace("\n\n", `\n${already} more finding${already === 1 ? " of this run was" : "s of this run were"} alerted by an earlier run at the same or a higher severity; Security Hub has ${already === 1 ? "it" : "them"}, updated.\n\n`);
      await withRetry(deps, "SNS Publish", () => clients.sns.send(new PublishCommand({ TopicArn: settings.topicArn, Subject: subject, Message: body })), settings.retry);
      published = true;
    } catch (err) {
      failures.push(`SNS publish failed: ${(err as Error).message}`);
    }
  }
  if (ledger && decisions) {
    const problems = await settleClaims(deps, ledger, decisions, published, settings.retry);
    if (problems.length) {
      deps.log(published ? "published, but the ledger did not record it: these findings are published once more by a run after the claim's lease" : "the SNS publish failed and the ledger's claims could not be released: a run after the claim's lease publishes them", { markers: problems.length, problems: problems.slice(0, 10) });
    }
  }
  let stored: string | undefined;
  if (settings.findingsStore) {
    try {
      stored = await storeFindings(deps, settings.findingsStore, findings, run, settings.retry);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  if (failures.length) {
    deps.log("delivery failed", { failures, imported, published, stored });
    throw new DetectorError(`Delivery of ${findings.length} findings failed: ${failures.join("; ")}`);
  }
  return { securityHub: imported, sns: published, ...(stored ? { stored } : {}), ...(ledger ? { alerted: alert.length, alreadyAlerted: already } : {}) };
}

/**
 * On-demand mode (`flowlog-kit detect --env`): the records of the last `sinceSeconds` of the log
 * group, read whole through Logs Insights and analysed here, as evidence a person asked for. The
 * scheduled run runs the rules as queries (scheduled.ts), and reads records only in a
 * CloudWatch-only environment, for the rules Logs Insights cannot express.
 */
export async function detectRecent(deps: DetectorDeps, sinceSeconds: number): Promise<DetectorResult> {
  const engine = new DetectionEngine(await loadThreatLists(deps, deps.settings.thresholds), deps.settings.format, deps.settings.engine);
  const end = seconds(deps.now());
  const truncated: { start: number; end: number }[] = [];
  await queryLines(deps, end - sinceSeconds, end, (l) => engine.addLine(l), truncated);
  const { stats, findings } = engine.finish();
  const delivered = await deliver(deps, findings, stats, { end, hop: 0, mode: "on-demand" });
  deps.log("detection finished", { mode: "logs-insights", sinceSeconds, stats, findings: findings.length, truncated: truncated.length });
  return { stats, findings, truncated, delivered };
}

/**
 * A Parquet archive object read by ranged GETs: the footer, then one row group's column chunks
 * at a time, so the function's memory follows a row group, not the object.
 */
export async function s3ParquetSource(s3: S3Client, bucket: string, key: string): Promise<ParquetSource> {
  const name = `s3://${bucket}/${key}`;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return {
    name,
    byteLength: head.ContentLength ?? 0,
    read: async (start, end) => {
      if (end <= start) return new Uint8Array();
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
      if (!r.Body) throw new DetectorError(`${name}: ranged read returned no body (got bytes ${start}-${end - 1}). Check that the object was not replaced while it was read, then invoke again.`);
      return r.Body.transformToByteArray();
    },
  };
}

/**
 * The mode part of an archive run's findings key: the objects it read, hashed, so two runs on
 * different objects in the same second never overwrite each other's findings.
 */
export function archiveMode(objects: readonly { bucket: string; key: string }[]): string {
  return `archive-${createHash("sha256").update(objects.map((o) => `s3://${o.bucket}/${o.key}`).join("\n")).digest("hex").slice(0, 12)}`;
}

/** Archive mode: new flow-log objects in S3, streamed (gzip or plain) or read a row group at a time (Parquet) through the engine. */
export async function detectObjects(deps: DetectorDeps, objects: readonly { bucket: string; key: string }[]): Promise<DetectorResult> {
  const engine = new DetectionEngine(await loadThreatLists(deps, deps.settings.thresholds), deps.settings.format, deps.settings.engine);
  for (const o of objects) {
    if (isParquetName(o.key)) {
      await feedParquet(engine, await s3ParquetSource(deps.clients.s3, o.bucket, o.key));
      continue;
    }
    const r = await deps.clients.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key }));
    if (!r.Body) throw new DetectorError(`s3://${o.bucket}/${o.key} has no body`);
    await feedStream(engine, r.Body as Readable);
  }
  const { stats, findings: all } = engine.finish();
  // The scheduled run reports the run-wide rules over each hour, on every path (Athena, Logs
  // Insights SQL, the engine over records): the same hosts and SKIPDATA records judged here over
  // one object would be second findings under other ids (their windows differ), alerted twice.
  const hourly = new Set<string>([ANOMALY_RULE, SKIPPED_RULE]);
  const findings = all.filter((f) => !hourly.has(f.rule));
  if (findings.length < all.length) deps.log("run-wide findings left to the scheduled run, which judges them over the hour", { rules: [...hourly], left: all.length - findings.length });
  const delivered = await deliver(deps, findings, stats, { end: seconds(deps.now()), hop: 0, mode: archiveMode(objects) });
  deps.log("detection finished", { mode: "s3", objects: objects.length, stats, findings: findings.length });
  return { stats, findings, truncated: [], delivered };
}
