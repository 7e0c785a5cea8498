/**
 * A synthesized stack (cdk.tf.json) as the policy evaluator needs it: Terraform references
 * resolved to the ARNs AWS will see, and for any (principal, resource) the policies AWS
 * evaluates: the principal's identity policies and permissions boundary, and the resource's
 * own policy. What the stack only references (a given KMS key, a bucket of another stack, a
 * managed policy) is returned as "not known here", which the evaluator turns into
 * "unverified" rather than a guess.
 */
import { createHash } from "crypto";
import type { StackJson } from "./controls/stack";
import type { IamPolicyDocument, NamedPolicy, PermissionsBoundary, PolicySet } from "./evaluate";
import { AccountContext, partitionOf } from "./iam";

/** How to read a stack that is not self-contained. */
export interface StackModelOptions {
  /**
   * Values for references the stack cannot resolve itself, by the exact reference text, e.g.
   * `{"${data.terraform_remote_state.Environment.outputs.kmsKeyArn}": "arn:aws:kms:..."}` for
   * an incident stack read next to its environment stack.
   * @default {}
   */
  readonly references?: Readonly<Record<string, string>>;
  /**
   * Stacks that this one builds on, e.g. the environment stack of an incident stack, or the
   * central archive an environment delivers to (given with its own account and Region): their
   * buckets, keys and roles count as known, and
   * `${data.terraform_remote_state.<name>.outputs.<output>}` resolves to their outputs.
   * @default []
   */
  readonly companions?: readonly Companion[];
}

/**
 * A stack another builds on: in the same account and Region, or, with `context`, in its own (a
 * central archive in a log-archive account), whose ARNs then resolve in that account.
 */
export type Companion = StackJson | { readonly stack: StackJson; readonly context: AccountContext };

/** A companion's stack and the account and Region it is applied in. */
export function companionOf(c: Companion, context: AccountContext): { stack: StackJson; context: AccountContext } {
  return "stack" in c && "context" in c ? (c as { stack: StackJson; context: AccountContext }) : { stack: c as StackJson, context };
}

/** Values AWS assigns at apply time, replaced by stand-ins so that policies and requests agree. */
export interface Placeholder {
  /** The Terraform reference, e.g. `${aws_kms_key.Kms_Key_56685C3A.arn}`. */
  readonly reference: string;
  /** The stand-in, e.g. `arn:aws:kms:eu-central-1:410987654323:key/tf-Kms_Key_56685C3A`. */
  readonly value: string;
}

/** A stack read for policy evaluation. */
export interface StackModel {
  /** The account and Region the stack is applied in. */
  readonly context: AccountContext;
  /** Replaces every `${type.name.attr}` it can resolve; what it cannot stays as written. */
  resolve(value: string): string;
  /** The value of one attribute of a resource, resolved; undefined when unknown. */
  attribute(address: string, attribute: string): string | undefined;
  /** The policies AWS evaluates when `principal` acts on `resource`. */
  policiesFor(principal: string, resource: string): PolicySet;
  /**
   * The resource-based policy of a resource this stack defines: its document, or null when it has
   * none; undefined when the stack does not define the resource.
   */
  definedResourcePolicy(resource: string): NamedPolicy | null | undefined;
  /** Identity policies and boundary of a role this stack defines; undefined when it does not define it. */
  definedPrincipal(principal: string): { readonly identity: readonly NamedPolicy[]; readonly permissionsBoundary?: PermissionsBoundary } | undefined;
  /** A stack output's value, resolved; undefined when the stack has no such output. */
  output(name: string): string | undefined;
  /** Stand-ins used for values known only after apply (KMS key ids, flow-log ids). */
  readonly placeholders: readonly Placeholder[];
  /** The Region a resource of the stack is created in: its provider's (`provider: "aws.<alias>"`), else the stack's. */
  regionOf(address: string): string;
  /** The companion stacks, each read once in its own account and Region, for callers that look into them too. */
  readonly companions: readonly { readonly stack: StackJson; readonly model: StackModel }[];
}

type Values = Record<string, unknown>;

const REF = /\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}/g;
const ESCAPED = "\u0000ESCAPED_INTERPOLATION\u0000";

/** A stand-in flow-log id in AWS's own shape (fl- and 17 hex digits), the same for the same address. */
export const placeholderFlowLogId = (address: string) => `fl-${createHash("sha256").update(address).digest("hex").slice(0, 17)}`;

/**
 * The key policy AWS attaches when a key is created without one: the account may use IAM
 * policies for every KMS operation on the key.
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
export function defaultKeyPolicy(partition: string, account: string): IamPolicyDocument {
  return { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" }] };
}

/**
 * Reads a synthesized stack for policy evaluation in `context`'s account and Region. References
 * to resources of the stack resolve to the ARNs AWS will give them; values AWS assigns at apply
 * (KMS key ids, flow-log ids) get deterministic stand-ins, listed in `placeholders`.
 */
export function stackModel(stack: StackJson, context: AccountContext, options: StackModelOptions = {}): StackModel {
  const p = partitionOf(context.region);
  const { account, region } = context;
  const resources = stack.resource ?? {};
  const placeholders = new Map<string, string>();
  const extra = options.references ?? {};
  const companionStacks = (options.companions ?? []).map((c) => {
    const { stack: json, context: own } = companionOf(c, context);
    return { stack: json, model: stackModel(json, own) };
  });
  const companions = companionStacks.map((c) => c.model);
  const REMOTE_OUTPUT = /\$\{data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.([A-Za-z0-9_]+)\}/g;

  const values = (type: string, name: string): Values | undefined => resources[type]?.[name] as Values | undefined;
  const all = (type: string) => Object.entries(resources[type] ?? {}).map(([name, v]) => ({ address: `${type}.${name}`, name, values: v as Values }));

  function resolve(value: string, depth = 0): string {
    if (!value.includes("${") || depth > 8) return value;
    // "$${" is Terraform's escape for a literal "${": never a reference.
    let out = value.split("$${").join(ESCAPED);
    for (const [reference, replacement] of Object.entries(extra)) out = out.split(reference).join(replacement);
    out = out.replace(REMOTE_OUTPUT, (whole, name: string) => companions.map((c) => c.output(name)).find((v) => v !== undefined) ?? whole);
    out = out.replace(REF, (whole, type: string, name: string, attr: string) => attributeOf(type, name, attr, depth + 1) ?? whole);
    return out.split(ESCAPED).join("$${");
  }

  const str = (v: unknown, depth: number) => (typeof v === "string" ? resolve(v, depth) : undefined);

  function placeholder(reference: string, value: string): string {
    placeholders.set(reference, value);
    return value;
  }

  // A resource on an aliased provider (`provider: "aws.us-east-1"`) lives in that provider's Region.
  const providerRegions = new Map(
    ((stack.provider?.aws ?? []) as Values[]).filter((x) => typeof x.alias === "string" && typeof x.region === "string").map((x) => [`aws.${x.alias as string}`, x.region as string]),
  );
  const regionOfValues = (v: Values) => (typeof v.provider === "string" ? (providerRegions.get(v.provider) ?? region) : region);

  /** The attributes the kit's policies and flow logs refer to, as AWS will know them after apply. */
  function attributeOf(type: string, name: string, attr: string, depth: number): string | undefined {
    const v = values(type, name);
    if (!v) return undefined;
    const ref = `\${${type}.${name}.${attr}}`;
    const region = regionOfValues(v);
    switch (type) {
      case "aws_s3_bucket": {
        const bucket = str(v.bucket, depth);
        if (!bucket) return undefined;
        return attr === "arn" ? `arn:${p}:s3:::${bucket}` : attr === "id" || attr === "bucket" ? bucket : undefined;
      }
      case "aws_cloudwatch_log_group": {
        const n = str(v.name, depth);
        if (!n) return undefined;
        // Since provider v2 the arn attribute has no trailing ":*".
        return attr === "arn" ? `arn:${p}:logs:${region}:${account}:log-group:${n}` : attr === "id" || attr === "name" ? n : undefined;
      }
      case "aws_iam_role": {
        const n = str(v.name, depth);
        if (!n) return undefined;
        return attr === "arn" ? `arn:${p}:iam::${account}:role${str(v.path, depth) ?? "/"}${n}` : attr === "id" || attr === "name" ? n : undefined;
      }
      case "aws_iam_policy": {
        const n = str(v.name, depth);
        if (!n) return undefined;
        return attr === "arn" || attr === "id" ? `arn:${p}:iam::${account}:policy${str(v.path, depth) ?? "/"}${n}` : attr === "name" ? n : undefined;
      }
      case "aws_kms_key": {
        const id = `tf-${name}`;
        if (attr === "arn") return placeholder(ref, `arn:${p}:kms:${region}:${account}:key/${id}`);
        return attr === "id" || attr === "key_id" ? placeholder(ref, id) : undefined;
      }
      case "aws_sns_topic": {
        const n = str(v.name, depth);
        return n && (attr === "arn" || attr === "id") ? `arn:${p}:sns:${region}:${account}:${n}` : attr === "name" ? n : undefined;
      }
      case "aws_sqs_queue": {
        const n = str(v.name, depth);
        if (!n) return undefined;
        if (attr === "arn") return `arn:${p}:sqs:${region}:${account}:${n}`;
        return attr === "id" || attr === "url" ? `https://sqs.${region}.amazonaws.com/${account}/${n}` : attr === "name" ? n : undefined;
      }
      case "aws_lambda_function": {
        const n = str(v.function_name, depth);
        return n && attr === "arn" ? `arn:${p}:lambda:${region}:${account}:function:${n}` : attr === "function_name" || attr === "id" ? n : undefined;
      }
      case "aws_cloudwatch_event_rule": {
        const n = str(v.name, depth);
        return n && attr === "arn" ? `arn:${p}:events:${region}:${account}:rule/${n}` : attr === "name" || attr === "id" ? n : undefined;
      }
      case "aws_athena_workgroup": {
        const n = str(v.name, depth);
        return n && attr === "arn" ? `arn:${p}:athena:${region}:${account}:workgroup/${n}` : attr === "name" || attr === "id" ? n : undefined;
      }
      case "aws_glue_catalog_database":
        return attr === "name" ? str(v.name, depth) : undefined;
      case "aws_flow_log": {
        const id = placeholderFlowLogId(`${type}.${name}`);
        if (attr === "id") return placeholder(ref, id);
        return attr === "arn" ? placeholder(ref, `arn:${p}:ec2:${region}:${account}:vpc-flow-log/${id}`) : undefined;
      }
      default:
        return undefined;
    }
  }

  function attribute(address: string, attr: string): string | undefined {
    const dot = address.indexOf(".");
    const resolved = attributeOf(address.slice(0, dot), address.slice(dot + 1), attr, 0);
    if (resolved !== undefined) return resolved;
    const raw = values(address.slice(0, dot), address.slice(dot + 1))?.[attr];
    return typeof raw === "string" ? resolve(raw) : undefined;
  }

  /** A JSON policy attribute with references resolved; undefined when it is itself only a reference. */
  function documentOf(raw: unknown): IamPolicyDocument | undefined {
    if (typeof raw !== "string") return undefined;
    try {
      return JSON.parse(resolve(raw)) as IamPolicyDocument;
    } catch {
      return undefined;
    }
  }

  const refersTo = (value: unknown, address: string) => typeof value === "string" && new RegExp(`^\\$\\{${address.replace(/\./g, "\\.")}\\.(id|name|arn|bucket|function_name)\\}$`).test(value);

  // Resource-based policies by the ARN of what they protect; a resource in the stack without one maps to null.
  const resourcePolicies = new Map<string, NamedPolicy | null>();
  for (const b of all("aws_s3_bucket")) {
    const arn = attribute(b.address, "arn")!;
    const policy = all("aws_s3_bucket_policy").find((bp) => refersTo(bp.values.bucket, b.address) || resolve(String(bp.values.bucket ?? "")) === attribute(b.address, "bucket"));
    resourcePolicies.set(arn, policy ? { name: policy.address, document: documentOf(policy.values.policy) } : null);
  }
  for (const k of all("aws_kms_key")) {
    const arn = attribute(k.address, "arn")!;
    resourcePolicies.set(arn, { name: `${k.address}.policy`, document: k.values.policy === undefined ? defaultKeyPolicy(p, account) : documentOf(k.values.policy) });
  }
  for (const r of all("aws_iam_role")) {
    resourcePolicies.set(attribute(r.address, "arn")!, { name: `${r.address}.assume_role_policy`, document: documentOf(r.values.assume_role_policy) });
  }
  for (const f of all("aws_lambda_function")) {
    const arn = attribute(f.address, "arn")!;
    const permissions = all("aws_lambda_permission").filter((lp) => refersTo(lp.values.function_name, f.address) || resolve(String(lp.values.function_name ?? "")) === attribute(f.address, "function_name"));
    resourcePolicies.set(arn, permissions.length ? { name: `resource policy of ${f.address}`, document: lambdaPolicy(arn, permissions.map((lp) => lp.values)) } : null);
  }
  for (const t of all("aws_sns_topic")) {
    // Without a topic policy in the stack AWS applies its default one, which this model does not hold.
    resourcePolicies.set(attribute(t.address, "arn")!, all("aws_sns_topic_policy").filter((tp) => refersTo(tp.values.arn, t.address)).map((tp) => ({ name: tp.address, document: documentOf(tp.values.policy) }))[0] ?? { name: `default access policy of ${t.address}`, document: undefined });
  }
  for (const q of all("aws_sqs_queue")) {
    resourcePolicies.set(attribute(q.address, "arn")!, all("aws_sqs_queue_policy").filter((qp) => refersTo(qp.values.queue_url, q.address)).map((qp) => ({ name: qp.address, document: documentOf(qp.values.policy) }))[0] ?? null);
  }

  function lambdaPolicy(functionArn: string, permissions: readonly Values[]): IamPolicyDocument {
    return {
      Version: "2012-10-17",
      Statement: permissions.map((lp) => {
        const principal = resolve(String(lp.principal));
        const condition: Record<string, Record<string, string>> = {};
        if (typeof lp.source_arn === "string") condition.ArnLike = { "AWS:SourceArn": resolve(lp.source_arn) };
        if (typeof lp.source_account === "string") condition.StringEquals = { "AWS:SourceAccount": resolve(lp.source_account) };
        return {
          Sid: lp.statement_id,
          Effect: "Allow",
          Principal: principal.endsWith(".amazonaws.com") ? { Service: principal } : { AWS: /^\d{12}$/.test(principal) ? `arn:${p}:iam::${principal}:root` : principal },
          Action: resolve(String(lp.action)),
          Resource: functionArn,
          ...(Object.keys(condition).length ? { Condition: condition } : {}),
        };
      }),
    };
  }

  /** Identity policies and boundary of a role of the stack, by its ARN (or a session of it). */
  function principalPolicies(principal: string): { identity: NamedPolicy[]; permissionsBoundary?: PermissionsBoundary } | undefined {
    const session = /^arn:[^:]+:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(principal);
    const role = all("aws_iam_role").find((r) => {
      const arn = attribute(r.address, "arn")!;
      return arn === principal || (session !== null && session[1] === account && arn.endsWith(`/${session[2]}`));
    });
    if (!role) return undefined;
    const identity: NamedPolicy[] = [];
    for (const rp of all("aws_iam_role_policy")) {
      if (refersTo(rp.values.role, role.address) || resolve(String(rp.values.role ?? "")) === attribute(role.address, "name")) identity.push({ name: rp.address, document: documentOf(rp.values.policy) });
    }
    const inline = role.values.inline_policy;
    for (const [i, ip] of (Array.isArray(inline) ? inline : inline ? [inline] : []).entries()) {
      identity.push({ name: `${role.address}.inline_policy[${i}]`, document: documentOf((ip as Values).policy) });
    }
    const attached = [
      ...all("aws_iam_role_policy_attachment").filter((a) => refersTo(a.values.role, role.address) || resolve(String(a.values.role ?? "")) === attribute(role.address, "name")).map((a) => resolve(String(a.values.policy_arn))),
      ...(Array.isArray(role.values.managed_policy_arns) ? (role.values.managed_policy_arns as unknown[]).map((a) => resolve(String(a))) : []),
    ];
    for (const arn of attached) identity.push(managedPolicy(arn));
    const boundaryArn = typeof role.values.permissions_boundary === "string" ? resolve(role.values.permissions_boundary) : undefined;
    const boundary = boundaryArn === undefined ? undefined : { arn: boundaryArn, document: managedPolicy(boundaryArn).document };
    return { identity, ...(boundary ? { permissionsBoundary: boundary } : {}) };
  }

  function managedPolicy(arn: string): NamedPolicy {
    const inStack = all("aws_iam_policy").find((mp) => attribute(mp.address, "arn") === arn);
    return inStack ? { name: inStack.address, document: documentOf(inStack.values.policy) } : { name: `managed policy ${arn}`, document: undefined };
  }

  /** The resource-based policy AWS evaluates for `resource`: known, none (null), or not known here (undefined). */
  function definedResourcePolicy(resource: string): NamedPolicy | null | undefined {
    const s3 = /^arn:[^:]+:s3:::([^/]+)/.exec(resource);
    const key = s3 ? `arn:${p}:s3:::${s3[1]}` : (/^(arn:[^:]+:lambda:[^:]+:\d+:function:[^:]+)/.exec(resource)?.[1] ?? resource);
    return resourcePolicies.has(key) ? resourcePolicies.get(key) : undefined;
  }

  function resourceFor(resource: string): NamedPolicy | null | undefined {
    if (resource === "*") return null;
    for (const m of [{ definedResourcePolicy }, ...companions]) {
      const found = m.definedResourcePolicy(resource);
      if (found !== undefined) return found;
    }
    const s3 = /^arn:[^:]+:s3:::([^/]+)/.exec(resource);
    if (s3) return { name: `bucket policy of arn:${p}:s3:::${s3[1]}`, document: undefined };
    switch (resource.split(":")[2]) {
      case "kms":
        return resource.includes(":key/") ? { name: `key policy of ${resource}`, document: undefined } : null;
      case "iam":
        return resource.includes(":role/") ? { name: `trust policy of ${resource}`, document: undefined } : null;
      case "s3":
      case "sns":
      case "sqs":
      case "lambda":
        return { name: `resource policy of ${resource}`, document: undefined };
      default:
        // logs, ec2, athena, glue, events, securityhub: the kit sets no resource policy on them.
        return null;
    }
  }

  // Each principal's and resource's policies are read once: the same parsed documents then keep
  // the evaluator's compiled form (cached per document), which matters for thousands of requests.
  const principalCache = new Map<string, { readonly identity: readonly NamedPolicy[]; readonly permissionsBoundary?: PermissionsBoundary } | undefined>();
  const resourceCache = new Map<string, NamedPolicy | null | undefined>();

  function policiesFor(principal: string, resource: string): PolicySet {
    if (!principalCache.has(principal)) principalCache.set(principal, [principalPolicies(principal), ...companions.map((c) => c.definedPrincipal(principal))].find((x) => x !== undefined));
    const own = principalCache.get(principal);
    if (!resourceCache.has(resource)) resourceCache.set(resource, resourceFor(resource));
    const resourcePolicy = resourceCache.get(resource);
    if (own) return { ...own, resourcePolicy };
    // A service principal has no identity policies; any other principal outside the stack is not known here.
    const isService = /\.amazonaws\.com(\.cn)?$/.test(principal);
    return { identity: isService ? [] : [{ name: `policies of ${principal}`, document: undefined }], resourcePolicy };
  }

  function output(name: string): string | undefined {
    const value = (stack as { output?: Record<string, { value?: unknown }> }).output?.[name]?.value;
    return typeof value === "string" ? resolve(value) : undefined;
  }

  return {
    context,
    resolve: (v) => resolve(v),
    attribute,
    policiesFor,
    definedResourcePolicy,
    definedPrincipal: principalPolicies,
    output,
    regionOf: (address: string) => {
      const dot = address.indexOf(".");
      const v = values(address.slice(0, dot), address.slice(dot + 1));
      return v ? regionOfValues(v) : region;
    },
    companions: companionStacks,
    get placeholders() {
      return [...[...placeholders].map(([reference, value]) => ({ reference, value })), ...companions.flatMap((c) => c.placeholders)];
    },
  };
}
