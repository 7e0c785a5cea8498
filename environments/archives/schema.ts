import { z } from "zod";
import { ARCHIVE_STACK_CONTROLS } from "../../policies/controls";
import { awsRegion } from "../../policies/regions";
import type { ArchiveRetentionClass, ArchiveRetentionDays, ObjectLockMode } from "../../policies/retention";
import { ACCOUNT_PATTERN, ENV_NAME_PATTERN, FIX, SHARED_FIELDS } from "../schema";

const m = (problem: string, fix: string) => `${problem}${FIX}${fix}`;
/** A message for a value that is either missing or wrong (an unknown key is left to the loader). */
const msg =
  (problem: string, fix: string) =>
  (issue: { input?: unknown; code?: string }): string | undefined =>
    issue.code === "unrecognized_keys" ? undefined : issue.input === undefined ? m("is required", fix) : m(problem, fix);

const { region, tags, owner, kms, backend, archiveRetention, objectLock, controlException, BUCKET_PATTERN, KMS_KEY_ARN } = SHARED_FIELDS;


/**
 * An AWS Organizations id.
 * @see https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html
 */
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

const account = (what: string) =>
  z.string({ error: msg("must be a string", `Quote the 12-digit account id of ${what}.`) }).regex(ACCOUNT_PATTERN, {
    error: m("is not a 12-digit AWS account id", "Write the account id as a string of exactly 12 digits."),
  });

/** The stack of a central archive. */
export const archiveStackName = (name: string) => `flowlogs-archive-${name}`;
/** The default bucket of a central archive. */
export const defaultArchiveBucket = (a: { name: string; account: string; region: string }) => `flowlogs-archive-${a.name}-${a.account}-${a.region}`;

/**
 * A central archive: one bucket, in a log-archive account, that the S3 flow logs of several
 * accounts deliver to; synthesized as its own stack `flowlogs-archive-<name>`. Environments
 * choose it with `archive: { central: "<name>" }`.
 */
export const ArchiveSchema = z
  .strictObject({
    /** Archive name; the stack is `flowlogs-archive-<name>`, environments name it in `archive.central`. */
    name: z.string({ error: msg("must be a string", 'Name the archive, e.g. "log-archive".') }).regex(ENV_NAME_PATTERN, {
      error: m("is not a valid archive name", "Use 2-20 lowercase letters, digits and hyphens, starting with a letter."),
    }),
    /** The log-archive account that owns the bucket and its key. */
    account: account("the log-archive account"),
    /** @see policies/regions.ts */
    region,
    /** The team accountable for the archive; becomes the Owner tag. */
    owner,
    /** Tags on every resource of the archive stack (the same rules as an environment's). @default {} */
    tags: tags.default({}),
    /**
     * The archive class: objects expire after its days, and Object Lock keeps them that long.
     * Every environment that delivers here must have the same `retention.archive`.
     */
    retention: archiveRetention,
    /**
     * S3 Object Lock with a default retention of the class's days. COMPLIANCE: no one, root
     * included, can delete a delivered object version before then. AWS cannot turn it off.
     * @default - none
     * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
     */
    objectLock: objectLock.optional(),
    /**
     * The accounts whose flow logs may be delivered here, each under its own
     * `AWSLogs/<account>/` prefix. Give this or organizationId.
     */
    sourceAccounts: z
      .array(account("a source account"), { error: msg("must be a list of account ids", 'Write e.g. ["410987654323"].') })
      .min(1, { error: m("is empty: no account could deliver here", "List at least one account, or give organizationId instead.") })
      .optional(),
    /**
     * Every account of this AWS Organization may deliver here (aws:SourceOrgID). Give this or
     * sourceAccounts.
     * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceorgid
     */
    organizationId: z
      .string({ error: msg("must be an organization id", 'Write e.g. "o-a1b2c3d4e5".') })
      .regex(ORGANIZATION_ID, { error: m("is not an AWS Organizations id", 'Write "o-" followed by 10 to 32 lowercase letters or digits.') })
      .optional(),
    /** @default { create: true } */
    kms: kms.default({ create: true }),
    /** @default { type: "local" } */
    backend: backend.default({ type: "local" }),
    /** @default "flowlogs-archive-<name>-<account>-<region>" */
    bucketName: z.string().regex(BUCKET_PATTERN, { error: m("is not a valid S3 bucket name", "Use 3-63 lowercase letters, digits, dots and hyphens.") }).optional(),
    /** Approved exceptions to the controls that run on the archive stack (ARCHIVE_STACK_CONTROLS). @default [] */
    exceptions: z.array(controlException).default([]),
  })
  .superRefine((a, ctx) => {
    if (a.sourceAccounts === undefined && a.organizationId === undefined) {
      ctx.addIssue({ code: "custom", path: ["sourceAccounts"], message: m("is required when organizationId is not given: no account could deliver here", 'List the accounts, e.g. sourceAccounts: ["410987654323"], or give organizationId: "o-...".') });
    }
    if (a.sourceAccounts !== undefined && a.organizationId !== undefined) {
      ctx.addIssue({ code: "custom", path: ["organizationId"], message: m("is given together with sourceAccounts", "Give one: sourceAccounts for a list of accounts, organizationId for every account of the organization.") });
    }
    const seen = new Map<string, number>();
    a.sourceAccounts?.forEach((acct, i) => {
      const prev = seen.get(acct);
      if (prev !== undefined) ctx.addIssue({ code: "custom", path: ["sourceAccounts", i], message: m(`is already listed at sourceAccounts[${prev}]`, "List each account once.") });
      seen.set(acct, i);
    });
    a.exceptions.forEach((e, i) => {
      if (typeof e.control === "string" && !ARCHIVE_STACK_CONTROLS.includes(e.control)) {
        ctx.addIssue({ code: "custom", path: ["exceptions", i, "control"], message: m("is not a control that runs on an archive stack", `Use one of ${ARCHIVE_STACK_CONTROLS.map((c) => `"${c}"`).join(", ")}.`) });
      }
    });
    if (a.bucketName === undefined && typeof a.name === "string" && typeof a.region === "string") {
      const name = defaultArchiveBucket(a);
      if (name.length > 63) {
        ctx.addIssue({ code: "custom", path: ["name"], message: m(`makes the default bucket name "${name}" ${name.length} characters long, over S3's 63`, "Choose a shorter name, or give bucketName.") });
      }
    }
    if ("keyArn" in a.kms) {
      const match = KMS_KEY_ARN.exec(a.kms.keyArn);
      const partition = awsRegion(a.region)?.partition;
      if (match && (match[2] !== a.region || match[3] !== a.account)) {
        ctx.addIssue({ code: "custom", path: ["kms", "keyArn"], message: m(`is not a key of ${a.account} in ${a.region}`, "S3 default encryption needs a key in the archive's own account and region.") });
      } else if (match && partition && match[1] !== partition) {
        ctx.addIssue({ code: "custom", path: ["kms", "keyArn"], message: m(`is an ARN of the "${match[1]}" partition, but ${a.region} is in "${partition}"`, `Write it as arn:${partition}:kms:${a.region}:${a.account}:key/<key-id>.`) });
      }
    }
  });

/** What an archive file contains (before defaults). */
export type ArchiveInput = z.input<typeof ArchiveSchema>;
type Parsed = z.output<typeof ArchiveSchema>;

/** A validated, defaulted, frozen central archive. */
export interface Archive extends Omit<Parsed, "retention" | "objectLock" | "bucketName" | "sourceAccounts"> {
  readonly retention: { readonly class: ArchiveRetentionClass; readonly days: ArchiveRetentionDays };
  readonly objectLock?: { readonly mode: ObjectLockMode };
  /** Undefined when organizationId is given. */
  readonly sourceAccounts?: readonly string[];
  readonly bucketName: string;
  /** The Terraform stack name, `flowlogs-archive-<name>`. */
  readonly stackName: string;
  /** The file, for messages: `archives/<file>.ts`. */
  readonly file: string;
}
