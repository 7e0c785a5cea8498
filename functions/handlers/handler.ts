/**
 * Lambda entry point of the detector. Parses the event (EventBridge schedule, S3 notification,
 * or an on-demand invoke from `flowlog-kit detect --env`), then hands over to the logic in
 * detect.ts with clients built once per container.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { S3Client } from "@aws-sdk/client-s3";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SNSClient } from "@aws-sdk/client-sns";
import { LogFormat } from "../flowlog/format";
import { formatOfFields } from "../flowlog/scanner";
import { DetectorError } from "../detect/engine";
import { resolveThresholds } from "../detect/thresholds";
import { DetectorDeps, DetectorResult, detectObjects, detectRecent, DetectorSettings, s3Objects } from "./detect";
import { requireEnv } from "./env";

/** The longest look-back an invocation may ask for: a Lambda run lasts at most 15 minutes. */
export const MAX_SINCE_SECONDS = 7 * 24 * 3600;

export interface OnDemandEvent {
  readonly mode: "on-demand";
  readonly sinceSeconds: number;
}

type DetectorEvent =
  | { readonly kind: "scheduled" }
  | { readonly kind: "on-demand"; readonly sinceSeconds: number }
  | { readonly kind: "s3"; readonly objects: { bucket: string; key: string }[] };

/** What kind of invocation this is; anything else is a DetectorError naming what arrived. */
export function parseEvent(event: unknown): DetectorEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  if (e.source === "aws.events" && e["detail-type"] === "Scheduled Event") return { kind: "scheduled" };
  if (e.mode === "on-demand") {
    const since = e.sinceSeconds;
    if (typeof since !== "number" || !Number.isInteger(since) || since < 60 || since > MAX_SINCE_SECONDS) {
      throw new DetectorError(`sinceSeconds: must be a whole number of seconds from 60 to ${MAX_SINCE_SECONDS} (got ${JSON.stringify(since)}). Ask for a window such as 15m, 6h or 2d.`);
    }
    return { kind: "on-demand", sinceSeconds: since };
  }
  const records = e.Records;
  if (Array.isArray(records) && records.length > 0 && records.every((r) => (r as { eventSource?: string }).eventSource === "aws:s3")) {
    return { kind: "s3", objects: s3Objects(e as never) };
  }
  throw new DetectorError(`event: not a schedule, S3 notification or on-demand request (got ${JSON.stringify(event).slice(0, 120)}). Invoke with {"mode":"on-demand","sinceSeconds":900}.`);
}

/** Settings from the function's environment variables. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): DetectorSettings & { lookbackSeconds: number } {
  const format = requireEnv("FLOWLOG_FORMAT", env);
  return {
    environment: requireEnv("FLOWLOG_ENVIRONMENT", env),
    account: requireEnv("FLOWLOG_ACCOUNT", env),
    region: requireEnv("AWS_REGION", env),
    logGroupName: requireEnv("FLOWLOG_LOG_GROUP", env),
    topicArn: requireEnv("FLOWLOG_TOPIC_ARN", env),
    // A transit-gateway environment's format names its fields like any other: they tell the kind.
    format: format === "default" ? LogFormat.DEFAULT : formatOfFields(format.split(" ")),
    thresholds: resolveThresholds(JSON.parse(requireEnv("FLOWLOG_THRESHOLDS", env))),
    lookbackSeconds: Number(requireEnv("FLOWLOG_LOOKBACK_SECONDS", env)),
    unmask: env.FLOWLOG_UNMASK === "1",
  };
}

/** Runs one invocation with the given dependencies. */
export async function handle(event: unknown, deps: DetectorDeps, lookbackSeconds: number): Promise<DetectorResult> {
  const parsed = parseEvent(event);
  switch (parsed.kind) {
    case "scheduled":
      return detectRecent(deps, lookbackSeconds);
    case "on-demand":
      return detectRecent(deps, parsed.sinceSeconds);
    case "s3":
      return detectObjects(deps, parsed.objects);
  }
}

let cached: { deps: DetectorDeps; lookbackSeconds: number } | undefined;

function coldStart(): { deps: DetectorDeps; lookbackSeconds: number } {
  const settings = settingsFromEnv();
  const region = settings.region;
  return {
    lookbackSeconds: settings.lookbackSeconds,
    deps: {
      clients: {
        logs: new CloudWatchLogsClient({ region }),
        s3: new S3Client({ region }),
        securityHub: new SecurityHubClient({ region }),
        sns: new SNSClient({ region }),
      },
      settings,
      now: () => new Date(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log: (message, fields) => console.log(JSON.stringify({ level: "INFO", message, ...fields })),
    },
  };
}

export async function handler(event: unknown): Promise<DetectorResult> {
  cached ??= coldStart();
  return handle(event, cached.deps, cached.lookbackSeconds);
}
