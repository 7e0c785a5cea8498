/**
 * Compliance controls, evaluated on what Terraform will apply: each synthesized stack's JSON.
 * Every result carries evidence (resource address, attribute, value) a reviewer can check in
 * cdktf.out. Pure TypeScript: no cdktf, no provider classes.
 */
import { ARCHIVE_RETENTION, CLOUDWATCH_RETENTION, MINIMUM_STORAGE_DAYS, ArchiveStorageClass, notQueryableDays, objectLockConflict } from "../retention";
import { asList, Evidence, policyDocument, referenced, regionOf, Resource, resources, StackJson, stackRegions } from "./stack";

export type ControlResult = "PASS" | "FAIL" | "EXCEPTION";
export type ControlSeverity = "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

export interface ControlMappings {
  readonly cis?: string;
  readonly securityHub?: string;
  readonly checkov?: string;
}

/** What a control may know besides the stack: the environment's inventory. */
export interface ControlContext {
  /** Every VPC the environment has (a VPC-level control must see all of them). */
  readonly vpcs: readonly string[];
  /**
   * The synthesized stack of the central archive the environment delivers to. Its bucket is
   * not in the environment's stack, so the archive controls (CENTRAL_ARCHIVE_CONTROLS) are
   * evaluated on this stack instead, and say so.
   * @default - the environment has its own archive
   */
  readonly centralArchive?: { readonly name: string; readonly json: StackJson };
}

/** The controls of a bucket that holds evidence: for an environment with a central archive, they run on the archive's stack. */
export const CENTRAL_ARCHIVE_CONTROLS: readonly string[] = Object.freeze(["RET-2", "RET-3", "RET-4", "S3-1", "S3-2", "S3-3", "S3-4"]);
/** The controls that run on a central archive's own stack: its bucket's, its key's rotation, and IAM-2. */
export const ARCHIVE_STACK_CONTROLS: readonly string[] = Object.freeze([...CENTRAL_ARCHIVE_CONTROLS, "KMS-1", "IAM-2"]);

interface Check {
  readonly pass: boolean;
  readonly message: string;
  readonly evidence: readonly Evidence[];
}

export interface ControlDefinition {
  readonly id: string;
  readonly title: string;
  readonly severity: ControlSeverity;
  readonly mappings: ControlMappings;
  readonly check: (stack: StackJson, ctx: ControlContext) => Check;
}

/** A typed, approved exception to one control, with its compensating control. */
export interface ControlException {
  readonly control: string;
  readonly justification: string;
  readonly compensatingControl: string;
  readonly approver: string;
  /** ISO date the exception was approved. */
  readonly approved: string;
  /** ISO date after which the exception no longer applies. */
  readonly expires: string;
}

export interface ControlOutcome {
  readonly id: string;
  readonly title: string;
  readonly severity: ControlSeverity;
  readonly mappings: ControlMappings;
  readonly result: ControlResult;
  readonly message: string;
  readonly evidence: readonly Evidence[];
  /** The exception that turned a FAIL into EXCEPTION (or that expired). */
  readonly exception?: ControlException;
}

const ok = (message: string, evidence: Evidence[] = []): Check => ({ pass: true, message, evidence });
const fail = (message: string, evidence: Evidence[] = []): Check => ({ pass: false, message, evidence });
const ev = (r: Resource, attribute: string, value: unknown = r.values[attribute]): Evidence => ({ address: r.address, attribute, value });

/** Companion resources of a bucket (versioning, encryption, ...): those whose `bucket` references it. */
function forBucket(stack: StackJson, bucket: Resource, type: string): Resource[] {
  return resources(stack, type).filter((r) => referenced(stack, r.values.bucket)?.resource.address === bucket.address);
}

/** The tag that marks a bucket holding no flow-log evidence (Athena query results). */
export const NOT_ARCHIVE_TAG = { key: "FlowlogKitRole", value: "athena-results" } as const;

/**
 * Archive buckets: every bucket of the stack except those the kit marks as holding no evidence.
 * Fail-closed on purpose: a bucket whose protections were removed is still checked.
 */
/** A stack's archive buckets: every bucket but the Athena results bucket. */
export function archiveBuckets(stack: StackJson): Resource[] {
  return resources(stack, "aws_s3_bucket").filter((b) => (b.values.tags as Record<string, string> | undefined)?.[NOT_ARCHIVE_TAG.key] !== NOT_ARCHIVE_TAG.value);
}

/** The log groups flow logs deliver to. */
function flowLogGroups(stack: StackJson): Resource[] {
  const groups = new Map<string, Resource>();
  for (const fl of resources(stack, "aws_flow_log")) {
    if (fl.values.log_destination_type !== "cloud-watch-logs") continue;
    const ref = referenced(stack, fl.values.log_destination);
    if (ref?.resource.type === "aws_cloudwatch_log_group") groups.set(ref.resource.address, ref.resource);
  }
  return [...groups.values()];
}

function lifecycleRules(r: Resource): { expiration?: number; transitions: { days: number; storageClass: string }[]; noncurrent?: number; status?: string }[] {
  return asList(r.values.rule).map((raw) => {
    const rule = raw as Record<string, unknown>;
    return {
      status: rule.status as string | undefined,
      expiration: (asList(rule.expiration)[0] as { days?: number } | undefined)?.days,
      noncurrent: (asList(rule.noncurrent_version_expiration)[0] as { noncurrent_days?: number } | undefined)?.noncurrent_days,
      transitions: asList(rule.transition).map((t) => ({ days: (t as { days: number }).days, storageClass: (t as { storage_class: string }).storage_class })),
    };
  });
}

/** The Object Lock default retentions set on a bucket (days; years counted as 365 days). */
function objectLocks(stack: StackJson, bucket: Resource): { resource: Resource; mode: string; days: number }[] {
  return forBucket(stack, bucket, "aws_s3_bucket_object_lock_configuration").flatMap((r) =>
    asList(r.values.rule).flatMap((rule) =>
      asList((rule as { default_retention?: unknown }).default_retention).map((raw) => {
        const d = raw as { mode?: string; days?: number; years?: number };
        return { resource: r, mode: d.mode ?? "?", days: d.days ?? (d.years ?? 0) * 365 };
      }),
    ),
  );
}

/** Lifecycle configurations of the archive buckets. */
function archiveLifecycles(stack: StackJson): Resource[] {
  return archiveBuckets(stack).flatMap((b) => forBucket(stack, b, "aws_s3_bucket_lifecycle_configuration"));
}

/**
 * The days of each archive lifecycle during which objects sit in a class Athena does not read
 * (Glacier Flexible Retrieval, Deep Archive), e.g. "days 180-365 of 365 (DEEP_ARCHIVE from day
 * 180)".
 */
function notQueryable(stack: StackJson): { address: string; fromDay: number; toDay: number; storageClass: string; text: string }[] {
  const out: { address: string; fromDay: number; toDay: number; storageClass: string; text: string }[] = [];
  for (const lc of archiveLifecycles(stack)) {
    for (const rule of lifecycleRules(lc).filter((r) => r.status === "Enabled" && r.expiration !== undefined)) {
      const gap = notQueryableDays(rule.transitions, rule.expiration!);
      if (gap) out.push({ address: lc.address, ...gap, text: `${lc.address}: days ${gap.fromDay}-${gap.toDay} of ${gap.toDay} are not queryable by Athena (${gap.storageClass} from day ${gap.fromDay})` });
    }
  }
  return out;
}

/** A compensating control that says the archive answers queries. */
const CLAIMS_QUERYABLE = /\bqueryable\b|\bathena\b/i;

const CW_DAYS = Object.values(CLOUDWATCH_RETENTION) as number[];
const S3_DAYS = Object.values(ARCHIVE_RETENTION) as number[];

/** Every statement of every policy document in the stack, with where it came from. */
function statements(stack: StackJson): { r: Resource; attribute: string; st: Record<string, unknown> }[] {
  const out: { r: Resource; attribute: string; st: Record<string, unknown> }[] = [];
  const sources: [string, string][] = [
    ["aws_iam_role_policy", "policy"],
    ["aws_iam_policy", "policy"],
    ["aws_iam_role", "assume_role_policy"],
    ["aws_s3_bucket_policy", "policy"],
    ["aws_kms_key", "policy"],
  ];
  for (const [type, attribute] of sources) {
    for (const r of resources(stack, type)) {
      for (const st of policyDocument(r.values[attribute])?.Statement ?? []) out.push({ r, attribute, st });
    }
  }
  return out;
}

export const CONTROLS: readonly ControlDefinition[] = Object.freeze([
  {
    id: "FLOW-1",
    title: "Every VPC has a flow log that captures REJECT traffic",
    severity: "HIGH",
    mappings: { cis: "CIS AWS Foundations 3.9", securityHub: "EC2.6", checkov: "CKV2_AWS_11" },
    check: (stack, ctx) => {
      const logs = resources(stack, "aws_flow_log");
      const evidence: Evidence[] = [];
      const missing: string[] = [];
      for (const vpc of ctx.vpcs) {
        const hit = logs.find((l) => l.values.vpc_id === vpc && (l.values.traffic_type === "REJECT" || l.values.traffic_type === "ALL"));
        if (hit) evidence.push(ev(hit, "vpc_id"), ev(hit, "traffic_type"));
        else missing.push(vpc);
      }
      if (ctx.vpcs.length === 0) return fail("the environment lists no VPC; a VPC-level control cannot pass on subnet or ENI logs alone");
      return missing.length
        ? fail(`no VPC-level flow log capturing REJECT for ${missing.join(", ")} (subnet- or ENI-level logs do not satisfy a VPC-level control)`, evidence)
        : ok(`all ${ctx.vpcs.length} VPC(s) have a VPC-level flow log capturing REJECT`, evidence);
    },
  },
  {
    id: "RET-1",
    title: "CloudWatch Logs retention is 7, 14 or 30 days, never 'never expire'",
    severity: "MEDIUM",
    mappings: { checkov: "CKV_AWS_66" },
    check: (stack) => {
      const groups = resources(stack, "aws_cloudwatch_log_group");
      const evidence = groups.map((g) => ev(g, "retention_in_days"));
      const bad = groups.filter((g) => !CW_DAYS.includes(g.values.retention_in_days as number));
      if (groups.length === 0) return fail("the stack has no CloudWatch log group");
      return bad.length ? fail(`${bad.map((b) => b.address).join(", ")}: retention not one of ${CW_DAYS.join(", ")} days`, evidence) : ok("every log group expires after 7, 14 or 30 days", evidence);
    },
  },
  {
    id: "RET-2",
    title: "The S3 archive expires after 90, 180 or 365 days through a lifecycle",
    severity: "MEDIUM",
    mappings: { securityHub: "S3.13", checkov: "CKV2_AWS_61" },
    check: (stack) => {
      const buckets = archiveBuckets(stack);
      if (buckets.length === 0) return fail("the stack has no archive bucket (a bucket log delivery may write to)");
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      for (const b of buckets) {
        const lcs = forBucket(stack, b, "aws_s3_bucket_lifecycle_configuration");
        if (lcs.length === 0) problems.push(`${b.address}: no lifecycle configuration`);
        const expirations: number[] = [];
        for (const lc of lcs) {
          const rules = lifecycleRules(lc).filter((r) => r.status === "Enabled");
          const days = rules.map((r) => r.expiration).filter((d): d is number => d !== undefined);
          expirations.push(...days);
          evidence.push(ev(lc, "rule.expiration.days", days));
          if (!days.some((d) => S3_DAYS.includes(d))) problems.push(`${lc.address}: expiration ${days.join(", ") || "none"} is not 90, 180 or 365 days`);
        }
        // A lock that outlasts the expiration would make the lifecycle claim deletions AWS refuses.
        for (const lock of objectLocks(stack, b)) {
          evidence.push(ev(lock.resource, "rule.default_retention", `${lock.mode} ${lock.days}d`));
          const conflict = objectLockConflict(lock.days, expirations.length ? Math.max(...expirations) : undefined);
          if (conflict) problems.push(`${lock.resource.address}: ${conflict}`);
        }
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("the archive expires at its retention class", evidence);
    },
  },
  {
    id: "RET-3",
    title: "Lifecycle transitions never enter a storage class whose minimum duration outlasts expiration",
    severity: "LOW",
    mappings: {},
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      for (const lc of resources(stack, "aws_s3_bucket_lifecycle_configuration")) {
        for (const rule of lifecycleRules(lc)) {
          evidence.push(ev(lc, "rule.transition", rule.transitions.map((t) => `${t.storageClass}@${t.days}d`)));
          for (const t of rule.transitions) {
            const min = MINIMUM_STORAGE_DAYS[t.storageClass as ArchiveStorageClass];
            if (min === undefined) problems.push(`${lc.address}: unknown storage class ${t.storageClass}`);
            else if (rule.expiration !== undefined && t.days + min > rule.expiration) {
              problems.push(`${lc.address}: ${t.storageClass} at day ${t.days} keeps objects ${min} days but they expire at day ${rule.expiration}`);
            }
          }
        }
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("every transition ends its minimum storage duration before expiration", evidence);
    },
  },
  {
    id: "RET-4",
    title: "Every archived object stays queryable by Athena for its whole retention",
    severity: "MEDIUM",
    mappings: {},
    check: (stack) => {
      const evidence: Evidence[] = [];
      const gaps = notQueryable(stack);
      for (const lc of archiveLifecycles(stack)) {
        for (const rule of lifecycleRules(lc).filter((r) => r.status === "Enabled" && r.expiration !== undefined)) {
          evidence.push(ev(lc, "rule.transition", rule.transitions.map((t) => `${t.storageClass}@${t.days}d`)));
        }
      }
      return gaps.length
        ? fail(`${gaps.map((g) => g.text).join("; ")}: Athena skips these objects until they are restored`, evidence)
        : ok("every transition is into a class Athena reads (Standard-IA, Glacier Instant Retrieval)", evidence);
    },
  },
  {
    id: "S3-1",
    title: "The archive is encrypted with SSE-KMS",
    severity: "HIGH",
    mappings: { securityHub: "S3.17", checkov: "CKV_AWS_145" },
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      for (const b of archiveBuckets(stack)) {
        const sse = forBucket(stack, b, "aws_s3_bucket_server_side_encryption_configuration");
        const algos = sse.flatMap((r) => asList(r.values.rule).map((x) => (x as { apply_server_side_encryption_by_default?: { sse_algorithm?: string } }).apply_server_side_encryption_by_default?.sse_algorithm));
        sse.forEach((r) => evidence.push(ev(r, "rule.apply_server_side_encryption_by_default.sse_algorithm", algos)));
        if (!algos.includes("aws:kms") && !algos.includes("aws:kms:dsse")) problems.push(`${b.address}: not SSE-KMS`);
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("SSE-KMS with a KMS key", evidence);
    },
  },
  {
    id: "S3-2",
    title: "The archive denies requests without TLS",
    severity: "MEDIUM",
    mappings: { securityHub: "S3.5" },
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      for (const b of archiveBuckets(stack)) {
        const policies = forBucket(stack, b, "aws_s3_bucket_policy");
        const deny = policies.flatMap((p) =>
          (policyDocument(p.values.policy)?.Statement ?? [])
            .filter((st) => st.Effect === "Deny" && JSON.stringify(st.Condition ?? {}).includes('"aws:SecureTransport":"false"'))
            .map((st) => ({ p, st })),
        );
        deny.forEach(({ p, st }) => evidence.push(ev(p, `policy.Statement[${String(st.Sid ?? "?")}].Condition`, st.Condition)));
        if (deny.length === 0) problems.push(`${b.address}: no Deny on aws:SecureTransport = false`);
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("a Deny statement on aws:SecureTransport = false", evidence);
    },
  },
  {
    id: "S3-3",
    title: "The archive blocks all public access",
    severity: "HIGH",
    mappings: { securityHub: "S3.8", checkov: "CKV2_AWS_6" },
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      const flags = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];
      for (const b of archiveBuckets(stack)) {
        const pab = forBucket(stack, b, "aws_s3_bucket_public_access_block");
        pab.forEach((r) => flags.forEach((f) => evidence.push(ev(r, f))));
        if (!pab.some((r) => flags.every((f) => r.values[f] === true))) problems.push(`${b.address}: public access not fully blocked`);
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("all four public access block settings are on", evidence);
    },
  },
  {
    id: "S3-4",
    title: "The archive is versioned",
    severity: "MEDIUM",
    mappings: { securityHub: "S3.14", checkov: "CKV_AWS_21" },
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      for (const b of archiveBuckets(stack)) {
        const v = forBucket(stack, b, "aws_s3_bucket_versioning");
        v.forEach((r) => evidence.push(ev(r, "versioning_configuration.status", (r.values.versioning_configuration as { status?: string } | undefined)?.status)));
        if (!v.some((r) => (r.values.versioning_configuration as { status?: string } | undefined)?.status === "Enabled")) problems.push(`${b.address}: versioning not Enabled`);
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("versioning Enabled", evidence);
    },
  },
  {
    id: "CWL-1",
    title: "Log groups are encrypted with KMS",
    severity: "MEDIUM",
    mappings: { checkov: "CKV_AWS_158" },
    check: (stack) => {
      const groups = resources(stack, "aws_cloudwatch_log_group");
      // With more than one Region, each group's Region is evidence too: CloudWatch Logs accepts
      // only a key of the group's own Region.
      const multiRegion = stackRegions(stack).length > 1;
      const evidence = groups.flatMap((g) => [ev(g, "kms_key_id"), ...(multiRegion ? [{ address: g.address, attribute: "region", value: regionOf(stack, g) }] : [])]);
      const bad = groups.filter((g) => typeof g.values.kms_key_id !== "string" || g.values.kms_key_id === "");
      const keyRegion = (g: Resource) => {
        const ref = referenced(stack, g.values.kms_key_id);
        return ref ? regionOf(stack, ref.resource) : /^arn:[^:]+:kms:([^:]+):/.exec(String(g.values.kms_key_id))?.[1];
      };
      const elsewhere = groups.filter((g) => !bad.includes(g) && keyRegion(g) !== undefined && keyRegion(g) !== regionOf(stack, g));
      const problems = [
        ...(bad.length ? [`${bad.map((b) => b.address).join(", ")}: no kms_key_id`] : []),
        ...elsewhere.map((g) => `${g.address}: its key is in ${keyRegion(g)}, the group in ${regionOf(stack, g)}`),
      ];
      return problems.length ? fail(problems.join("; "), evidence) : ok("every log group has a KMS key", evidence);
    },
  },
  {
    id: "KMS-1",
    title: "The environment key rotates",
    severity: "MEDIUM",
    mappings: { securityHub: "KMS.4", checkov: "CKV_AWS_7" },
    check: (stack) => {
      const keys = resources(stack, "aws_kms_key");
      if (keys.length === 0) {
        return fail("no key is managed by this stack (a given key ARN is used), so rotation cannot be verified here");
      }
      const evidence = keys.map((k) => ev(k, "enable_key_rotation"));
      const bad = keys.filter((k) => k.values.enable_key_rotation !== true);
      return bad.length ? fail(`${bad.map((b) => b.address).join(", ")}: rotation off`, evidence) : ok("rotation enabled", evidence);
    },
  },
  {
    id: "IAM-1",
    title: "The delivery role trusts flow logs only with aws:SourceAccount and aws:SourceArn",
    severity: "HIGH",
    mappings: {},
    check: (stack) => {
      const evidence: Evidence[] = [];
      const problems: string[] = [];
      const roles = resources(stack, "aws_iam_role").filter((r) => JSON.stringify(policyDocument(r.values.assume_role_policy) ?? {}).includes("vpc-flow-logs.amazonaws.com"));
      if (roles.length === 0) return fail("no flow-log delivery role in the stack");
      for (const r of roles) {
        for (const st of policyDocument(r.values.assume_role_policy)?.Statement ?? []) {
          const cond = (st.Condition ?? {}) as Record<string, Record<string, unknown>>;
          const account = Object.values(cond).find((c) => c["aws:SourceAccount"] !== undefined)?.["aws:SourceAccount"];
          const arn = Object.values(cond).find((c) => c["aws:SourceArn"] !== undefined)?.["aws:SourceArn"];
          evidence.push(ev(r, "assume_role_policy.Condition", st.Condition));
          if (account === undefined || arn === undefined) problems.push(`${r.address}: trust lacks ${account === undefined ? "aws:SourceAccount" : ""}${account === undefined && arn === undefined ? " and " : ""}${arn === undefined ? "aws:SourceArn" : ""}`);
        }
      }
      return problems.length ? fail(problems.join("; "), evidence) : ok("confused-deputy conditions present", evidence);
    },
  },
  {
    id: "IAM-2",
    title: "No IAM statement allows every action on every resource",
    severity: "CRITICAL",
    mappings: { securityHub: "IAM.1", checkov: "CKV_AWS_62" },
    check: (stack) => {
      const all = statements(stack);
      const bad = all.filter(({ st }) => st.Effect === "Allow" && asList(st.Action).includes("*") && (st.Resource === undefined || asList(st.Resource).includes("*")));
      const evidence = bad.map(({ r, attribute, st }) => ev(r, `${attribute}.Statement[${String(st.Sid ?? "?")}]`, { Action: st.Action, Resource: st.Resource }));
      return bad.length ? fail(`${bad.length} statement(s) allow "*" on "*"`, evidence) : ok(`${all.length} statements checked; none allows "*" on "*"`);
    },
  },
  {
    id: "CWL-365",
    title: "CloudWatch Logs keeps flow logs at least 365 days",
    severity: "LOW",
    mappings: { securityHub: "CloudWatch.16", checkov: "CKV_AWS_338" },
    check: (stack) => {
      const groups = flowLogGroups(stack);
      const evidence = groups.map((g) => ev(g, "retention_in_days"));
      const short = groups.filter((g) => ((g.values.retention_in_days as number) ?? 0) < 365 && g.values.retention_in_days !== 0);
      return short.length
        ? fail(`flow logs are kept ${short.map((g) => g.values.retention_in_days).join(", ")} days in CloudWatch (the retention policy keeps history in the S3 archive instead)`, evidence)
        : ok("365 days or more", evidence);
    },
  },
]);

/** Open incident logging must not outlive its TTL: evaluated on the environment's incident stacks. */
export const INCIDENT_CONTROL = Object.freeze({
  id: "INC-1",
  title: "No incident logging is left open past its TTL",
  severity: "MEDIUM" as ControlSeverity,
  mappings: {} as ControlMappings,
});

/**
 * Each role's job and AWS's delivery, as requests decided by the stack's own policies: evaluated
 * on the environment's stack and its incident stacks by policies/access.ts (evaluateAccessControls).
 */
export const ACCESS_CONTROLS: readonly { readonly id: string; readonly title: string; readonly severity: ControlSeverity; readonly mappings: ControlMappings }[] = Object.freeze([
  { id: "ACC-1", title: "Every role can do its job: each step of a required task is allowed", severity: "HIGH", mappings: {} },
  { id: "ACC-2", title: "No role can do what it must not: each step of a forbidden task is denied", severity: "CRITICAL", mappings: {} },
  { id: "ACC-3", title: "AWS can deliver every flow log: the bucket, key, role and trust policies allow each request", severity: "HIGH", mappings: {} },
]);

export const CONTROL_IDS: readonly string[] = [...CONTROLS.map((c) => c.id), ...ACCESS_CONTROLS.map((c) => c.id), INCIDENT_CONTROL.id];

/** INC-1 on the synthesized incident stacks of one environment, as of `now`. */
export function evaluateIncidentControl(
  stacks: readonly { readonly name: string; readonly json: StackJson }[],
  now: Date,
  exceptions: readonly ControlException[] = [],
  today = now.toISOString().slice(0, 10),
  unreadable: readonly string[] = [],
): ControlOutcome {
  const evidence: Evidence[] = unreadable.map((u) => ({ address: u.split(" ")[0]!, attribute: "record", value: "cannot be loaded" }));
  // A record the kit cannot read may be logging right now; it is never counted as closed.
  const expired: string[] = unreadable.map((u) => `incident record ${u}`);
  const fixes: string[] = unreadable.length ? ["fix the record (or restore it from version control), then close the incident"] : [];
  for (const { name, json } of stacks) {
    // Incident stacks tag every resource through the provider's default tags.
    const tags = (asList(json.provider?.aws?.[0]?.default_tags)[0] as { tags?: Record<string, string> } | undefined)?.tags ?? {};
    evidence.push({ address: `${name}:provider.aws.default_tags`, attribute: "tags.Expires", value: tags.Expires });
    if (tags.Expires === undefined || Date.parse(tags.Expires) <= now.getTime()) {
      expired.push(`${name} (expired ${tags.Expires ?? "at an unknown time"})`);
      const id = tags.Incident ?? name.replace(/^.*-incident-/, "");
      fixes.push(`flowlog-kit incident close ${id}, apply the destroy plan, then run close again to confirm`);
    }
  }
  const check: Check = expired.length
    ? fail(`incident logging still open past its TTL, or of unknown state: ${expired.join(", ")}; ${fixes.join("; ")}`, evidence)
    : ok(stacks.length ? `${stacks.length} open or closing incident(s), none past its TTL` : "no open incidents", evidence);
  const base = { ...INCIDENT_CONTROL, evidence: check.evidence };
  if (check.pass) return { ...base, result: "PASS", message: check.message };
  const exception = exceptions.find((e) => e.control === INCIDENT_CONTROL.id && e.expires >= today);
  return exception
    ? { ...base, result: "EXCEPTION", message: `${check.message}; excepted until ${exception.expires} (approved by ${exception.approver})`, exception }
    : { ...base, result: "FAIL", message: check.message };
}

/**
 * Evaluates every control on one stack, applying the environment's exceptions as of `today`
 * (YYYY-MM-DD). An exception whose compensating control claims the archive is queryable (it
 * mentions "queryable" or Athena) does not hold while part of the archive's retention is out of
 * Athena's reach: the control fails, naming the days. RET-4's own exception is exempt: it is
 * the one that acknowledges those days.
 */
export function evaluateControls(stack: StackJson, ctx: ControlContext, exceptions: readonly ControlException[], today: string, only?: readonly string[]): ControlOutcome[] {
  const central = ctx.centralArchive;
  const gaps = notQueryable(central?.json ?? stack);
  return CONTROLS.filter((c) => only === undefined || only.includes(c.id)).map((c) => {
    const check = central && CENTRAL_ARCHIVE_CONTROLS.includes(c.id) ? onCentralArchive(c.check(central.json, ctx), central.name) : c.check(stack, ctx);
    const base = { id: c.id, title: c.title, severity: c.severity, mappings: c.mappings, evidence: check.evidence };
    if (check.pass) return { ...base, result: "PASS" as const, message: check.message };
    const exception = exceptions.find((e) => e.control === c.id);
    if (!exception) return { ...base, result: "FAIL" as const, message: check.message };
    if (exception.expires < today) {
      return { ...base, result: "FAIL" as const, message: `${check.message}; the exception approved by ${exception.approver} expired on ${exception.expires}`, exception };
    }
    if (c.id !== "RET-4" && gaps.length && CLAIMS_QUERYABLE.test(exception.compensatingControl)) {
      return {
        ...base,
        result: "FAIL" as const,
        message: `${check.message}; the exception approved by ${exception.approver} does not hold: its compensating control claims the archive is queryable ("${exception.compensatingControl}"), but ${gaps.map((g) => g.text).join("; ")}`,
        evidence: [...check.evidence, ...gaps.map((g) => ({ address: g.address, attribute: "rule.transition", value: `not queryable: days ${g.fromDay}-${g.toDay}` }))],
        exception,
      };
    }
    return {
      ...base,
      result: "EXCEPTION" as const,
      message: `${check.message}; excepted until ${exception.expires} (approved by ${exception.approver}): ${exception.justification} Compensating control: ${exception.compensatingControl}`,
      exception,
    };
  });
}

/**
 * A check run on a central archive's stack, worded so: the environment's report says where the
 * evidence came from, and each evidence address names that stack.
 */
function onCentralArchive(check: Check, stackName: string): Check {
  return {
    pass: check.pass,
    message: `evaluated on ${stackName}: ${check.message}`,
    evidence: check.evidence.map((e) => ({ ...e, address: `${stackName}:${e.address}` })),
  };
}

/** The retention actually synthesized, for the report's retention table. */
export interface RetentionFacts {
  readonly cloudWatchDays: readonly number[];
  readonly archiveDays: readonly number[];
  readonly transitions: readonly string[];
  readonly noncurrentDays: readonly number[];
  /** Spans of the retention Athena cannot read, e.g. "DEEP_ARCHIVE days 180-365"; empty when all of it is queryable. */
  readonly notQueryable: readonly string[];
  /** The archive's Object Lock default retention, e.g. "COMPLIANCE 365d"; empty without a lock. */
  readonly objectLock: readonly string[];
  readonly evidence: readonly Evidence[];
}

/**
 * The retention of a stack's log groups and archive. With `archiveStack` (the central archive
 * an environment delivers to), the archive's facts come from that stack.
 */
export function retentionFacts(stack: StackJson, archiveStack?: { readonly name: string; readonly json: StackJson }): RetentionFacts {
  const groups = flowLogGroups(stack);
  const archive = archiveStack?.json ?? stack;
  const buckets = archiveBuckets(archive);
  const lcs = archiveLifecycles(archive);
  const locks = buckets.flatMap((b) => objectLocks(archive, b));
  const rules = lcs.flatMap(lifecycleRules);
  const at = (e: Evidence): Evidence => (archiveStack ? { ...e, address: `${archiveStack.name}:${e.address}` } : e);
  return {
    cloudWatchDays: groups.map((g) => g.values.retention_in_days as number),
    archiveDays: rules.map((r) => r.expiration).filter((d): d is number => d !== undefined),
    transitions: rules.flatMap((r) => [...r.transitions].sort((a, b) => a.days - b.days).map((t) => `${t.storageClass}@${t.days}d`)),
    noncurrentDays: rules.map((r) => r.noncurrent).filter((d): d is number => d !== undefined),
    notQueryable: notQueryable(archive).map((g) => `${g.storageClass} days ${g.fromDay}-${g.toDay}`),
    objectLock: locks.map((l) => `${l.mode} ${l.days}d`),
    evidence: [...groups.map((g) => ev(g, "retention_in_days")), ...lcs.map((l) => at(ev(l, "rule"))), ...locks.map((l) => at(ev(l.resource, "rule")))],
  };
}
