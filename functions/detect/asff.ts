import { Finding, RULES, Severity } from "./findings";

/** Where findings come from: the account's default product (custom integrations). */
export interface FindingSource {
  readonly account: string;
  readonly region: string;
  /** Environment name, recorded in ProductFields. */
  readonly environment: string;
}

/** An AWS Security Finding Format record, as BatchImportFindings takes it. */
export interface AsffFinding {
  SchemaVersion: "2018-10-08";
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  Types: string[];
  CreatedAt: string;
  UpdatedAt: string;
  FirstObservedAt: string;
  LastObservedAt: string;
  Severity: { Label: Severity };
  Title: string;
  Description: string;
  Resources: { Type: string; Id: string; Partition: string; Region: string }[];
  FindingProviderFields: { Severity: { Label: Severity }; Types: string[] };
  Network?: {
    Direction?: "IN" | "OUT";
    Protocol?: string;
    SourceIpV4?: string;
    SourceIpV6?: string;
    DestinationIpV4?: string;
    DestinationIpV6?: string;
    DestinationPort?: number;
  };
  ProductFields: Record<string, string>;
  RecordState: "ACTIVE";
}

/** Security Hub accepts at most 100 findings per BatchImportFindings call. */
export const ASFF_BATCH_SIZE = 100;

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const partitionOf = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");
const PROTOCOLS: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE", 50: "ESP", 58: "ICMPv6" };

function ipFields(prefix: "Source" | "Destination", ip: string | undefined): Record<string, string> {
  if (ip === undefined) return {};
  return ip.includes(":") ? { [`${prefix}IpV6`]: ip } : { [`${prefix}IpV4`]: ip };
}

/**
 * A finding in ASFF. CreatedAt is the window's start, so a re-run over the same data produces
 * the same record and Security Hub updates it instead of adding a duplicate; UpdatedAt is now.
 */
export function toAsff(f: Finding, source: FindingSource, now: Date): AsffFinding {
  const partition = partitionOf(source.region);
  const types = [RULES[f.rule].asffType];
  // Where the traffic was recorded: a network interface, or (transit-gateway records) an
  // attachment, for which ASFF has no resource type of its own.
  const resource = f.interfaceId?.startsWith("tgw-attach-")
    ? { Type: "Other", Id: `arn:${partition}:ec2:${source.region}:${source.account}:transit-gateway-attachment/${f.interfaceId}` }
    : f.interfaceId
      ? { Type: "AwsEc2NetworkInterface", Id: `arn:${partition}:ec2:${source.region}:${source.account}:network-interface/${f.interfaceId}` }
      : { Type: "Other", Id: `flowlog-kit/${source.environment}/${f.src ?? "detector"}` };
  const network = {
    ...ipFields("Source", f.src),
    ...ipFields("Destination", f.dst),
    ...(f.port !== undefined ? { DestinationPort: f.port } : {}),
    ...(f.protocol !== undefined ? { Protocol: PROTOCOLS[f.protocol] ?? String(f.protocol) } : {}),
  };
  return {
    SchemaVersion: "2018-10-08",
    Id: `flowlog-kit/${source.environment}/${f.id}`,
    ProductArn: `arn:${partition}:securityhub:${source.region}:${source.account}:product/${source.account}/default`,
    GeneratorId: `flowlog-kit/${f.rule}`,
    AwsAccountId: source.account,
    Types: types,
    CreatedAt: iso(f.window.start),
    UpdatedAt: now.toISOString(),
    FirstObservedAt: iso(f.window.start),
    LastObservedAt: iso(f.window.end),
    Severity: { Label: f.severity },
    Title: `${f.title}${f.src ? ` from ${f.src}` : ""}`.slice(0, 256),
    Description: f.description.slice(0, 1024),
    Resources: [{ ...resource, Partition: partition, Region: source.region }],
    FindingProviderFields: { Severity: { Label: f.severity }, Types: types },
    ...(Object.keys(network).length ? { Network: network } : {}),
    ProductFields: {
      "flowlog-kit/rule": f.rule,
      "flowlog-kit/environment": source.environment,
      ...Object.fromEntries(Object.entries(f.evidence).map(([k, v]) => [`flowlog-kit/evidence/${k}`, String(v)])),
    },
    RecordState: "ACTIVE",
  };
}

/** Splits a list into batches of at most `size`. */
export function batches<T>(items: readonly T[], size = ASFF_BATCH_SIZE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
