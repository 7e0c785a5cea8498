/**
 * AWS's tag rules, and the tags the kit itself puts on resources, so that an environment's tags
 * are checked at synth against what every resource will actually carry.
 * @see https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
 * @see https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html
 */
export const TAG_LIMITS = Object.freeze({
  /** User tags per resource; tags whose key starts with `aws:` are AWS's and do not count. */
  perResource: 50,
  /** Unicode characters (code points), not UTF-16 units. */
  keyLength: 128,
  valueLength: 256,
});

/**
 * The characters every tagging service accepts (IAM's pattern; EC2 alone would take more):
 * letters, digits, white space and `_ . : / = + - @`. The environment's tags reach IAM roles,
 * KMS keys, S3 buckets and log groups through the provider's default tags, so the strictest rule wins.
 */
export const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** AWS keeps the `aws:` prefix, in any letter case, for its own tags. */
export const RESERVED_TAG_PREFIX = /^aws:/i;

/**
 * The tags the kit adds, by where they land. Kept in step with stacks/environment-stack.ts
 * (configureStack's default tags), stacks/incident-stack.ts (its extra default tags),
 * modules/flow-logs.ts (Name) and modules/athena.ts (NOT_ARCHIVE_TAG); a test synthesizes both
 * stacks and compares.
 */
export const KIT_TAGS = Object.freeze({
  /** On every resource of every stack (provider default tags). */
  everyResource: ["Owner", "ManagedBy"],
  /** On every resource of an incident stack (provider default tags). */
  incidentStack: ["Incident", "Ticket", "Reason", "Expires"],
  /** On single resources: each flow log's Name, the Athena results bucket's marker. */
  someResources: ["Name", "FlowlogKitRole"],
} as const);

/** Every tag key the kit sets; a user tag with one of these keys would be overwritten. */
export const KIT_TAG_KEYS: readonly string[] = Object.freeze([...KIT_TAGS.everyResource, ...KIT_TAGS.incidentStack, ...KIT_TAGS.someResources]);

/**
 * The most tags the kit puts on one resource: an incident stack's flow log carries the default
 * tags of every stack and of the incident, plus its Name.
 */
export const KIT_TAGS_PER_RESOURCE = KIT_TAGS.everyResource.length + KIT_TAGS.incidentStack.length + 1;

/** How many tags an environment may add so that no resource exceeds AWS's limit. */
export const MAX_ENVIRONMENT_TAGS = TAG_LIMITS.perResource - KIT_TAGS_PER_RESOURCE;

/** Length as AWS counts it: Unicode characters. */
export const tagLength = (text: string): number => [...text].length;
