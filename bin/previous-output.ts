import * as fs from "fs";
import * as path from "path";
import type { Archive } from "../environments/archives/schema";
import type { Environment } from "../environments/schema";
import { archiveBuckets } from "../policies/controls";
import { asList, referenced, Resource, resources, StackJson } from "../policies/controls/stack";
import { ConfigError } from "../policies/errors";
import { objectLockDays } from "../policies/retention";

/** What one stack about to be synthesized says about its archive bucket and its KMS key. */
export interface ArchiveTarget {
  readonly stack: string;
  /** How messages name the config, e.g. `prod` or `archives/log-archive`. */
  readonly label: string;
  /** The bucket the stack holds; undefined when it holds none (an environment with a central archive). */
  readonly bucketName?: string;
  /** The central archive the environment delivers to instead; undefined when it has its own. */
  readonly central?: string;
  readonly objectLock?: { readonly mode: string; readonly days: number };
  /** The given key; undefined when the stack creates its keys (`kms: { create: true }`). */
  readonly keyArn?: string;
  /** How long the archive keeps evidence, in days: how long a dropped bucket or key must stay. */
  readonly retentionDays: number;
  /** Where in the config the bucket, the lock and the key are set, e.g. `archive`, `archive.objectLock`, `kms`. */
  readonly paths: { readonly bucket: string; readonly objectLock: string; readonly kms: string };
}

const ENV_PATHS = { bucket: "archive", objectLock: "archive.objectLock", kms: "kms" };
const ARCHIVE_PATHS = { bucket: "bucketName", objectLock: "objectLock", kms: "kms" };

const givenKey = (kms: { create: true } | { keyArn: string }) => ("keyArn" in kms ? kms.keyArn : undefined);

/** The archive target of an environment's stack. */
export function environmentTarget(env: Environment): ArchiveTarget {
  const common = { stack: env.stackName, label: env.name, keyArn: givenKey(env.kms), retentionDays: env.retention.archive.days, paths: ENV_PATHS };
  if (env.archive.central) return { ...common, central: env.archive.central.name };
  const lock = env.archive.objectLock;
  return { ...common, bucketName: env.archive.bucketName, objectLock: lock && { mode: lock.mode, days: objectLockDays(env.retention.archive.days) } };
}

/** The archive target of a central archive's stack. */
export function archiveTarget(a: Archive): ArchiveTarget {
  return {
    stack: a.stackName,
    label: a.file.replace(/\.ts$/, ""),
    bucketName: a.bucketName,
    objectLock: a.objectLock && { mode: a.objectLock.mode, days: objectLockDays(a.retention.days) },
    keyArn: givenKey(a.kms),
    retentionDays: a.retention.days,
    paths: ARCHIVE_PATHS,
  };
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

/** What configures a bucket: removed with it unless it is taken out of the state with it. */
const BUCKET_CONFIG = [
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_object_lock_configuration",
  "aws_s3_bucket_notification",
  "aws_s3_bucket_logging",
  "aws_s3_bucket_acl",
];

/** What the previous synth in `outdir` says about a stack, as messages name it. */
const previousWhere = (outdir: string, stack: string) => `the previous synth (${path.join(path.basename(outdir), "stacks", stack)})`;

/**
 * What the previous synth in `outdir` says about Object Lock that this one would change, for
 * a bucket this synth keeps (a bucket it drops is droppedEvidence's). AWS cannot turn Object
 * Lock off: a lock that the previous output set and this config removes is a problem (Terraform
 * would only remove the default retention, so the bucket stays locked while new evidence
 * arrives unlocked). A changed mode or retention is a warning: versions already delivered keep
 * their lock. Only the output folder being replaced is consulted: a synth into a fresh folder,
 * or after the folder was removed, cannot see what was applied.
 */
export function previousOutputChanges(outdir: string, targets: readonly ArchiveTarget[]): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const t of targets) {
    const previous = readPrevious(outdir, t.stack);
    if (!previous) continue;
    for (const lock of previousLocks(previous)) {
      if (lock.bucket !== t.bucketName) continue;
      if (t.objectLock === undefined) {
        problems.push(
          `${t.label}.${t.paths.objectLock}: is removed, but ${previousWhere(outdir, t.stack)} locks ${lock.bucket} in ${lock.mode} mode for ${lock.days} days (got nothing). ` +
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
  }
  return { problems, warnings };
}

/** The CLI option that acknowledges one dropped bucket or key, and the form of its value. */
export const ALLOW_DROP_FLAG = "--allow-drop";
const ALLOW_DROP_VALUE = /^(flowlogs-[a-z0-9-]+):((aws_s3_bucket|aws_kms_key)\.[A-Za-z0-9_-]+)$/;

/**
 * Attributes whose change makes Terraform replace the resource (destroy, then create): the
 * same address with another value drops the old bucket or key as surely as a missing address.
 */
const FORCES_NEW: Record<string, readonly string[]> = {
  aws_s3_bucket: ["bucket", "bucket_prefix", "object_lock_enabled"],
  aws_kms_key: ["customer_master_key_spec", "key_spec", "key_usage", "multi_region", "custom_key_store_id", "xks_key_id"],
};

/** The resources of `stack` whose `attribute` refers to `address`: what configures a bucket, or names a key. */
function attachedTo(stack: StackJson, address: string, types: readonly string[], attribute: string): string[] {
  return types.flatMap((type) => resources(stack, type).filter((r) => referenced(stack, r.values[attribute])?.resource.address === address).map((r) => r.address));
}

/** A stack folder as the user types it in `terraform -chdir=`: relative to here when it is below here. */
function chdir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir;
}

interface Drop {
  readonly stack: string;
  readonly address: string;
  readonly problem: string;
  readonly warning: string;
}

/** How the new stack treats a resource of the previous one: kept, dropped, or replaced by another value. */
function fate(previous: Resource, next: StackJson): { dropped: boolean; change?: string } {
  const now = next.resource?.[previous.type]?.[previous.address.slice(previous.type.length + 1)];
  if (now === undefined) return { dropped: true };
  const key = FORCES_NEW[previous.type]!.find((k) => JSON.stringify(now[k] ?? null) !== JSON.stringify(previous.values[k] ?? null));
  return key ? { dropped: true, change: `${key} ${JSON.stringify(previous.values[key] ?? null)} -> ${JSON.stringify(now[key] ?? null)}` } : { dropped: false };
}

/**
 * Refuses a synth that drops evidence from a stack of the previous output, and returns the
 * warnings for the drops that `allowDrop` acknowledges. Evidence is an archive bucket (every
 * aws_s3_bucket except the Athena results bucket) and a KMS key the stack created: dropped
 * means gone from the new stack, or at the same address with an attribute that makes Terraform
 * replace it. Terraform would plan their destroy: for a bucket it deletes the TLS-only policy,
 * public access block, lifecycle and encryption and suspends versioning, then fails on a bucket
 * that is not empty, leaving the old evidence unprotected; a key is scheduled for deletion and
 * everything it encrypted becomes unreadable.
 *
 * The escape hatch is the `--allow-drop <stack>:<address>` option of synth and plan, one per
 * bucket or key, exactly as the refusal prints it: it states that the resource is already out of
 * Terraform's state (`terraform state rm`), so Terraform leaves it in place. It is per address,
 * so it never acknowledges a drop the user has not seen, and it does not outlive the change:
 * once the new output is written, the drop is no longer a change and the option has nothing to
 * acknowledge (a value that matches no drop is a warning, a malformed one a problem).
 *
 * Runs on the new stacks in their temporary folder, before they replace `outdir`: a throw
 * leaves the previous output untouched. Only stacks present in both outputs are compared.
 *
 * @param outdir the output folder being replaced
 * @param newOutdir the temporary folder the new stacks were synthesized into
 * @param targets what the config says of each stack, for messages
 * @param allowDrop values of `--allow-drop`
 * @throws ConfigError listing every dropped, unacknowledged bucket and key
 */
export function droppedEvidence(outdir: string, newOutdir: string, targets: readonly ArchiveTarget[], allowDrop: readonly string[] = []): string[] {
  const problems: string[] = [];
  const drops: Drop[] = [];
  for (const value of allowDrop) {
    if (!ALLOW_DROP_VALUE.test(value)) {
      problems.push(
        `${ALLOW_DROP_FLAG}: is not <stack>:<address> of an archive bucket or a KMS key (got "${value}"). ` +
          `Pass the value the refusal printed, e.g. ${ALLOW_DROP_FLAG} flowlogs-dev:aws_s3_bucket.Archive_Bucket_DB32D495, once per bucket or key.`,
      );
    }
  }
  const stacksDir = path.join(newOutdir, "stacks");
  const stacks = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).sort() : [];
  for (const stack of stacks) {
    const previous = readPrevious(outdir, stack);
    const next = readPrevious(newOutdir, stack);
    if (!previous || !next) continue;
    const t = targets.find((x) => x.stack === stack);
    const label = t?.label ?? stack;
    const where = previousWhere(outdir, stack);
    const dir = chdir(path.join(outdir, "stacks", stack));
    const locks = previousLocks(previous);
    const days = t ? `${t.retentionDays} days` : "the archive's retention";
    for (const bucket of archiveBuckets(previous)) {
      const f = fate(bucket, next);
      if (!f.dropped) continue;
      const name = typeof bucket.values.bucket === "string" ? bucket.values.bucket : bucket.address;
      const lock = locks.find((l) => l.bucket === name);
      const addresses = [bucket.address, ...attachedTo(previous, bucket.address, BUCKET_CONFIG, "bucket")];
      const stateRm = `terraform -chdir=${dir} state rm ${addresses.join(" ")}`;
      const got = f.change ?? (t?.central !== undefined ? `central archive "${t.central}"` : t?.bucketName !== undefined ? `bucket ${t.bucketName} at another address` : "no archive bucket in this stack");
      const held = lock ? `locks in ${lock.mode} mode for ${lock.days} days` : "holds as its archive";
      const consequence = lock
        ? "AWS cannot turn Object Lock off and refuses to delete a bucket that holds locked versions; Terraform would first delete its policy, public access block, encryption and lifecycle and suspend its versioning, leaving the locked evidence unprotected."
        : "Terraform would destroy it: it deletes the TLS-only policy, public access block, encryption and lifecycle and suspends versioning first, then fails on a bucket that is not empty, leaving the old evidence unprotected.";
      drops.push({
        stack,
        address: bucket.address,
        problem:
          `${label}.${t?.paths.bucket ?? "archive"}: ${f.change ? "replaces" : "drops"} the archive bucket ${name} (${bucket.address}) of ${stack}, which ${where} ${held} (got ${got}). ${consequence} ` +
          `Keep the archive in this stack until its evidence has expired (${days}); or take it out of Terraform's state so that Terraform leaves it in place: ${stateRm}, then synthesize again with ${ALLOW_DROP_FLAG} ${stack}:${bucket.address}.`,
        warning: `warning: ${label}: drops the archive bucket ${name} (${bucket.address}) from ${stack}, acknowledged with ${ALLOW_DROP_FLAG}: Terraform leaves it and its evidence in place only if it is out of the state (${stateRm}); otherwise terraform plan shows its destroy.`,
      });
    }
    for (const key of resources(previous, "aws_kms_key")) {
      const f = fate(key, next);
      if (!f.dropped) continue;
      const addresses = [key.address, ...attachedTo(previous, key.address, ["aws_kms_alias"], "target_key_id")];
      const stateRm = `terraform -chdir=${dir} state rm ${addresses.join(" ")}`;
      const got = f.change ?? (t?.keyArn !== undefined ? `keyArn "${t.keyArn}"` : "no such key in this stack");
      const window = typeof key.values.deletion_window_in_days === "number" ? `its ${key.values.deletion_window_in_days}-day deletion window` : "its deletion window";
      drops.push({
        stack,
        address: key.address,
        problem:
          `${label}.${t?.paths.kms ?? "kms"}: ${f.change ? "replaces" : "drops"} the KMS key ${key.address} that ${stack} created in ${where} (got ${got}). ` +
          `Terraform would schedule its deletion: after ${window} every archived object and log event it encrypted can no longer be decrypted. ` +
          `Keep kms: { create: true } until what it encrypted has expired (${days}); or take the key out of Terraform's state so that Terraform leaves it in place: ${stateRm}, then synthesize again with ${ALLOW_DROP_FLAG} ${stack}:${key.address}.`,
        warning: `warning: ${label}: drops the KMS key ${key.address} from ${stack}, acknowledged with ${ALLOW_DROP_FLAG}: Terraform leaves the key in place only if it is out of the state (${stateRm}); otherwise terraform plan schedules its deletion.`,
      });
    }
  }
  const acknowledged = new Set(allowDrop);
  const warnings: string[] = [];
  for (const d of drops) {
    if (acknowledged.has(`${d.stack}:${d.address}`)) warnings.push(d.warning);
    else problems.push(d.problem);
  }
  for (const value of allowDrop) {
    if (ALLOW_DROP_VALUE.test(value) && !drops.some((d) => `${d.stack}:${d.address}` === value)) {
      warnings.push(`warning: ${ALLOW_DROP_FLAG} ${value}: this synth drops no archive bucket or KMS key of that address from the previous output, so there is nothing to acknowledge.`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return warnings;
}

