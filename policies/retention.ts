/**
 * Retention is policy, not a free number. CloudWatch Logs keeps flow logs for recent
 * incidents; the S3 archive keeps them as audit evidence. Each has three classes and nothing
 * else: no other day count, and never "never expire".
 */

export const CLOUDWATCH_RETENTION = Object.freeze({ small: 7, production: 14, large: 30 } as const);
export type CloudWatchRetentionClass = keyof typeof CLOUDWATCH_RETENTION;
export type CloudWatchRetentionDays = (typeof CLOUDWATCH_RETENTION)[CloudWatchRetentionClass];

export const ARCHIVE_RETENTION = Object.freeze({ internal: 90, "customer-facing": 180, "personal-data": 365 } as const);
export type ArchiveRetentionClass = keyof typeof ARCHIVE_RETENTION;
export type ArchiveRetentionDays = (typeof ARCHIVE_RETENTION)[ArchiveRetentionClass];

export const CLOUDWATCH_CLASSES = Object.keys(CLOUDWATCH_RETENTION) as CloudWatchRetentionClass[];
export const ARCHIVE_CLASSES = Object.keys(ARCHIVE_RETENTION) as ArchiveRetentionClass[];

/** The class whose day count is `days`, or undefined when no class has it. */
export function cloudWatchClassOfDays(days: number): CloudWatchRetentionClass | undefined {
  return CLOUDWATCH_CLASSES.find((c) => CLOUDWATCH_RETENTION[c] === days);
}

export function archiveClassOfDays(days: number): ArchiveRetentionClass | undefined {
  return ARCHIVE_CLASSES.find((c) => ARCHIVE_RETENTION[c] === days);
}

/** S3 storage classes a lifecycle may move archive objects into. */
export type ArchiveStorageClass = "STANDARD_IA" | "GLACIER_IR" | "GLACIER" | "DEEP_ARCHIVE";

/**
 * Minimum storage duration per class: an object removed earlier is billed for the full
 * duration, so moving into a class whose minimum outlasts the expiration only costs money.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-class-intro.html
 */
export const MINIMUM_STORAGE_DAYS: Readonly<Record<ArchiveStorageClass, number>> = Object.freeze({
  STANDARD_IA: 30,
  GLACIER_IR: 90,
  GLACIER: 90,
  DEEP_ARCHIVE: 180,
});

/**
 * Storage classes Athena reads in place. Athena skips objects in Glacier Flexible Retrieval
 * (GLACIER) and Deep Archive without an error, unless they were restored first and the table
 * reads restored objects: a query over those days silently returns less.
 * @see https://docs.aws.amazon.com/athena/latest/ug/querying-glacier.html
 */
export const ATHENA_READABLE_CLASSES: readonly string[] = Object.freeze(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"]);

/** Whether Athena reads an object of this storage class without a restore. */
export const athenaReadable = (storageClass: string): boolean => ATHENA_READABLE_CLASSES.includes(storageClass);

/**
 * How far the archive lifecycle may move objects: `queryable` keeps every object in a class
 * Athena reads for its whole retention; `cold` also allows Deep Archive, cheaper but out of
 * Athena's reach until restored.
 */
export const ARCHIVE_STORAGE = ["queryable", "cold"] as const;
export type ArchiveStorage = (typeof ARCHIVE_STORAGE)[number];

/**
 * The transition ladder the archive climbs as objects age. Standard-IA cannot be entered
 * before day 30 (an S3 lifecycle rule). Deep Archive is taken only with `cold` storage.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
 */
export const TRANSITION_LADDER: readonly { readonly days: number; readonly storageClass: ArchiveStorageClass }[] =
  Object.freeze([
    { days: 30, storageClass: "STANDARD_IA" },
    { days: 90, storageClass: "GLACIER_IR" },
    { days: 180, storageClass: "DEEP_ARCHIVE" },
  ]);

export interface Transition {
  readonly days: number;
  readonly storageClass: ArchiveStorageClass;
}

/** Whether an object entering `storageClass` on day `days` would stay its minimum before `expirationDays`. */
export function transitionFits(t: Transition, expirationDays: number): boolean {
  return t.days + MINIMUM_STORAGE_DAYS[t.storageClass] <= expirationDays;
}

/** Days of the retention during which objects sit in a class Athena does not read. */
export interface NotQueryable {
  /** The first day out of Athena's reach. */
  readonly fromDay: number;
  /** The last day, i.e. the expiration. */
  readonly toDay: number;
  readonly storageClass: string;
}

/**
 * The first transition into a class Athena does not read, as the days it covers; undefined
 * when every object stays readable until it expires.
 */
export function notQueryableDays(transitions: readonly { readonly days: number; readonly storageClass: string }[], expirationDays: number): NotQueryable | undefined {
  const cold = [...transitions].sort((a, b) => a.days - b.days).find((t) => !athenaReadable(t.storageClass) && t.days < expirationDays);
  return cold && { fromDay: cold.days, toDay: expirationDays, storageClass: cold.storageClass };
}

/**
 * The archive lifecycle for a retention: every ladder step that fits before expiration and,
 * unless `storage` is `cold`, keeps objects where Athena reads them.
 */
export function archiveLifecycle(
  expirationDays: ArchiveRetentionDays,
  storage: ArchiveStorage = "queryable",
): {
  readonly transitions: readonly Transition[];
  readonly expirationDays: number;
  readonly noncurrentExpirationDays: number;
  readonly abortIncompleteMultipartDays: number;
  /**
   * Remove delete markers that no longer hide any version: after expiration and the noncurrent
   * expiry, each expired object leaves one behind, which S3 otherwise keeps (and lists) forever.
   */
  readonly removeExpiredDeleteMarkers: true;
  /** The days out of Athena's reach; undefined with `queryable` storage. */
  readonly notQueryable?: NotQueryable;
} {
  const transitions = TRANSITION_LADDER.filter((t) => transitionFits(t, expirationDays) && (storage === "cold" || athenaReadable(t.storageClass)));
  return {
    transitions,
    expirationDays,
    // A deleted or overwritten object is kept one week so an operator mistake can be undone.
    noncurrentExpirationDays: 7,
    abortIncompleteMultipartDays: 7,
    removeExpiredDeleteMarkers: true,
    notQueryable: notQueryableDays(transitions, expirationDays),
  };
}

/**
 * Object Lock retention modes. COMPLIANCE: no one, the account's root user included, can delete
 * a locked object version or shorten its retention until it ends. GOVERNANCE: principals with
 * `s3:BypassGovernanceRetention` can, by asking for it explicitly.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
export const OBJECT_LOCK_MODES = ["COMPLIANCE", "GOVERNANCE"] as const;
export type ObjectLockMode = (typeof OBJECT_LOCK_MODES)[number];

/**
 * The default retention of an archive's Object Lock: the archive class's days, the same as the
 * lifecycle's expiration. AWS keeps lifecycle rules working on locked objects (they may place
 * delete markers) but never lets a lifecycle delete a locked version. With the lock equal to the
 * expiration, the current version's delete marker comes on the day its lock ends, and the
 * noncurrent-version expiry (days after that marker) deletes it only after the lock: the
 * lifecycle never claims a deletion the lock forbids on the path every delivered object takes.
 * A version someone deletes or overwrites early stays locked until its retention ends, and the
 * same rule removes it then. A noncurrent expiry as long as the retention would avoid even that
 * but would keep every object twice its retention, personal data included.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
 */
export const objectLockDays = (expirationDays: ArchiveRetentionDays): number => expirationDays;

/**
 * Why an Object Lock of `lockDays` does not fit a lifecycle that expires current versions at
 * `expirationDays`; undefined when it fits. A lock longer than the expiration means the
 * lifecycle claims to remove evidence that the lock keeps.
 */
export function objectLockConflict(lockDays: number, expirationDays: number | undefined): string | undefined {
  if (expirationDays === undefined) return `Object Lock keeps versions ${lockDays} days but no lifecycle rule expires them`;
  if (lockDays > expirationDays) return `Object Lock keeps versions ${lockDays} days but the lifecycle expires them at day ${expirationDays}: it claims deletions the lock forbids`;
  return undefined;
}
