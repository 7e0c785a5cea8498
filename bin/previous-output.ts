import * as fs from "fs";
import * as path from "path";
import type { Archive } from "../environments/archives/schema";
import type { Environment } from "../environments/schema";
import { NOT_ARCHIVE_TAG } from "../policies/controls";
import { asList, referenced, resources, StackJson } from "../policies/controls/stack";
import { objectLockDays } from "../policies/retention";

/** What one stack about to be synthesized says about its archive bucket. */
export interface ArchiveTarget {
  readonly stack: string;
  /** How messages name the config, e.g. `prod` or `archives/log-archive`. */
  readonly label: string;
  /** The bucket the stack holds; undefined when it holds none (an environment with a central archive). */
  readonly bucketName?: string;
  readonly objectLock?: { readonly mode: string; readonly days: number };
  /** Where in the config the bucket and the lock are set, e.g. `archive` and `archive.objectLock`. */
  readonly paths: { readonly bucket: string; readonly objectLock: string };
}

const ENV_PATHS = { bucket: "archive", objectLock: "archive.objectLock" };
const ARCHIVE_PATHS = { bucket: "bucketName", objectLock: "objectLock" };

/** The archive target of an environment's stack. */
export function environmentTarget(env: Environment): ArchiveTarget {
  if (env.archive.central) return { stack: env.stackName, label: env.name, paths: ENV_PATHS };
  const lock = env.archive.objectLock;
  return { stack: env.stackName, label: env.name, bucketName: env.archive.bucketName, objectLock: lock && { mode: lock.mode, days: objectLockDays(env.retention.archive.days) }, paths: ENV_PATHS };
}

/** The archive target of a central archive's stack. */
export function archiveTarget(a: Archive): ArchiveTarget {
  return { stack: a.stackName, label: a.file.replace(/\.ts$/, ""), bucketName: a.bucketName, objectLock: a.objectLock && { mode: a.objectLock.mode, days: objectLockDays(a.retention.days) }, paths: ARCHIVE_PATHS };
}

interface PreviousLock {
  readonly bucket: string;
  readonly mode: string;
  readonly days: number;
}

function readPrevious(outdir: string, stack: string): StackJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(outdir, "stacks", stack, "cdk.tf.json"), "utf8")) as StackJson;
  } catch {
    // No previous synth of this stack, or one the kit cannot read: nothing to compare with.
    return undefined;
  }
}

/** A bucket attribute as the bucket's name: a literal, or a reference to the stack's aws_s3_bucket. */
function bucketName(stack: StackJson, value: unknown): string | undefined {
  const ref = referenced(stack, value);
  const name = ref ? ref.resource.values.bucket : value;
  return typeof name === "string" ? name : undefined;
}

function previousLocks(stack: StackJson): PreviousLock[] {
  return resources(stack, "aws_s3_bucket_object_lock_configuration").flatMap((r) => {
    const bucket = bucketName(stack, r.values.bucket);
    const retention = asList((asList(r.values.rule)[0] as { default_retention?: unknown } | undefined)?.default_retention)[0] as { mode?: string; days?: number } | undefined;
    return bucket ? [{ bucket, mode: retention?.mode ?? "an unknown", days: retention?.days ?? 0 }] : [];
  });
}

function previousArchiveBuckets(stack: StackJson): string[] {
  return resources(stack, "aws_s3_bucket")
    .filter((b) => (b.values.tags as Record<string, string> | undefined)?.[NOT_ARCHIVE_TAG.key] !== NOT_ARCHIVE_TAG.value)
    .flatMap((b) => (typeof b.values.bucket === "string" ? [b.values.bucket] : []));
}

/**
 * What the previous synth in `outdir` says about Object Lock that this one would change. AWS
 * cannot turn Object Lock off: a lock that the previous output set and this config drops is a
 * problem (Terraform would only remove the default retention, so the bucket stays locked while
 * new evidence arrives unlocked; or it would plan the destroy of a bucket whose locked objects
 * refuse it). A changed mode or retention is a warning: versions already delivered keep their
 * lock. Dropping an unlocked archive bucket from a stack is a warning too: its destroy is
 * planned. Only the output folder being replaced is consulted: a synth into a fresh folder, or
 * after the folder was removed, cannot see what was applied.
 */
export function previousOutputChanges(outdir: string, targets: readonly ArchiveTarget[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const t of targets) {
    const previous = readPrevious(outdir, t.stack);
    if (!previous) continue;
    const where = `the previous synth (${path.join(path.basename(outdir), "stacks", t.stack)})`;
    const locks = previousLocks(previous);
    for (const lock of locks) {
      if (lock.bucket !== t.bucketName) {
        problems.push(
          `${t.label}.${t.paths.bucket}: drops the bucket ${lock.bucket} from ${t.stack}, which ${where} locks in ${lock.mode} mode for ${lock.days} days (got ${t.bucketName === undefined ? "no archive bucket in this stack" : `bucket ${t.bucketName}`}). ` +
            "AWS cannot turn Object Lock off and refuses to delete a bucket that holds locked versions: keep the archive in this stack until its evidence has expired, or first take its resources out of the stack's Terraform state (terraform state rm) and synthesize into a fresh output folder.",
        );
      } else if (t.objectLock === undefined) {
        problems.push(
          `${t.label}.${t.paths.objectLock}: is removed, but ${where} locks ${lock.bucket} in ${lock.mode} mode for ${lock.days} days (got nothing). ` +
            `Restore objectLock: { mode: "${lock.mode}" }: AWS cannot turn Object Lock off, and without it Terraform would only drop the default retention, leaving the bucket locked and new evidence unlocked.`,
        );
      } else {
        if (t.objectLock.mode !== lock.mode) {
          warnings.push(`warning: ${t.label}: changes the Object Lock mode of ${lock.bucket} from ${lock.mode} to ${t.objectLock.mode}; versions already delivered keep their ${lock.mode} lock until it ends, only new ones get ${t.objectLock.mode}.`);
        }
        if (t.objectLock.days !== lock.days) {
          warnings.push(`warning: ${t.label}: changes the Object Lock retention of ${lock.bucket} from ${lock.days} to ${t.objectLock.days} days; versions already delivered keep their ${lock.days}-day lock.`);
        }
      }
    }
    for (const bucket of previousArchiveBuckets(previous)) {
      if (bucket === t.bucketName || locks.some((l) => l.bucket === bucket)) continue;
      warnings.push(
        `warning: ${t.label}: drops the archive bucket ${bucket} from ${t.stack}, so terraform plan will show its destroy with its policy, lifecycle and public access block; to keep its evidence, take those resources out of the stack's state (terraform state rm) before applying.`,
      );
    }
  }
  return { problems, warnings };
}
