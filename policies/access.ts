/**
 * Each role's job as executable tasks, evaluated on a synthesized stack: what the
 * SecurityAnalyst, SecurityEngineer and Auditor must be able to do (and must not), what the
 * detector and the alarms do, and every request AWS makes to deliver the flow logs. Every task
 * is a list of requests (principal, action, resource, request context) that policies/evaluate.ts
 * decides against the stack's own policies, read by policies/stack-model.ts. Pure TypeScript.
 *
 * The tasks are read from the stack, not from the configuration: the workgroup, tables, buckets,
 * keys, log groups, roles, function and topic are the ones Terraform will create, so a task
 * names exactly what will exist. A task whose resources the stack does not have (no Athena, no
 * detector, no Auditor role) is not asked.
 *
 * A decision that rests on a policy outside the stack (a given KMS key, a bucket of another
 * stack) is "unverified", with what to check: never "allow".
 */
import { ACCESS_CONTROLS, archiveBuckets, ControlException, ControlOutcome } from "./controls";
import { Evidence, resources, StackJson } from "./controls/stack";
import { DeliveryPlan, deliveryPlanOf, DeliveryRequest, FlowLogSettings, flowLogSettings, logDeliveryRole, logStreamName, placeholderInterfaceId } from "./delivery-paths";
import { AccessDecision, AccessRequest, ContextValue, evaluate, PolicySet } from "./evaluate";
import { bucketArn, logGroupArn, partitionOf, s3ObjectArn } from "./iam";
import { RBAC_ROLES, RbacRole, rbacRoleName } from "./rbac";
import { stackModel, StackModel } from "./stack-model";

/** What a row's request gets from AWS: implicit deny is shown as "deny" with statement "implicit deny". */
export type AccessDecisionText = "allow" | "deny" | "unverified";

/** The control a row is evidence for: ACC-1 required tasks, ACC-2 forbidden tasks, ACC-3 delivery. */
export type AccessControlId = "ACC-1" | "ACC-2" | "ACC-3";

/** One evaluated request, as `flowlog-kit access --format json` prints it. */
export interface AccessRow {
  readonly environment: string;
  /** An IAM role by its name (`flowlogs-prod-security-analyst`), or a service principal. */
  readonly principal: string;
  /** The job the request is part of, e.g. "run an Athena query end to end". */
  readonly task: string;
  readonly action: string;
  /** The ARN the action is authorized against, or "*". */
  readonly resource: string;
  readonly decision: AccessDecisionText;
  /**
   * The deciding statement's Sid, or "implicit deny"; for an unverified row, the statement that
   * decided it so far, or "undecided: <policy> not known".
   */
  readonly statement: string;
  /** True: the task must be allowed. False: it is forbidden, and must be denied. */
  readonly required: boolean;
  /** What to check for an unverified row, why a request is denied, or a caveat on an allow. */
  readonly note?: string;
}

/** A row with what the report, the controls and the fix need besides. */
export interface EvaluatedRow extends AccessRow {
  /** The synthesized stack, e.g. `flowlogs-prod-incident-sec-1`. */
  readonly stack: string;
  readonly control: AccessControlId;
  /** "ok": as the task requires; "fail": a required task denied or a forbidden one allowed; "review": unverified. */
  readonly outcome: "ok" | "fail" | "review";
  /** The policy holding `statement`, as the stack names it. */
  readonly policy?: string;
  /** What to change when the row fails, or what to check when it is unverified. */
  readonly fix: string;
  /** Why AWS decides as it does, when the evaluator says (the request's own caveats are in `note`). */
  readonly why?: string;
  /**
   * The ARN of a permissions boundary the principal has but the stack only references: evaluated
   * as absent, so an allow holds only if the boundary allows the action too. The controls treat
   * such a row like an unverified one.
   */
  readonly boundary?: string;
}

/** A synthesized stack and its name. */
export interface NamedStack {
  readonly name: string;
  readonly json: StackJson;
}

export interface StackAccessOptions {
  /** The environment the stack belongs to: RBAC roles are named after it. */
  readonly environment: string;
  /**
   * Stacks applied in the same account and Region that this one builds on: for an incident
   * stack, its environment stack (roles, archive bucket and key are defined there).
   * @default []
   */
  readonly companions?: readonly NamedStack[];
}

interface Step {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, ContextValue>>;
  /** Acts for the task's principal, e.g. CloudWatch Logs decrypting a group for a query. */
  readonly principal?: string;
  readonly note?: string;
  /** Where the policy that decides lives, when it is not the task's. */
  readonly source?: string;
}

interface Task {
  readonly principal: string;
  readonly task: string;
  readonly required: boolean;
  readonly control: AccessControlId;
  /** Where the policies that should decide are written, for the fix. */
  readonly source: string;
  readonly steps: readonly Step[];
}

/** The evaluator's statement when no statement allows or denies. */
const IMPLICIT_DENY = "implicit deny";

/** An account that is not the stack's: the principal of the "nothing outside writes" tasks. */
const externalAccount = (account: string) => (account === "111122223333" ? "444455556666" : "111122223333");

const SOURCES = {
  SecurityAnalyst: "policies/rbac.ts securityAnalystPolicy",
  SecurityEngineer: "policies/rbac.ts securityEngineerPolicy",
  Auditor: "policies/rbac.ts auditorPolicy",
  detector: "policies/iam.ts detectorPermissions",
  keyPolicy: "policies/iam.ts kmsKeyPolicy",
  bucketPolicy: "policies/iam.ts archiveBucketPolicy (deliveryPrefixes)",
  deliveryRole: "policies/iam.ts deliveryPermissions",
  deliveryTrust: "policies/iam.ts deliveryTrustPolicy",
  topicPolicy: "policies/iam.ts findingsTopicPolicy",
  invoke: "modules/detectors.ts (aws_lambda_permission)",
  serviceLinked: "the stream's LogDeliveryEnabled=true tag (AWSServiceRoleForLogDelivery)",
  firehoseSourceTrust: "policies/iam.ts firehoseSourceTrustPolicy",
  firehoseSource: "policies/iam.ts firehoseSourcePermissions (AssumeDestinationAccountRoles), and the destination role's trust policy in the stream's account",
  firehoseDestination: "the destination account's AWSLogDeliveryFirehoseCrossAccountRole... role (outside the stack)",
} as const;

/** The account and Region a stack is applied in: its default AWS provider's. */
export function stackAccount(stack: NamedStack): { account: string; region: string } {
  const providers = (stack.json.provider?.aws ?? []) as Record<string, unknown>[];
  const p = providers.find((x) => x.alias === undefined) ?? providers[0];
  const account = Array.isArray(p?.allowed_account_ids) ? String(p!.allowed_account_ids[0]) : undefined;
  const region = typeof p?.region === "string" ? p.region : undefined;
  if (!account || !region) {
    throw new Error(
      `${stack.name}: the stack's AWS provider names no ${account ? "region" : "allowed_account_ids"} (got ${JSON.stringify(p ?? null)}). Synthesize it with the kit (stacks/environment-stack.ts configureStack sets both).`,
    );
  }
  return { account, region };
}

/** The name a principal is shown with: an IAM role's name, or the principal as given. */
export function principalName(principal: string): string {
  const role = /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(principal);
  return role ? role[1]! : principal;
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const vars = (fn: Record<string, unknown>) => ((fn.environment as { variables?: Record<string, unknown> } | undefined)?.variables ?? {}) as Record<string, unknown>;

/** The resources of one stack that tasks name, read with references resolved. */
interface StackFacts {
  readonly name: string;
  readonly json: StackJson;
  /** The account that owns a bucket (a companion's, when it defines it), for S3 requests. */
  readonly bucketOwner: (bucketArn: string) => string;
  readonly account: string;
  readonly region: string;
  readonly p: string;
  readonly model: StackModel;
  readonly plan: DeliveryPlan;
  readonly flowLogs: readonly FlowLogSettings[];
  /** Flow-log groups this stack's flow logs write, with their key and masking. */
  readonly groups: readonly { arn: string; name: string; keyArn?: string; masked: boolean }[];
  /** One sample object per S3 flow log, with its bucket, the bucket's key, and whether the bucket's policy is known. */
  readonly objects: readonly { flowLog: string; bucketArn: string; objectArn: string; key?: BucketKey | "unknown"; policyKnown: boolean }[];
  /** Archive buckets this stack defines. */
  readonly archiveBuckets: readonly { arn: string; key?: BucketKey }[];
  /** A bucket's default SSE-KMS key, by name; "unknown" when no stack at hand defines the bucket. */
  readonly bucketSse: (bucketName: string) => BucketKey | undefined | "unknown";
}

interface BucketKey {
  readonly keyArn: string;
  readonly bucketKey: boolean;
}

/**
 * Every task of one synthesized stack, each request decided. The stack's account and Region are
 * its provider's.
 */
export function stackAccess(stack: NamedStack, options: StackAccessOptions): EvaluatedRow[] {
  const { account, region } = stackAccount(stack);
  const p = partitionOf(region);
  const companions = options.companions ?? [];
  const ctx = { account, region };
  // Each companion in its own account and Region: a central archive lives in another account.
  const withContext = companions.map((c) => ({ stack: c.json, context: stackAccount(c) }));
  const model = stackModel(stack.json, ctx, { companions: withContext });
  const all = [{ json: stack.json, model, account }, ...model.companions.map((c) => ({ json: c.stack, model: c.model, account: c.model.context.account }))];
  const plan = deliveryPlanOf(stack.json, model);
  const flowLogs = flowLogSettings(stack.json, model);

  const sseCache = new Map<string, BucketKey | undefined | "unknown">();
  const bucketSse = (bucketName: string): BucketKey | undefined | "unknown" => {
    if (!sseCache.has(bucketName)) sseCache.set(bucketName, readBucketSse(bucketName));
    return sseCache.get(bucketName);
  };
  /** The stack (this one or a companion) that defines the bucket of this name. */
  const definerOf = (bucketName: string) => all.find(({ json, model: m }) => resources(json, "aws_s3_bucket").some((b) => m.attribute(b.address, "bucket") === bucketName));
  const readBucketSse = (bucketName: string): BucketKey | undefined | "unknown" => {
    const definer = definerOf(bucketName);
    if (!definer) return "unknown";
    const { json, model: m } = definer;
    for (const sse of resources(json, "aws_s3_bucket_server_side_encryption_configuration")) {
      if (m.resolve(String(sse.values.bucket ?? "")) !== bucketName) continue;
      for (const rule of (Array.isArray(sse.values.rule) ? sse.values.rule : [sse.values.rule]) as Record<string, unknown>[]) {
        const byDefault = rule?.apply_server_side_encryption_by_default as Record<string, unknown> | undefined;
        const id = str(byDefault?.kms_master_key_id);
        if (byDefault && String(byDefault.sse_algorithm ?? "").startsWith("aws:kms") && id) return { keyArn: m.resolve(id), bucketKey: rule.bucket_key_enabled === true };
      }
    }
    return undefined;
  };

  const groupArns = [...new Set(plan.paths.filter((x) => x.destinationType === "cloud-watch-logs").map((x) => x.destination))];
  const masked = new Set(resources(stack.json, "aws_cloudwatch_log_data_protection_policy").map((r) => model.resolve(String(r.values.log_group_name ?? ""))));
  const groups = groupArns.map((arn) => {
    const name = arn.slice(arn.indexOf(":log-group:") + ":log-group:".length);
    // By ARN: groups of the same name live in several Regions.
    const group = resources(stack.json, "aws_cloudwatch_log_group").find((g) => model.attribute(g.address, "arn") === arn);
    const key = group ? str(group.values.kms_key_id) : undefined;
    return { arn, name, ...(key ? { keyArn: model.resolve(key) } : {}), masked: masked.has(name) };
  });

  const objects = plan.requests
    .filter((r) => r.action === "s3:PutObject")
    .map((r) => {
      const bucketArn = r.resource.slice(0, r.resource.indexOf("/"));
      const bucketName = bucketArn.slice(bucketArn.indexOf(":::") + 3);
      const key = bucketSse(bucketName);
      return { flowLog: r.flowLog, bucketArn, objectArn: r.resource, ...(key ? { key } : {}), policyKnown: model.policiesFor(`arn:${p}:iam::${account}:root`, bucketArn).resourcePolicy?.document !== undefined };
    });

  const buckets = archiveBuckets(stack.json)
    .map((b) => {
      const name = model.attribute(b.address, "bucket")!;
      const key = bucketSse(name);
      return { arn: bucketArn(region, name), ...(key && key !== "unknown" ? { key } : {}) };
    });

  const owners = new Map<string, string>();
  const bucketOwner = (bucketArn: string) => {
    const name = bucketArn.slice(bucketArn.indexOf(":::") + 3).split("/")[0]!;
    if (!owners.has(name)) owners.set(name, definerOf(name)?.account ?? account);
    return owners.get(name)!;
  };
  const facts: StackFacts = { name: stack.name, json: stack.json, bucketOwner, account, region, p, model, plan, flowLogs, groups, objects, archiveBuckets: buckets, bucketSse };
  const roleArn = (name: string) => {
    for (const { json, model: m } of all) {
      const role = resources(json, "aws_iam_role").find((r) => m.attribute(r.address, "name") === name);
      if (role) return m.attribute(role.address, "arn");
    }
    return undefined;
  };
  const incident = stack.name.startsWith(`flowlogs-${options.environment}-incident-`) ? stack.name.slice(`flowlogs-${options.environment}-incident-`.length) : undefined;
  const tasks: Task[] = [
    ...rbacTasks(facts, options.environment, roleArn, incident),
    ...detectorTasks(facts),
    ...alarmTasks(facts, stack.json),
    ...deliveryTasks(facts, stack.json),
    ...externalTasks(facts),
  ];
  const suffix = incident ? ` (incident ${incident})` : "";
  return [...tasks.flatMap((t) => t.steps.map((s) => evaluateStep(facts, options.environment, t, s, suffix))), ...unresolvedRows(facts, options.environment, stack.json, suffix)];
}

/**
 * Every task of an environment: its own stack, and each of its incident stacks read with the
 * environment stack as companion (the roles, the archive bucket and the key live there). With
 * `archive`, the synthesized stack of the central archive the environment delivers to, that
 * archive's bucket and key policies decide too (in the archive's account).
 */
export function environmentAccess(environment: string, stack: NamedStack, incidents: readonly NamedStack[] = [], archive?: NamedStack): EvaluatedRow[] {
  const shared = archive ? [archive] : [];
  return [...stackAccess(stack, { environment, companions: shared }), ...incidents.flatMap((i) => stackAccess(i, { environment, companions: [stack, ...shared] }))];
}

/** The public columns of a row, as `access --format json` prints them. */
export function accessJson(row: EvaluatedRow): AccessRow {
  const { environment, principal, task, action, resource, decision, statement, required, note } = row;
  return { environment, principal, task, action, resource, decision, statement, required, ...(note ? { note } : {}) };
}

function evaluateStep(f: StackFacts, environment: string, t: Task, s: Step, suffix: string): EvaluatedRow {
  const principal = s.principal ?? t.principal;
  const resourceAccount = /^arn:[^:]+:s3:::/.test(s.resource) ? f.bucketOwner(s.resource) : undefined;
  const found = f.model.policiesFor(principal, s.resource);
  // A role's trust policy governs only its assumption: IAM authorizes iam:* on a role (PassRole,
  // GetRole, CreateServiceLinkedRole) by identity policies alone.
  const policies = s.action.startsWith("iam:") ? { ...found, resourcePolicy: null } : found;
  // AWS puts the caller's ARN in every request of an IAM principal (cross-account grants test it).
  const context = principal.startsWith("arn:") ? { "aws:PrincipalArn": principal, ...s.context } : (s.context ?? {});
  const request = { principal, action: s.action, resource: s.resource, ...(resourceAccount ? { resourceAccount } : {}), context };
  const d: AccessDecision = withOrganization(f, request, policies, evaluate(request, policies));
  const decision: AccessDecisionText = d.decision === "allow" ? "allow" : d.decision === "unverified" ? "unverified" : "deny";
  // An unverified row names what decided it so far; when nothing the stack holds did, the policies it does not know.
  const statement = decision === "unverified" && d.statement === IMPLICIT_DENY ? undecided(policies) : d.statement;
  const pb = principal.startsWith("arn:") ? policies.permissionsBoundary : undefined;
  const boundary = pb && pb.document === undefined && d.note?.includes(`permissions boundary ${pb.arn}`) ? pb.arn : undefined;
  const outcome = decision === "unverified" ? "review" : (decision === "allow") === t.required ? "ok" : "fail";
  const shown = principalName(principal);
  const note = [s.note, d.note].filter(Boolean).join("; ");
  const source = s.source ?? t.source;
  const isService = !principal.startsWith("arn:");
  let fix: string;
  if (outcome === "review") fix = `${d.note ?? "a policy outside this stack decides"}; then record the review as a typed exception for ${t.control} in environments/${environment}.ts`;
  else if (!t.required) fix = `Deny ${s.action} on ${s.resource} to ${shown}, or narrow ${d.statement}${d.policy ? ` in ${d.policy}` : ""} (${source}).`;
  else if (d.decision === "deny") fix = `Narrow ${d.statement}${d.policy ? ` in ${d.policy}` : ""} so that it no longer denies ${shown} ${s.action} on ${s.resource} (${source}).`;
  else {
    const where = isService ? policies.resourcePolicy?.name : policies.identity?.[0]?.name;
    fix = `Allow ${shown} ${s.action} on ${s.resource}${where ? ` in ${where}` : ""} (${source}).`;
  }
  return {
    environment,
    principal: shown,
    task: `${t.task}${suffix}`,
    action: s.action,
    resource: s.resource,
    decision,
    statement,
    required: t.required,
    ...(note ? { note } : {}),
    stack: f.name,
    control: t.control,
    outcome,
    ...(d.policy ? { policy: d.policy } : {}),
    fix,
    ...(d.note ? { why: d.note } : {}),
    ...(boundary ? { boundary } : {}),
  };
}

/** The statement of an unverified row that no known statement decided: the policies not known here. */
function undecided(policies: PolicySet): string {
  const unknown = [
    ...(policies.resourcePolicy && policies.resourcePolicy.document === undefined ? [policies.resourcePolicy.name] : []),
    ...(policies.identity ?? []).filter((p) => p.document === undefined).map((p) => p.name),
  ];
  return `undecided: ${unknown.length ? unknown.join(", ") : "a policy outside the stack"} not known`;
}

/**
 * A service acting for this account sends aws:SourceOrgID, the account's organization, which
 * the stack cannot know. When a resource policy grants by organization (a central archive for
 * an organization) and only that is missing, the request is allowed if the account belongs to
 * the organization: unverified, saying so, never allowed and never denied on a guess.
 */
function withOrganization(f: StackFacts, request: AccessRequest, policies: PolicySet, d: AccessDecision): AccessDecision {
  const doc = policies.resourcePolicy?.document;
  if (d.decision !== "implicit-deny" || request.principal.startsWith("arn:") || !doc || Object.keys(request.context ?? {}).some((k) => k.toLowerCase() === "aws:sourceorgid")) return d;
  const orgs = [...new Set([...JSON.stringify(doc).matchAll(/"aws:SourceOrgID":\s*(\[[^\]]*\]|"[^"]*")/gi)].flatMap((m) => JSON.parse(m[1]!) as string | string[]))];
  for (const org of orgs) {
    const asMember = evaluate({ ...request, context: { ...request.context, "aws:SourceOrgID": org } }, policies);
    if (asMember.decision === "allow") {
      const account = String(request.context?.["aws:SourceAccount"] ?? f.account);
      return { ...asMember, decision: "unverified", note: `allowed by ${asMember.statement} if account ${account} belongs to organization ${org} (AWS then sends aws:SourceOrgID): check the account's organization` };
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// The roles' jobs

const MFA_SESSION = { "aws:SecureTransport": "true", "aws:MultiFactorAuthPresent": "true" } as const;
const TLS = { "aws:SecureTransport": "true" } as const;

/** A stream ARN of a group: one stand-in interface's stream, as delivery writes it. */
const streamOf = (groupArn: string, seed: string) => `${groupArn}:log-stream:${logStreamName(placeholderInterfaceId(seed), "ALL")}`;

const s3Context = (f: StackFacts) => ({ "kms:ViaService": `s3.${f.region}.amazonaws.com` });
const decryptObject = (f: StackFacts, o: StackFacts["objects"][number], base: Readonly<Record<string, ContextValue>> = MFA_SESSION): Step[] =>
  o.key && o.key !== "unknown" && !o.key.keyArn.includes("${") ? [{ action: "kms:Decrypt", resource: o.key.keyArn, context: { ...base, ...s3Context(f), "kms:EncryptionContext:aws:s3:arn": o.key.bucketKey ? o.bucketArn : o.objectArn } }] : [];

/** One flow log per (destination, resource type, delivery role): what creating one takes does not depend on more. */
function flowLogKinds(f: StackFacts): FlowLogSettings[] {
  const seen = new Set<string>();
  return f.flowLogs.filter((fl) => {
    const kind = `${fl.destinationType}|${fl.resourceType}|${fl.iamRoleArn ?? ""}|${fl.region}`;
    if (seen.has(kind)) return false;
    seen.add(kind);
    return true;
  });
}

/** "an ENI flow log", "a VPC flow log". */
const article = (noun: string) => `${/^(ENI|[aeiou])/i.test(noun) && !/^(VPC|transit)/.test(noun) ? "an" : "a"} ${noun}`;

const TARGET_TYPES: Readonly<Record<string, string>> = { vpc: "vpc", subnet: "subnet", eni: "network-interface", "transit-gateway": "transit-gateway", "transit-gateway-attachment": "transit-gateway-attachment" };
const DESTINATION_NAMES: Readonly<Record<string, string>> = { s3: "S3", "cloud-watch-logs": "CloudWatch Logs", "kinesis-data-firehose": "Firehose" };
const RESOURCE_NAMES: Readonly<Record<string, string>> = { vpc: "VPC", subnet: "subnet", eni: "ENI", "transit-gateway": "transit gateway", "transit-gateway-attachment": "transit gateway attachment" };

function rbacTasks(f: StackFacts, environment: string, roleArn: (name: string) => string | undefined, incident: string | undefined): Task[] {
  const roles = Object.fromEntries(RBAC_ROLES.map((r) => [r, roleArn(rbacRoleName(environment, r))])) as Record<RbacRole, string | undefined>;
  const tasks: Task[] = [];
  const task = (role: RbacRole, name: string, required: boolean, steps: Step[]) => {
    if (roles[role] && steps.length) tasks.push({ principal: roles[role]!, task: name, required, control: required ? "ACC-1" : "ACC-2", source: SOURCES[role], steps });
  };
  const athena = incident ? undefined : athenaOf(f);
  const kinds = flowLogKinds(f);
  const keys = [...new Map(f.archiveBuckets.filter((b) => b.key).map((b) => [b.key!.keyArn, b.key!])).values()];

  // SecurityAnalyst: reads everything, deletes nothing.
  if (athena) task("SecurityAnalyst", "run an Athena query end to end", true, athenaSteps(f, athena));
  const stored = incident ? undefined : detectorOf(f)?.findings;
  if (athena && stored) {
    // The `findings` table reads the objects the detector stores beside the query results.
    const object = `${bucketArn(f.region, stored.bucket)}/${stored.prefix}dt=2026-12-05/1796000000-0-athena.json`;
    const key = f.bucketSse(stored.bucket);
    task("SecurityAnalyst", "read the detector's stored findings with Athena", true, [
      { action: "s3:GetObject", resource: object, context: MFA_SESSION },
      ...(key && key !== "unknown" && !key.keyArn.includes("${")
        ? [{ action: "kms:Decrypt", resource: key.keyArn, context: { ...MFA_SESSION, ...s3Context(f), "kms:EncryptionContext:aws:s3:arn": key.bucketKey ? bucketArn(f.region, stored.bucket) : object }, note: "the bucket encrypts its objects with this key" }]
        : []),
    ]);
  }
  for (const g of f.groups) {
    task("SecurityAnalyst", `run a Logs Insights query on ${groupLabel(f, g)}`, true, [
      { action: "logs:StartQuery", resource: g.arn, context: MFA_SESSION },
      { action: "logs:GetQueryResults", resource: g.arn, context: MFA_SESSION },
      { action: "logs:StopQuery", resource: "*", context: MFA_SESSION },
      { action: "logs:DescribeLogGroups", resource: "*", context: MFA_SESSION },
      ...(g.masked ? [{ action: "logs:Unmask", resource: g.arn, context: MFA_SESSION, note: "the group masks IP addresses (data protection policy)" }] : []),
      ...logsDecrypt(f, g),
    ]);
  }
  if (f.objects.length) {
    task("SecurityAnalyst", "read archived flow logs", true, [
      ...[...new Set(f.objects.map((o) => o.bucketArn))].map((b) => ({ action: "s3:ListBucket", resource: b, context: MFA_SESSION })),
      ...f.objects.flatMap((o) => [{ action: "s3:GetObject", resource: o.objectArn, context: MFA_SESSION }, ...decryptObject(f, o)]),
    ]);
  }
  task("SecurityAnalyst", "delete archived flow logs", false, f.objects.flatMap((o) => ["s3:DeleteObject", "s3:DeleteObjectVersion"].map((action) => ({ action, resource: o.objectArn, context: MFA_SESSION }))));
  task("SecurityAnalyst", "delete the archive bucket", false, f.archiveBuckets.map((b) => ({ action: "s3:DeleteBucket", resource: b.arn, context: MFA_SESSION })));
  task("SecurityAnalyst", "delete flow-log groups or streams", false, f.groups.flatMap((g) => [
    { action: "logs:DeleteLogGroup", resource: g.arn, context: MFA_SESSION },
    { action: "logs:DeleteLogStream", resource: streamOf(g.arn, g.arn), context: MFA_SESSION },
  ]));
  task("SecurityAnalyst", "delete flow logs", false, kinds.map((fl) => ({ action: "ec2:DeleteFlowLogs", resource: fl.flowLogArn, context: MFA_SESSION })));
  if (athena) task("SecurityAnalyst", "delete Athena tables", false, athena.tables.map((t) => ({ action: "glue:DeleteTable", resource: t.arn, context: MFA_SESSION })));

  // SecurityEngineer: manages flow logs and the detector; never weakens the evidence.
  for (const fl of kinds) {
    const kind = `${RESOURCE_NAMES[fl.resourceType] ?? fl.resourceType} flow log to ${DESTINATION_NAMES[fl.destinationType] ?? fl.destinationType}${fl.region !== f.region ? ` in ${fl.region}` : ""}`;
    const target = TARGET_TYPES[fl.resourceType];
    const tagged = hasTags(f, fl);
    task("SecurityEngineer", `create ${article(kind)}`, true, [
      { action: "ec2:CreateFlowLogs", resource: fl.flowLogArn, context: MFA_SESSION },
      ...(target ? [{ action: "ec2:CreateFlowLogs", resource: `arn:${f.p}:ec2:${fl.region}:${f.account}:${target}/${fl.resourceId}`, context: MFA_SESSION }] : []),
      ...(tagged ? [{ action: "ec2:CreateTags", resource: fl.flowLogArn, context: { ...MFA_SESSION, "ec2:CreateAction": "CreateFlowLogs" } }] : []),
      { action: "ec2:DescribeFlowLogs", resource: "*", context: MFA_SESSION },
      ...(fl.destinationType === "cloud-watch-logs" && fl.iamRoleArn && !fl.iamRoleArn.includes("${")
        ? [{ action: "iam:PassRole", resource: fl.iamRoleArn, context: { ...MFA_SESSION, "iam:PassedToService": "vpc-flow-logs.amazonaws.com" } }]
        : []),
      ...(fl.destinationType !== "cloud-watch-logs" ? [{ action: "logs:CreateLogDelivery", resource: "*", context: MFA_SESSION }] : []),
      // Same account: AWS tags the stream for its service-linked role, with the caller's permission.
      ...(fl.destinationType === "kinesis-data-firehose" && !fl.iamRoleArn
        ? [
            { action: "firehose:TagDeliveryStream", resource: fl.destination, context: { ...MFA_SESSION, "aws:TagKeys": ["LogDeliveryEnabled"], "aws:RequestTag/LogDeliveryEnabled": "true" } },
            {
              action: "iam:CreateServiceLinkedRole",
              resource: logDeliveryRole(f.p, f.account),
              context: { ...MFA_SESSION, "iam:AWSServiceName": "delivery.logs.amazonaws.com" },
              note: "only the first time log delivery to Firehose is set up in the account",
            },
          ]
        : []),
    ]);
    task("SecurityEngineer", `delete ${article(kind)}`, true, [
      { action: "ec2:DeleteFlowLogs", resource: fl.flowLogArn, context: MFA_SESSION },
      ...(fl.destinationType !== "cloud-watch-logs" ? [{ action: "logs:DeleteLogDelivery", resource: "*", context: MFA_SESSION }] : []),
    ]);
  }
  const detector = detectorOf(f);
  if (detector) {
    task("SecurityEngineer", "tune the detector", true, [
      { action: "lambda:GetFunctionConfiguration", resource: detector.functionArn, context: MFA_SESSION },
      { action: "lambda:UpdateFunctionConfiguration", resource: detector.functionArn, context: MFA_SESSION },
      ...detector.rules.flatMap((rule) => ["events:DescribeRule", "events:PutRule", "events:DisableRule", "events:EnableRule"].map((action) => ({ action, resource: rule, context: MFA_SESSION }))),
    ]);
  }
  task("SecurityEngineer", "delete archived flow logs", false, f.objects.flatMap((o) => ["s3:DeleteObject", "s3:DeleteObjectVersion"].map((action) => ({ action, resource: o.objectArn, context: MFA_SESSION }))));
  task("SecurityEngineer", "lower a flow-log group's retention or delete the group", false, f.groups.flatMap((g) => ["logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DeleteLogGroup"].map((action) => ({ action, resource: g.arn, context: MFA_SESSION }))));
  task(
    "SecurityEngineer",
    "remove the archive's protections",
    false,
    f.archiveBuckets.flatMap((b) =>
      ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:DeleteBucket"].map((action) => ({ action, resource: b.arn, context: MFA_SESSION })),
    ),
  );
  task("SecurityEngineer", "disable or delete the archive's key", false, keys.flatMap((k) => ["kms:DisableKey", "kms:ScheduleKeyDeletion"].map((action) => ({ action, resource: k.keyArn, context: MFA_SESSION }))));

  // Auditor: reads configuration, never log data.
  task("Auditor", "read the flow-log configuration", true, [
    { action: "ec2:DescribeFlowLogs", resource: "*", context: MFA_SESSION },
    { action: "logs:DescribeLogGroups", resource: "*", context: MFA_SESSION },
    ...f.groups.map((g) => ({ action: "logs:DescribeMetricFilters", resource: g.arn, context: MFA_SESSION })),
  ]);
  task("Auditor", "read the archive's configuration", true, f.archiveBuckets.flatMap((b) =>
    ["s3:GetLifecycleConfiguration", "s3:GetBucketPolicy", "s3:GetEncryptionConfiguration", "s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock"].map((action) => ({ action, resource: b.arn, context: MFA_SESSION })),
  ));
  task("Auditor", "read the key's configuration", true, keys.flatMap((k) => ["kms:DescribeKey", "kms:GetKeyRotationStatus"].map((action) => ({ action, resource: k.keyArn, context: MFA_SESSION }))));
  task("Auditor", "read the roles", true, resources(f.json, "aws_iam_role").map((r) => ({ action: "iam:GetRole", resource: f.model.attribute(r.address, "arn")!, context: MFA_SESSION })));
  if (detector) {
    task("Auditor", "read the detector's configuration", true, [
      { action: "lambda:GetFunctionConfiguration", resource: detector.functionArn, context: MFA_SESSION },
      ...detector.rules.map((rule) => ({ action: "events:DescribeRule", resource: rule, context: MFA_SESSION })),
    ]);
  }
  task("Auditor", "read flow-log records", false, [
    ...f.groups.flatMap((g) => [
      { action: "logs:GetLogEvents", resource: streamOf(g.arn, g.arn), context: MFA_SESSION },
      { action: "logs:FilterLogEvents", resource: g.arn, context: MFA_SESSION },
      { action: "logs:StartQuery", resource: g.arn, context: MFA_SESSION },
    ]),
    ...f.objects.flatMap((o) => [{ action: "s3:GetObject", resource: o.objectArn, context: MFA_SESSION }, ...decryptObject(f, o)]),
  ]);
  return tasks;
}

function hasTags(f: StackFacts, fl: FlowLogSettings): boolean {
  const values = f.json.resource?.aws_flow_log?.[fl.address.slice("aws_flow_log.".length)];
  return !!values && typeof values.tags === "object" && values.tags !== null && Object.keys(values.tags).length > 0;
}

/** A group by name, and by Region when it is not the stack's (a regional scope's group has the same name). */
const groupLabel = (f: StackFacts, g: StackFacts["groups"][number]) => {
  const region = g.arn.split(":")[3];
  return region && region !== f.region ? `${g.name} in ${region}` : g.name;
};

/** CloudWatch Logs decrypts an encrypted group itself when it is read: the reader needs no key permission. */
function logsDecrypt(f: StackFacts, g: StackFacts["groups"][number]): Step[] {
  // CloudWatch Logs of the group's own Region.
  const region = g.arn.split(":")[3] ?? f.region;
  return g.keyArn && !g.keyArn.includes("${")
    ? [{ principal: `logs.${region}.amazonaws.com`, action: "kms:Decrypt", resource: g.keyArn, context: { "kms:EncryptionContext:aws:logs:arn": g.arn }, note: "CloudWatch Logs decrypts the group's events for the reader", source: SOURCES.keyPolicy }]
    : [];
}

interface AthenaFacts {
  readonly workgroupArn: string;
  readonly results?: { bucketArn: string; objectArn: string; keyArn?: string };
  readonly catalogArn: string;
  readonly databases: readonly string[];
  readonly tables: readonly { arn: string; database: string; bucketArn?: string; prefix?: string }[];
}

function athenaOf(f: StackFacts): AthenaFacts | undefined {
  const json = f.json;
  const wg = resources(json, "aws_athena_workgroup")[0];
  if (!wg) return undefined;
  const at = `arn:${f.p}:glue:${f.region}:${f.account}`;
  const config = (Array.isArray(wg.values.configuration) ? wg.values.configuration[0] : wg.values.configuration) as Record<string, unknown> | undefined;
  const result = (Array.isArray(config?.result_configuration) ? config!.result_configuration[0] : config?.result_configuration) as Record<string, unknown> | undefined;
  const output = /^s3:\/\/([^/]+)\/?(.*)$/.exec(f.model.resolve(String(result?.output_location ?? "")));
  const encryption = (Array.isArray(result?.encryption_configuration) ? result!.encryption_configuration[0] : result?.encryption_configuration) as Record<string, unknown> | undefined;
  const keyArn = str(encryption?.kms_key_arn);
  const tables = resources(json, "aws_glue_catalog_table").map((t) => {
    const database = f.model.resolve(String(t.values.database_name ?? ""));
    const name = f.model.resolve(String(t.values.name ?? ""));
    const sd = (Array.isArray(t.values.storage_descriptor) ? t.values.storage_descriptor[0] : t.values.storage_descriptor) as Record<string, unknown> | undefined;
    const location = /^s3:\/\/([^/]+)\/?(.*)$/.exec(f.model.resolve(String(sd?.location ?? "")));
    return { arn: `${at}:table/${database}/${name}`, database, ...(location ? { bucketArn: bucketArn(f.region, location[1]!), prefix: location[2] } : {}) };
  });
  return {
    workgroupArn: f.model.attribute(wg.address, "arn")!,
    ...(output
      ? { results: { bucketArn: bucketArn(f.region, output[1]!), objectArn: `${bucketArn(f.region, output[1]!)}/${output[2]}00000000-0000-4000-8000-000000000000.csv`, ...(keyArn ? { keyArn: f.model.resolve(keyArn) } : {}) } }
      : {}),
    catalogArn: `${at}:catalog`,
    databases: [...new Set([...resources(json, "aws_glue_catalog_database").map((d) => f.model.attribute(d.address, "name")!), ...tables.map((t) => t.database)])],
    tables,
  };
}

/**
 * Running a query: Athena authorizes the workgroup calls, reads the catalog, then reads the
 * archive and writes the results with the caller's own credentials (S3 and KMS, through S3).
 * `context` is the caller's session (an analyst's MFA session, or the detector's); `queryActions`
 * the workgroup calls it makes.
 * @see https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html
 * @see https://docs.aws.amazon.com/athena/latest/ug/encryption.html
 */
function athenaSteps(f: StackFacts, a: AthenaFacts, context: Readonly<Record<string, ContextValue>> = MFA_SESSION, queryActions: readonly string[] = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"]): Step[] {
  const at = `arn:${f.p}:glue:${f.region}:${f.account}`;
  const read = a.tables.flatMap((t) => f.objects.filter((o) => o.bucketArn === t.bucketArn && o.objectArn.startsWith(`${t.bucketArn}/${t.prefix ?? ""}`)));
  const buckets = [...new Set(a.tables.map((t) => t.bucketArn).filter((b): b is string => !!b))];
  const r = a.results;
  return [
    ...queryActions.map((action) => ({ action, resource: a.workgroupArn, context })),
    ...a.databases.flatMap((db) => [a.catalogArn, `${at}:database/${db}`].map((resource) => ({ action: "glue:GetDatabase", resource, context }))),
    ...a.tables.flatMap((t) => ["glue:GetTable", "glue:GetPartitions"].flatMap((action) => [a.catalogArn, `${at}:database/${t.database}`, t.arn].map((resource) => ({ action, resource, context })))),
    ...buckets.flatMap((b) => ["s3:GetBucketLocation", "s3:ListBucket"].map((action) => ({ action, resource: b, context }))),
    ...[...new Map(read.map((o) => [o.objectArn, o])).values()].flatMap((o) => [{ action: "s3:GetObject", resource: o.objectArn, context }, ...decryptObject(f, o, context)]),
    ...(r
      ? [
          ...["s3:GetBucketLocation", "s3:ListBucket"].map((action) => ({ action, resource: r.bucketArn, context })),
          ...["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"].map((action) => ({ action, resource: r.objectArn, context, note: "the query's result file in the workgroup's output location" })),
          ...(r.keyArn && !r.keyArn.includes("${")
            ? ["kms:GenerateDataKey", "kms:Decrypt"].map((action) => ({ action, resource: r.keyArn!, context: { ...context, ...s3Context(f), "kms:EncryptionContext:aws:s3:arn": r.bucketArn }, note: "the workgroup enforces SSE-KMS query results" }))
            : []),
        ]
      : []),
  ];
}

interface DetectorFacts {
  readonly functionArn: string;
  readonly roleArn: string;
  readonly name: string;
  readonly logGroup?: string;
  readonly unmask: boolean;
  readonly topicArn?: string;
  readonly deadLetterArn?: string;
  readonly rules: readonly string[];
  readonly ownLogs?: { arn: string; keyArn?: string };
  readonly archive?: { bucketArn: string; filters: readonly { bucketArn: string; prefix: string; suffix: string }[] };
  /** The Athena tables its scheduled run queries (FLOWLOG_ATHENA), by name. */
  readonly athenaTables?: readonly string[];
  /** The S3 threat lists it reads on every run (FLOWLOG_THREAT_LISTS), as object ARNs. */
  readonly threatLists: readonly string[];
  /** Where it stores each run's findings for Athena (FLOWLOG_FINDINGS). */
  readonly findings?: { readonly bucket: string; readonly prefix: string };
  /** Its ledger of findings published to SNS (FLOWLOG_PUBLISHED). */
  readonly published?: { readonly bucket: string; readonly prefix: string };
}

/** The kit's detector: the function that reads FLOWLOG_LOG_GROUP. */
function detectorOf(f: StackFacts): DetectorFacts | undefined {
  const json = f.json;
  const fn = resources(json, "aws_lambda_function").find((r) => vars(r.values).FLOWLOG_LOG_GROUP !== undefined);
  if (!fn) return undefined;
  const v = vars(fn.values);
  const functionArn = f.model.attribute(fn.address, "arn")!;
  const name = f.model.attribute(fn.address, "function_name")!;
  const refersToFn = (value: unknown) => typeof value === "string" && f.model.resolve(value) === functionArn;
  const rules = resources(json, "aws_cloudwatch_event_target")
    .filter((t) => refersToFn(t.values.arn))
    .map((t) => `arn:${f.p}:events:${f.region}:${f.account}:rule/${f.model.resolve(String(t.values.rule))}`);
  const ownGroup = resources(json, "aws_cloudwatch_log_group").find((g) => f.model.attribute(g.address, "name") === `/aws/lambda/${name}`);
  const notifications = resources(json, "aws_s3_bucket_notification").flatMap((n) =>
    ((Array.isArray(n.values.lambda_function) ? n.values.lambda_function : [n.values.lambda_function]) as Record<string, unknown>[])
      .filter((l) => l && refersToFn(l.lambda_function_arn))
      .map((l) => ({ bucketArn: bucketArn(f.region, f.model.resolve(String(n.values.bucket))), prefix: String(l.filter_prefix ?? ""), suffix: String(l.filter_suffix ?? "") })),
  );
  // One notification may carry several filters (plain text under AWSLogs/, Parquet under parquet/).
  const notification = notifications.length ? { bucketArn: notifications[0]!.bucketArn, filters: notifications } : undefined;
  const dlq = (fn.values.dead_letter_config as Record<string, unknown> | undefined)?.target_arn;
  const ownKey = ownGroup ? str(ownGroup.values.kms_key_id) : undefined;
  const parse = <T>(v: unknown): T | undefined => {
    try {
      return typeof v === "string" ? (JSON.parse(v) as T) : undefined;
    } catch {
      return undefined;
    }
  };
  const athena = parse<{ tables: { name: string }[] }>(v.FLOWLOG_ATHENA);
  const lists = parse<{ s3: string }[]>(v.FLOWLOG_THREAT_LISTS) ?? [];
  const findings = /^s3:\/\/([^/]+)\/(.*)$/.exec(f.model.resolve(String(v.FLOWLOG_FINDINGS ?? "")));
  const published = /^s3:\/\/([^/]+)\/(.*)$/.exec(f.model.resolve(String(v.FLOWLOG_PUBLISHED ?? "")));
  return {
    functionArn,
    roleArn: f.model.resolve(String(fn.values.role)),
    name,
    ...(str(v.FLOWLOG_LOG_GROUP) ? { logGroup: f.model.resolve(String(v.FLOWLOG_LOG_GROUP)) } : {}),
    unmask: v.FLOWLOG_UNMASK === "1",
    ...(str(v.FLOWLOG_TOPIC_ARN) ? { topicArn: f.model.resolve(String(v.FLOWLOG_TOPIC_ARN)) } : {}),
    ...(str(dlq) ? { deadLetterArn: f.model.resolve(String(dlq)) } : {}),
    rules,
    ...(ownGroup ? { ownLogs: { arn: f.model.attribute(ownGroup.address, "arn")!, ...(ownKey ? { keyArn: f.model.resolve(ownKey) } : {}) } } : {}),
    ...(notification ? { archive: notification } : {}),
    ...(athena ? { athenaTables: athena.tables.map((t) => t.name) } : {}),
    threatLists: lists.map((l) => s3ObjectArn(f.region, l.s3)),
    ...(findings ? { findings: { bucket: findings[1]!, prefix: findings[2]! } } : {}),
    ...(published ? { published: { bucket: published[1]!, prefix: published[2]! } } : {}),
  };
}

function topicKey(f: StackFacts, topicArn: string): string | undefined {
  const topic = resources(f.json, "aws_sns_topic").find((t) => f.model.attribute(t.address, "arn") === topicArn);
  const key = topic ? str(topic.values.kms_master_key_id) : undefined;
  return key ? f.model.resolve(key) : undefined;
}

/** What the detector does on each run: query, read new archive objects, import findings, publish, store them for Athena, log. */
function detectorTasks(f: StackFacts): Task[] {
  const d = detectorOf(f);
  if (!d || d.roleArn.includes("${")) return [];
  const task = (name: string, steps: Step[], source: string = SOURCES.detector): Task => ({ principal: d.roleArn, task: name, required: true, control: "ACC-1", source, steps });
  const tasks: Task[] = [];
  // The detector runs in the stack's Region and queries its group there.
  const ownArn = d.logGroup ? logGroupArn(f, d.logGroup) : undefined;
  const group = f.groups.find((g) => g.arn === ownArn) ?? (d.logGroup ? { arn: ownArn!, name: d.logGroup, masked: false } : undefined);
  if (group) {
    tasks.push(
      task(`query ${groupLabel(f, group)} with Logs Insights`, [
        { action: "logs:StartQuery", resource: group.arn, context: TLS },
        { action: "logs:GetQueryResults", resource: group.arn, context: TLS },
        { action: "logs:StopQuery", resource: "*", context: TLS },
        ...(d.unmask ? [{ action: "logs:Unmask", resource: group.arn, context: TLS }] : []),
        ...logsDecrypt(f, group),
      ]),
    );
  }
  tasks.push(task("run on its schedule", d.rules.map((rule) => ({ principal: "events.amazonaws.com", action: "lambda:InvokeFunction", resource: d.functionArn, context: { "aws:SourceArn": rule, "aws:SourceAccount": f.account } })), SOURCES.invoke));
  if (d.archive) {
    const objects = f.objects.filter((o) => d.archive!.filters.some((a) => o.bucketArn === a.bucketArn && o.objectArn.startsWith(`${o.bucketArn}/${a.prefix}`) && o.objectArn.endsWith(a.suffix)));
    tasks.push(task("run on each new archive object", [{ principal: "s3.amazonaws.com", action: "lambda:InvokeFunction", resource: d.functionArn, context: { "aws:SourceArn": d.archive.bucketArn, "aws:SourceAccount": f.account } }], SOURCES.invoke));
    tasks.push(task("read new archive objects", objects.flatMap((o) => [{ action: "s3:GetObject", resource: o.objectArn, context: TLS }, ...decryptObject(f, o, TLS)])));
  }
  const athena = d.athenaTables ? athenaOf(f) : undefined;
  if (athena) {
    // Only the tables the detector queries; it reads its results from S3 itself (no GetQueryResults).
    const mine = { ...athena, tables: athena.tables.filter((t) => d.athenaTables!.some((name) => t.arn.endsWith(`/${name}`))) };
    tasks.push(task("run its rules as Athena queries over the archive", athenaSteps(f, mine, TLS, ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"])));
  }
  if (d.threatLists.length) {
    tasks.push(
      task(
        "read its threat lists from S3",
        d.threatLists.flatMap((arn) => {
          const bucket = arn.slice(0, arn.indexOf("/"));
          const object = f.objects.find((o) => o.bucketArn === bucket);
          // A list in a bucket of the kit is encrypted with that bucket's key, as its flow logs are.
          return [{ action: "s3:GetObject", resource: arn, context: TLS }, ...(object ? decryptObject(f, { ...object, objectArn: arn }, TLS) : [])];
        }),
      ),
    );
  }
  if (d.findings) {
    // A sample of the objects findings-store.ts writes: one run's findings in its day's partition.
    const object = `${bucketArn(f.region, d.findings.bucket)}/${d.findings.prefix}dt=2026-01-15/1768435200-0-athena.json`;
    const key = f.bucketSse(d.findings.bucket);
    tasks.push(
      task("store its findings for Athena", [
        { action: "s3:PutObject", resource: object, context: TLS },
        ...(key && key !== "unknown" && !key.keyArn.includes("${")
          ? [{ action: "kms:GenerateDataKey", resource: key.keyArn, context: { ...TLS, ...s3Context(f), "kms:EncryptionContext:aws:s3:arn": key.bucketKey ? bucketArn(f.region, d.findings.bucket) : object }, note: "the bucket encrypts new objects with this key" }]
          : []),
      ]),
    );
  }
  if (d.published) {
    // A sample marker of publish-ledger.ts: one finding id. HeadObject is authorized as s3:GetObject; a HEAD decrypts nothing.
    const marker = `${bucketArn(f.region, d.published.bucket)}/${d.published.prefix}0123456789abcdef0123456789abcdef`;
    const key = f.bucketSse(d.published.bucket);
    tasks.push(
      task("keep its ledger of findings published to SNS", [
        { action: "s3:PutObject", resource: marker, context: TLS },
        { action: "s3:GetObject", resource: marker, context: TLS, note: "HeadObject of a marker" },
        ...(key && key !== "unknown" && !key.keyArn.includes("${")
          ? [{ action: "kms:GenerateDataKey", resource: key.keyArn, context: { ...TLS, ...s3Context(f), "kms:EncryptionContext:aws:s3:arn": key.bucketKey ? bucketArn(f.region, d.published.bucket) : marker }, note: "the bucket encrypts new objects with this key" }]
          : []),
      ]),
    );
    // Its write is exactly the ledger: the findings it stores are never rewritten through it, nor the query results read as markers.
    tasks.push({ principal: d.roleArn, task: "write outside its ledger's folder of the results bucket", required: false, control: "ACC-2", source: SOURCES.detector, steps: [{ action: "s3:PutObject", resource: `${bucketArn(f.region, d.published.bucket)}/other/0123456789abcdef`, context: TLS }] });
  }
  tasks.push(task("continue a long run in a new invocation of itself", [{ action: "lambda:InvokeFunction", resource: d.functionArn, context: TLS }]));
  tasks.push(task("import findings into Security Hub", [{ action: "securityhub:BatchImportFindings", resource: `arn:${f.p}:securityhub:${f.region}:${f.account}:product/${f.account}/default`, context: TLS }]));
  if (d.topicArn && !d.topicArn.includes("${")) {
    const key = topicKey(f, d.topicArn);
    tasks.push(
      task("publish findings", [
        { action: "sns:Publish", resource: d.topicArn, context: TLS, source: `${SOURCES.detector}; ${SOURCES.topicPolicy}` },
        ...(key && !key.includes("${") ? ["kms:GenerateDataKey", "kms:Decrypt"].map((action) => ({ action, resource: key, context: { ...TLS, "kms:ViaService": `sns.${f.region}.amazonaws.com` }, note: "the topic is encrypted with this key" })) : []),
      ]),
    );
  }
  if (d.deadLetterArn && !d.deadLetterArn.includes("${")) tasks.push(task("keep failed runs in its dead-letter queue", [{ action: "sqs:SendMessage", resource: d.deadLetterArn, context: TLS }]));
  if (d.ownLogs) {
    const stream = `${d.ownLogs.arn}:log-stream:2026/01/15/[$LATEST]0123456789abcdef0123456789abcdef`;
    tasks.push(
      task("write its own logs", [
        { action: "logs:CreateLogStream", resource: stream, context: TLS },
        { action: "logs:PutLogEvents", resource: stream, context: TLS },
        ...(d.ownLogs.keyArn && !d.ownLogs.keyArn.includes("${")
          ? [{ principal: `logs.${f.region}.amazonaws.com`, action: "kms:GenerateDataKey", resource: d.ownLogs.keyArn, context: { "kms:EncryptionContext:aws:logs:arn": d.ownLogs.arn }, source: SOURCES.keyPolicy }]
          : []),
      ]),
    );
  }
  return tasks.filter((t) => t.steps.length);
}

/** CloudWatch alarms publish to the findings topic, through its policy and its key. */
function alarmTasks(f: StackFacts, json: StackJson): Task[] {
  const topics = new Set(resources(json, "aws_sns_topic").map((t) => f.model.attribute(t.address, "arn")!));
  return resources(json, "aws_cloudwatch_metric_alarm").flatMap((alarm) => {
    const name = f.model.resolve(String(alarm.values.alarm_name ?? ""));
    const actions = [...new Set([...((alarm.values.alarm_actions as unknown[]) ?? []), ...((alarm.values.ok_actions as unknown[]) ?? [])].map((a) => f.model.resolve(String(a))))].filter((a) => topics.has(a));
    const source = { "aws:SourceAccount": f.account, "aws:SourceArn": `arn:${f.p}:cloudwatch:${f.region}:${f.account}:alarm:${name}` };
    return actions.map((topic): Task => {
      const key = topicKey(f, topic);
      return {
        principal: "cloudwatch.amazonaws.com",
        task: `alarm ${name} notifies the findings topic`,
        required: true,
        control: "ACC-1",
        source: SOURCES.topicPolicy,
        steps: [
          { action: "sns:Publish", resource: topic, context: source },
          ...(key && !key.includes("${") ? ["kms:GenerateDataKey", "kms:Decrypt"].map((action) => ({ action, resource: key, context: source, source: SOURCES.keyPolicy })) : []),
        ],
      };
    });
  });
}

function deliverySource(r: DeliveryRequest): string {
  const { action } = r;
  if (r.destinationType === "kinesis-data-firehose") {
    // Same account: the service-linked role. Another account's stream: the source role, then the destination role.
    if (action.startsWith("sts:")) return r.principal.startsWith("arn:") ? SOURCES.firehoseSource : SOURCES.firehoseSourceTrust;
    return r.principal.includes("/aws-service-role/") ? SOURCES.serviceLinked : SOURCES.firehoseDestination;
  }
  return action.startsWith("s3:") ? SOURCES.bucketPolicy : action.startsWith("kms:") ? SOURCES.keyPolicy : action.startsWith("sts:") ? SOURCES.deliveryTrust : SOURCES.deliveryRole;
}

/** The flow log as people name it: its Name tag, else its Terraform address. */
function flowLogName(json: StackJson, address: string): string {
  const tags = json.resource?.aws_flow_log?.[address.slice("aws_flow_log.".length)]?.tags as Record<string, string> | undefined;
  return tags?.Name ?? address;
}

/** Every request AWS makes to deliver each flow log, where AWS needs it (policies/delivery-paths.ts). */
function deliveryTasks(f: StackFacts, json: StackJson): Task[] {
  return f.plan.requests
    .filter((r) => r.required)
    .map((r) => ({
      principal: r.principal,
      task: `deliver ${flowLogName(json, r.flowLog)}: ${r.step}`,
      required: true,
      control: "ACC-3" as const,
      source: deliverySource(r),
      steps: [{ action: r.action, resource: r.resource, context: r.context ?? {}, ...(r.note ? { note: r.note } : {}) }],
    }));
}

/** Nothing outside the account writes the archive: not another account, not log delivery for another account. */
function externalTasks(f: StackFacts): Task[] {
  const other = externalAccount(f.account);
  const objects = f.objects.filter((o) => o.policyKnown);
  if (!objects.length) return [];
  return [
    {
      principal: `arn:${f.p}:iam::${other}:root`,
      task: "write the archive from another account",
      required: false,
      control: "ACC-2",
      source: SOURCES.bucketPolicy,
      steps: objects.map((o) => ({ action: "s3:PutObject", resource: o.objectArn, context: TLS })),
    },
    {
      principal: "delivery.logs.amazonaws.com",
      task: "deliver another account's flow logs into the archive",
      required: false,
      control: "ACC-2",
      source: SOURCES.bucketPolicy,
      steps: objects.map((o) => ({ action: "s3:PutObject", resource: o.objectArn, context: { ...TLS, "aws:SourceAccount": other, "aws:SourceArn": `arn:${f.p}:logs:${f.region}:${other}:*`, "s3:x-amz-acl": "bucket-owner-full-control" } })),
    },
  ];
}

/** Delivery requests the stack cannot make concrete: unverified rows saying what to make known. */
function unresolvedRows(f: StackFacts, environment: string, json: StackJson, suffix: string): EvaluatedRow[] {
  return f.plan.unresolved.map((u) => {
    const fl = f.flowLogs.find((x) => x.address === u.flowLog);
    const [principal, action] = /kms_key_id of log group/.test(u.what)
      ? [`logs.${f.region}.amazonaws.com`, "kms:GenerateDataKey"]
      : /encryption|kms_master_key_id/.test(u.what)
        ? ["delivery.logs.amazonaws.com", "kms:GenerateDataKey"]
        : fl?.destinationType === "s3"
          ? ["delivery.logs.amazonaws.com", "s3:PutObject"]
          : fl?.destinationType === "kinesis-data-firehose"
            ? ["delivery.logs.amazonaws.com", /iam_role_arn|deliver_cross_account_role/.test(u.what) ? "sts:AssumeRole" : "firehose:PutRecordBatch"]
            : ["vpc-flow-logs.amazonaws.com", "logs:PutLogEvents"];
    return {
      environment,
      principal,
      task: `deliver ${flowLogName(json, u.flowLog)}${suffix}`,
      action,
      resource: u.what,
      decision: "unverified",
      statement: `undecided: ${u.what} not known`,
      required: true,
      note: `${u.what} is ${u.value}: ${u.fix}`,
      stack: f.name,
      control: "ACC-3",
      outcome: "review",
      fix: `${u.fix} Then record the review as a typed exception for ACC-3 in environments/${environment}.ts`,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Controls

/** A row as control evidence: the deciding policy and statement, and the request. */
export function rowEvidence(r: EvaluatedRow): Evidence {
  // A statement without a Sid is labelled `<policy>#<n>`: the policy is the address already.
  const statement = r.policy && r.statement.startsWith(`${r.policy}#`) ? r.statement.slice(r.policy.length) : r.statement;
  const noStatement = r.statement === IMPLICIT_DENY || r.statement.startsWith("undecided:");
  const decision = r.boundary && r.decision === "allow" ? `allow if permissions boundary ${r.boundary} allows it too` : r.decision;
  return {
    address: r.policy ?? `${r.stack}:${r.principal}`,
    attribute: noStatement ? r.statement : `Statement[${statement}]`,
    value: `${decision}: ${r.principal} ${r.action} on ${r.resource} (${r.task})`,
  };
}

/**
 * One line per failing row, in the kit's error form: `<stack>: <problem> (got <decision>). <fix>`,
 * naming the task, the request and the deciding statement.
 */
export function rowProblem(r: EvaluatedRow): string {
  const by = r.statement === IMPLICIT_DENY ? "an implicit deny" : r.statement.startsWith("undecided:") ? `nothing yet (${r.statement})` : `${r.statement}${r.policy ? ` in ${r.policy}` : ""}`;
  const problem = r.required ? `${r.principal} cannot ${r.task}` : `${r.principal} can ${r.task}, which it must not`;
  const why = r.decision === "deny" && r.why ? `: ${r.why}` : "";
  return `${r.stack}: ${problem} (got ${r.decision} for ${r.action} on ${r.resource}, by ${by}${why}). ${r.fix}`;
}

const LISTED = 5;
const listed = (lines: readonly string[]) => `${lines.slice(0, LISTED).join("; ")}${lines.length > LISTED ? `; and ${lines.length - LISTED} more (flowlog-kit access lists them all)` : ""}`;

const SUBJECT: Record<AccessControlId, [string, string]> = {
  "ACC-1": ["required task step", "allowed"],
  "ACC-2": ["forbidden task step", "denied"],
  "ACC-3": ["delivery request", "allowed"],
};

/**
 * ACC-1, ACC-2 and ACC-3 on an environment's rows. A failing row fails its control whatever the
 * exceptions say: the fix is in the policies. Rows that only could not be verified (a policy
 * outside the stack decides) fail too, unless the environment records their review as a typed
 * exception for the control, which then covers them until it expires. So do allowed rows whose
 * principal has a permissions boundary the stack only references: evaluated as absent, it may
 * still deny them, so the boundary is a finding to review (named, with the actions it must
 * allow), never a pass.
 */
export function evaluateAccessControls(rows: readonly EvaluatedRow[], exceptions: readonly ControlException[], today: string): ControlOutcome[] {
  return ACCESS_CONTROLS.map((c) => {
    const mine = rows.filter((r) => r.control === c.id);
    const failed = mine.filter((r) => r.outcome === "fail");
    const unverified = mine.filter((r) => r.outcome === "review");
    const bounded = mine.filter((r) => r.outcome === "ok" && r.decision === "allow" && r.boundary);
    const review = [...unverified, ...bounded];
    const evidence = [...failed, ...review, ...mine.filter((r) => r.outcome === "ok" && !bounded.includes(r))].map(rowEvidence);
    const base = { id: c.id, title: c.title, severity: c.severity, mappings: c.mappings, evidence };
    const [noun, as] = SUBJECT[c.id as AccessControlId];
    const exception = exceptions.find((e) => e.control === c.id);
    const reviewText = [
      ...(unverified.length ? [`${unverified.length} ${noun}(s) rest on policies outside the stack: ${listed([...new Set(unverified.map((r) => r.why ?? r.note ?? r.fix))])}`] : []),
      ...[...new Set(bounded.map((r) => r.boundary!))].map((arn) => {
        const rows = bounded.filter((r) => r.boundary === arn);
        const principals = [...new Set(rows.map((r) => r.principal))];
        const actions = [...new Set(rows.map((r) => r.action))].sort();
        return `${rows.length} ${noun}(s) of ${principals.join(", ")} are ${as} only if permissions boundary ${arn} allows them too: the stack references the boundary but does not hold it, so it was evaluated as absent; check that it allows each required action (${actions.join(", ")}) on the resources flowlog-kit access lists`;
      }),
    ].join("; ");
    if (failed.length) {
      return {
        ...base,
        result: "FAIL" as const,
        message: `${failed.length} ${noun}(s) not ${as} as required: ${listed(failed.map(rowProblem))}${review.length ? `; and ${reviewText}` : ""}${exception ? `; the exception approved by ${exception.approver} covers only rows that could not be verified` : ""}`,
        ...(exception ? { exception } : {}),
      };
    }
    if (review.length) {
      if (!exception) return { ...base, result: "FAIL" as const, message: `${reviewText}. Review them, then record the review as a typed exception for ${c.id}` };
      if (exception.expires < today) return { ...base, result: "FAIL" as const, message: `${reviewText}; the exception approved by ${exception.approver} expired on ${exception.expires}`, exception };
      return {
        ...base,
        result: "EXCEPTION" as const,
        message: `${mine.length - review.length} of ${mine.length} ${noun}(s) ${as}${bounded.length ? " without reservation" : ""}; ${reviewText}; excepted until ${exception.expires} (approved by ${exception.approver}): ${exception.justification} Compensating control: ${exception.compensatingControl}`,
        exception,
      };
    }
    return { ...base, result: "PASS" as const, message: `all ${mine.length} ${noun}(s) ${as}` };
  });
}
