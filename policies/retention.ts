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
 * The transition ladder the archive climbs as objects age. Standard-IA cannot be entered
 * before day 30 (an S3 lifecycle rule).
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

/** The archive lifecycle for a retention: every ladder step that fits before expiration. */
export function archiveLifecycle(expirationDays: ArchiveRetentionDays): {
  readonly transitions: readonly Transition[];
  readonly expirationDays: number;
  readonly noncurrentExpirationDays: number;
  readonly abortIncompleteMultipartDays: number;
} {
  return {
    transitions: TRANSITION_LADDER.filter((t) => transitionFits(t, expirationDays)),
    expirationDays,
    // A deleted or overwritten object is kept one week so an operator mistake can be undone.
    noncurrentExpirationDays: 7,
    abortIncompleteMultipartDays: 7,
  };
}
