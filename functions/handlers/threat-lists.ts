/**
 * Threat lists the deployed detector reads from S3 on every run (environment
 * `detectors.threatIntel[].s3`), so a list updated in its bucket is used from the next run on,
 * without a deployment. A list that cannot be read or holds a bad line fails the run, naming the
 * object (and the line and value): a run that silently matched a shorter list would report less
 * than it says.
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { DetectorError } from "../detect/errors";
import { parseThreatList } from "../detect/threat-intel";
import type { DetectorThresholds, ThreatIntelList } from "../detect/thresholds";
import type { DetectorDeps } from "./detect";
import { withRetry } from "./retry";

/** A threat list kept in S3: its name and object. */
export interface S3ThreatList {
  readonly name: string;
  /** `s3://bucket/key`. */
  readonly s3: string;
}

/** Bucket and key of an `s3://bucket/key` URI; undefined when it is not one. */
export function parseS3Uri(uri: string): { readonly bucket: string; readonly key: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

/**
 * The thresholds with every S3 threat list read now and added to the lists the stack carries.
 * All lists are read before any problem is thrown, so one error names every bad object.
 */
export async function loadThreatLists(deps: DetectorDeps, thresholds: DetectorThresholds): Promise<DetectorThresholds> {
  const lists = deps.settings.threatLists ?? [];
  if (!lists.length) return thresholds;
  const read: ThreatIntelList[] = [];
  const problems: string[] = [];
  for (const list of lists) {
    const at = parseS3Uri(list.s3);
    if (!at) {
      problems.push(`threat list ${list.name}: ${list.s3}: not an s3://bucket/key URI. Redeploy the environment's stack from a valid configuration.`);
      continue;
    }
    let text: string;
    try {
      const object = await withRetry(deps, `S3 GetObject ${list.s3}`, () => deps.clients.s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key })), deps.settings.retry);
      if (!object.Body) throw Object.assign(new Error("the object has no body"), { name: "EmptyBody" });
      text = await object.Body.transformToString("utf-8");
    } catch (err) {
      const e = err as { name?: string; message?: string };
      problems.push(
        `threat list ${list.name}: ${list.s3}: cannot read the threat list (got ${e.name ?? "Error"}: ${e.message ?? String(err)}). Upload the list there, or grant the detector's role s3:GetObject on it (and kms:Decrypt on its key when the bucket is not the kit's own).`,
      );
      continue;
    }
    const parsed = parseThreatList(list.s3, text);
    if (parsed.problems.length) {
      problems.push(...parsed.problems.map((p) => `threat list ${list.name}: ${p}`));
      continue;
    }
    read.push({ name: list.name, entries: parsed.entries });
  }
  if (problems.length) {
    deps.log("threat lists cannot be used", { problems });
    throw new DetectorError(problems.join("\n"));
  }
  deps.log("threat lists read", { lists: read.map((l) => ({ name: l.name, entries: l.entries.length })) });
  return { ...thresholds, threatIntel: [...thresholds.threatIntel, ...read] };
}
