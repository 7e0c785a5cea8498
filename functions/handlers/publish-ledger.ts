/**
 * Which findings were already published to SNS. Scheduled runs overlap (the look-back is the
 * period plus 15 minutes, hour-long rules read the hour) and raise the same finding, under the
 * same deterministic id, in several runs. Security Hub's BatchImportFindings updates a finding
 * with the same Id, so every run still imports all of them; an SNS message is not idempotent, so
 * a finding is alerted once, and again only when a later run finds it more severe.
 *
 * One object per finding id, `<prefix><id>`, with no body: its user metadata says the most
 * severe severity already published (`sent`) and a run's claim in flight (`claim`, `claimed`).
 * S3 conditional writes arbitrate between runs: the first claim is a PutObject with
 * `If-None-Match: *`, every later change a PutObject with `If-Match: <ETag>` of the state it
 * read, so of two runs that race only one wins (412 Precondition Failed, or 409
 * ConditionalRequestConflict, for the other). The order is claim, publish, then record `sent`:
 * - publish failed: the claim is released (sent as before), so the next run that raises the finding publishes it;
 * - the run died between publishing and recording (timeout, crash) or the record failed: the
 *   claim stays and is taken over once it is older than CLAIM_LEASE_SECONDS, so the finding is
 *   published one more time (the one documented duplicate);
 * - the run died between claiming and publishing: the same takeover publishes it, late rather than never.
 * A claim carries its run's token (`token`, one per claimFindings call): a claim whose PutObject
 * succeeded but whose response was lost is retried, meets 412, and HeadObject then shows this
 * run's own token; the run takes it as its own claim (with the ETag HeadObject read) instead of
 * skipping it as another run's, which would have lost the alert.
 * A ledger that cannot be read or written (AccessDenied, throttling past the retries) never
 * drops an alert: the finding is published and the reason logged.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import { randomUUID } from "crypto";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DetectorError } from "../detect/errors";
import { Finding, SEVERITIES, Severity } from "../detect/findings";
import { RetryDeps, RetryPolicy, withRetry } from "./retry";

/** Where the ledger's markers live: a bucket and a key prefix ending in `/`. */
export interface PublishLedger {
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * How long a claim holds before another run may take it over: Lambda's longest timeout, so a
 * claim this old belongs to an invocation that has ended.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const CLAIM_LEASE_SECONDS = 900;

/** Claims sent at once: a run raises tens of findings, rarely hundreds. */
const CLAIM_CONCURRENCY = 8;

/** Read-decide-write rounds per finding before the ledger is given up on for it (races lost to other runs). */
const CLAIM_ROUNDS = 3;

/** The ledger's state of one finding, as its marker's metadata holds it. */
interface Marker {
  /** The most severe severity published, or undefined when none has been yet. */
  readonly sent?: Severity;
  /** A run's claim in flight: the severity it is publishing, when it claimed it (Unix seconds) and the run's token. */
  readonly claim?: { readonly severity: Severity; readonly at: number; readonly token?: string };
}

/** What a run does with one finding. */
export type Decision =
  | { readonly kind: "publish"; readonly finding: Finding; readonly etag: string; readonly previous?: Severity }
  /** The ledger could not be used: published anyway, with the reason. */
  | { readonly kind: "unchecked"; readonly finding: Finding; readonly reason: string }
  | { readonly kind: "skip"; readonly finding: Finding; readonly why: "already-published" | "claimed-by-another-run" };

const rank = (s: Severity | undefined) => (s === undefined ? -1 : SEVERITIES.indexOf(s));
const isSeverity = (s: string | undefined): s is Severity => s !== undefined && (SEVERITIES as readonly string[]).includes(s);
const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as { name?: string })?.name ?? "Error";
/** 412: the condition did not hold; 409: a concurrent conditional write on the key. Both mean another run got there. */
const lostRace = (err: unknown) => statusOf(err) === 412 || statusOf(err) === 409 || nameOf(err) === "PreconditionFailed" || nameOf(err) === "ConditionalRequestConflict";
const notFound = (err: unknown) => statusOf(err) === 404 || nameOf(err) === "NotFound" || nameOf(err) === "NoSuchKey";

/** The ledger of FLOWLOG_PUBLISHED (`s3://bucket/prefix/`), or a DetectorError naming what is wrong with it. */
export function parsePublishLedger(uri: string): PublishLedger {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[^/]+\/)+)$/.exec(uri);
  if (!m) {
    throw new DetectorError(`FLOWLOG_PUBLISHED: not an S3 folder "s3://bucket/prefix/" (got ${JSON.stringify(uri.slice(0, 120))}). The detector stack sets it to the Athena results bucket's published/ folder; redeploy the environment's stack.`);
  }
  return { bucket: m[1]!, prefix: m[2]! };
}

function metadata(m: Marker): Record<string, string> {
  return { sent: m.sent ?? "", claim: m.claim?.severity ?? "", claimed: m.claim ? String(m.claim.at) : "", ...(m.claim?.token ? { token: m.claim.token } : {}) };
}

function markerOf(meta: Record<string, string> | undefined): Marker {
  const sent = meta?.sent;
  const claim = meta?.claim;
  const at = Number(meta?.claimed);
  const token = meta?.token ? { token: meta.token } : {};
  return { ...(isSeverity(sent) ? { sent } : {}), ...(isSeverity(claim) && Number.isFinite(at) ? { claim: { severity: claim, at, ...token } } : {}) };
}

type LedgerDeps = RetryDeps & { readonly clients: { readonly s3: S3Client }; readonly now: () => Date };

/** One finding's decision: claim it in the ledger, or learn that it was (or is being) published. */
async function decide(deps: LedgerDeps, ledger: PublishLedger, f: Finding, policy: RetryPolicy | undefined, token: string): Promise<Decision> {
  const key = `${ledger.prefix}${f.id}`;
  const uri = `s3://${ledger.bucket}/${key}`;
  const now = Math.floor(deps.now().getTime() / 1000);
  const put = (m: Marker, condition: { IfNoneMatch: "*" } | { IfMatch: string }) =>
    withRetry(deps, `S3 PutObject ${uri}`, () => deps.clients.s3.send(new PutObjectCommand({ Bucket: ledger.bucket, Key: key, Body: "", Metadata: metadata(m), ...condition })), policy);
  try {
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      try {
        const r = await put({ claim: { severity: f.severity, at: now, token } }, { IfNoneMatch: "*" });
        return { kind: "publish", finding: f, etag: r.ETag ?? "" };
      } catch (err) {
        if (!lostRace(err)) throw err;
      }
      let head;
      try {
        head = await withRetry(deps, `S3 HeadObject ${uri}`, () => deps.clients.s3.send(new HeadObjectCommand({ Bucket: ledger.bucket, Key: key })), policy);
      } catch (err) {
        // Expired or released between the two calls: claim it afresh.
        if (notFound(err)) continue;
        throw err;
      }
      const marker = markerOf(head.Metadata);
      // This run's own claim, whose PutObject succeeded though its response was lost (the retry met 412).
      if (marker.claim?.token === token && marker.claim.severity === f.severity) {
        return { kind: "publish", finding: f, etag: head.ETag ?? "", ...(marker.sent ? { previous: marker.sent } : {}) };
      }
      if (rank(marker.sent) >= rank(f.severity)) return { kind: "skip", finding: f, why: "already-published" };
      if (marker.claim && now - marker.claim.at < CLAIM_LEASE_SECONDS && rank(marker.claim.severity) >= rank(f.severity)) return { kind: "skip", finding: f, why: "claimed-by-another-run" };
      // Never published at this severity, and no live claim at it: more severe now, or a dead run's claim.
      try {
        const r = await put({ ...(marker.sent ? { sent: marker.sent } : {}), claim: { severity: f.severity, at: now, token } }, { IfMatch: head.ETag ?? "" });
        return { kind: "publish", finding: f, etag: r.ETag ?? "", ...(marker.sent ? { previous: marker.sent } : {}) };
      } catch (err) {
        if (!lostRace(err)) throw err;
      }
    }
    return { kind: "unchecked", finding: f, reason: `${uri}: other runs changed the marker ${CLAIM_ROUNDS} times while this run read it` };
  } catch (err) {
    const e = err as { message?: string };
    return { kind: "unchecked", finding: f, reason: `${uri}: ${nameOf(err)}: ${e.message ?? String(err)}` };
  }
}

/**
 * Each finding's decision, a few claims at a time, in the findings' order. `token` marks this
 * run's claims (the Lambda request id, or a random id): no other run may hold the same.
 */
export async function claimFindings(deps: LedgerDeps, ledger: PublishLedger, findings: readonly Finding[], policy?: RetryPolicy, token: string = randomUUID()): Promise<Decision[]> {
  const decisions: Decision[] = new Array(findings.length);
  let next = 0;
  const worker = async () => {
    while (next < findings.length) {
      const i = next++;
      decisions[i] = await decide(deps, ledger, findings[i]!, policy, token);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CLAIM_CONCURRENCY, findings.length) }, worker));
  return decisions;
}

/**
 * After the SNS publish: each claim this run holds becomes `sent` (published) or is released to
 * what it was (the publish failed). Returns the markers that could not be written: a claim left
 * behind is taken over after CLAIM_LEASE_SECONDS, so the caller logs them, and never fails for them.
 */
export async function settleClaims(deps: LedgerDeps, ledger: PublishLedger, claims: readonly Decision[], published: boolean, policy?: RetryPolicy): Promise<string[]> {
  const problems: string[] = [];
  for (const d of claims) {
    if (d.kind !== "publish") continue;
    const key = `${ledger.prefix}${d.finding.id}`;
    const uri = `s3://${ledger.bucket}/${key}`;
    const sent = published ? d.finding.severity : d.previous;
    try {
      await withRetry(deps, `S3 PutObject ${uri}`, () => deps.clients.s3.send(new PutObjectCommand({ Bucket: ledger.bucket, Key: key, Body: "", Metadata: metadata(sent ? { sent } : {}), IfMatch: d.etag })), policy);
    } catch (err) {
      problems.push(`${uri}: ${nameOf(err)}: ${(err as Error).message ?? String(err)}`);
    }
  }
  return problems;
}
