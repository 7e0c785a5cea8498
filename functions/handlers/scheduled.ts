/**
 * The scheduled run at scale: the rules' aggregations run where the data lives — Athena over the
 * S3 archive, or Logs Insights (OpenSearch SQL, functions/detect/sql.ts cloudwatchRuleQueries)
 * over the log group — and the function reads only the rows past thresholds (Athena's result
 * file, Logs Insights' result rows). No routine run reads raw records, with one exception the
 * environment opts into (detectors.readRecords, refused otherwise at synth): a log group that
 * masks IP addresses or is in the Infrequent Access class, where every rule runs on the engine
 * over records read with unmask(@message) or @message (see planJobs). c2-beaconing runs as a
 * query too, over the long horizon's range (sql.ts beaconQuery: the series' points within that
 * range, not the engine's idle-series judgement), and so do the run-wide rules (sql.ts
 * anomalyQuery: a row per internal host, which the Lambda scores with the engine's forest;
 * skippedQuery: the SKIPDATA count per interface). Only detector-saturated, the engine's own row budget, has no query.
 *
 * A run plans one query per rule and horizon (and per Athena table), each over its own range:
 * the look-back (on Athena 10 minutes longer: the archive lags CloudWatch), or for a longer
 * horizon (1 hour) that horizon, starting on a horizon boundary so
 * a slow scan or a beacon is judged over whole windows across runs. Every Athena query carries
 * the partition filter of its range and a time filter on `start`. Queries run a few at a time
 * (QUERY_CONCURRENCY); a run that would outlive the function's timeout stops starting queries,
 * delivers what it has, and continues in a new invocation of itself with a cursor of the queries
 * not yet run, and says so in its log.
 */
import { createHash } from "crypto";
import { GetQueryExecutionCommand, QueryExecution, StartQueryExecutionCommand, StopQueryExecutionCommand } from "@aws-sdk/client-athena";
import { GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { partitionFilter, partitionsOf, REGION_PARTITION } from "../flowlog/athena";
import type { LogFormat } from "../flowlog/format";
import { newStats } from "../flowlog/stats";
import type { ParseStats } from "../flowlog/parser";
import { DetectionEngine } from "../detect/engine";
import { DetectorError } from "../detect/errors";
import { Finding, sortFindings } from "../detect/findings";
// The same finding from two queries (two tables) once, and a slow finding a short window of the run already made dropped, as the engine does.
import { mergeHorizons, statementsOf } from "../detect/sql";
import { skippedSummary } from "../detect/report";
import { DetectorThresholds, longHorizon } from "../detect/thresholds";
import { parseCsv } from "./csv";
import type { DetectorDeps, DetectorResult } from "./detect";
import { deliver, INSIGHTS_QUERY, INSIGHTS_QUERY_UNMASKED, queryLines } from "./detect";
import { RetryPolicy, withRetry } from "./retry";
import { loadThreatLists } from "./threat-lists";

/** One rendered rule query (functions/detect/sql.ts RuleQuery). */
export interface RuleQuery {
  readonly rule: string;
  /** The rule's horizon: its windows are this long, and its query covers at least this much. */
  readonly horizonSeconds: number;
  /** Athena SQL, or a Logs Insights query string. */
  readonly sql: string;
  /** Queries run together, their rows read as one (sql.ts RuleQuery.parts); `sql` is the first. @default - `sql` alone */
  readonly parts?: readonly string[];
}

/** What renders the rules as queries and reads their rows back (functions/detect/sql.ts). */
export interface QueryRenderer {
  /** The rules as Athena SQL over `table`, restricted by `where` (partitions and time). */
  athena(o: { readonly table: string; readonly where: string; readonly thresholds: DetectorThresholds; readonly fields: readonly string[] }): RuleQuery[];
  /**
   * Every windowed rule as an OpenSearch SQL query (StartQuery queryLanguage "SQL") over the log
   * group `logGroupName` of `format`, for records whose `start` is in [start, end).
   */
  insights(o: { readonly logGroupName: string; readonly format: LogFormat; readonly thresholds: DetectorThresholds; readonly start: number; readonly end: number }): RuleQuery[];
  /** Why `insights` left queries out (too long for StartQuery), one message each: the run fails after delivering the others. @default - none */
  insightsLeftOut?(o: { readonly logGroupName: string; readonly format: LogFormat; readonly thresholds: DetectorThresholds; readonly start: number; readonly end: number }): readonly string[];
  /** Every windowed rule's id: those without a Logs Insights form run on the engine path, and are named in the run's log. @default [] */
  readonly rules?: readonly string[];
  /**
   * The finding rules (RuleId) a rule's findings carry, when not its own id (brute-force reports
   * ssh-brute-force, rdp-brute-force or brute-force): the engine's findings of these are dropped
   * when the rule ran as a query. @default - the rule's id
   */
  reports?(rule: string): readonly string[];
  /** Rules only the engine has (detector-saturated: its row budget), named in the run's log. @default [] */
  readonly engineOnly?: readonly string[];
  /** Findings from a query's rows (every value a string, as both engines return them). */
  findings(q: RuleQuery, rows: readonly Readonly<Record<string, string>>[]): Finding[];
}

/** An Athena table the detector queries: its name and partitioning (functions/flowlog/athena.ts archiveLayout). */
export interface AthenaTableTarget {
  readonly name: string;
  readonly partitionKeys: readonly string[];
  /** The Regions the table reads (REGION_PARTITION values when that is a key). */
  readonly regions: readonly string[];
  readonly fileFormat: "plain-text" | "parquet";
  /** The catalog names of the fields the table's log format has. */
  readonly fields: readonly string[];
}

/** Where the scheduled run's Athena queries run. */
export interface AthenaSettings {
  readonly workgroup: string;
  readonly database: string;
  readonly tables: readonly AthenaTableTarget[];
}

/**
 * Queries in flight at once. Athena's active-DML-query quota (running and queued together, 20 to
 * 150 by Region, shared by every workgroup of the account) and Logs Insights' 100 concurrent
 * queries per account are shared with analysts and dashboards: the detector takes a small share,
 * and a quota error is retried with backoff (retry.ts).
 * @see https://docs.aws.amazon.com/athena/latest/ug/service-limits.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
 */
export const QUERY_CONCURRENCY = 5;

/**
 * How late a record may reach its S3 partition after its `start`: AWS publishes files every 5
 * minutes with records of up to the 10-minute aggregation interval before, and names the folder
 * by the file's time, never earlier than its records. A range's partitions run to its end plus this.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 */
export const PARTITION_LATENESS_SECONDS = 900;

/** Logs Insights returns at most this many rows of a query. */
const INSIGHTS_MAX_ROWS = 10_000;

/**
 * How much later than CloudWatch Logs a record reaches the archive: the scheduled look-back
 * allows 5 minutes for CloudWatch, and S3 files come every 5 minutes with records of up to the
 * 10-minute aggregation interval, so an Athena run looks back this much further and overlapping
 * runs see every record at least once (finding ids are deterministic, so overlaps update).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 */
export const ARCHIVE_EXTRA_LATENESS_SECONDS = 600;

/** The most times a run hands itself over before it is refused as a loop. */
export const MAX_CONTINUATIONS = 8;

/** A continued run: the end its queries share, and the keys of the queries not yet run. */
export interface ContinueEvent {
  readonly mode: "continue";
  /** Unix seconds: every query of the run ends here. */
  readonly end: number;
  readonly pending: readonly string[];
  /** How many times the run has continued, this one included. */
  readonly hop: number;
}

/** The `rule` of the engine path's job: its query reads records, and the engine runs the rules on them. */
export const ENGINE_JOB_RULE = "engine";

/** One query of a run. */
export interface QueryJob {
  /** Stable for the same configuration and end: the continuation's cursor names jobs by it. */
  readonly key: string;
  /**
   * athena and insights: a rule's aggregation; records: the look-back's records read from the
   * log group (split at the row cap) and run through the engine (its `query.rule` is ENGINE_JOB_RULE).
   */
  readonly engine: "athena" | "insights" | "records";
  readonly query: RuleQuery;
  /** Unix seconds, [start, end). */
  readonly start: number;
  readonly end: number;
  readonly table?: AthenaTableTarget;
  /** The partitions an Athena query reads, for the log line when they hold no data yet. */
  readonly partitions?: string;
}

/** A range that covers the look-back, or the horizon when longer, starting on a horizon boundary. */
export function rangeFor(end: number, lookbackSeconds: number, horizonSeconds: number): { start: number; end: number } {
  const span = Math.max(lookbackSeconds, horizonSeconds);
  return { start: Math.floor((end - span) / horizonSeconds) * horizonSeconds, end };
}

/** The time filter on `start` (quoted: several flow-log names are reserved words in SQL). */
export const timeFilter = (start: number, end: number) => `"start" >= ${start} AND "start" < ${end}`;

/** The partitions of a range, named for a log line: 2026-11-01T00 .. 2026-11-01T01 (eu-west-1). */
function partitionsLabel(t: AthenaTableTarget, start: number, end: number): string {
  const parts = partitionsOf(t.partitionKeys.filter((k) => k !== REGION_PARTITION), start, end + PARTITION_LATENESS_SECONDS);
  const name = (p: Record<string, number>) => `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}${p.hour === undefined ? "" : `T${String(p.hour).padStart(2, "0")}`}`;
  return `${t.name} ${name(parts[0]!)}${parts.length > 1 ? ` .. ${name(parts[parts.length - 1]!)}` : ""} (${t.regions.join(", ")})`;
}

/**
 * Every query of a run ending at `end`: per Athena table (or for the log group), the rules at
 * each horizon over that horizon's range.
 *
 * On a log group that masks IP addresses (`unmask`) it plans the records query alone, and the
 * engine runs every rule: AWS documents unmask() as a Logs Insights QL command on @message ("the
 * content of a log event"), and nothing for OpenSearch SQL, whose fields keep their masked values,
 * so a SQL query's findings would name masked addresses and its CIDR and threat-list tests would
 * never match. The records query reads unmask(@message) from the long horizon's boundary on.
 * Synth deploys such a detector only with detectors.readRecords (stacks/environment-stack.ts
 * detectorPathProblems says why no query language can aggregate those groups).
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Unmask.html
 */
export function planJobs(
  renderer: QueryRenderer,
  o: { readonly end: number; readonly lookbackSeconds: number; readonly thresholds: DetectorThresholds; readonly athena?: AthenaSettings; readonly format: LogFormat; readonly unmask: boolean; readonly infrequentAccess?: boolean; readonly logGroupName?: string; readonly start?: number },
): QueryJob[] {
  const jobs: QueryJob[] = [];
  // An on-demand range (`start` given) is queried as asked, each horizon from its boundary at or
  // before `start`, so its first windows are whole; the archive's lateness is the asker's to allow.
  const range = (lookbackSeconds: number, h: number) => (o.start !== undefined ? { start: Math.floor(o.start / h) * h, end: o.end } : rangeFor(o.end, lookbackSeconds, h));
  const byHorizon = (lookbackSeconds: number, render: (start: number, end: number) => RuleQuery[], add: (q: RuleQuery, start: number, end: number, i: number) => void) => {
    const first = range(lookbackSeconds, 1);
    const horizons = [...new Set(render(first.start, first.end).map((q) => q.horizonSeconds))].sort((a, b) => a - b);
    for (const h of horizons) {
      const r = range(lookbackSeconds, h);
      render(r.start, r.end)
        .filter((q) => q.horizonSeconds === h)
        .forEach((q, i) => add(q, r.start, r.end, i));
    }
  };
  if (o.athena) {
    const lookbackSeconds = o.lookbackSeconds + ARCHIVE_EXTRA_LATENESS_SECONDS;
    for (const t of o.athena.tables) {
      const scheme = { partitionKeys: t.partitionKeys, regions: t.regions };
      const render = (start: number, end: number) =>
        renderer.athena({ table: `"${o.athena!.database}"."${t.name}"`, where: `${partitionFilter(scheme, start, end + PARTITION_LATENESS_SECONDS)} AND ${timeFilter(start, end)}`, thresholds: o.thresholds, fields: t.fields });
      // sql.ts refuses a query longer than Athena accepts (a long threat list is the usual cause).
      byHorizon(lookbackSeconds, render, (query, start, end, i) => {
        jobs.push({ key: `athena/${t.name}/${query.horizonSeconds}/${i}/${query.rule}`, engine: "athena", query, start, end, table: t, partitions: partitionsLabel(t, start, end) });
      });
    }
    return jobs;
  }
  if (o.unmask || o.infrequentAccess) {
    // The cases that still read records: see above, and an Infrequent Access log group, which
    // OpenSearch SQL cannot query ("only for queries of log groups in the Standard Log Class").
    jobs.push({
      key: "records/engine",
      engine: "records",
      query: { rule: ENGINE_JOB_RULE, horizonSeconds: o.lookbackSeconds, sql: o.unmask ? INSIGHTS_QUERY_UNMASKED : INSIGHTS_QUERY },
      // The engine's hour-long rules (slow scans, sweeps, brute force) need their whole window, as
      // an hour-long query reads it: the records from the long horizon's boundary on.
      start: range(o.lookbackSeconds, longHorizon(o.thresholds).windowSeconds).start,
      end: o.end,
    });
    return jobs;
  }
  // sql.ts refuses a query longer than StartQuery accepts (a long threat list is the usual cause).
  const logGroupName = o.logGroupName;
  if (logGroupName === undefined) throw new DetectorError("the detector has no log group to query (got none). Redeploy the environment's stack.");
  const render = (start: number, end: number) => renderer.insights({ logGroupName, format: o.format, thresholds: o.thresholds, start, end });
  byHorizon(o.lookbackSeconds, render, (query, start, end, i) => jobs.push({ key: `insights/${query.horizonSeconds}/${i}/${query.rule}`, engine: "insights", query, start, end }));
  return jobs;
}

/**
 * Retries of StartQueryExecution: 8 attempts from 1 s, up to 20 s apart (about a minute and a
 * half in all), for the account's active-query quota, which other queries' ends free up.
 * @see https://docs.aws.amazon.com/athena/latest/ug/service-limits.html
 */
export const ATHENA_START_RETRY: RetryPolicy = Object.freeze({ attempts: 8, baseMs: 1000, maxMs: 20_000 });

/** What one finished query gave. */
interface JobOutcome {
  readonly findings: Finding[];
  readonly bytesScanned: number;
  readonly recordsScanned: number;
  /** The engine path's record counts. */
  readonly stats?: ParseStats;
  /** The engine path's ranges still at the row cap after splitting: records were left out. */
  readonly truncated?: readonly { readonly start: number; readonly end: number }[];
  /** What went wrong in a query that still gave findings (they are delivered, then the run fails with this). */
  readonly problem?: string;
  /**
   * An Athena query that scanned 0 bytes: its partitions hold no objects, either not yet (the
   * range is younger than AWS's delivery time) or missing (it is older). A query that scanned
   * data and returned no rows has none: nothing passed the thresholds.
   */
  readonly noData?: "not-yet" | "missing";
}

const sent = <T>(deps: DetectorDeps, label: string, call: () => Promise<T>) => withRetry(deps, label, call, deps.settings.retry);

/** The `s3://bucket/key` of a result file as bucket and key. */
function s3Location(uri: string, queryId: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new DetectorError(`Athena query ${queryId}: its result location is not an S3 object (got ${JSON.stringify(uri)}). The workgroup's result configuration must name an S3 location.`);
  return { bucket: m[1]!, key: m[2]! };
}

/** Runs one Athena query to its end and reads its result file. */
async function runAthena(deps: DetectorDeps, job: QueryJob): Promise<JobOutcome> {
  const athena = deps.clients.athena;
  const a = deps.settings.athena!;
  if (!athena) throw new DetectorError("Athena client missing: the detector was built without one. Redeploy the environment's stack.");
  const timeoutMs = deps.settings.athenaQueryTimeoutMs ?? 120_000;
  const pollMs = deps.settings.pollMs ?? 1000;
  const label = `${job.query.rule} on ${job.table!.name}`;
  // The same token on every attempt: a start that reached Athena before a network error or a 5xx
  // is not started (and billed) twice. Athena's quota of active queries frees up as other
  // queries end, in seconds to minutes, so starts wait longer between attempts than other calls.
  const token = createHash("sha256").update(`${job.key}|${job.start}|${job.end}`).digest("hex");
  const started = await withRetry(
    deps,
    `Athena StartQueryExecution (${label})`,
    () => athena.send(new StartQueryExecutionCommand({ QueryString: job.query.sql, WorkGroup: a.workgroup, QueryExecutionContext: { Database: a.database }, ClientRequestToken: token })),
    { ...ATHENA_START_RETRY, ...deps.settings.retry },
  );
  const id = started.QueryExecutionId;
  if (!id) throw new DetectorError(`Athena returned no query id for ${label} in workgroup ${a.workgroup}. Run again; if it persists, check the workgroup in the Athena console.`);
  const deadline = deps.now().getTime() + timeoutMs;
  let execution: QueryExecution | undefined;
  for (;;) {
    execution = (await sent(deps, `Athena GetQueryExecution ${id}`, () => athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id })))).QueryExecution;
    const state = execution?.Status?.State;
    if (state === "SUCCEEDED") break;
    if (state === "FAILED" || state === "CANCELLED") {
      const reason = execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? "no reason given";
      deps.log("Athena query did not succeed", { queryId: id, rule: job.query.rule, table: job.table!.name, state, reason });
      throw new DetectorError(`Athena query ${id} (${label}) ended ${state} (got ${reason}). ${state === "CANCELLED" ? "Someone or the workgroup's scan cutoff cancelled it: check bytesScannedCutoffGb and the query history." : "Check the query in the workgroup's history; the table's partitions and columns must match the archive."}`);
    }
    if (deps.now().getTime() >= deadline) {
      await sent(deps, `Athena StopQueryExecution ${id}`, () => athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))).catch(() => undefined);
      deps.log("Athena query timed out", { queryId: id, rule: job.query.rule, table: job.table!.name, timeoutMs });
      throw new DetectorError(`Athena query ${id} (${label}) did not finish within ${timeoutMs} ms (got state ${state ?? "unknown"}); it was stopped. A longer look-back or a busier archive scans more: raise the detector's timeout or shorten its schedule.`);
    }
    await deps.sleep(pollMs);
  }
  const bytesScanned = execution?.Statistics?.DataScannedInBytes ?? 0;
  const uri = execution?.ResultConfiguration?.OutputLocation;
  if (!uri) throw new DetectorError(`Athena query ${id} (${label}) succeeded without a result location (got none). The workgroup must write results to S3.`);
  const { bucket, key } = s3Location(uri, id);
  let text: string;
  try {
    const object = await sent(deps, `S3 GetObject ${uri}`, () => deps.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    if (!object.Body) throw new Error("the object has no body");
    text = await object.Body.transformToString("utf-8");
  } catch (err) {
    if (err instanceof DetectorError) throw err;
    const e = err as { name?: string; message?: string };
    deps.log("Athena result file cannot be read", { queryId: id, location: uri, error: e.name, message: e.message });
    throw new DetectorError(`${uri}: the result file of Athena query ${id} (${label}) cannot be read (got ${e.name ?? "Error"}: ${e.message ?? String(err)}). The detector's role needs s3:GetObject on the workgroup's output location and kms:Decrypt on its key.`, { cause: err });
  }
  const rows = parseCsv(text, uri);
  let noData: JobOutcome["noData"];
  if (bytesScanned === 0) {
    // Projection lists partitions whether or not AWS has written them: nothing scanned means no
    // objects there (a query over objects reads at least their headers or footers). Whether that
    // is "not yet" depends on the range: AWS delivers a record within PARTITION_LATENESS_SECONDS
    // of its start, so once the range's oldest records are that old, their files are missing.
    const now = Math.floor(deps.now().getTime() / 1000);
    noData = now - job.start >= PARTITION_LATENESS_SECONDS ? "missing" : "not-yet";
    const fields = { queryId: id, rule: job.query.rule, partitions: job.partitions, start: job.start, end: job.end, dueBy: job.start + PARTITION_LATENESS_SECONDS };
    if (noData === "not-yet") deps.log("no flow-log data in the queried partitions yet: AWS has not had time to deliver the range's records", fields);
    else deps.log("no flow-log files in the queried partitions, though AWS delivers a record within 15 minutes of its start: no traffic was logged, the flow log stopped delivering to the archive, or the table's location does not match it", { level: "WARN", ...fields });
  }
  return { findings: deps.settings.renderer!.findings(job.query, rows), bytesScanned, recordsScanned: 0, ...(noData ? { noData } : {}) };
}

/**
 * Runs one Logs Insights job to its end and reads its (aggregated) rows: its query, or its parts
 * together (each its own StartQuery), their rows read as one; any part failing fails the job.
 */
async function runInsights(deps: DetectorDeps, job: QueryJob): Promise<JobOutcome> {
  const statements = statementsOf(job.query);
  // A part that fails stops the others (no part left polling, and billing, for a job that failed).
  const stop = { reason: undefined as string | undefined };
  const settled = await Promise.allSettled(statements.map((sql, i) =>
    runInsightsQuery(deps, job, sql, statements.length > 1 ? ` part ${i + 1} of ${statements.length}` : "", stop).catch((err: unknown) => {
      stop.reason ??= `part ${i + 1} of ${statements.length} failed`;
      throw err;
    })));
  const failed = settled.filter((p): p is PromiseRejectedResult => p.status === "rejected" && !(p.reason instanceof StoppedBySibling));
  if (failed.length) throw failed.length === 1 ? failed[0]!.reason : new DetectorError(failed.map((p) => (p.reason as Error).message).join("; "));
  const parts = settled.map((p) => (p as PromiseFulfilledResult<Awaited<ReturnType<typeof runInsightsQuery>>>).value);
  const problems = parts.flatMap((p) => (p.problem ? [p.problem] : []));
  // Parts capped at the row limit hold different subsets of the groups: their rows together would
  // be wrong (a host's counts of one side only), so such a job raises nothing and fails the run.
  const usable = statements.length === 1 || problems.length === 0;
  return {
    findings: usable ? deps.settings.renderer!.findings(job.query, parts.flatMap((p) => p.rows)) : [],
    bytesScanned: parts.reduce((n, p) => n + p.bytesScanned, 0),
    recordsScanned: parts.reduce((n, p) => n + p.recordsScanned, 0),
    ...(problems.length ? { problem: problems.join("; ") } : {}),
  };
}

/** A part stopped because another part of its job failed: that failure is the job's. */
class StoppedBySibling extends Error {}

/** Runs one Logs Insights SQL query to its end and reads its rows. */
async function runInsightsQuery(deps: DetectorDeps, job: QueryJob, sql: string, part: string, stop: { readonly reason?: string } = {}): Promise<{ rows: Record<string, string>[]; bytesScanned: number; recordsScanned: number; problem?: string }> {
  const { logs } = deps.clients;
  const { logGroupName } = deps.settings;
  const timeoutMs = deps.settings.queryTimeoutMs ?? 120_000;
  const pollMs = deps.settings.pollMs ?? 1000;
  const label = `${job.query.rule}${part}`;
  if (stop.reason !== undefined) throw new StoppedBySibling(stop.reason);
  const started = await sent(deps, `Logs Insights StartQuery (${label})`, () =>
    // OpenSearch SQL names the log group in its FROM, never in logGroupName; startTime/endTime still
    // bound the records read. The row cap is the query's own LIMIT (sql.ts): StartQuery's `limit`
    // is documented for the Logs Insights query language only.
    logs.send(new StartQueryCommand({ queryLanguage: "SQL", startTime: job.start, endTime: job.end, queryString: sql })),
  ).catch((err: unknown) => {
    // A refusal names the query it refused (the rule, and the part), not only the service's words.
    if (err instanceof DetectorError) throw err;
    const e = err as { name?: string; message?: string };
    deps.log("Logs Insights refused a query", { rule: label, error: e.name, message: e.message, chars: sql.length });
    throw new DetectorError(`Logs Insights StartQuery (${label}) on ${logGroupName} was refused (got ${e.name ?? "Error"}: ${e.message ?? String(err)}). Check the detector role's logs:StartQuery permission; a MalformedQueryException is the kit's to fix: report it with this message.`, { cause: err });
  });
  const queryId = started.queryId;
  if (!queryId) throw new DetectorError(`Logs Insights returned no query id for ${label} on ${logGroupName}. Run again.`);
  const deadline = deps.now().getTime() + timeoutMs;
  for (;;) {
    const r = await sent(deps, `Logs Insights GetQueryResults ${queryId}`, () => logs.send(new GetQueryResultsCommand({ queryId })));
    if (r.status === "Complete") {
      const rows = (r.results ?? []).map((fields) => Object.fromEntries(fields.filter((f) => f.field !== undefined && !f.field.startsWith("@ptr")).map((f) => [f.field!, f.value ?? ""])));
      // Rows past thresholds beyond the cap are lost: the run delivers the rows it has and then fails, never only logs it.
      let problem: string | undefined;
      if (rows.length >= INSIGHTS_MAX_ROWS) {
        deps.log("Logs Insights result hit its row cap: more rows past thresholds than one query returns", { queryId, rule: label, rows: rows.length });
        problem = job.query.rule === "anomaly"
          ? `Logs Insights query ${queryId} (${label}) on ${logGroupName} returned ${rows.length} rows, its cap: more internal hosts than one query returns, so the anomaly rule scored only some of them. Archive the flow logs to S3 with Athena (analytics.athena), whose results have no such cap.`
          : `Logs Insights query ${queryId} (${label}) on ${logGroupName} returned ${rows.length} rows, its cap: groups past thresholds beyond them were left out. Raise the rule's thresholds in detectors.thresholds, or shorten the schedule.`;
      }
      const recordsScanned = r.statistics?.recordsScanned ?? 0;
      if (recordsScanned === 0) deps.log("no flow-log records in the queried range", { queryId, rule: label, logGroupName, start: job.start, end: job.end });
      return { rows, bytesScanned: r.statistics?.bytesScanned ?? 0, recordsScanned, ...(problem ? { problem } : {}) };
    }
    if (r.status === "Failed" || r.status === "Cancelled" || r.status === "Timeout" || r.status === "Unknown") {
      deps.log("Logs Insights query did not complete", { queryId, rule: label, status: r.status });
      throw new DetectorError(`Logs Insights query ${queryId} (${label}) on ${logGroupName} ended ${r.status}. Check the query in the Logs Insights history; a Timeout means the range holds more than one query scans in 60 minutes.`);
    }
    if (stop.reason !== undefined) {
      await sent(deps, `Logs Insights StopQuery ${queryId}`, () => logs.send(new StopQueryCommand({ queryId }))).catch(() => undefined);
      deps.log("Logs Insights query stopped: another part of its job failed", { queryId, rule: label, why: stop.reason });
      throw new StoppedBySibling(stop.reason);
    }
    if (deps.now().getTime() >= deadline) {
      await sent(deps, `Logs Insights StopQuery ${queryId}`, () => logs.send(new StopQueryCommand({ queryId }))).catch(() => undefined);
      deps.log("Logs Insights query timed out", { queryId, rule: label, timeoutMs });
      throw new DetectorError(`Logs Insights query ${queryId} (${label}) on ${logGroupName} did not finish within ${timeoutMs} ms; it was stopped. Raise the detector's timeout or shorten its schedule.`);
    }
    await deps.sleep(pollMs);
  }
}

/**
 * The engine path: the job's range read whole through Logs Insights (queryLines, which splits a
 * range at the row cap and reports one still capped), every record through the engine, and its
 * findings kept but for the rules in `drop` (those the queries report).
 */
async function runRecords(deps: DetectorDeps, job: QueryJob, thresholds: DetectorThresholds, drop: ReadonlySet<string>): Promise<JobOutcome> {
  const engine = new DetectionEngine(thresholds, deps.settings.format, deps.settings.engine);
  const truncated: { start: number; end: number }[] = [];
  await queryLines(deps, job.start, job.end, (l) => engine.addLine(l), truncated);
  const { stats, findings } = engine.finish();
  const kept = findings.filter((f) => !drop.has(f.rule));
  deps.log("engine path finished", { start: job.start, end: job.end, read: stats.read, analysed: stats.analysed, findings: kept.length, dropped: findings.length - kept.length, truncated: truncated.length });
  return { findings: kept, bytesScanned: 0, recordsScanned: stats.read, stats, truncated };
}

/**
 * Which rules of a CloudWatch-only run take which path, logged once per run, and (on a masked
 * log group, the engine path) the engine's finding rules to drop: none, as no SQL query runs there.
 */
function splitRules(deps: DetectorDeps, renderer: QueryRenderer, all: readonly QueryJob[], unmask: boolean, infrequentAccess = false): ReadonlySet<string> {
  const stats = [...new Set(all.filter((j) => j.engine === "insights").map((j) => j.query.rule))];
  const engine = [...(renderer.rules ?? []).filter((r) => !stats.includes(r)), ...(renderer.engineOnly ?? [])];
  const reports = (rule: string) => renderer.reports?.(rule) ?? [rule];
  const kept = new Set(engine.flatMap(reports));
  const drop = new Set(stats.flatMap(reports).filter((r) => !kept.has(r)));
  if (unmask) {
    deps.log("the log group masks IP addresses: every rule runs on the engine over records read with unmask(@message)", {
      stats: [], engine, why: "unmask() applies to @message; the SQL queries read fields of @message, which stay masked, so their findings would carry masked addresses",
    });
    return drop;
  }
  if (infrequentAccess) {
    deps.log("the log group is in the Infrequent Access class: every rule runs on the engine over its records", {
      stats: [], engine, why: "OpenSearch SQL queries only log groups in the Standard class (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData_SQL.html)",
    });
    return drop;
  }
  // No records are read; what has no query (detector-saturated, the engine's row budget) does not run here, as on Athena.
  deps.log("every windowed rule runs as an OpenSearch SQL query in Logs Insights; no records are read", { sql: stats, notRun: engine });
  return new Set<string>();
}

/** A scheduled run's summary, besides the findings. */
export interface QueryRunSummary {
  readonly engine: "athena" | "insights";
  readonly queries: number;
  readonly bytesScanned: number;
  /** Keys of the queries left to the continued invocation (on demand: to the caller, who invokes again with them). */
  readonly continued: readonly string[];
  /** Records the Logs Insights queries scanned (0 on Athena, which reports bytes only). */
  readonly recordsScanned?: number;
  /** Athena queries that scanned 0 bytes: their partitions hold no objects (not yet, or missing). */
  readonly queriesWithoutData?: number;
  /** An on-demand run: the range asked for, Unix seconds [start, end). */
  readonly range?: { readonly start: number; readonly end: number };
  /** An on-demand run: findings delivered but left out of the response, which Lambda caps at 6 MB for a synchronous invoke. */
  readonly findingsLeftOut?: number;
}

/**
 * Bytes of findings an on-demand response carries at most: Lambda returns at most 6 MB from a
 * synchronous invoke (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
 * and the response holds the counts besides.
 */
export const ON_DEMAND_FINDINGS_BYTES = 5_000_000;

/** The findings (most severe first, as sorted) that fit ON_DEMAND_FINDINGS_BYTES, and how many did not. */
export function capFindings(findings: readonly Finding[], maxBytes = ON_DEMAND_FINDINGS_BYTES): { readonly kept: Finding[]; readonly leftOut: number } {
  const kept: Finding[] = [];
  let bytes = 0;
  for (const f of findings) {
    bytes += Buffer.byteLength(JSON.stringify(f)) + 1;
    if (bytes > maxBytes) break;
    kept.push(f);
  }
  return { kept, leftOut: findings.length - kept.length };
}

/**
 * An on-demand run over a range (`flowlog-kit detect --env --since`, one chunk of it): every
 * windowed rule and beaconing as queries over [start, end), the same queries as a scheduled run.
 */
export interface OnDemandRange {
  /** Unix seconds, [start, end). */
  readonly start: number;
  readonly end: number;
  /** The keys of the queries still to run, when the caller continues a range; all of them when absent. */
  readonly pending?: readonly string[];
  /** How many times the caller has continued this range (0 the first time). @default 0 */
  readonly hop?: number;
}

/**
 * A scheduled (or continued) run: plan the queries, run them a few at a time until done or until
 * the function's remaining time would not fit another, deliver the findings, and hand the rest
 * to a new invocation. Every query that failed is named in one DetectorError after delivery.
 */
export function detectScheduled(deps: DetectorDeps, lookbackSeconds: number, cursor?: ContinueEvent): Promise<DetectorResult & { readonly queries: QueryRunSummary }> {
  return runQueries(deps, lookbackSeconds, cursor, undefined);
}

/**
 * An on-demand run over `range` (handler.ts, the `{mode:"on-demand", start, end}` event): the
 * scheduled run's queries over the range, the findings delivered (SNS alerts every one: a person
 * asked) and returned. Queries that would not fit the invocation's remaining time are not handed
 * to an asynchronous invocation, whose findings the caller would never see: their keys come back
 * in `queries.continued`, and the caller invokes again with them as `pending`.
 */
export function detectRange(deps: DetectorDeps, lookbackSeconds: number, range: OnDemandRange): Promise<DetectorResult & { readonly queries: QueryRunSummary }> {
  return runQueries(deps, lookbackSeconds, undefined, range);
}

async function runQueries(deps: DetectorDeps, lookbackSeconds: number, cursor: ContinueEvent | undefined, onDemand: OnDemandRange | undefined): Promise<DetectorResult & { readonly queries: QueryRunSummary }> {
  const { settings } = deps;
  if (!settings.renderer) throw new DetectorError("the detector has no query renderer: it was built without functions/detect/sql.ts. Redeploy the environment's stack.");
  if (cursor && cursor.hop > MAX_CONTINUATIONS) {
    throw new DetectorError(`continue: the run has continued ${cursor.hop - 1} times (got ${cursor.pending.length} queries still pending). At most ${MAX_CONTINUATIONS} continuations run; the queries take longer than the schedule allows: raise the detector's timeout or concurrency, or shorten the look-back.`);
  }
  const end = onDemand?.end ?? cursor?.end ?? Math.floor(deps.now().getTime() / 1000);
  const hop = onDemand?.hop ?? cursor?.hop ?? 0;
  const thresholds = await loadThreatLists(deps, settings.thresholds);
  const all = planJobs(settings.renderer, { end, lookbackSeconds, thresholds, athena: settings.athena, format: settings.format, unmask: settings.unmask ?? false, infrequentAccess: settings.infrequentAccess ?? false, logGroupName: settings.logGroupName, ...(onDemand ? { start: onDemand.start } : {}) });
  let jobs = all;
  const asked = cursor?.pending ?? onDemand?.pending;
  if (asked) {
    const keys = new Set(all.map((j) => j.key));
    const gone = asked.filter((k) => !keys.has(k));
    if (gone.length) deps.log("queries of the continued run no longer exist (the configuration changed); they are not run", { gone });
    const pending = new Set(asked);
    jobs = all.filter((j) => pending.has(j.key));
  }
  const engine = settings.athena ? "athena" : "insights";
  const drop = engine === "insights" ? splitRules(deps, settings.renderer, all, settings.unmask ?? false, settings.infrequentAccess ?? false) : new Set<string>();
  deps.log("detection started", { mode: engine, queries: jobs.length, of: all.length, end, lookbackSeconds, ...(onDemand ? { onDemand: true, start: onDemand.start } : {}), ...(hop ? { continuation: hop } : {}) });

  const concurrency = settings.concurrency ?? QUERY_CONCURRENCY;
  const timeoutMs = engine === "athena" ? (settings.athenaQueryTimeoutMs ?? 120_000) : (settings.queryTimeoutMs ?? 120_000);
  // A query is started only if it can finish (its timeout) and the run can still deliver after it.
  const reserveMs = timeoutMs + (settings.deliveryReserveMs ?? 60_000);
  const findings: Finding[] = [];
  const failures: string[] = [];
  // Queries left out for their length (a threat list read from S3 grown past synth's margin): the
  // other rules run and deliver, then the run fails naming them, never only a log line.
  if (engine === "insights" && !settings.unmask && !settings.infrequentAccess && settings.renderer.insightsLeftOut && hop === 0 && !asked) {
    for (const problem of settings.renderer.insightsLeftOut({ logGroupName: settings.logGroupName, format: settings.format, thresholds, start: end - lookbackSeconds, end })) {
      deps.log("a rule's Logs Insights SQL query is too long for StartQuery: the rule does not run", { problem });
      failures.push(problem);
    }
  }
  const left: QueryJob[] = [];
  const truncated: { start: number; end: number }[] = [];
  let records: ParseStats | undefined;
  let bytesScanned = 0;
  let recordsScanned = 0;
  const noData = { "not-yet": 0, missing: 0 };
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (deps.remainingMs && deps.remainingMs() < reserveMs) {
        left.push(...jobs.slice(next));
        next = jobs.length;
        return;
      }
      const job = jobs[next++]!;
      try {
        const out = job.engine === "athena" ? await runAthena(deps, job) : job.engine === "records" ? await runRecords(deps, job, thresholds, drop) : await runInsights(deps, job);
        findings.push(...out.findings);
        bytesScanned += out.bytesScanned;
        if (job.engine === "insights") recordsScanned += out.recordsScanned;
        if (out.stats) records = out.stats;
        truncated.push(...(out.truncated ?? []));
        if (out.problem) failures.push(out.problem);
        if (out.noData) noData[out.noData]++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));

  const sorted = sortFindings(mergeHorizons(findings));
  const stats = records ?? newStats();
  const ran = jobs.length - left.length;
  const statsRan = jobs.filter((j) => j.engine === "insights" && !left.includes(j)).length;
  // The SNS message's records line says what the run read: rows past thresholds, and records only for the engine's rules.
  const summary = records
    ? (statsRan ? `Queries run ${statsRan} (insights), ${formatBytes(bytesScanned)} scanned; for the rules on the engine, ` : "Every rule on the engine: ") +
      `records read ${records.read}, analysed ${records.analysed}, skipped: ${skippedSummary(records)}.` +
      (truncated.length ? ` ${truncated.length} one-minute range${truncated.length === 1 ? "" : "s"} hit the Logs Insights 10,000-row cap: records in ${truncated.length === 1 ? "it" : "them"} were left out.` : "")
    : `Queries run ${ran} (${engine}), ${formatBytes(bytesScanned)} scanned; no raw records read.`;
  let delivered: DetectorResult["delivered"] = { securityHub: 0, sns: false };
  try {
    delivered = await deliver(deps, sorted, stats, { end, hop, mode: onDemand ? "on-demand" : engine }, summary);
  } catch (err) {
    failures.push((err as Error).message);
  }
  const continued = left.map((j) => j.key);
  if (continued.length && onDemand) {
    deps.log("the on-demand range continues in the caller's next invocation: the function's remaining time would not fit another query", { pending: continued.length, hop: hop + 1, remainingMs: deps.remainingMs?.() });
  } else if (continued.length) {
    const event: ContinueEvent = { mode: "continue", end, pending: continued, hop: hop + 1 };
    deps.log("the run continues in a new invocation: the function's remaining time would not fit another query", { pending: continued.length, hop: event.hop, remainingMs: deps.remainingMs?.() });
    await handOver(deps, event);
  }
  deps.log("detection finished", {
    mode: engine, queries: ran, continued: continued.length, bytesScanned, findings: sorted.length, failed: failures.length, truncated: truncated.length,
    ...(onDemand ? { onDemand: true, start: onDemand.start, end } : {}),
    ...(engine === "athena" ? { queriesWithoutDataYet: noData["not-yet"], queriesWithFilesMissing: noData.missing } : {}),
  });
  if (failures.length) {
    throw new DetectorError(`${failures.length} of ${jobs.length} detector queries failed: ${failures.join("; ")}`);
  }
  // An on-demand response must fit Lambda's 6 MB: every finding was delivered; the response names how many it leaves out.
  const { kept, leftOut } = onDemand ? capFindings(sorted) : { kept: sorted, leftOut: 0 };
  if (leftOut) deps.log("findings left out of the on-demand response (Lambda's 6 MB response limit); all were delivered", { leftOut, kept: kept.length });
  const queries: QueryRunSummary = {
    engine, queries: ran, bytesScanned, continued,
    ...(engine === "insights" ? { recordsScanned } : { queriesWithoutData: noData["not-yet"] + noData.missing }),
    ...(onDemand ? { range: { start: onDemand.start, end } } : {}),
    ...(leftOut ? { findingsLeftOut: leftOut } : {}),
  };
  return { stats, findings: kept, truncated, delivered, queries };
}

const formatBytes = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`);

/** Invokes the function itself, asynchronously, with the cursor of the queries left. */
async function handOver(deps: DetectorDeps, event: ContinueEvent): Promise<void> {
  const lambda = deps.clients.lambda;
  const functionName = deps.settings.functionName;
  if (!lambda || !functionName) {
    throw new DetectorError(`continue: ${event.pending.length} queries are left and the function cannot invoke itself (got no ${lambda ? "function name" : "Lambda client"}). Raise the detector's timeout, or redeploy the environment's stack.`);
  }
  await sent(deps, `Lambda Invoke ${functionName} (continue)`, () => lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(event)) })));
}
