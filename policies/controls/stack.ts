/**
 * Reading a synthesized stack (cdk.tf.json) the way Terraform will: resources by type, with
 * their Terraform addresses, and references `${type.name.attribute}` followed to what they name.
 */

export interface StackJson {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly provider?: Record<string, Record<string, unknown>[]>;
}

export interface Resource {
  /** Terraform address, e.g. `aws_flow_log.FlowLogs_vpc0b1eToS3_F13201E5`. */
  readonly address: string;
  readonly type: string;
  readonly values: Record<string, unknown>;
}

/** One piece of evidence: a resource attribute and its value as synthesized. */
export interface Evidence {
  readonly address: string;
  readonly attribute: string;
  readonly value: unknown;
}

export function resources(stack: StackJson, type: string): Resource[] {
  return Object.entries(stack.resource?.[type] ?? {})
    .map(([name, values]) => ({ address: `${type}.${name}`, type, values }))
    .sort((a, b) => a.address.localeCompare(b.address));
}

const REF = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;

/** The resource a `${type.name.attr}` string refers to, if it is exactly such a reference. */
export function referenced(stack: StackJson, value: unknown): { resource: Resource; attribute: string } | undefined {
  if (typeof value !== "string") return undefined;
  const m = REF.exec(value);
  if (!m) return undefined;
  const values = stack.resource?.[m[1]!]?.[m[2]!];
  return values ? { resource: { address: `${m[1]}.${m[2]}`, type: m[1]!, values }, attribute: m[3]! } : undefined;
}

/**
 * The Region a resource is created in: its provider's (`provider: "aws.<alias>"` names an
 * aliased provider, one per extra Region), else the stack's default provider's.
 */
export function regionOf(stack: StackJson, r: Resource): string | undefined {
  const providers = (stack.provider?.aws ?? []) as { alias?: string; region?: string }[];
  const alias = typeof r.values.provider === "string" ? /^aws\.(.+)$/.exec(r.values.provider)?.[1] : undefined;
  return providers.find((p) => (alias === undefined ? p.alias === undefined : p.alias === alias))?.region;
}

/** Every Region the stack's providers create resources in. */
export function stackRegions(stack: StackJson): string[] {
  return [...new Set(((stack.provider?.aws ?? []) as { region?: string }[]).flatMap((p) => (p.region ? [p.region] : [])))];
}

/** A JSON policy attribute, parsed; undefined when it is not literal JSON (e.g. a reference). */
export function policyDocument(value: unknown): { Statement?: Record<string, unknown>[] } | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const doc = JSON.parse(value) as { Statement?: Record<string, unknown>[] | Record<string, unknown> };
    return { Statement: Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [] };
  } catch {
    return undefined;
  }
}

export const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
