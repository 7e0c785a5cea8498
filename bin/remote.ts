import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Environment } from "../environments/schema";
import { DetectorError } from "../functions/detect/engine";
import { Finding, SEVERITIES, sortFindings } from "../functions/detect/findings";
import { skippedSummary } from "../functions/detect/report";
import { mergeHorizons } from "../functions/detect/sql";
import { longHorizon } from "../functions/detect/thresholds";
import type { ParseStats } from "../functions/flowlog/stats";
import type { OnDemandEvent } from "../functions/handlers/handler";
import { MAX_SINCE_SECONDS } from "../functions/handlers/handler";
import type { QueryRunSummary } from "../functions/handlers/scheduled";
import { DETECTOR_DELIVERY_SECONDS, DetectorSizing, lookbackSeconds, queryTimeoutSecondsFor, scheduledSizing } from "../modules/detectors";
import { detectorAggregationSeconds, detectorAthena } from "../stacks/environment-stack";
import { groupFormat } from "./cost";
import { parseDuration } from "./duration";

/** The look-back of an on-demand run: 1 minute to 7 days. */
export const parseSince = (value: string) => parseDuration(value, "--since", 60, MAX_SINCE_SECONDS);

export const detectorFunctionName = (env: Pick<Environment, "name">) => `flowlogs-${env.name}-detector`;

/**
 * Chunks invoked at once. Each runs its queries QUERY_CONCURRENCY (5) at a time, so two chunks
 * keep 10 queries in flight, with the scheduled run's 5 within Athena's smallest active-query
 * quota (20 a Region) and well within Logs Insights' 100 concurrent queries an account.
 * @see https://docs.aws.amazon.com/athena/latest/ug/service-limits.html
 */
export const CHUNKS_IN_FLIGHT = 2;

/** The most invocations one chunk may take (its first and its continuations). */
export const MAX_CHUNK_INVOCATIONS = 8;

/** One invocation's answer: a run's findings, and what its queries did. */
export interface RangeResult {
  readonly stats: ParseStats;
  readonly findings: readonly Finding[];
  readonly truncated?: readonly { readonly start: number; readonly end: number }[];
  readonly queries?: QueryRunSummary;
}

/** What `detect --env --since` gathered over every chunk. */
export interface RemoteDetection {
  readonly stats: ParseStats;
  readonly findings: Finding[];
  readonly truncated: { readonly start: number; readonly end: number }[];
  readonly queries: { readonly engine?: "athena" | "insights"; queries: number; bytesScanned: number; recordsScanned: number; queriesWithoutData: number; readonly chunks: number; findingsLeftOut?: number };
  /** One message per chunk that failed: its range, the function's message, and how to rerun it. */
  readonly failed: string[];
}

/**
 * How long one chunk of an on-demand run is, from the deployed function's sizing (the stack's
 * detectorSizing): the longest whole number of long windows (an hour by default) whose query
 * fits the function's per-query timeout by the stack's own model of query time (60 s plus 60 s
 * per hour of range). The function stops a query at that timeout, so a longer chunk could only
 * fail. Chunk boundaries fall on long-window boundaries, so no window is split between two
 * invocations; a chunk's queries run in waves of `concurrency`, and when the waves outlast the
 * function's timeout it returns the queries left and the chunk continues in a next invocation.
 */
export function chunkSeconds(sizing: Pick<DetectorSizing, "queryTimeoutMs">, longWindowSeconds: number): number {
  const fits = Math.floor(MAX_SINCE_SECONDS / longWindowSeconds);
  let k = 1;
  while (k < fits && queryTimeoutSecondsFor((k + 1) * longWindowSeconds) * 1000 <= sizing.queryTimeoutMs) k++;
  return k * longWindowSeconds;
}

/**
 * [start, end) split into contiguous ranges of at most `chunk` seconds whose inner boundaries are
 * multiples of `chunk` past the long-window boundary at or before `start`: the first range's
 * queries, which start at that boundary to judge whole windows, read `chunk` seconds at most.
 */
export function chunkRanges(start: number, end: number, chunk: number, longWindowSeconds: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let from = start;
  let to = Math.floor(start / longWindowSeconds) * longWindowSeconds + chunk;
  while (from < end) {
    out.push({ start: from, end: Math.min(to, end) });
    from = to;
    to += chunk;
  }
  return out;
}

/** The deployed detector's sizing, computed from the environment as the stack computes it. */
export function deployedSizing(env: Environment): DetectorSizing {
  const athena = detectorAthena(env);
  const lookback = lookbackSeconds(env.detectors.schedule, detectorAggregationSeconds(env));
  return scheduledSizing({ ...(athena ? { athena } : {}), thresholds: env.detectors.thresholds, logFormat: groupFormat(env), unmask: env.analytics.maskIpAddresses, infrequentAccess: env.logGroupClass === "INFREQUENT_ACCESS" }, lookback);
}

const utc = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
/** "2026-12-05 00:00 to 06:00 UTC", the day repeated only when it changes. */
export function rangeLabel(r: { start: number; end: number }): string {
  const a = utc(r.start);
  const b = utc(r.end);
  return `${a} to ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b} UTC`;
}

const rank = (f: Finding) => SEVERITIES.indexOf(f.severity);

/** Findings by id: the same rule, key and window from two chunks once, the more severe kept (the first on a tie). */
export function mergeById(findings: readonly Finding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const f of findings) {
    const seen = byId.get(f.id);
    if (!seen || rank(f) > rank(seen)) byId.set(f.id, f);
  }
  return sortFindings([...byId.values()]);
}

/** One synchronous invoke of the detector; a function error is raised with the function's own message. */
async function invokeOnce(env: Environment, event: OnDemandEvent, client: LambdaClient): Promise<RangeResult> {
  const name = detectorFunctionName(env);
  let response;
  try {
    response = await client.send(new InvokeCommand({ FunctionName: name, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(event)) }));
  } catch (err) {
    const e = err as Error;
    throw new DetectorError(`${name}: invoke failed (got ${e.name}: ${e.message}). Check your AWS credentials for account ${env.account} and that the flowlogs-${env.name} stack is applied.`, { cause: err });
  }
  const text = response.Payload ? Buffer.from(response.Payload).toString("utf8") : "";
  if (response.FunctionError) {
    let message = text;
    try {
      const p = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = `${p.errorType ?? response.FunctionError}: ${p.errorMessage ?? text}`;
    } catch {
      // The payload was not JSON; show it as it came.
    }
    throw new DetectorError(`${name} failed: ${message}`);
  }
  try {
    return JSON.parse(text) as RangeResult;
  } catch (err) {
    throw new DetectorError(`${name}: returned something that is not a detection result (got ${JSON.stringify(text.slice(0, 80))}).`, { cause: err });
  }
}

/** Runs one chunk to its end: again with the queries the function returned as left, while it returns some. */
async function runChunk(env: Environment, range: { start: number; end: number }, client: LambdaClient, progress: (line: string) => void, label: string): Promise<RangeResult[]> {
  const results: RangeResult[] = [];
  let pending: readonly string[] | undefined;
  for (let hop = 0; ; hop++) {
    if (hop >= MAX_CHUNK_INVOCATIONS) {
      throw new DetectorError(`${pending?.length ?? 0} queries still left after ${MAX_CHUNK_INVOCATIONS} invocations; the function's timeout does not fit even one query wave: raise it, or lower the detector's query concurrency`);
    }
    const event: OnDemandEvent = { mode: "on-demand", start: range.start, end: range.end, ...(pending ? { pending, hop } : {}) };
    const r = await invokeOnce(env, event, client);
    results.push(r);
    pending = r.queries?.continued;
    if (!pending?.length) return results;
    progress(`${label} continues: ${pending.length} queries did not fit the function's timeout`);
  }
}

/**
 * Invokes the environment's deployed detector over [end - sinceSeconds, end): the range in
 * chunks one invocation can finish (chunkSeconds), CHUNKS_IN_FLIGHT at a time, each chunk's
 * findings returned synchronously and merged by id. A chunk that fails is named with its range
 * and the command that reruns it; the other chunks' findings are still returned.
 */
export async function invokeDetector(
  env: Environment,
  sinceSeconds: number,
  o: { readonly client?: LambdaClient; readonly now?: Date; readonly progress?: (line: string) => void; readonly sizing?: DetectorSizing } = {},
): Promise<RemoteDetection> {
  if (!env.detectors.enabled) {
    throw new DetectorError(`${env.name}.detectors.enabled: the detector is not deployed in this environment (got false). Set it to true and apply the flowlogs-${env.name} stack, or run detect on downloaded files.`);
  }
  // One attempt: a retried synchronous invoke runs (and alerts) the chunk again.
  const client = o.client ?? new LambdaClient({ region: env.region, maxAttempts: 1 });
  const progress = o.progress ?? (() => undefined);
  const name = detectorFunctionName(env);
  const end = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const long = longHorizon(env.detectors.thresholds).windowSeconds;
  const sizing = o.sizing ?? deployedSizing(env);
  const chunk = chunkSeconds(sizing, long);
  const ranges = chunkRanges(end - sinceSeconds, end, chunk, long);
  const waves = Math.ceil(sizing.queries / sizing.concurrency);
  const perWave = queryTimeoutSecondsFor(chunk);
  if (ranges.length > 1 || waves * perWave + DETECTOR_DELIVERY_SECONDS > sizing.timeoutSeconds) {
    progress(`${name}: ${ranges.length} chunk${ranges.length === 1 ? "" : "s"} of up to ${chunk / 3600} h, ${Math.min(CHUNKS_IN_FLIGHT, ranges.length)} at a time (${sizing.queries} queries each, ${sizing.concurrency} at a time; up to ${sizing.queryTimeoutMs / 1000} s a query, ${sizing.timeoutSeconds} s an invocation)`);
  }
  const results: RangeResult[] = [];
  const failed: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const i = next++;
      const r = ranges[i]!;
      const label = `${i + 1} of ${ranges.length}: ${rangeLabel(r)}`;
      progress(`... ${label}`);
      try {
        results.push(...(await runChunk(env, r, client, progress, label)));
      } catch (err) {
        // The AWS CLI gives up reading after 60 s by default (and retries, running the range again): the function may run 900 s.
        const rerun = `aws lambda invoke --region ${env.region} --function-name ${name} --cli-read-timeout 0 --cli-connect-timeout 10 --cli-binary-format raw-in-base64-out --payload '${JSON.stringify({ mode: "on-demand", start: r.start, end: r.end })}' out.json`;
        failed.push(`chunk ${label} failed: ${(err as Error).message.replace(/\.+$/, "")}. Its findings are missing from this report; rerun that range alone with: ${rerun} (if out.json's queries.continued is not empty, invoke again adding "pending": <that list> to the payload)`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, ranges.length) }, worker));
  return merge(results, failed, ranges.length);
}

function merge(results: readonly RangeResult[], failed: string[], chunks: number): RemoteDetection {
  const stats: ParseStats = { read: 0, analysed: 0, skipped: {} };
  const queries = { engine: undefined as "athena" | "insights" | undefined, queries: 0, bytesScanned: 0, recordsScanned: 0, queriesWithoutData: 0, chunks, findingsLeftOut: 0 };
  const truncated: { start: number; end: number }[] = [];
  for (const r of results) {
    stats.read += r.stats.read;
    stats.analysed += r.stats.analysed;
    for (const [k, v] of Object.entries(r.stats.skipped)) stats.skipped[k as keyof ParseStats["skipped"]] = (stats.skipped[k as keyof ParseStats["skipped"]] ?? 0) + (v ?? 0);
    truncated.push(...(r.truncated ?? []));
    if (r.queries) {
      queries.engine = r.queries.engine;
      queries.queries += r.queries.queries;
      queries.bytesScanned += r.queries.bytesScanned;
      queries.recordsScanned += r.queries.recordsScanned ?? 0;
      queries.queriesWithoutData += r.queries.queriesWithoutData ?? 0;
      queries.findingsLeftOut += r.queries.findingsLeftOut ?? 0;
    }
  }
  // A long-horizon finding that a short window of another invocation (a continued chunk) already made is dropped, as within one run.
  return { stats, findings: mergeById(mergeHorizons(results.flatMap((r) => r.findings))), truncated, queries, failed };
}

const bytes = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`);

/** The counts line of an on-demand run: what its queries read, and the records read for the engine (a masked log group). */
export function remoteCounts(d: RemoteDetection): string {
  const q = d.queries;
  const sql = q.queries ? `Queries run ${q.queries} (${q.engine}) over ${q.chunks} chunk${q.chunks === 1 ? "" : "s"}, ${bytes(q.bytesScanned)} scanned${q.engine === "insights" ? `, ${q.recordsScanned} records` : ""}; only rows past thresholds read.` : "";
  const records = d.stats.read ? ` Records read for the engine (masked log group) ${d.stats.read}, analysed ${d.stats.analysed}, skipped: ${skippedSummary(d.stats)}.` : "";
  const capped = d.truncated.length ? ` Warning: ${d.truncated.length} one-minute range${d.truncated.length === 1 ? "" : "s"} hit the Logs Insights 10,000-row cap; records in ${d.truncated.length === 1 ? "it" : "them"} were left out.` : "";
  return `${sql}${records}${capped}`.trim();
}

/** Why an on-demand run that read nothing gives no all-clear: undefined when its queries or the engine saw data. */
export function nothingScanned(d: RemoteDetection, env: Pick<Environment, "name">, since: string): string | undefined {
  const q = d.queries;
  if (d.stats.analysed > 0 || q.bytesScanned > 0 || q.recordsScanned > 0) return undefined;
  if (q.queries === 0 && d.stats.read === 0 && d.failed.length) return undefined;
  if (d.stats.read > 0) {
    return `detect: the deployed detector of ${env.name} analysed no records (got ${d.stats.read} records read, skipped: ${skippedSummary(d.stats)}). Check that the environment's logFormat matches its flow logs, or run detect on downloaded files to see why.`;
  }
  return `detect: the deployed detector of ${env.name} found no flow-log data in the last ${since} (got ${q.queries} queries, ${bytes(q.bytesScanned)} scanned, ${d.stats.read} records read). Check that the environment's flow logs deliver (to the archive for Athena, to CloudWatch Logs otherwise), or give a longer --since.`;
}
