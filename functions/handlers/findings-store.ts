/**
 * The detector's findings where Athena reads them: after delivery to Security Hub and SNS, each
 * run writes one object of newline-delimited JSON (one finding a line) to the environment's
 * Athena results bucket, under `findings/dt=YYYY-MM-DD/`. The Glue table `findings`
 * (modules/athena.ts) reads it with the OpenX JSON SerDe and date partition projection on `dt`,
 * and the QuickSight dashboard's anomaly-score visual reads that table.
 * @see https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DetectorError } from "../detect/errors";
import type { Finding } from "../detect/findings";
import { RetryDeps, RetryPolicy, withRetry } from "./retry";

/** Where findings are stored: a bucket and a key prefix ending in `/`. */
export interface FindingsStore {
  readonly bucket: string;
  readonly prefix: string;
}

/** Which run wrote an object: its end (Unix seconds), its continuation hop and its mode. */
export interface FindingsRun {
  readonly end: number;
  /** 0 for a run's first invocation, n for its n-th continuation. */
  readonly hop: number;
  /** `athena`, `insights`, `on-demand`, or `archive-<hash of the objects read>`. */
  readonly mode: string;
}

/** One line of a findings object: the columns of the Glue table `findings`. */
export interface FindingRow {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly src: string | null;
  readonly dst: string | null;
  readonly port: number | null;
  readonly protocol: number | null;
  readonly interface_id: string | null;
  readonly window_start: number;
  readonly window_end: number;
  /** The Isolation Forest score in [0, 1] of an `anomaly` finding; null for every other rule. */
  readonly score: number | null;
  /** The finding's evidence counts, as a JSON string (the table keeps it a string column). */
  readonly evidence: string;
  readonly run_end: number;
}

/**
 * The store of FLOWLOG_FINDINGS (`s3://bucket/prefix/`), or a DetectorError naming what is
 * wrong with it.
 */
export function parseFindingsStore(uri: string): FindingsStore {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[^/]+\/)+)$/.exec(uri);
  if (!m) {
    throw new DetectorError(`FLOWLOG_FINDINGS: not an S3 folder "s3://bucket/prefix/" (got ${JSON.stringify(uri.slice(0, 120))}). The detector stack sets it to the Athena results bucket's findings/ folder; redeploy the environment's stack.`);
  }
  return { bucket: m[1]!, prefix: m[2]! };
}

/** The day partition of a Unix time, UTC: `YYYY-MM-DD`. */
export function findingsDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** The object key of one run's findings: `<prefix>dt=<day of end>/<end>-<hop>-<mode>.json`. */
export function findingsKey(store: FindingsStore, run: FindingsRun): string {
  return `${store.prefix}dt=${findingsDay(run.end)}/${run.end}-${run.hop}-${run.mode}.json`;
}

/** A finding as a row of the table. The anomaly rule's score travels as `scorePercent` in its evidence. */
export function findingRow(f: Finding, runEnd: number): FindingRow {
  const percent = f.rule === "anomaly" ? f.evidence.scorePercent : undefined;
  return {
    id: f.id,
    rule: f.rule,
    severity: f.severity,
    src: f.src ?? null,
    dst: f.dst ?? null,
    port: f.port ?? null,
    protocol: f.protocol ?? null,
    interface_id: f.interfaceId ?? null,
    window_start: f.window.start,
    window_end: f.window.end,
    score: typeof percent === "number" && Number.isFinite(percent) ? Math.round(percent * 10) / 1000 : null,
    evidence: JSON.stringify(f.evidence),
    run_end: runEnd,
  };
}

/** The object's body: one JSON object a line, each ended by a newline (the SerDe reads a line a row). */
export function findingsBody(findings: readonly Finding[], runEnd: number): string {
  return findings.map((f) => `${JSON.stringify(findingRow(f, runEnd))}\n`).join("");
}

/**
 * Writes one run's findings (none: nothing is written). Throttling and transient errors are
 * retried (retry.ts); what remains is a DetectorError naming the object and the fix, which the
 * caller surfaces after Security Hub and SNS were tried.
 */
export async function storeFindings(
  deps: RetryDeps & { readonly clients: { readonly s3: S3Client } },
  store: FindingsStore,
  findings: readonly Finding[],
  run: FindingsRun,
  policy?: RetryPolicy,
): Promise<string | undefined> {
  if (findings.length === 0) return undefined;
  const key = findingsKey(store, run);
  const uri = `s3://${store.bucket}/${key}`;
  try {
    await withRetry(deps, `S3 PutObject ${uri}`, () => deps.clients.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: key, Body: findingsBody(findings, run.end), ContentType: "application/x-ndjson" })), policy);
  } catch (err) {
    const e = err as { name?: string; message?: string };
    throw new DetectorError(
      `${uri}: storing ${findings.length} findings for Athena failed (got ${e.name ?? "Error"}: ${e.message ?? String(err)}). The detector's role needs s3:PutObject on ${store.prefix}* of ${store.bucket} and kms:GenerateDataKey on the bucket's key; Security Hub and SNS were still tried.`,
      { cause: err },
    );
  }
  return uri;
}
