import { z } from "zod";
import { LogFormat, LogFormatError } from "../functions/flowlog/format";
import { DEFAULT_THRESHOLDS, type DetectorThresholds } from "../functions/detect/thresholds";
import { RULES } from "../functions/detect/findings";
import { parsePrefix } from "../functions/detect/prefixes";
import { CONTROL_IDS } from "../policies/controls";
import { RBAC_ROLES } from "../policies/rbac";
import { awsRegion, nearestRegions, PINNED_PROVIDER } from "../policies/regions";
import { scheduleProblem } from "../policies/schedule";
import { KIT_TAG_KEYS, KIT_TAGS_PER_RESOURCE, MAX_ENVIRONMENT_TAGS, RESERVED_TAG_PREFIX, TAG_CHARACTERS, TAG_LIMITS, tagLength } from "../policies/tags";
import {
  ARCHIVE_CLASSES,
  ARCHIVE_RETENTION,
  ARCHIVE_STORAGE,
  archiveClassOfDays,
  ArchiveRetentionClass,
  ArchiveRetentionDays,
  CLOUDWATCH_CLASSES,
  CLOUDWATCH_RETENTION,
  cloudWatchClassOfDays,
  CloudWatchRetentionClass,
  CloudWatchRetentionDays,
  OBJECT_LOCK_MODES,
  ObjectLockMode,
} from "../policies/retention";
import type { Archive } from "./archives/schema";

/**
 * Flow logs AWS allows on one VPC, subnet or network interface (AWS documents no such quota for
 * transit gateways, so the kit does not apply it there).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-flow-logs
 */
export const MAX_FLOW_LOGS_PER_RESOURCE = 2;

/**
 * Separates the problem from the fix inside a schema message; the loader formats both as
 * `<env>.<path>: <problem> (got <value>). <fix>`.
 */
export const FIX = "\u241f";
const m = (problem: string, fix: string) => `${problem}${FIX}${fix}`;

/**
 * A message for a value that is either missing or wrong. An unknown key inside an object is
 * left to the loader's message, which names the key (undefined passes the issue on).
 */
const msg =
  (problem: string, fix: string) =>
  (issue: { input?: unknown; code?: string }): string | undefined =>
    issue.code === "unrecognized_keys" ? undefined : issue.input === undefined ? m("is required", fix) : m(problem, fix);

const list = (values: readonly (string | number)[]) => values.map((v) => JSON.stringify(v)).join(", ");

const idPattern = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
/** The id prefix of each scope resource: `tgw-0123...` for a transit gateway, `tgw-attach-0123...` for an attachment. */
const ID_PREFIXES = Object.freeze({ vpc: "vpc", subnet: "subnet", eni: "eni", "transit-gateway": "tgw", "transit-gateway-attachment": "tgw-attach" });
export const ID_PATTERNS = Object.freeze({
  vpc: idPattern("vpc"),
  subnet: idPattern("subnet"),
  eni: idPattern("eni"),
  "transit-gateway": idPattern("tgw"),
  "transit-gateway-attachment": idPattern("tgw-attach"),
});
const ANY_ID = /^(vpc|subnet|eni|tgw|tgw-attach)-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** A Firehose stream ARN: partition, Region, account, name. */
const FIREHOSE_ARN = /^arn:(aws|aws-cn|aws-us-gov):firehose:([a-z0-9-]+):(\d{12}):deliverystream\/([A-Za-z0-9_.-]{1,64})$/;
/** An IAM role ARN: partition, account, name (after any path). */
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
/**
 * The name AWS requires of the destination-account role for cross-account Firehose delivery.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
 */
const FIREHOSE_ROLE_PREFIX = "AWSLogDeliveryFirehoseCrossAccountRole";
export const ACCOUNT_PATTERN = /^\d{12}$/;
export const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,18}[a-z0-9]$/;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A key ARN: a single-Region key id (a UUID) or a multi-Region one (`mrk-` and 32 hex digits). */
const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/**
 * A Region of policies/regions.ts. An environment's Region must also be one the pinned provider
 * knows; a backend's Region is Terraform's concern, not the provider's.
 */
const region = (forProvider: boolean) =>
  z.string({ error: msg("must be a string", 'Use a region code such as "eu-west-1".') }).superRefine((value, ctx) => {
    const known = awsRegion(value);
    if (!known) {
      const near = nearestRegions(value);
      const quoted = near.map((r) => `"${r}"`);
      const nearest = quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}` : quoted[0];
      const fix = nearest ? `Use ${nearest}, the nearest region code${near.length > 1 ? "s" : ""}; policies/regions.ts lists every region.` : 'Use a region code such as "eu-west-1"; policies/regions.ts lists every region.';
      ctx.addIssue({ code: "custom", message: m("is not an AWS region", fix) });
    } else if (forProvider && "provider" in known) {
      ctx.addIssue({
        code: "custom",
        message: m(
          `is ${known.name}, which the pinned AWS provider (${PINNED_PROVIDER}) does not know: terraform plan would stop with "invalid AWS Region"`,
          "Use another region until the kit moves to a provider that knows it (policies/regions.ts).",
        ),
      });
    }
  });

const TAG_FIX_CHARACTERS = "Use letters, digits, spaces and _ . : / = + - @";
/** Characters of `text` that AWS refuses in tags, each once, for the message. */
const badTagCharacters = (text: string) => list([...new Set([...text].filter((c) => !TAG_CHARACTERS.test(c)))]);

/**
 * The environment's tags, which the provider puts on every resource next to the kit's own.
 * Checked against AWS's rules for every resource type the kit creates, so that apply does not
 * fail half-way on the first IAM role or KMS key that refuses them.
 * @see https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
 */
const tags = z
  .record(z.string(), z.string({ error: msg("must be a string", 'Quote the tag value, e.g. "1234".') }), {
    error: msg("must map tag names to strings", 'Write e.g. { CostCenter: "1234" }.'),
  })
  .superRefine((value, ctx) => {
    const keys = Object.keys(value);
    if (keys.length > MAX_ENVIRONMENT_TAGS) {
      ctx.addIssue({
        code: "custom",
        params: { gotText: `${keys.length} tags` },
        message: m(
          `has ${keys.length} tags; with the kit's own (up to ${KIT_TAGS_PER_RESOURCE} on one resource) a resource would carry ${keys.length + KIT_TAGS_PER_RESOURCE}, over AWS's limit of ${TAG_LIMITS.perResource}`,
          `Keep at most ${MAX_ENVIRONMENT_TAGS} tags here.`,
        ),
      });
    }
    const kitKeys = new Map(KIT_TAG_KEYS.map((k) => [k.toLowerCase(), k]));
    const seen = new Map<string, string>();
    for (const key of keys) {
      const tagValue = value[key]!;
      const keyIssue = (problem: string, fix: string) => ctx.addIssue({ code: "custom", path: [key], params: { got: key }, message: m(problem, fix) });
      const valueIssue = (problem: string, fix: string) => ctx.addIssue({ code: "custom", path: [key], message: m(problem, fix) });
      if (key.length === 0) keyIssue("is an empty tag key", "Give the tag a key of 1 to 128 characters.");
      if (tagLength(key) > TAG_LIMITS.keyLength) keyIssue(`is a tag key of ${tagLength(key)} characters, over AWS's ${TAG_LIMITS.keyLength}`, `Shorten the key to at most ${TAG_LIMITS.keyLength} characters.`);
      if (RESERVED_TAG_PREFIX.test(key)) keyIssue('is a tag key with the "aws:" prefix, which AWS keeps for its own tags', 'Choose a key without "aws:" (in any letter case).');
      if (!TAG_CHARACTERS.test(key)) keyIssue(`is a tag key with characters AWS does not allow: ${badTagCharacters(key)}`, `${TAG_FIX_CHARACTERS}.`);
      const kit = kitKeys.get(key.toLowerCase());
      if (kit) {
        keyIssue(
          kit === key ? "is a tag the kit sets itself, so this value would be overwritten" : `differs from the kit's own "${kit}" tag only in letter case, which IAM does not tell apart`,
          kit === "Owner" ? "Remove it: the Owner tag comes from owner." : `Remove it or choose another key; the kit sets ${list(KIT_TAG_KEYS)}.`,
        );
      }
      const twin = seen.get(key.toLowerCase());
      if (twin !== undefined) keyIssue(`differs from the tag "${twin}" only in letter case, which IAM does not tell apart`, "Keep one spelling.");
      seen.set(key.toLowerCase(), key);
      if (tagLength(tagValue) > TAG_LIMITS.valueLength) valueIssue(`is a tag value of ${tagLength(tagValue)} characters, over AWS's ${TAG_LIMITS.valueLength}`, `Shorten the value to at most ${TAG_LIMITS.valueLength} characters.`);
      if (RESERVED_TAG_PREFIX.test(tagValue)) valueIssue('is a tag value with the "aws:" prefix, which AWS keeps for its own tags', 'Write the value without "aws:" (in any letter case).');
      if (!TAG_CHARACTERS.test(tagValue)) valueIssue(`is a tag value with characters AWS does not allow: ${badTagCharacters(tagValue)}`, `${TAG_FIX_CHARACTERS}.`);
    }
  });

/** The owning team, which becomes the Owner tag on every resource: a tag value by AWS's rules. */
const owner = z.string({ error: msg("must be a string", "Name the owning team.") }).superRefine((value, ctx) => {
  const fix = 'Name the owning team, e.g. "platform-team"';
  if (value.trim() === "") ctx.addIssue({ code: "custom", message: m("is empty", `${fix}.`) });
  if (tagLength(value) > TAG_LIMITS.valueLength) {
    ctx.addIssue({ code: "custom", message: m(`is ${tagLength(value)} characters; it becomes the Owner tag, whose value AWS limits to ${TAG_LIMITS.valueLength}`, `${fix}, in at most ${TAG_LIMITS.valueLength} characters.`) });
  }
  if (RESERVED_TAG_PREFIX.test(value)) ctx.addIssue({ code: "custom", message: m('starts with "aws:", which AWS keeps for its own tags (it becomes the Owner tag)', `${fix}, without "aws:".`) });
  if (!TAG_CHARACTERS.test(value)) {
    ctx.addIssue({ code: "custom", message: m(`has characters AWS does not allow in a tag value (it becomes the Owner tag): ${badTagCharacters(value)}`, `${TAG_FIX_CHARACTERS}.`) });
  }
});

const cloudWatchRetention = z
  .union([z.string(), z.number()], { error: msg("must be a retention class or day count", `Use one of ${list(CLOUDWATCH_CLASSES)} (${list(Object.values(CLOUDWATCH_RETENTION))} days).`) })
  .superRefine((value, ctx) => {
    const fix = `Use one of ${list(CLOUDWATCH_CLASSES)}, i.e. ${list(Object.values(CLOUDWATCH_RETENTION))} days; keep longer history in the S3 archive.`;
    if (typeof value === "string" && !CLOUDWATCH_CLASSES.includes(value as CloudWatchRetentionClass)) {
      ctx.addIssue({ code: "custom", message: m("unknown CloudWatch retention class", fix) });
    } else if (typeof value === "number" && (value === 0 || value < 0)) {
      ctx.addIssue({ code: "custom", message: m("never-expire is not allowed: CloudWatch Logs is for recent incidents", fix) });
    } else if (typeof value === "number" && !cloudWatchClassOfDays(value)) {
      ctx.addIssue({ code: "custom", message: m("is not a CloudWatch retention day count of the policy", fix) });
    }
  })
  .transform((value) => {
    const cls = typeof value === "string" ? (value as CloudWatchRetentionClass) : cloudWatchClassOfDays(value)!;
    return { class: cls, days: CLOUDWATCH_RETENTION[cls] as CloudWatchRetentionDays };
  });

const archiveRetention = z
  .union([z.string(), z.number()], { error: msg("must be a retention class or day count", `Use one of ${list(ARCHIVE_CLASSES)} (${list(Object.values(ARCHIVE_RETENTION))} days).`) })
  .superRefine((value, ctx) => {
    const fix = `Use one of ${list(ARCHIVE_CLASSES)}, i.e. ${list(Object.values(ARCHIVE_RETENTION))} days.`;
    if (typeof value === "string" && !ARCHIVE_CLASSES.includes(value as ArchiveRetentionClass)) {
      ctx.addIssue({ code: "custom", message: m("unknown S3 archive retention class", fix) });
    } else if (typeof value === "number" && value <= 0) {
      ctx.addIssue({ code: "custom", message: m("never-expire is not allowed: audit evidence has a defined retention", fix) });
    } else if (typeof value === "number" && !archiveClassOfDays(value)) {
      ctx.addIssue({ code: "custom", message: m("is not an S3 archive retention day count of the policy", fix) });
    }
  })
  .transform((value) => {
    const cls = typeof value === "string" ? (value as ArchiveRetentionClass) : archiveClassOfDays(value)!;
    return { class: cls, days: ARCHIVE_RETENTION[cls] as ArchiveRetentionDays };
  });

const RESOURCES = ["vpc", "subnet", "eni", "transit-gateway", "transit-gateway-attachment"] as const;
const DESTINATIONS = ["cloudwatch", "s3", "firehose"] as const;
const TGW_RESOURCES: readonly string[] = ["transit-gateway", "transit-gateway-attachment"];
const isTransitGateway = (resource: string) => TGW_RESOURCES.includes(resource);
const TRAFFIC_TYPES = ["ACCEPT", "REJECT", "ALL"] as const;

const s3Options = z.strictObject({
  /** @default "plain-text" */
  fileFormat: z
    .enum(["plain-text", "parquet"], { error: msg("is not a flow-log file format", 'Use "plain-text" or "parquet".') })
    .default("plain-text"),
  /** Hive-compatible `key=value` prefixes, which Athena partition projection reads directly. @default false */
  hiveCompatiblePartitions: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(false),
  /** Partition by hour instead of by day. @default false */
  perHourPartition: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(false),
});

/**
 * The Firehose stream a scope streams to (for a SIEM), in the scope's Region. A stream of
 * another account needs that account's role for cross-account delivery; the kit creates the
 * source-account role that assumes it.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-firehose.html
 */
const firehoseOptions = z.strictObject(
  {
    /** The stream's ARN: `arn:aws:firehose:<region>:<account>:deliverystream/<name>`. */
    deliveryStreamArn: z.string({ error: msg("must be a Firehose stream ARN", 'Write e.g. "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem-flow-logs".') }).regex(FIREHOSE_ARN, {
      error: m("is not a Firehose stream ARN", "Use arn:<partition>:firehose:<region>:<account>:deliverystream/<name>."),
    }),
    /**
     * For a stream in another account: the role in that account, named
     * `AWSLogDeliveryFirehoseCrossAccountRole...`, that lets log delivery tag the stream. It must
     * trust the source-account role the kit creates (`flowlogs-<env>-firehose`).
     * @default - none; the stream must be in the environment's account
     * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
     */
    crossAccountRoleArn: z
      .string({ error: msg("must be an IAM role ARN", `Write e.g. "arn:aws:iam::210987654321:role/${FIREHOSE_ROLE_PREFIX}".`) })
      .regex(ROLE_ARN, { error: m("is not an IAM role ARN", `Use arn:<partition>:iam::<account>:role/${FIREHOSE_ROLE_PREFIX}<suffix>.`) })
      .optional(),
  },
  { error: msg("must give the Firehose stream", 'Write { deliveryStreamArn: "arn:aws:firehose:..." }.') },
);

const scope = z
  .strictObject({
    /** What the flow log is attached to. */
    resource: z.enum(RESOURCES, { error: msg("is not a flow-log scope", `Use one of ${list(RESOURCES)}.`) }),
    /** The VPC, subnet, ENI, transit gateway or attachment id, e.g. vpc-0a1b2c3d4e5f60718 or tgw-attach-0a1b2c3d4e5f60718. */
    id: z.string({ error: msg("must be a resource id string", "Write the id as a string, e.g. \"vpc-0a1b2c3d4e5f60718\".") }).regex(ANY_ID, {
      error: m("is not a VPC, subnet, ENI, transit gateway or attachment id", "Use vpc-, subnet-, eni-, tgw- or tgw-attach- followed by 8 or 17 lowercase hex digits."),
    }),
    /**
     * Which traffic to log. Not for a transit gateway or attachment: AWS logs all of its traffic
     * and refuses a traffic type there.
     * @default "ALL" (for VPC, subnet and ENI scopes)
     * @see https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html
     */
    trafficType: z.enum(TRAFFIC_TYPES, { error: msg("is not a traffic type", `Use one of ${list(TRAFFIC_TYPES)}.`) }).optional(),
    /**
     * Maximum aggregation interval in seconds. Nitro instances always aggregate at 60 s or less;
     * transit gateways only at 60.
     * @default 600 (60 for a transit gateway or attachment)
     * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-aggregation-interval
     * @see https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-api-cli.html
     */
    aggregationSeconds: z.union([z.literal(60), z.literal(600)], { error: msg("is not an aggregation interval AWS accepts", "Use 60 or 600.") }).optional(),
    destinations: z
      .array(z.enum(DESTINATIONS, { error: msg("is not a destination", `Use ${list(DESTINATIONS)}.`) }), {
        error: msg("must be a list of destinations", 'Write e.g. ["cloudwatch", "s3"].'),
      })
      .superRefine((value, ctx) => {
        if (value.length === 0) ctx.addIssue({ code: "custom", message: m("a scope needs at least one destination", `Add ${list(DESTINATIONS)}.`) });
        if (new Set(value).size !== value.length) ctx.addIssue({ code: "custom", message: m("lists a destination twice", "List each destination once.") });
      }),
    /**
     * "default" for the AWS default format (a transit gateway's has every field of versions 2
     * to 6, in its own order), or field names from the catalog that AWS accepts for the resource.
     * @default "default"
     */
    logFormat: z
      .union([z.literal("default"), z.array(z.string())], {
        error: msg('must be "default" or a list of field names', 'Write "default" or e.g. ["version", "srcaddr", "dstaddr"].'),
      })
      .default("default"),
    /** Options of the S3 flow log; only valid with an S3 destination. */
    s3: s3Options.optional(),
    /** The stream of the Firehose destination; required with it, only valid with it. */
    firehose: firehoseOptions.optional(),
    /**
     * The Region of the VPC, subnet, ENI or transit gateway; the environment stack adds a
     * provider for it. A CloudWatch destination gets a log group (and, when the kit creates
     * keys, a key) in that Region: CloudWatch Logs takes flow logs only into a group of their
     * own Region, encrypted with a key of that Region. S3 delivery goes to the environment's
     * archive across Regions: AWS sets no Region on the bucket of a flow log (its ARN has
     * none), and writes each Region's files under their own `AWSLogs/<account>/vpcflowlogs/<region>/`
     * prefix; the bucket and key policies name every Region's log delivery (`aws:SourceArn`
     * is `arn:aws:logs:<region>:<account>:*`). A Firehose stream must be in this Region.
     * @default - the environment's region
     * @see policies/regions.ts
     * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
     * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
     */
    region: region(true).optional(),
    /**
     * The VPC a subnet or ENI scope belongs to. Required for a subnet or ENI scope that delivers
     * to CloudWatch when a VPC scope of the environment does too: if this scope is inside that
     * VPC, its records would reach the shared log group twice (double counts in alarms, saved
     * queries and detectors), so the kit sends it to a log group of its own,
     * `/flowlog-kit/<env>/detail/<id>`, with its own saved queries.
     * @default - unknown; no overlap is assumed
     */
    vpc: z
      .string({ error: msg("must be a VPC id string", 'Write the VPC id, e.g. "vpc-0a1b2c3d4e5f60718".') })
      .regex(ID_PATTERNS.vpc, { error: m("is not a VPC id", 'Use "vpc-" followed by 8 or 17 lowercase hex digits.') })
      .optional(),
  })
  .superRefine((value, ctx) => {
    const tgw = isTransitGateway(value.resource);
    if (value.vpc !== undefined && value.resource === "vpc") {
      ctx.addIssue({ code: "custom", path: ["vpc"], message: m("is only for subnet and ENI scopes: a VPC scope is its own VPC", "Remove vpc from this scope.") });
    }
    if (value.vpc !== undefined && tgw) {
      ctx.addIssue({ code: "custom", path: ["vpc"], message: m(`is only for subnet and ENI scopes: a ${value.resource} is not inside a VPC`, "Remove vpc from this scope.") });
    }
    // Only a well-formed id of the wrong kind; a malformed one is already reported on the field.
    if (ANY_ID.test(value.id) && !ID_PATTERNS[value.resource].test(value.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["id"],
        message: m(`is not a ${value.resource} id`, `Use "${ID_PREFIXES[value.resource]}-" followed by 8 or 17 lowercase hex digits.`),
      });
    }
    if (tgw && value.trafficType !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["trafficType"],
        message: m(`is set on a ${value.resource}, whose flow logs always capture all traffic: AWS refuses a traffic type there`, "Remove trafficType from this scope."),
      });
    }
    if (tgw && value.aggregationSeconds === 600) {
      ctx.addIssue({
        code: "custom",
        path: ["aggregationSeconds"],
        message: m(`is 600 on a ${value.resource}, whose flow logs AWS aggregates at 60 seconds only`, "Write 60, or leave aggregationSeconds out."),
      });
    }
    if (value.firehose && !value.destinations.includes("firehose")) {
      ctx.addIssue({ code: "custom", path: ["firehose"], message: m("names a Firehose stream for a scope without a Firehose destination", 'Add "firehose" to destinations, or remove the firehose options.') });
    }
    if (!value.firehose && value.destinations.includes("firehose")) {
      ctx.addIssue({
        code: "custom",
        path: ["firehose"],
        params: { gotText: "nothing" },
        message: m("is required with a Firehose destination", 'Name the stream: firehose: { deliveryStreamArn: "arn:aws:firehose:<region>:<account>:deliverystream/<name>" }.'),
      });
    }
    const stream = value.firehose ? FIREHOSE_ARN.exec(value.firehose.deliveryStreamArn) : null;
    const role = value.firehose?.crossAccountRoleArn ? ROLE_ARN.exec(value.firehose.crossAccountRoleArn) : null;
    if (stream && role && role[2] !== stream[3]) {
      ctx.addIssue({
        code: "custom",
        path: ["firehose", "crossAccountRoleArn"],
        message: m(`is a role of account ${role[2]}, but the stream is in account ${stream[3]}`, `Use the ${FIREHOSE_ROLE_PREFIX}... role of the stream's account ${stream[3]}.`),
      });
    } else if (role && !role[3]!.startsWith(FIREHOSE_ROLE_PREFIX)) {
      ctx.addIssue({
        code: "custom",
        path: ["firehose", "crossAccountRoleArn"],
        message: m(`is a role named "${role[3]}", but AWS delivers across accounts only through a role whose name starts with ${FIREHOSE_ROLE_PREFIX}`, `Create (or name) the destination-account role ${FIREHOSE_ROLE_PREFIX}<suffix> and give its ARN.`),
      });
    }
    if (value.s3 && !value.destinations.includes("s3")) {
      ctx.addIssue({
        code: "custom",
        path: ["s3"],
        message: m(
          `S3 options (${value.s3.fileFormat}) given for a scope without an S3 destination`,
          'Add "s3" to destinations, or remove the s3 options: CloudWatch Logs takes no file format or partitioning.',
        ),
      });
    }
  })
  .transform((value, ctx) => {
    const tgw = isTransitGateway(value.resource);
    let logFormat = tgw ? LogFormat.TRANSIT_GATEWAY_DEFAULT : LogFormat.DEFAULT;
    if (value.logFormat !== "default") {
      try {
        logFormat = LogFormat.custom(value.logFormat, value.resource);
      } catch (err) {
        if (!(err instanceof LogFormatError)) throw err;
        for (const problem of err.problems) {
          ctx.addIssue({ code: "custom", path: ["logFormat"], message: m(problem, "Use field names from functions/flowlog/fields.ts.") });
        }
        return z.NEVER;
      }
    }
    return {
      ...value,
      // AWS refuses a traffic type on a transit gateway and aggregates it at 60 s only.
      trafficType: tgw ? undefined : (value.trafficType ?? ("ALL" as const)),
      aggregationSeconds: value.aggregationSeconds ?? (tgw ? (60 as const) : (600 as const)),
      logFormat,
      s3: value.destinations.includes("s3") ? (value.s3 ?? s3Options.parse({})) : undefined,
    };
  });

const kms = z.union(
  [
    z.strictObject({ create: z.literal(true) }),
    z.strictObject({
      keyArn: z.string().regex(KMS_KEY_ARN, {
        error: msg(
          "is not a KMS key ARN",
          "Use arn:<partition>:kms:<region>:<account>:key/<key-id> (a UUID, or mrk-<32 hex digits> for a multi-Region key; not an alias), or { create: true }.",
        ),
      }),
    }),
  ],
  { error: msg("must be { create: true } or { keyArn: \"arn:aws:kms:...\" }", "Create a key for the environment, or give one key ARN.") },
);

const backend = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("local"),
      /** Relative to the synthesized stack folder (cdktf.out/stacks/<stack>). @default "../../../terraform.<stack>.tfstate", i.e. the project folder */
      path: z
        .string({ error: msg("must be a string", 'Write a path such as "../../../terraform.tfstate", or leave path out for the default.') })
        .refine((v) => v.trim().length > 0, { error: m("is empty", "Write a path, or leave path out for the default next to the project.") })
        .optional(),
    }),
    z.strictObject({
      type: z.literal("s3"),
      bucket: z.string({ error: msg("must be a bucket name", "Name the S3 bucket that holds Terraform state.") }).regex(BUCKET_PATTERN, {
        error: m("is not a valid S3 bucket name", "Use 3-63 lowercase letters, digits, dots and hyphens."),
      }),
      /** @default "flowlog-kit/<env>/terraform.tfstate" */
      key: z
        .string({ error: msg("must be a string", 'Write the state object\'s key, e.g. "flowlog-kit/prod/terraform.tfstate".') })
        .superRefine((v, ctx) => {
          const fix = 'Write the state object\'s key, e.g. "flowlog-kit/prod/terraform.tfstate", or leave key out for the default.';
          // Terraform's S3 backend refuses these before it reads any state.
          if (v.trim() === "") ctx.addIssue({ code: "custom", message: m("is empty", fix) });
          else if (v.startsWith("/") || v.endsWith("/") || v.includes("//")) ctx.addIssue({ code: "custom", message: m('starts or ends with "/" or holds "//", which Terraform\'s S3 backend refuses', fix) });
          else if (Buffer.byteLength(v, "utf8") > 1024) ctx.addIssue({ code: "custom", message: m("is longer than S3's 1024-byte object key", fix) });
        })
        .optional(),
      /** @default the environment's region */
      region: region(false).optional(),
      /** S3-native state locking (Terraform 1.10+). @default true */
      useLockfile: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(true),
    }),
  ],
  { error: msg('must have type "local" or "s3"', 'Write { type: "local" } or { type: "s3", bucket: "..." }.') },
);

/**
 * S3 Object Lock on an archive: every delivered object version is write-once for the archive
 * class's days (the default retention). AWS cannot turn Object Lock off once it is on.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
const objectLock = z.strictObject(
  {
    mode: z.enum(OBJECT_LOCK_MODES, {
      error: msg("is not an Object Lock mode", `Use ${list(OBJECT_LOCK_MODES)}: COMPLIANCE locks versions for everyone, root included; GOVERNANCE lets holders of s3:BypassGovernanceRetention remove them.`),
    }),
  },
  { error: msg("must give the Object Lock mode", 'Write { mode: "COMPLIANCE" } or { mode: "GOVERNANCE" }.') },
);

// A value that is not positive stops there (abort), so -0.5 gets one message, not two.
const positive = (what: string) =>
  z.number({ error: msg(`must be a number of ${what}`, "Write a positive number.") }).positive({ error: m("must be greater than zero", "Write a positive number."), abort: true });
const whole = (what: string) => positive(what).int({ error: m(`must be a whole number of ${what}`, "Write a positive whole number.") });
const portList = (max: number, what: string) =>
  z.array(
    z
      .number({ error: msg("must be a number", `Use whole numbers from 0 to ${max}.`) })
      .int({ error: m(`is not a whole number, so not a ${what}`, `Use whole numbers from 0 to ${max}.`), abort: true })
      .min(0, { error: m(`is not a valid ${what}`, `Use whole numbers from 0 to ${max}.`) })
      .max(max, { error: m(`is not a valid ${what}`, `Use whole numbers from 0 to ${max}.`) }),
    { error: msg(`must be a list of ${what}s`, `Write e.g. [22, 3389].`) },
  );

/**
 * An IPv4 or IPv6 address or CIDR ("10.0.0.10", "10.0.0.0/16", "2600:1f18:6a3:e100::/56"), as
 * the network context, suppressions and threat lists take them.
 */
const prefix = z.string({ error: msg("must be an IP address or CIDR", 'Write e.g. "10.0.0.10", "10.0.0.0/16" or "2600:1f18::/56".') }).superRefine((v, ctx) => {
  const p = parsePrefix(v);
  if (typeof p === "string") ctx.addIssue({ code: "custom", message: m(p, 'Write an IPv4 or IPv6 address or CIDR, e.g. "10.0.0.10", "10.0.0.0/16" or "2600:1f18::/56", with no host bits past the prefix.') });
});
const prefixes = z.array(prefix, { error: msg("must be a list of IP addresses or CIDRs", 'Write e.g. ["10.0.0.0/16"].') });

/**
 * A source the detector never reports: one IPv4 or IPv6 address, checked as `prefix` is. The
 * detector compares it with each record's srcaddr as written, so a CIDR would match nothing.
 */
const allowedSource = z.string({ error: msg("must be an IP address", 'Write e.g. "10.0.0.10".') }).superRefine((v, ctx) => {
  if (v.includes("/")) {
    ctx.addIssue({ code: "custom", message: m("is a CIDR, but the detector matches allowed sources address by address", 'List each address, e.g. "10.0.0.10"; for a range, use detectors.suppress with sources and a reason.') });
    return;
  }
  const p = parsePrefix(v);
  if (typeof p === "string") ctx.addIssue({ code: "custom", message: m("is not an IPv4 or IPv6 address", 'Write one address, e.g. "10.0.0.10" or "2600:1f18::10", with each IPv4 part from 0 to 255 and no leading zeros.') });
});

/**
 * Where the flows are: the detector's context. Every entry is an IPv4 or IPv6 address or CIDR.
 */
const network = z.strictObject({
  /**
   * The VPC's CIDRs, IPv4 and IPv6: "inside". IPv6 VPC ranges are global addresses, so a VPC with
   * IPv6 must list its range, or its IPv6 hosts count as external.
   * @default - the private ranges (RFC 1918, RFC 6598, loopback, link-local, fc00::/7)
   */
  cidrs: prefixes.min(1, { error: m("is empty, so nothing would be inside", 'List the VPC\'s CIDRs, or leave cidrs out for the private ranges.') }).optional(),
  /** Private IPs of NAT gateways: return traffic through them is no probe, their fan-out no C2. @default [] */
  natGateways: prefixes.optional(),
  /** IPs or CIDRs of load-balancer nodes: health checks and answers to them are no probes. @default [] */
  loadBalancers: prefixes.optional(),
  /** Approved DNS resolvers besides the VPC resolver (each IPv4 CIDR's base + 2) and 169.254.169.253. @default [] */
  resolvers: prefixes.optional(),
});

const RULE_IDS = Object.keys(RULES);

/** A suppression: findings of a rule (or every rule) between given sources, destinations and ports are dropped, with a reason. */
const suppression = z.strictObject({
  /** @default - every rule */
  rule: z
    .string({ error: msg("must be a rule id", `Use one of ${list(RULE_IDS)}.`) })
    .refine((v) => RULE_IDS.includes(v), { error: m("is not a rule id", `Use one of ${list(RULE_IDS)}.`) })
    .optional(),
  /** @default - any source */
  sources: prefixes.optional(),
  /** @default - any destination */
  destinations: prefixes.optional(),
  /** @default - any port */
  ports: portList(65535, "port").optional(),
  reason: z.string({ error: msg("must say why", "Write why these findings are expected, e.g. \"our vulnerability scanner\".") }).refine((v) => v.trim().length > 0, {
    error: m("is empty", "Write why these findings are expected, e.g. \"our vulnerability scanner\"."),
  }),
});

/**
 * A threat-intelligence list: IPs and CIDRs in GuardDuty's plain-text format (one a line, #
 * comments), either a file next to the environment (`path`, read at synth and carried in the
 * detector's settings) or an S3 object (`s3`, read by the deployed detector on every run, so an
 * updated list is used from the next run on; the detector's role may read exactly that object).
 */
const threatIntelList = z
  .strictObject({
    name: z.string({ error: msg("must be a name", 'Name the list, e.g. "abuse-ch".') }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
      error: m("is not a list name", "Use 1-64 letters, digits, dots, hyphens and underscores."),
    }),
    /**
     * Relative to the environment's file.
     * @default - none: give `path` or `s3`
     */
    path: z
      .string({ error: msg("must be a file path", 'Give the list\'s file relative to the environment\'s file, e.g. "threat-intel/abuse.txt".') })
      .min(1, { error: m("is empty", 'Give the list\'s file relative to the environment\'s file, e.g. "threat-intel/abuse.txt".') })
      .optional(),
    /**
     * `s3://bucket/key` of the list. A bucket of another account must grant the detector's role
     * s3:GetObject, and a key other than the environment's must grant it kms:Decrypt.
     * @default - none: give `path` or `s3`
     * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-bucket-intro.html
     */
    s3: z
      .string({ error: msg("must be an S3 URI", 'Write e.g. "s3://secops-intel/lists/abuse.txt".') })
      .refine((v) => /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[^\s]+$/.test(v) && !v.endsWith("/"), {
        error: m("is not an s3://bucket/key URI of one object", 'Write e.g. "s3://secops-intel/lists/abuse.txt": a bucket name, then the object\'s key.'),
      })
      .optional(),
  })
  .superRefine((value, ctx) => {
    if (value.path === undefined && value.s3 === undefined) {
      ctx.addIssue({ code: "custom", path: ["path"], message: m("is required: a list needs a file or an S3 object", 'Give path: "threat-intel/abuse.txt" or s3: "s3://secops-intel/lists/abuse.txt".') });
    }
    if (value.path !== undefined && value.s3 !== undefined) {
      ctx.addIssue({ code: "custom", path: ["s3"], message: m("is set next to path: a list is read from one place", "Keep path (read at synth) or s3 (read on every run), not both.") });
    }
  });

/**
 * The long horizon's window and thresholds (DetectorThresholds.long); every key optional. Its
 * window is a whole number of short windows (checked with the thresholds, which know both).
 */
const longHorizon = z.strictObject({
  windowSeconds: whole("seconds").max(86_400, { error: m("is longer than a day", "Use at most 86400 seconds.") }).optional(),
  portScanPortsPerHost: positive("ports").optional(),
  portScanPortsAcrossHosts: positive("ports").optional(),
  sensitivePortsProbed: positive("ports").optional(),
  portSweepHosts: positive("hosts").optional(),
  bruteForceAttempts: positive("connections").optional(),
});

/** Overrides of the detector thresholds; every key is optional and falls back to DEFAULT_THRESHOLDS. */
const thresholds = z.strictObject({
  windowSeconds: whole("seconds").max(3600, { error: m("is longer than an hour", "Use at most 3600 seconds.") }).optional(),
  /** The long horizon (1 hour by default): slow scans, sweeps and brute force, with their own thresholds. @default {} */
  long: longHorizon.optional(),
  portScanPortsPerHost: positive("ports").optional(),
  portScanPortsAcrossHosts: positive("ports").optional(),
  sensitivePorts: portList(65535, "port").optional(),
  sensitivePortsProbed: positive("ports").optional(),
  portSweepHosts: positive("hosts").optional(),
  bruteForceAttempts: positive("connections").optional(),
  bruteForceMaxPackets: positive("packets").optional(),
  exfiltrationBytes: positive("bytes").optional(),
  c2Destinations: positive("destinations").optional(),
  c2MaxAverageBytes: positive("bytes").optional(),
  beaconMinFlows: whole("flows").min(3, { error: m("is too few to judge regularity", "Use at least 3.") }).optional(),
  beaconMaxJitter: positive("ratio").max(1, { error: m("is above 1", "Use a coefficient of variation between 0 and 1, e.g. 0.1.") }).optional(),
  lateralHosts: positive("hosts").optional(),
  rejectedFlows: positive("flows").optional(),
  unusualProtocols: portList(255, "IP protocol number").optional(),
  tgwPacketsLost: positive("packets").optional(),
  anomalyScore: positive("score")
    .min(0.5, { error: m("would flag ordinary traffic (0.5 is the average score)", "Use a score between 0.5 and 1, e.g. 0.7.") })
    .max(1, { error: m("can never be reached", "Use a score between 0.5 and 1, e.g. 0.7.") })
    .optional(),
  anomalyMinGroups: whole("groups").optional(),
  anomalyMaxFindings: whole("findings").optional(),
  allowedSources: z.array(allowedSource, { error: msg("must be a list of IP addresses", 'Write e.g. ["10.0.0.10"].') }).optional(),
  bruteForcePorts: portList(65535, "port").optional(),
  listenerPeers: whole("peers").min(2, { error: m("would make any port that answered once a listener", "Use at least 2.") }).max(3, { error: m("is more peers than a listener row keeps", "Use 2 or 3.") }).optional(),
  distributedScanSources: whole("sources").optional(),
  distributedScanPorts: whole("ports").optional(),
  inboundFloodFlows: whole("flows").optional(),
  inboundFloodPackets: positive("packets").optional(),
  outboundFloodFlows: whole("flows").optional(),
  outboundFloodPackets: positive("packets").optional(),
  dnsUnapprovedFlows: whole("flows").optional(),
  miningPorts: portList(65535, "port").optional(),
  miningFlows: whole("flows").optional(),
  rowBudget: whole("rows")
    .min(10_000, { error: m("is too small to hold ordinary traffic", "Use at least 10000 rows (about 3 MB).") })
    // The aggregates live in a WebAssembly memory, at most 4 GiB; 10 million rows take about 3 GB all told.
    .max(10_000_000, { error: m("is more than the detector's WebAssembly memory (4 GiB) can hold", "Use at most 10000000 rows (about 3 GB), or run flowlog-kit detect on the files in parts.") })
    .optional(),
}).superRefine((value, ctx) => {
  // The long window is cut into whole short windows: a record's long window is its short window's.
  const short = value.windowSeconds ?? DEFAULT_THRESHOLDS.windowSeconds;
  const long = value.long?.windowSeconds ?? DEFAULT_THRESHOLDS.long.windowSeconds;
  if (Number.isInteger(short) && short > 0 && Number.isInteger(long) && long > 0 && (long < short || long % short !== 0)) {
    ctx.addIssue({
      code: "custom",
      path: ["long", "windowSeconds"],
      params: { gotText: `${long} seconds with windowSeconds ${short}` },
      message: m("is not a whole number of short windows", `Use a multiple of windowSeconds (${short}), e.g. ${Math.max(1, Math.round(long / short)) * short}.`),
    });
  }
});

const detectors = z.strictObject({
  /** Deploy the detector functions for this environment. @default true */
  enabled: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(true),
  /**
   * How often the scheduled detector queries the log group (EventBridge expression).
   * @default "rate(15 minutes)"
   * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
   */
  schedule: z
    .string({ error: msg("must be a schedule expression", 'Write e.g. "rate(15 minutes)" or "cron(0/15 * * * ? *)".') })
    .superRefine((value, ctx) => {
      const problem = scheduleProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: m(problem.problem, problem.fix) });
    })
    .default("rate(15 minutes)"),
  thresholds: thresholds.default({}),
  /** Findings dropped on purpose, each with its reason. `thresholds.allowedSources` still drops a source's records entirely. @default [] */
  suppress: z.array(suppression, { error: msg("must be a list of suppressions", 'Write e.g. [{ rule: "port-scan", sources: ["10.0.9.9"], reason: "our scanner" }].') }).default([]),
  /**
   * Threat-intelligence lists (GuardDuty's plain-text format), matched on both ends of every flow; a match is HIGH.
   * Each is a file (`path`) or an S3 object (`s3`, re-read by the deployed detector on every run).
   * @default []
   * @see https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_upload-lists.html
   */
  threatIntel: z.array(threatIntelList, { error: msg("must be a list of threat lists", 'Write e.g. [{ name: "abuse-ch", path: "threat-intel/abuse.txt" }].') }).default([]),
  /**
   * Let the scheduled detector read the log group's raw records on every run, where no query
   * engine can aggregate them: a CloudWatch-only detector (no Athena archive of the VPC scopes)
   * whose log group masks IP addresses (`analytics.maskIpAddresses`) or is in the Infrequent
   * Access class. Logs Insights SQL cannot see through the mask (unmask() exists only in the
   * Logs Insights query language) and queries only Standard-class groups, so without this synth
   * refuses such an environment. Each records query returns at most 10,000 records: a range
   * above that is split down to one minute, and a minute still above it is left out and reported.
   * Synth refuses it where the rules run as queries (it would change nothing). @default false
   */
  readRecords: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(false),
});

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const isoDate = (what: string) =>
  z
    .string({ error: msg(`must be the ${what} date`, 'Write it as "YYYY-MM-DD".') })
    .refine((v) => ISO_DATE.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), {
      error: m("is not a date", 'Write it as "YYYY-MM-DD", e.g. "2027-03-31".'),
    });
const text = (what: string, fix: string) =>
  z.string({ error: msg(`must be ${what}`, fix) }).refine((v) => v.trim().length > 0, { error: m(`is empty: an exception needs ${what}`, fix) });

/** A typed exception to one compliance control. */
const controlException = z
  .strictObject({
    control: z.string({ error: msg("must be a control id", `Use one of ${list(CONTROL_IDS)}.`) }).refine((v) => CONTROL_IDS.includes(v), {
      error: m("is not a known control id", `Use one of ${list(CONTROL_IDS)}.`),
    }),
    justification: text("a justification", "Say why the control does not apply or cannot be met."),
    compensatingControl: text("a compensating control", "Name what covers the risk instead, e.g. the S3 archive's retention."),
    approver: text("an approver", "Name the person or role who approved it."),
    approved: isoDate("approval"),
    expires: isoDate("expiry"),
  })
  .superRefine((e, ctx) => {
    if (ISO_DATE.test(e.approved) && ISO_DATE.test(e.expires) && e.expires <= e.approved) {
      ctx.addIssue({ code: "custom", path: ["expires"], message: m(`is not after the approval date ${e.approved}: the exception would be expired when created`, "Give an expiry date after the approval date.") });
    }
  });

const PRINCIPAL_ARN = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
const rbacRole = z.strictObject({
  /** Who may assume the role: IAM role, user or account-root ARNs. */
  principals: z
    .array(z.string().regex(PRINCIPAL_ARN, { error: m("is not an IAM principal ARN", "Use arn:aws:iam::<account>:role/<name>, :user/<name> or :root.") }), {
      error: msg("must be a list of principal ARNs", 'Write e.g. ["arn:aws:iam::123456789012:role/SecOps"].'),
    })
    .min(1, { error: m("is empty: nobody could assume the role", "List at least one principal ARN.") }),
});

const rbac = z.strictObject({
  /** The roles to create, each with who may assume it. */
  roles: z.strictObject(Object.fromEntries(RBAC_ROLES.map((r) => [r, rbacRole.optional()])) as Record<(typeof RBAC_ROLES)[number], z.ZodOptional<typeof rbacRole>>, {
    error: msg("must map role names to who may assume them", `Write e.g. { Auditor: { principals: ["arn:aws:iam::123456789012:role/SecOps"] } }, with roles ${list(RBAC_ROLES)}.`),
  }),
  /** @default 1 */
  maxSessionHours: z
    .number({ error: msg("must be a number of hours", "Use 1 to 12 hours.") })
    .int({ error: m("must be a whole number of hours", "Use 1 to 12 hours; IAM sessions last whole hours here.") })
    .min(1, { error: m("is below IAM's minimum of 1 hour", "Use 1 to 12 hours.") }).max(12, { error: m("is above IAM's maximum of 12 hours", "Use 1 to 12 hours.") }).default(1),
  /** A permissions boundary for every role. @default - none */
  permissionsBoundaryArn: z.string().regex(/^arn:aws(-cn|-us-gov)?:iam::(\d{12}|aws):policy\/[\w+=,.@\/-]+$/, { error: m("is not an IAM policy ARN", "Use arn:aws:iam::<account>:policy/<name>.") }).optional(),
});

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const LOG_GROUP_CLASSES = ["STANDARD", "INFREQUENT_ACCESS"] as const;
/** `arn:<partition>:quicksight:<identity region>:<account>:(user|group)/<namespace>/<name>`; IAM-federated user names hold a `/`. */
const QUICKSIGHT_PRINCIPAL = /^arn:aws(-cn|-us-gov)?:quicksight:[a-z]{2}(-[a-z]+)+-\d:\d{12}:(user|group)\/[A-Za-z0-9._-]+\/[\w+=,.@\/-]+$/;
const QUICKSIGHT_FIX = "Write arn:aws:quicksight:<identity region>:<account>:user/<namespace>/<name> or .../group/<namespace>/<name>, e.g. arn:aws:quicksight:us-east-1:123456789012:group/default/SecOps.";
/** The flow-log fields the QuickSight dashboard's visuals read. */
export const QUICKSIGHT_FIELDS = ["start", "srcaddr", "dstaddr", "dstport", "bytes", "action", "flow-direction"] as const;
const analytics = z.strictObject({
  athena: z
    .strictObject({
      /** Provision Glue tables, a workgroup and named queries over the archive. @default true */
      enabled: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(true),
      /** Athena cancels a query that scans more than this many GB. @default 10 */
      bytesScannedCutoffGb: positive("GB").max(10000, { error: m("is above 10 TB per query", "Use at most 10000 GB.") }).default(10),
    })
    .default({ enabled: true, bytesScannedCutoffGb: 10 }),
  /**
   * The metric-filter alarms on the flow-log group. Not with logGroupClass
   * "INFREQUENT_ACCESS", which has no metric filters: its log-health alarms use the AWS/Logs
   * metrics instead. The defaults are applied by the loader (environments/index.ts), so that a
   * threshold written here is told apart from one left out.
   */
  alarms: z
    .strictObject({
      /** Rejected SSH/RDP attempts in 5 minutes that raise the alarm. @default 100 */
      rejectedAdminThreshold: positive("attempts").optional(),
      /** SKIPDATA records (flow-log records AWS skipped) in 15 minutes that raise the log-gap alarm. NODATA (an idle interface) never does. @default 1 */
      logGapThreshold: positive("records").optional(),
    })
    .default({}),
  /** Who the findings topic notifies. @default none */
  subscriptions: z
    .strictObject({
      email: z.array(z.string().regex(EMAIL, { error: m("is not an email address", "Write an address such as secops@example.com.") })).default([]),
      https: z.array(z.string().regex(/^https:\/\/[^\s/]+/, { error: m("is not an https:// endpoint", "SNS delivers only to https:// URLs here; write e.g. https://hooks.example.com/flowlogs.") })).default([]),
    })
    .default({ email: [], https: [] }),
  /** Mask IP addresses in the flow-log group for readers without logs:Unmask. @default false */
  maskIpAddresses: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(false),
  /** A CloudWatch dashboard for the environment. @default true */
  dashboard: z.boolean({ error: msg("must be true or false", "Write true or false.") }).default(true),
  /**
   * A QuickSight dashboard over the archive, through the environment's Athena workgroup: an
   * Athena data source, data sets over the flow-log table and a dashboard with six visuals,
   * shared with one QuickSight user or group. Needs `athena.enabled` and an S3 destination.
   * QuickSight's own service role (account-level) must be allowed Athena, the archive, the
   * results bucket and the KMS key; the kit does not manage it.
   * @default - none
   * @see https://docs.aws.amazon.com/quicksight/latest/user/accessing-data-sources.html
   */
  quicksight: z
    .strictObject({
      /** The QuickSight user or group that owns the data source, data sets and dashboard. */
      principalArn: z.string({ error: msg("must be a QuickSight user or group ARN", QUICKSIGHT_FIX) }).regex(QUICKSIGHT_PRINCIPAL, { error: m("is not a QuickSight user or group ARN", QUICKSIGHT_FIX) }),
    })
    .optional(),
});
const ANALYTICS_DEFAULTS = {
  athena: { enabled: true, bytesScannedCutoffGb: 10 },
  alarms: {},
  subscriptions: { email: [], https: [] },
  maskIpAddresses: false,
  dashboard: true,
};

export const EnvironmentSchema = z
  .strictObject({
    /** Environment name; the stack is `flowlogs-<name>`. */
    name: z.string({ error: msg("must be a string", "Name the environment, e.g. \"prod\".") }).regex(ENV_NAME_PATTERN, {
      error: m("is not a valid environment name", "Use 2-20 lowercase letters, digits and hyphens, starting with a letter."),
    }),
    /** The AWS account the environment's resources live in. */
    account: z.string({ error: msg("must be a string", "Quote the 12-digit account id.") }).regex(ACCOUNT_PATTERN, {
      error: m("is not a 12-digit AWS account id", "Write the account id as a string of exactly 12 digits."),
    }),
    /** @see policies/regions.ts */
    region: region(true),
    /** The team accountable for the environment; becomes the Owner tag, so at most 256 characters of tag text. */
    owner,
    /**
     * Tags on every resource (the provider's default_tags): at most 43, since the kit adds up to 7
     * of its own and AWS allows 50 on a resource; keys of 1-128 and values of 0-256 characters of
     * letters, digits, spaces and `_ . : / = + - @`; no `aws:` prefix; none of the kit's own keys.
     * @default {}
     * @see policies/tags.ts
     */
    tags: tags.default({}),
    retention: z.strictObject(
      {
        cloudwatch: cloudWatchRetention,
        archive: archiveRetention,
        /**
         * How cold the archive lifecycle may go. `queryable` keeps every object in Standard,
         * Standard-IA or Glacier Instant Retrieval, which Athena reads, for its whole retention.
         * `cold` also moves objects to Deep Archive where the retention allows (365 days: from
         * day 180), which Athena skips until they are restored: `compliance` then fails RET-4
         * with the days that are not queryable, unless an exception covers it, and fails any
         * exception whose compensating control claims those days are queryable.
         * @default "queryable"
         * @see https://docs.aws.amazon.com/athena/latest/ug/querying-glacier.html
         */
        archiveStorage: z
          .enum(ARCHIVE_STORAGE, { error: msg("is not an archive storage choice", `Use one of ${list(ARCHIVE_STORAGE)}.`) })
          .default("queryable"),
      },
      { error: msg("must give cloudwatch and archive retention", 'Write e.g. { cloudwatch: "production", archive: "internal" }.') },
    ),
    flowLogs: z
      .array(scope, { error: msg("must be a list of flow-log scopes", "List at least one VPC, subnet or ENI scope.") })
      .superRefine((value, ctx) => {
        if (value.length === 0) ctx.addIssue({ code: "custom", message: m("is empty: the environment logs nothing", "Add at least one VPC, subnet or ENI scope.") });
      }),
    /** @default { create: true } */
    kms: kms.default({ create: true }),
    /** @default { type: "local" } */
    backend: backend.default({ type: "local" }),
    /**
     * Every VPC of the environment, logged or not: VPC-level controls check each of them.
     * @default - the VPCs of the vpc scopes
     */
    vpcs: z.array(z.string().regex(ID_PATTERNS.vpc, { error: m("is not a VPC id", 'Use "vpc-" followed by 8 or 17 lowercase hex digits.') })).optional(),
    /** Approved exceptions to compliance controls. @default [] */
    exceptions: z.array(controlException).default([]),
    /** IAM roles of the operating model. @default - none created */
    rbac: rbac.optional(),
    /**
     * The class of the flow-log groups. `INFREQUENT_ACCESS` halves the ingestion price and
     * keeps Logs Insights (saved queries, the dashboard, the detector), but has no metric
     * filters, subscription filters, data protection or Live Tail: metric-filter alarms and IP
     * masking are refused with it, and the log-health alarms use the AWS/Logs metrics
     * IncomingLogEvents and IncomingBytes. AWS cannot change the class of an existing group.
     * @default "STANDARD"
     * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html
     */
    logGroupClass: z.enum(LOG_GROUP_CLASSES, { error: msg("is not a log group class", `Use ${list(LOG_GROUP_CLASSES)}.`) }).default("STANDARD"),
    /** Saved queries, Athena, alarms, dashboard and data protection. */
    analytics: analytics.default(ANALYTICS_DEFAULTS),
    /** @default { enabled: true, schedule: "rate(15 minutes)", thresholds: {}, suppress: [], threatIntel: [] } */
    detectors: detectors.default({ enabled: true, schedule: "rate(15 minutes)", thresholds: {}, suppress: [], threatIntel: [], readRecords: false }),
    /** The network the detector judges flows in (inside, NAT gateways, load balancers, resolvers). @default - the private ranges inside, nothing else */
    network: network.default({}),
    archive: z
      .strictObject({
        /** @default "flowlogs-<name>-<account>-<region>" */
        bucketName: z.string().regex(BUCKET_PATTERN, { error: m("is not a valid S3 bucket name", "Use 3-63 lowercase letters, digits, dots and hyphens.") }).optional(),
        /** Object Lock on the environment's own archive: WORM for the archive class's days. @default - none */
        objectLock: objectLock.optional(),
        /**
         * Deliver to the central archive of `environments/archives/<name>.ts` (its own stack, in a
         * log-archive account) instead of an archive bucket of this environment.
         * @default - the environment's own archive
         */
        central: z
          .string({ error: msg("must be the name of a central archive", 'Write the name of a file in environments/archives/, e.g. "log-archive".') })
          .regex(ENV_NAME_PATTERN, { error: m("is not a valid archive name", "Use the name of a file in environments/archives/: 2-20 lowercase letters, digits and hyphens.") })
          .optional(),
      })
      .superRefine((a, ctx) => {
        if (a.central === undefined) return;
        const file = `archives/${a.central}.ts`;
        if (a.bucketName !== undefined) {
          ctx.addIssue({ code: "custom", path: ["bucketName"], message: m(`is set, but central sends this environment's flow logs to the bucket of ${file}`, `Remove bucketName (the archive file names its bucket), or remove central.`) });
        }
        if (a.objectLock !== undefined) {
          ctx.addIssue({ code: "custom", path: ["objectLock"], message: m(`is set, but central sends this environment's flow logs to ${file}, whose bucket this environment does not own`, `Set objectLock in ${file}, or remove central.`) });
        }
      })
      .default({}),
  })
  .superRefine((env, ctx) => {
    // Zod runs this refinement even when a scope failed; cross-scope checks need all scopes whole.
    if (!env.flowLogs.every((s) => s.logFormat instanceof LogFormat)) return;
    const regionOf = (s: { region?: string }) => s.region ?? env.region;
    const cw = env.flowLogs.filter((s) => s.destinations.includes("cloudwatch"));
    // Each Region has its own shared log group per family (VPC records, transit-gateway records).
    const firstOfGroup = new Map<string, (typeof cw)[number]>();
    cw.forEach((s) => {
      const group = `${regionOf(s)} ${s.logFormat.family}`;
      const first = firstOfGroup.get(group) ?? s;
      firstOfGroup.set(group, first);
      if (s.logFormat.toAwsFormat() !== first.logFormat.toAwsFormat()) {
        const index = env.flowLogs.indexOf(s);
        const where =
          s.logFormat.family === "tgw" ? `the environment's one transit-gateway log group in ${regionOf(s)}` : regionOf(s) === env.region ? "the environment's one log group" : `the environment's one log group in ${regionOf(s)}`;
        ctx.addIssue({
          code: "custom",
          path: ["flowLogs", index, "logFormat"],
          // A format left out is the default one: say so rather than "nothing".
          params: { got: s.logFormat.isDefault || s.logFormat === LogFormat.TRANSIT_GATEWAY_DEFAULT ? "default" : s.logFormat.names },
          message: m(
            `differs from the log format of flowLogs[${env.flowLogs.indexOf(first)}], and both deliver to ${where}`,
            "Give every CloudWatch scope the same log format, so one Logs Insights parse pattern fits the log group.",
          ),
        });
      }
    });
    // An overlap is decided by the scope's vpc; without it, a subnet or ENI inside a VPC logged
    // to CloudWatch would silently double its records in the shared log group of its Region.
    const firstVpcOfRegion = new Map<string, (typeof cw)[number]>();
    for (const s of cw) if (s.resource === "vpc" && !firstVpcOfRegion.has(regionOf(s))) firstVpcOfRegion.set(regionOf(s), s);
    for (const cwVpc of firstVpcOfRegion.values()) {
      cw.forEach((s) => {
        if (s.resource === "vpc" || isTransitGateway(s.resource) || s.vpc !== undefined || regionOf(s) !== regionOf(cwVpc)) return;
        const what = s.resource === "eni" ? "an ENI" : "a subnet";
        ctx.addIssue({
          code: "custom",
          path: ["flowLogs", env.flowLogs.indexOf(s), "vpc"],
          message: m(
            `is required: flowLogs[${env.flowLogs.indexOf(cwVpc)}] logs ${cwVpc.id} to CloudWatch too, and ${what} inside it would be counted twice in the shared log group`,
            `Name the VPC this scope belongs to, e.g. vpc: "${cwVpc.id}"; ${what} inside a VPC logged to CloudWatch then gets a log group of its own.`,
          ),
        });
      });
    }
    const excepted = new Map<string, number>();
    env.exceptions.forEach((e, index) => {
      const prev = excepted.get(e.control);
      if (prev !== undefined) {
        ctx.addIssue({ code: "custom", path: ["exceptions", index, "control"], message: m(`already has an exception at exceptions[${prev}]`, "Keep one exception per control.") });
      }
      excepted.set(e.control, index);
    });
    // AWS allows two flow logs per VPC, subnet or network interface, a quota it cannot raise; each
    // destination of a scope is one flow log. A resource may appear in two scopes (the
    // traffic-type split: REJECT to CloudWatch, ALL to S3) as long as no destination repeats and
    // the total stays within the quota.
    const perResource = new Map<string, { index: number; destinations: Set<string> }>();
    env.flowLogs.forEach((s, index) => {
      const prev = perResource.get(s.id);
      const repeated = s.destinations.filter((d) => prev?.destinations.has(d));
      const total = (prev?.destinations.size ?? 0) + s.destinations.length;
      if (prev !== undefined && repeated.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["flowLogs", index, "id"],
          message: m(`is already logged to ${repeated.join(" and ")} by flowLogs[${prev.index}]`, "Merge the two scopes into one, or send each to a different destination (e.g. REJECT to cloudwatch, ALL to s3)."),
        });
      } else if (total > MAX_FLOW_LOGS_PER_RESOURCE && !isTransitGateway(s.resource)) {
        ctx.addIssue({
          code: "custom",
          path: ["flowLogs", index, prev === undefined ? "destinations" : "id"],
          message: m(
            `would get ${total} flow logs (one per destination${prev === undefined ? "" : `, with flowLogs[${prev.index}]`}), and AWS allows ${MAX_FLOW_LOGS_PER_RESOURCE} per VPC, subnet or network interface, a quota it cannot raise`,
            "Drop a destination: for a SIEM, stream from the S3 archive or subscribe to the CloudWatch group instead of a third flow log.",
          ),
        });
      }
      perResource.set(s.id, { index: prev?.index ?? index, destinations: new Set([...(prev?.destinations ?? []), ...s.destinations]) });
    });
    if (env.archive.central !== undefined && env.retention.archiveStorage === "cold") {
      ctx.addIssue({
        code: "custom",
        path: ["retention", "archiveStorage"],
        message: m(`is "cold", but the lifecycle of the central archive archives/${env.archive.central}.ts keeps every object queryable`, 'Remove archiveStorage (or write "queryable"): the central archive\'s one lifecycle serves every environment that delivers to it.'),
      });
    }
    const partitionOfRegion = (r: string) => awsRegion(r)?.partition;
    if ("keyArn" in env.kms) {
      const match = KMS_KEY_ARN.exec(env.kms.keyArn);
      const partition = partitionOfRegion(env.region);
      if (match && (match[2] !== env.region || match[3] !== env.account)) {
        ctx.addIssue({
          code: "custom",
          path: ["kms", "keyArn"],
          message: m(`is not a key of ${env.account} in ${env.region}`, "CloudWatch Logs and S3 need a key in the environment's own account and region."),
        });
      } else if (match && partition && match[1] !== partition) {
        ctx.addIssue({
          code: "custom",
          path: ["kms", "keyArn"],
          message: m(`is an ARN of the "${match[1]}" partition, but ${env.region} is in "${partition}"`, `Write it as arn:${partition}:kms:${env.region}:${env.account}:key/<key-id>.`),
        });
      }
    }
    env.flowLogs.forEach((s, index) => {
      const at = (...path: (string | number)[]) => ["flowLogs", index, ...path];
      if (s.region !== undefined && partitionOfRegion(s.region) && partitionOfRegion(env.region) && partitionOfRegion(s.region) !== partitionOfRegion(env.region)) {
        ctx.addIssue({
          code: "custom",
          path: at("region"),
          message: m(`is in the "${partitionOfRegion(s.region)}" partition, but the environment's ${env.region} is in "${partitionOfRegion(env.region)}": one account and one delivery role cannot span partitions`, "Give the scope a Region of the environment's partition, or an environment of its own."),
        });
      }
      // CloudWatch Logs encrypts a group only with a key of the group's own Region.
      const keyRegion = "keyArn" in env.kms ? KMS_KEY_ARN.exec(env.kms.keyArn) : null;
      if (keyRegion && s.destinations.includes("cloudwatch") && regionOf(s) !== env.region && !keyRegion[4]!.startsWith("mrk-")) {
        ctx.addIssue({
          code: "custom",
          path: at("region"),
          message: m(
            `needs a KMS key in ${regionOf(s)} for its CloudWatch log group, but kms.keyArn is a single-Region key of ${keyRegion[2]}`,
            `Use a multi-Region key (key/mrk-...) with a replica in ${regionOf(s)}, or kms: { create: true } so that the kit creates a key in each Region.`,
          ),
        });
      }
      const stream = s.firehose ? FIREHOSE_ARN.exec(s.firehose.deliveryStreamArn) : null;
      if (!stream || !s.firehose) return;
      const [, streamPartition, streamRegion, streamAccount] = stream;
      if (streamRegion !== regionOf(s)) {
        ctx.addIssue({
          code: "custom",
          path: at("firehose", "deliveryStreamArn"),
          message: m(
            `is a stream in ${streamRegion}, but the scope is in ${regionOf(s)}${s.region === undefined ? " (the environment's region)" : ""}, and flow logs deliver to Firehose only in their own Region`,
            `Use a stream in ${regionOf(s)}, or set this scope's region if the ${s.resource} is in ${streamRegion}.`,
          ),
        });
      } else if (partitionOfRegion(streamRegion!) !== streamPartition) {
        ctx.addIssue({
          code: "custom",
          path: at("firehose", "deliveryStreamArn"),
          message: m(`is an ARN of the "${streamPartition}" partition, but ${streamRegion} is in "${partitionOfRegion(streamRegion!)}"`, `Write it as arn:${partitionOfRegion(streamRegion!)}:firehose:${streamRegion}:<account>:deliverystream/<name>.`),
        });
      }
      if (streamAccount !== env.account && s.firehose.crossAccountRoleArn === undefined) {
        ctx.addIssue({
          code: "custom",
          path: at("firehose", "crossAccountRoleArn"),
          params: { gotText: "nothing" },
          message: m(
            `is required: the stream is in account ${streamAccount}, not the environment's ${env.account}`,
            `Create the role ${FIREHOSE_ROLE_PREFIX} in ${streamAccount} (trusting arn:${partitionOfRegion(env.region) ?? "aws"}:iam::${env.account}:role/flowlogs-${env.name}-firehose) and give its ARN; see the VPC user guide, "IAM roles for cross account delivery".`,
          ),
        });
      }
      if (streamAccount === env.account && s.firehose.crossAccountRoleArn !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: at("firehose", "crossAccountRoleArn"),
          message: m(`is set, but the stream is in the environment's own account ${env.account}, where AWS delivers without a cross-account role`, "Remove crossAccountRoleArn."),
        });
      }
    });
    // Infrequent Access log groups have no metric filters, subscription filters or data
    // protection: what the config would create on the flow-log groups is refused, not dropped.
    if (env.logGroupClass === "INFREQUENT_ACCESS" && cw.length > 0) {
      const fix = 'or use logGroupClass "STANDARD".';
      const ia = 'logGroupClass "INFREQUENT_ACCESS"';
      if (env.analytics.maskIpAddresses) {
        ctx.addIssue({
          code: "custom",
          path: ["analytics", "maskIpAddresses"],
          message: m(`masks IP addresses with a data protection policy, which CloudWatch Logs does not support on ${ia} log groups`, `Set maskIpAddresses to false and let only the SecurityAnalyst role read the log groups, ${fix}`),
        });
      }
      if (env.analytics.alarms.rejectedAdminThreshold !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["analytics", "alarms", "rejectedAdminThreshold"],
          message: m(`sets a metric-filter alarm, and CloudWatch Logs has no metric filters on ${ia} log groups`, `Remove it (the detector's Logs Insights queries still find rejected SSH and RDP), ${fix}`),
        });
      }
      if (env.analytics.alarms.logGapThreshold !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["analytics", "alarms", "logGapThreshold"],
          message: m(
            `counts SKIPDATA records with a metric filter, and CloudWatch Logs has no metric filters on ${ia} log groups, whose log-health alarms use the AWS/Logs metrics IncomingLogEvents and IncomingBytes instead`,
            `Remove it, ${fix}`,
          ),
        });
      }
    }
    const quicksight = env.analytics.quicksight;
    if (quicksight) {
      // The dashboard reads the VPC records of the archive, through the Athena tables of the S3 scopes.
      const vpcS3 = env.flowLogs.filter((s) => s.destinations.includes("s3") && s.logFormat.family === "vpc");
      if (!env.analytics.athena.enabled || vpcS3.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["analytics", "quicksight"],
          params: { gotText: env.analytics.athena.enabled ? "no VPC scope with an S3 destination" : "athena.enabled false" },
          message: m("reads the archive through Athena, which this environment does not provision", 'Set analytics.athena.enabled to true and give a VPC scope the "s3" destination, or remove quicksight.'),
        });
      } else {
        for (const s of vpcS3) {
          const missing = QUICKSIGHT_FIELDS.filter((f) => !s.logFormat.has(f));
          if (!missing.length) continue;
          ctx.addIssue({
            code: "custom",
            path: ["flowLogs", env.flowLogs.indexOf(s), "logFormat"],
            params: { gotText: `a format without ${missing.join(", ")}` },
            message: m("lacks fields the QuickSight dashboard reads", `Add ${list(missing)} to the log format (flow-direction needs version 5), or remove analytics.quicksight.`),
          });
        }
      }
    }
  });

/**
 * Field schemas that other config kinds share with environments (environments/archives/), so
 * that a region, a tag or a key ARN follows one rule and reads one message everywhere.
 */
export const SHARED_FIELDS = Object.freeze({ region: region(true), tags, owner, kms, backend, archiveRetention, objectLock, controlException, BUCKET_PATTERN, KMS_KEY_ARN });

/** What an environment file contains (before defaults). */
export type EnvironmentInput = z.input<typeof EnvironmentSchema>;
type Parsed = z.output<typeof EnvironmentSchema>;
/** A validated scope; the loader fills in its Region (the environment's by default). */
export type FlowLogScopeConfig = Omit<Parsed["flowLogs"][number], "region"> & { readonly region: string };
export type Destination = (typeof DESTINATIONS)[number];
export type ScopeResource = (typeof RESOURCES)[number];
export type LogGroupClass = (typeof LOG_GROUP_CLASSES)[number];
/** The metric-filter alarm thresholds, defaults applied. */
export interface AlarmThresholds {
  readonly rejectedAdminThreshold: number;
  readonly logGapThreshold: number;
}

/** A validated, defaulted, frozen environment. */
export interface Environment extends Omit<Parsed, "backend" | "archive" | "detectors" | "vpcs" | "flowLogs" | "analytics"> {
  readonly flowLogs: readonly FlowLogScopeConfig[];
  readonly analytics: Omit<Parsed["analytics"], "alarms"> & { readonly alarms: AlarmThresholds };
  /** Every VPC of the environment (the inventory VPC-level controls check). */
  readonly vpcs: readonly string[];
  /**
   * The detector's settings. `thresholds` carries everything a run applies: the thresholds, the
   * environment's `network`, `suppress`, and the threat lists as read (their entries).
   */
  readonly detectors: {
    readonly enabled: boolean;
    readonly schedule: string;
    readonly thresholds: DetectorThresholds;
    readonly suppress: Parsed["detectors"]["suppress"];
    /** The lists as configured; their entries are in `thresholds.threatIntel`. */
    readonly threatIntel: Parsed["detectors"]["threatIntel"];
    /** Read the log group's records on every run where no query engine can aggregate them (see the schema). */
    readonly readRecords: boolean;
  };
  readonly backend: Parsed["backend"];
  readonly archive: {
    /** The bucket the environment's S3 flow logs deliver to: its own, or the central archive's. */
    readonly bucketName: string;
    /** Object Lock of the environment's own archive; undefined with a central archive (its file decides). */
    readonly objectLock?: { readonly mode: ObjectLockMode };
    /** The central archive the environment delivers to; undefined when it has its own. */
    readonly central?: Archive;
  };
  /** The Terraform stack name, `flowlogs-<name>`. */
  readonly stackName: string;
}

/** Static factories for scope targets, for environment files that prefer them to literals. */
export const FlowLogScope = Object.freeze({
  vpc: (id: string) => ({ resource: "vpc" as const, id }),
  subnet: (id: string) => ({ resource: "subnet" as const, id }),
  eni: (id: string) => ({ resource: "eni" as const, id }),
  transitGateway: (id: string) => ({ resource: "transit-gateway" as const, id }),
  transitGatewayAttachment: (id: string) => ({ resource: "transit-gateway-attachment" as const, id }),
});
