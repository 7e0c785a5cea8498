/**
 * Lambda entry point of the detector. Parses the event (EventBridge schedule, S3 notification,
 * or an on-demand invoke from `flowlog-kit detect --env`), then hands over to the logic in
 * detect.ts with clients built once per container.
 */
import { AthenaClient } from "@aws-sdk/client-athena";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SNSClient } from "@aws-sdk/client-sns";
import { LogFormat } from "../flowlog/format";
import { formatOfFields } from "../flowlog/scanner";
import { DetectorError } from "../detect/engine";
import { resolveThresholds } from "../detect/thresholds";
import { DetectorDeps, DetectorResult, detectObjects, detectRecent, DetectorSettings, s3Objects } from "./detect";
import { requireEnv } from "./env";
import { parseFindingsStore } from "./findings-store";
import { parsePublishLedger } from "./publish-ledger";
import { RENDERER } from "./renderer";
import { AthenaSettings, ContinueEvent, detectRange, detectScheduled, OnDemandRange, QueryRenderer } from "./scheduled";
import { parseS3Uri, S3ThreatList } from "./threat-lists";

/** The longest look-back an invocation may ask for: a Lambda run lasts at most 15 minutes. */
export const MAX_SINCE_SECONDS = 7 * 24 * 3600;

/**
 * What `flowlog-kit detect --env --since` sends, once per chunk of the look-back: every windowed
 * rule and beaconing run as queries over [start, end) (scheduled.ts detectRange), with `pending`
 * the keys of the queries a previous invocation of the same range left.
 */
export interface OnDemandEvent {
  readonly mode: "on-demand";
  /** Unix seconds, [start, end). */
  readonly start: number;
  readonly end: number;
  readonly pending?: readonly string[];
  /** How many times the caller has continued this range. @default 0 */
  readonly hop?: number;
}

/**
 * What flowlog-kit CLIs before the range event sent: the records of the last `sinceSeconds`
 * read through Logs Insights and run on the engine (detect.ts detectRecent). Still answered as
 * before, because such a CLI reads the records' counts; the current CLI never sends it.
 */
export interface LegacyOnDemandEvent {
  readonly mode: "on-demand";
  readonly sinceSeconds: number;
}

type DetectorEvent =
  | { readonly kind: "scheduled" }
  | { readonly kind: "continue"; readonly cursor: ContinueEvent }
  | { readonly kind: "on-demand"; readonly range: OnDemandRange }
  | { readonly kind: "on-demand-records"; readonly sinceSeconds: number }
  | { readonly kind: "s3"; readonly objects: { bucket: string; key: string }[] };

/** What kind of invocation this is; anything else is a DetectorError naming what arrived. */
export function parseEvent(event: unknown): DetectorEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  if (e.source === "aws.events" && e["detail-type"] === "Scheduled Event") return { kind: "scheduled" };
  if (e.mode === "continue") {
    const ok = typeof e.end === "number" && Number.isInteger(e.end) && typeof e.hop === "number" && Number.isInteger(e.hop) && e.hop >= 1 && Array.isArray(e.pending) && e.pending.every((k) => typeof k === "string");
    if (!ok) throw new DetectorError(`continue: not a cursor the detector wrote (got ${JSON.stringify(event).slice(0, 120)}). Only the detector invokes itself with mode "continue"; start a run with {"mode":"on-demand","sinceSeconds":900}.`);
    return { kind: "continue", cursor: { mode: "continue", end: e.end as number, pending: e.pending as string[], hop: e.hop as number } };
  }
  if (e.mode === "on-demand" && e.sinceSeconds === undefined) {
    const { start, end, pending, hop } = e;
    const whole = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;
    if (!whole(start) || !whole(end) || (end as number) <= (start as number) || (end as number) - (start as number) > MAX_SINCE_SECONDS) {
      throw new DetectorError(`on-demand: start and end must be whole Unix seconds, start before end, at most ${MAX_SINCE_SECONDS} s apart (got start ${JSON.stringify(start)}, end ${JSON.stringify(end)}). Invoke with {"mode":"on-demand","start":1796515200,"end":1796518800}, or run flowlog-kit detect --env <env> --since 1h.`);
    }
    if ((pending !== undefined && !(Array.isArray(pending) && pending.every((k) => typeof k === "string"))) || (hop !== undefined && !(typeof hop === "number" && Number.isInteger(hop) && hop >= 0))) {
      throw new DetectorError(`on-demand: pending must be the query keys a previous invocation returned and hop a whole number (got pending ${JSON.stringify(pending)?.slice(0, 80)}, hop ${JSON.stringify(hop)}). Leave both out to run every query of the range.`);
    }
    return { kind: "on-demand", range: { start: start as number, end: end as number, ...(pending ? { pending: pending as string[] } : {}), ...(hop ? { hop: hop as number } : {}) } };
  }
  if (e.mode === "on-demand") {
    const since = e.sinceSeconds;
    if (typeof since !== "number" || !Number.isInteger(since) || since < 60 || since > MAX_SINCE_SECONDS) {
      throw new DetectorError(`sinceSeconds: must be a whole number of seconds from 60 to ${MAX_SINCE_SECONDS} (got ${JSON.stringify(since)}). Ask for a window such as 15m, 6h or 2d.`);
    }
    return { kind: "on-demand-records", sinceSeconds: since };
  }
  const records = e.Records;
  if (Array.isArray(records) && records.length > 0 && records.every((r) => (r as { eventSource?: string }).eventSource === "aws:s3")) {
    return { kind: "s3", objects: s3Objects(e as never) };
  }
  throw new DetectorError(`event: not a schedule, S3 notification or on-demand request (got ${JSON.stringify(event).slice(0, 120)}). Invoke with {"mode":"on-demand","sinceSeconds":900}.`);
}

/** A JSON environment variable, or a DetectorError naming it. */
function jsonEnv<T>(name: string, env: NodeJS.ProcessEnv): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new DetectorError(`${name}: environment variable is not JSON (got ${JSON.stringify(raw.slice(0, 60))}). The detector stack sets it; redeploy the environment's stack.`, { cause: err });
  }
}

/** The S3 threat lists of FLOWLOG_THREAT_LISTS, each an s3:// URI. */
function threatListsFromEnv(env: NodeJS.ProcessEnv): S3ThreatList[] {
  const lists = jsonEnv<S3ThreatList[]>("FLOWLOG_THREAT_LISTS", env) ?? [];
  const bad = lists.find((l) => typeof l?.name !== "string" || typeof l?.s3 !== "string" || !parseS3Uri(l.s3));
  if (bad !== undefined) throw new DetectorError(`FLOWLOG_THREAT_LISTS: an entry is not { name, s3: "s3://bucket/key" } (got ${JSON.stringify(bad)}). The detector stack sets it; redeploy the environment's stack.`);
  return lists;
}

/** Settings from the function's environment variables. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): DetectorSettings & { lookbackSeconds: number } {
  const formatText = requireEnv("FLOWLOG_FORMAT", env);
  // A transit-gateway environment's format names its fields like any other: they tell the kind.
  const format = formatText === "default" ? LogFormat.DEFAULT : formatOfFields(formatText.split(" "));
  const raw = jsonEnv<AthenaSettings>("FLOWLOG_ATHENA", env);
  // A table listed without fields has the log group's format (the stack leaves them out to save room).
  const athena = raw && { ...raw, tables: raw.tables.map((t) => ({ ...t, fields: t.fields ?? format.names })) };
  const number = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : Number(env[name]));
  return {
    environment: requireEnv("FLOWLOG_ENVIRONMENT", env),
    account: requireEnv("FLOWLOG_ACCOUNT", env),
    region: requireEnv("AWS_REGION", env),
    logGroupName: requireEnv("FLOWLOG_LOG_GROUP", env),
    topicArn: requireEnv("FLOWLOG_TOPIC_ARN", env),
    format,
    thresholds: resolveThresholds(JSON.parse(requireEnv("FLOWLOG_THRESHOLDS", env))),
    lookbackSeconds: Number(requireEnv("FLOWLOG_LOOKBACK_SECONDS", env)),
    unmask: env.FLOWLOG_UNMASK === "1",
    infrequentAccess: env.FLOWLOG_LOG_CLASS === "INFREQUENT_ACCESS",
    ...(athena ? { athena } : {}),
    threatLists: threatListsFromEnv(env),
    // Set where the environment has Athena: each run's findings are stored there for Athena.
    ...(env.FLOWLOG_FINDINGS ? { findingsStore: parseFindingsStore(env.FLOWLOG_FINDINGS) } : {}),
    // Set with it: findings already published to SNS (publish-ledger.ts).
    ...(env.FLOWLOG_PUBLISHED ? { publishLedger: parsePublishLedger(env.FLOWLOG_PUBLISHED) } : {}),
    ...(env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: env.AWS_LAMBDA_FUNCTION_NAME } : {}),
    ...(number("FLOWLOG_QUERY_TIMEOUT_MS") !== undefined ? { queryTimeoutMs: number("FLOWLOG_QUERY_TIMEOUT_MS"), athenaQueryTimeoutMs: number("FLOWLOG_QUERY_TIMEOUT_MS") } : {}),
    ...(number("FLOWLOG_QUERY_CONCURRENCY") !== undefined ? { concurrency: number("FLOWLOG_QUERY_CONCURRENCY") } : {}),
  };
}

/** Runs one invocation with the given dependencies. */
export async function handle(event: unknown, deps: DetectorDeps, lookbackSeconds: number): Promise<DetectorResult> {
  const parsed = parseEvent(event);
  switch (parsed.kind) {
    case "scheduled":
      return detectScheduled(deps, lookbackSeconds);
    case "continue":
      return detectScheduled(deps, lookbackSeconds, parsed.cursor);
    case "on-demand":
      return detectRange(deps, lookbackSeconds, parsed.range);
    case "on-demand-records":
      deps.log("an on-demand request by look-back (sinceSeconds) reads raw records: it comes from a flowlog-kit CLI older than the range requests; update the CLI, whose --since runs the rules as queries", { sinceSeconds: parsed.sinceSeconds });
      return detectRecent(deps, parsed.sinceSeconds);
    case "s3":
      return detectObjects(deps, parsed.objects);
  }
}

let cached: { deps: DetectorDeps; lookbackSeconds: number } | undefined;

function coldStart(renderer: QueryRenderer): { deps: DetectorDeps; lookbackSeconds: number } {
  const settings = { ...settingsFromEnv(), renderer };
  const region = settings.region;
  // One attempt per SDK call: retry.ts is the one retry layer, so the attempts it reports are all there were.
  const config = { region, maxAttempts: 1 };
  return {
    lookbackSeconds: settings.lookbackSeconds,
    deps: {
      clients: {
        logs: new CloudWatchLogsClient(config),
        s3: new S3Client(config),
        securityHub: new SecurityHubClient(config),
        sns: new SNSClient(config),
        ...(settings.athena ? { athena: new AthenaClient(config) } : {}),
        lambda: new LambdaClient(config),
      },
      settings,
      now: () => new Date(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log: (message, fields) => console.log(JSON.stringify({ level: "INFO", message, ...fields })),
    },
  };
}

/** The Lambda context's part the detector uses. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

export async function handler(event: unknown, context?: LambdaContextLike): Promise<DetectorResult> {
  cached ??= coldStart(RENDERER);
  const deps = context ? { ...cached.deps, remainingMs: () => context.getRemainingTimeInMillis() } : cached.deps;
  return handle(event, deps, cached.lookbackSeconds);
}
