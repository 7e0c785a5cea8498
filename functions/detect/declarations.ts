import { finding, Finding, RuleId, Severity } from "./findings";
import { ADMIN_PORTS, DetectorThresholds, WEB_PORTS } from "./thresholds";

/*
 * The windowed rules as declarations: which flows count, how they are grouped, what is measured,
 * when a group becomes a finding, how severe it is and what evidence it carries. A declaration
 * says nothing about how the engine lays out its rows (functions/detect/aggregates.ts and the
 * WebAssembly module compute the same measures in one pass); sql.ts renders each one as
 * GROUP BY / HAVING over a table with the catalog's column names, and the differential test runs
 * that SQL in DuckDB against the engine on the same records.
 *
 * Vocabulary of a flow (every name below is defined once, in FLOW_FACTS, and rendered by sql.ts):
 * - src / dst: the packet-level address when logged (pkt-srcaddr, pkt-dstaddr), else srcaddr /
 *   dstaddr. Records of an allowed source (allowedSources), without an address, or whose
 *   log-status is NODATA or SKIPDATA are never counted.
 * - port: the destination port. window: start rounded down to the horizon (a missing start is 0).
 * - srcAwsService / dstAwsService: pkt-src-aws-service / pkt-dst-aws-service name an AWS
 *   service (when the format logs them; see FLOW_FACTS for which values do).
 * - inside: in network.cidrs. A flow's interface is its record's interface-id (or, for transit
 *   gateways, tgw-attachment-id); a group's interface is that of its earliest record.
 * - response: the answering side of a connection, never counted as a probe (see FLOW_FACTS).
 *
 * c2-beaconing is declared apart (C2_BEACONING below): it judges the regularity of the gaps
 * between one series' start times (their coefficient of variation), which no GROUP BY of flows
 * expresses, so sql.ts renders it with lag() over (src, dst, port) ordered by start, and both
 * the engine and findingsFromRows make its finding with beaconFinding from the same four sums.
 *
 * Not declared here:
 * - anomaly fits a seeded Isolation Forest (random trees over a sample of groups), which no
 *   aggregate expresses: sql.ts anomalyQuery returns each internal host's counts, and the forest
 *   (anomaly.ts anomalyFindings) scores them, as the engine's rows.
 * - log-skipped (SKIPDATA) describes the run, not a group of flows: sql.ts skippedQuery counts it.
 * - detector-saturated describes the engine's own row budget: engine-only.
 */

/** A fact about one flow, each defined in FLOW_FACTS. */
export type FlowFact =
  | "rejected"
  | "inbound"
  | "response"
  | "egress"
  | "srcInside"
  | "dstInside"
  | "srcNatGateway"
  | "dstApprovedResolver"
  | "srcAwsService"
  | "dstAwsService"
  | "srcThreat"
  | "dstThreat";

/** What each flow fact means: the definitions sql.ts renders and the engine computes. */
export const FLOW_FACTS: Readonly<Record<FlowFact, string>> = Object.freeze({
  rejected: "action is REJECT (a record without an action, as every transit-gateway record, is not rejected)",
  inbound: "flow-direction is ingress, or (flow-direction not logged) the source is outside",
  response:
    "the answering side of a connection: no destination port; or, unless it is a rejected inbound flow, tcp-flags say so " +
    "(TCP with SYN-ACK: yes; with SYN alone: no); or else the source's port is below the destination's and is a listener " +
    "(it accepted flows to at least min(listenerPeers, 3) distinct peer ports within the same long window, learned from " +
    "non-rejected flows whose tcp-flags do not decide). Also every flow from or to a load balancer, every flow from outside to a NAT gateway, " +
    "and every flow from an AWS service (srcAwsService: its answers, Route 53 health checks).",
  egress:
    "from inside to outside, not rejected, not marked ingress, not from a NAT gateway (its clients' own records carry that traffic), " +
    "and not to an AWS service (dstAwsService: a backup to S3 stays with AWS)",
  srcInside: "the source is in network.cidrs",
  dstInside: "the destination is in network.cidrs",
  srcNatGateway: "the source is in network.natGateways",
  dstApprovedResolver: "the destination is an approved resolver: network.resolvers, the Route 53 Resolver's addresses, or each IPv4 VPC CIDR's base + 2",
  srcAwsService:
    "pkt-src-aws-service is logged and names an AWS service: any value but \"-\" and EC2 (EC2 names the ranges of customers' instances, " +
    "anyone's, an attacker's included; every other value, AMAZON among them, ranges AWS's own services answer on). False when the format lacks the field",
  dstAwsService: "pkt-dst-aws-service is logged and names an AWS service, as srcAwsService",
  srcThreat: "the source is on a threat-intelligence list",
  dstThreat: "the destination is on a threat-intelligence list",
});

/** A numeric field of a flow: packets, bytes and the lost counts read a missing or negative value as 0. */
export type FlowNumber = "port" | "protocol" | "packets" | "bytes" | "tcpFlags" | "packetsLostNoRoute" | "packetsLostBlackhole" | "packetsLostMtuExceeded" | "packetsLostTtlExpired";

/** Threshold fields that hold a number. */
export type NumericThreshold = { [K in keyof DetectorThresholds]: DetectorThresholds[K] extends number ? K : never }[keyof DetectorThresholds];
/** Threshold fields that hold a list of numbers (ports, protocols). */
export type ListThreshold = { [K in keyof DetectorThresholds]: DetectorThresholds[K] extends readonly number[] ? K : never }[keyof DetectorThresholds];

/** Which flows count: a fact, a comparison of a flow's number, or a combination. */
export type Predicate =
  | FlowFact
  | { readonly not: Predicate }
  | { readonly all: readonly Predicate[] }
  | { readonly any: readonly Predicate[] }
  /** The number is one of these values, or of a threshold's list. */
  | { readonly field: FlowNumber; readonly in: readonly number[] | ListThreshold }
  | { readonly field: FlowNumber; readonly equals: number }
  | { readonly field: FlowNumber; readonly atMost: number | { readonly threshold: NumericThreshold; readonly times?: number } }
  | { readonly field: FlowNumber; readonly above: number };

/** What a group measures over its flows that match `where` (every flow of the group when absent). */
export type Measure =
  | { readonly count: true; readonly where?: Predicate }
  | { readonly sum: FlowNumber; readonly where?: Predicate }
  | { readonly distinct: "src" | "dst" | "port"; readonly where?: Predicate }
  /** The values of the earliest matching flow (by start; ties by the values themselves), "" when none. */
  | { readonly first: readonly ("dst" | "port")[]; readonly where?: Predicate }
  /** The distinct values among matching flows, ascending. */
  | { readonly list: "port"; readonly where?: Predicate }
  /** 1 when any flow matches, else 0. */
  | { readonly any: Predicate };

/** A number a condition or evidence reads: a measure by name, a threshold, a constant, or arithmetic on them. */
export type Term =
  | string
  | number
  | { readonly threshold: NumericThreshold; readonly times?: number }
  | { readonly sum: readonly Term[] }
  | { readonly times: readonly [Term, Term] }
  /** a / b rounded to the nearest whole number (Math.round). */
  | { readonly roundedRatio: readonly [Term, Term] };

/** When a group is reported (HAVING). Ratios are written as products (a <= r * b), so no query divides by zero. */
export type Condition =
  | { readonly atLeast: readonly [Term, Term] }
  | { readonly above: readonly [Term, Term] }
  | { readonly atMost: readonly [Term, Term] }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly always: true };

/** How a group's finding is grouped: by source, destination, destination port, IP protocol, or the interface (attachment) that recorded it. */
export type Key = "src" | "dst" | "port" | "protocol" | "interface";

/**
 * A horizon: "short" is thresholds.windowSeconds; "long" is thresholds.long.windowSeconds, with
 * thresholds.long's values in place of the short ones (longHorizon), where slow attacks show. A
 * long-horizon finding carries `horizonSeconds` in its evidence, and is dropped when a short
 * window within it found the same rule and endpoints (mergeHorizons in sql.ts).
 */
export type Horizon = "short" | "long";

/** What a description is written from. */
export interface Described {
  readonly src?: string;
  readonly dst?: string;
  readonly port?: number;
  readonly protocol?: number;
  readonly interfaceId?: string;
  /** Numeric measures and evidence by name. */
  readonly n: Readonly<Record<string, number>>;
  /** `first` and `list` measures by name. */
  readonly values: Readonly<Record<string, readonly (string | number)[]>>;
  readonly seconds: number;
  /** The name of the first threat list holding an address, or undefined. */
  readonly threatList: (address: string) => string | undefined;
}

export interface RuleDeclaration {
  /** The declaration's id: the rule it reports (brute-force reports ssh-brute-force, rdp-brute-force or brute-force by port). */
  readonly id: string;
  /** The rule id of a finding (by port for brute force). */
  readonly rule: RuleId | { readonly byPort: Readonly<Record<number, RuleId>>; readonly otherwise: RuleId };
  readonly summary: string;
  /** Grouped by these keys and the window. */
  readonly keys: readonly Key[];
  readonly horizons: readonly Horizon[];
  /** The flows that make a group (its interface is its earliest one's); measures narrow further. */
  readonly records: Predicate | "every flow";
  /** At the long horizon, the flows that make a group instead of `records`. @default - `records` */
  readonly longRecords?: Predicate;
  readonly measures: Readonly<Record<string, Measure>>;
  /** The threshold predicate (HAVING). */
  readonly having: Condition;
  /** The base severity, raised by the first matching condition. */
  readonly severity: { readonly base: Severity; readonly raise?: readonly { readonly when: Condition; readonly to: Severity }[] };
  /** The finding's evidence, in order. */
  readonly evidence: Readonly<Record<string, Term>>;
  /** Fixed fields of the finding (brute force is TCP). @default - none */
  readonly fixed?: { readonly protocol?: number };
  /**
   * A per-source finding that names one destination (and port): those of a `first` measure,
   * when the condition holds. @default - the keys alone
   */
  readonly namesFirst?: { readonly measure: string; readonly when?: Condition };
  /** The finding's description. */
  readonly describe: (d: Described) => string;
}

/** A flow that is not a response: what every probe-counting measure counts. */
const PROBE: Predicate = { not: "response" };
const and = (...all: Predicate[]): Predicate => ({ all });

/** A probe by its size: rejected, at most 3 packets, or a TCP SYN alone (no connection was made). */
export const PROBE_SIZED: Predicate = { any: ["rejected", { field: "packets", atMost: 3 }, { all: [{ field: "protocol", equals: 6 }, { field: "tcpFlags", equals: 2 }] }] };

/**
 * The long horizon counts probes only: a slow scan is made of them, and a busy hour's ordinary
 * connections (which carry data) would otherwise hold a group per pair for an hour.
 */
const LONG_PROBES: Predicate = and(PROBE, PROBE_SIZED);

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/** Names of the usual login ports, for descriptions. */
export const BRUTE_SERVICES: Readonly<Record<number, string>> = Object.freeze({ 22: "SSH", 3389: "RDP", 5985: "WinRM (HTTP)", 5986: "WinRM (HTTPS)", 23: "Telnet", 21: "FTP" });

export const PORT_SCAN_PER_HOST: RuleDeclaration = {
  id: "port-scan-host",
  rule: "port-scan",
  summary: "One source probes many distinct ports on one host.",
  keys: ["src", "dst"],
  horizons: ["short", "long"],
  longRecords: LONG_PROBES,
  // The pair's group also holds its egress answers (exfiltration counts them): its interface is the first of either.
  records: { any: [PROBE, "egress"] },
  measures: { distinctPorts: { distinct: "port", where: PROBE } },
  having: { atLeast: ["distinctPorts", { threshold: "portScanPortsPerHost" }] },
  severity: { base: "MEDIUM" },
  evidence: { distinctPorts: "distinctPorts" },
  describe: (d) => `${d.src} probed ${d.n.distinctPorts} distinct ports on ${d.dst} within ${d.seconds}s.`,
};

export const PORT_SCAN_ACROSS_HOSTS: RuleDeclaration = {
  id: "port-scan-hosts",
  rule: "port-scan",
  summary: "One source probes many distinct ports, all hosts together.",
  keys: ["src"],
  horizons: ["short", "long"],
  longRecords: LONG_PROBES,
  records: "every flow",
  measures: { distinctPorts: { distinct: "port", where: PROBE }, flows: { count: true } },
  having: { atLeast: ["distinctPorts", { threshold: "portScanPortsAcrossHosts" }] },
  severity: { base: "MEDIUM" },
  evidence: { distinctPorts: "distinctPorts", flows: "flows" },
  describe: (d) => `${d.src} probed ${d.n.distinctPorts} distinct ports across hosts within ${d.seconds}s.`,
};

export const SENSITIVE_PORT_SCAN: RuleDeclaration = {
  id: "sensitive-port-scan",
  rule: "sensitive-port-scan",
  summary: "One source probes several ports whose probing is suspicious even when few (sensitivePorts).",
  keys: ["src"],
  horizons: ["short", "long"],
  longRecords: LONG_PROBES,
  records: "every flow",
  measures: {
    sensitivePorts: { distinct: "port", where: and(PROBE, { field: "port", in: "sensitivePorts" }) },
    probed: { list: "port", where: and(PROBE, { field: "port", in: "sensitivePorts" }) },
    rejected: { count: true, where: "rejected" },
  },
  having: { atLeast: ["sensitivePorts", { threshold: "sensitivePortsProbed" }] },
  severity: { base: "MEDIUM" },
  evidence: { sensitivePorts: "sensitivePorts", rejected: "rejected" },
  describe: (d) => `${d.src} probed sensitive ports ${d.values.probed!.join(", ")} within ${d.seconds}s.`,
};

export const PORT_SWEEP: RuleDeclaration = {
  id: "port-sweep",
  rule: "port-sweep",
  summary: "One source probes one port on many hosts, mostly with probes (PROBE_SIZED); health checks make full connections.",
  keys: ["src", "port"],
  horizons: ["short", "long"],
  longRecords: LONG_PROBES,
  records: PROBE,
  measures: {
    distinctHosts: { distinct: "dst" },
    probes: { count: true, where: PROBE_SIZED },
    flows: { count: true },
  },
  having: { all: [{ atLeast: ["distinctHosts", { threshold: "portSweepHosts" }] }, { atLeast: [{ times: ["probes", 2] }, "flows"] }] },
  severity: { base: "MEDIUM" },
  evidence: { distinctHosts: "distinctHosts", probes: "probes", flows: "flows" },
  describe: (d) => `${d.src} probed port ${d.port} on ${d.n.distinctHosts} hosts within ${d.seconds}s.`,
};

export const BRUTE_FORCE: RuleDeclaration = {
  id: "brute-force",
  rule: { byPort: { 22: "ssh-brute-force", 3389: "rdp-brute-force" }, otherwise: "brute-force" },
  summary: "Many short connections (SYN only, or at most bruteForceMaxPackets packets) from one source to one host's login port (bruteForcePorts); HIGH from inside.",
  keys: ["src", "dst", "port"],
  horizons: ["short", "long"],
  records: and(PROBE, { field: "port", in: "bruteForcePorts" }, { not: { field: "protocol", equals: 17 } }, {
    any: [{ field: "tcpFlags", equals: 2 }, { field: "packets", atMost: { threshold: "bruteForceMaxPackets" } }],
  }),
  measures: { attempts: { count: true }, synOnly: { count: true, where: { field: "tcpFlags", equals: 2 } }, sourceInside: { any: "srcInside" } },
  having: { atLeast: ["attempts", { threshold: "bruteForceAttempts" }] },
  // From inside the VPC it means a compromised host is already attacking its neighbours.
  severity: { base: "MEDIUM", raise: [{ when: { atLeast: ["sourceInside", 1] }, to: "HIGH" }] },
  evidence: { attempts: "attempts", synOnly: "synOnly", sourceInside: "sourceInside" },
  fixed: { protocol: 6 },
  describe: (d) => {
    const service = BRUTE_SERVICES[d.port!];
    const inside = d.n.sourceInside === 1;
    return `${d.n.attempts} short ${service ?? `port ${d.port}`} connections from ${d.src} to ${d.dst}${service ? ` port ${d.port}` : ""} within ${d.seconds}s${inside ? " (source inside the VPC)" : ""}.`;
  },
};

export const DISTRIBUTED_SCAN: RuleDeclaration = {
  id: "distributed-scan",
  rule: "distributed-scan",
  summary: "Many sources, one internal host, many ports: each source stays under port-scan, together they cover the host.",
  keys: ["dst"],
  horizons: ["short"],
  records: "dstInside",
  measures: { sources: { distinct: "src", where: PROBE }, distinctPorts: { distinct: "port", where: PROBE } },
  having: { all: [{ atLeast: ["sources", { threshold: "distributedScanSources" }] }, { atLeast: ["distinctPorts", { threshold: "distributedScanPorts" }] }] },
  severity: { base: "MEDIUM" },
  evidence: { sources: "sources", distinctPorts: "distinctPorts" },
  describe: (d) => `${d.n.sources} sources together probed ${d.n.distinctPorts} distinct ports on ${d.dst} within ${d.seconds}s.`,
};

export const INBOUND_FLOOD: RuleDeclaration = {
  id: "inbound-flood",
  rule: "inbound-flood",
  summary: "Flows or packets to one internal host, all sources together (spoofed sources included).",
  keys: ["dst"],
  horizons: ["short"],
  records: "dstInside",
  measures: { flows: { count: true }, packets: { sum: "packets" }, sources: { distinct: "src", where: PROBE } },
  having: { any: [{ atLeast: ["flows", { threshold: "inboundFloodFlows" }] }, { atLeast: ["packets", { threshold: "inboundFloodPackets" }] }] },
  severity: { base: "HIGH" },
  evidence: { flows: "flows", packets: "packets", sources: "sources" },
  describe: (d) => `${d.dst} received ${d.n.flows} flows and ${d.n.packets} packets within ${d.seconds}s.`,
};

/** Flows from inside to outside that are not answers, never a NAT gateway's. */
const OUTBOUND: Predicate = and(PROBE, "srcInside", { not: "dstInside" }, { not: "srcNatGateway" });

export const OUTBOUND_FLOOD: RuleDeclaration = {
  id: "outbound-flood",
  rule: "outbound-flood",
  summary: "Flows or packets from one internal host to external addresses (never a NAT gateway: its clients' records carry theirs).",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { flows: { count: true, where: OUTBOUND }, packets: { sum: "packets", where: OUTBOUND } },
  having: { any: [{ atLeast: ["flows", { threshold: "outboundFloodFlows" }] }, { atLeast: ["packets", { threshold: "outboundFloodPackets" }] }] },
  severity: { base: "HIGH" },
  evidence: { flows: "flows", packets: "packets" },
  describe: (d) => `${d.src} opened ${d.n.flows} flows with ${d.n.packets} packets to external addresses within ${d.seconds}s.`,
};

/** DNS (53, 853 over TCP or UDP) from inside, accepted, to a resolver that is not approved. */
const UNAPPROVED_DNS: Predicate = and(PROBE, "srcInside", { not: "rejected" }, { field: "port", in: [53, 853] }, { field: "protocol", in: [6, 17] }, { not: "dstApprovedResolver" });

export const DNS_UNAPPROVED_RESOLVER: RuleDeclaration = {
  id: "dns-unapproved-resolver",
  rule: "dns-unapproved-resolver",
  summary: "DNS from an internal host to resolvers that are not approved: a policy bypass, and a channel for tunnelling.",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { flows: { count: true, where: UNAPPROVED_DNS }, resolvers: { distinct: "dst", where: UNAPPROVED_DNS }, first: { first: ["dst"], where: UNAPPROVED_DNS } },
  having: { all: [{ above: ["flows", 0] }, { atLeast: ["flows", { threshold: "dnsUnapprovedFlows" }] }] },
  severity: { base: "MEDIUM" },
  evidence: { flows: "flows", resolvers: "resolvers" },
  namesFirst: { measure: "first", when: { atMost: ["resolvers", 1] } },
  describe: (d) => {
    const first = d.values.first![0];
    return `${d.src} sent ${d.n.flows} DNS flows to ${d.n.resolvers === 1 ? `the unapproved resolver ${first}` : `${d.n.resolvers} unapproved resolvers (${first} first)`} within ${d.seconds}s. Approve it in network.resolvers if it is yours.`;
  },
};

const MINING: Predicate = and(PROBE, "srcInside", { not: "dstInside" }, { not: "rejected" }, { field: "port", in: "miningPorts" });

export const CRYPTO_MINING: RuleDeclaration = {
  id: "crypto-mining",
  rule: "crypto-mining",
  summary: "Accepted flows from an internal host to an external mining-pool port (miningPorts); the finding names the first.",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { flows: { count: true, where: MINING }, first: { first: ["dst", "port"], where: MINING } },
  having: { all: [{ above: ["flows", 0] }, { atLeast: ["flows", { threshold: "miningFlows" }] }] },
  severity: { base: "MEDIUM" },
  evidence: { flows: "flows" },
  namesFirst: { measure: "first" },
  describe: (d) => `${d.src} made ${d.n.flows} accepted connections to mining-pool ports (first ${d.values.first![0]}:${d.values.first![1]}) within ${d.seconds}s.`,
};

export const EXFILTRATION: RuleDeclaration = {
  id: "exfiltration",
  rule: "exfiltration",
  summary: "Bytes from one internal source to one external address (egress flows); CRITICAL at ten times the threshold.",
  keys: ["src", "dst"],
  horizons: ["short"],
  records: { any: [PROBE, "egress"] },
  measures: { egressBytes: { sum: "bytes", where: "egress" } },
  having: { atLeast: ["egressBytes", { threshold: "exfiltrationBytes" }] },
  severity: { base: "HIGH", raise: [{ when: { atLeast: ["egressBytes", { threshold: "exfiltrationBytes", times: 10 }] }, to: "CRITICAL" }] },
  evidence: { egressBytes: "egressBytes" },
  describe: (d) => `${d.src} sent ${gib(d.n.egressBytes!)} to external address ${d.dst} within ${d.seconds}s.`,
};

/**
 * Small accepted web flows (80, 443, 8080; at most 4 x c2MaxAverageBytes each) from inside to
 * outside, never a NAT gateway's nor to an AWS service (its endpoints are many addresses, called
 * often with small requests). c2-beaconing (C2_BEACONING) reads the same flows.
 */
export const SMALL_WEB: Predicate = and(
  PROBE, { not: "rejected" }, "srcInside", { not: "dstInside" }, { field: "port", in: [...WEB_PORTS] }, { field: "bytes", atMost: { threshold: "c2MaxAverageBytes", times: 4 } }, { not: "srcNatGateway" }, { not: "dstAwsService" },
);

export const C2_FAN_OUT: RuleDeclaration = {
  id: "c2-fan-out",
  rule: "c2-fan-out",
  summary: "One internal source reaches many external web destinations with small flows.",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { externalDestinations: { distinct: "dst", where: SMALL_WEB }, flows: { count: true, where: SMALL_WEB }, bytes: { sum: "bytes", where: SMALL_WEB } },
  // The average at most c2MaxAverageBytes, written as bytes <= c2MaxAverageBytes x flows.
  having: { all: [{ atLeast: ["externalDestinations", { threshold: "c2Destinations" }] }, { above: ["flows", 0] }, { atMost: ["bytes", { times: [{ threshold: "c2MaxAverageBytes" }, "flows"] }] }] },
  severity: { base: "HIGH" },
  evidence: { externalDestinations: "externalDestinations", flows: "flows", averageBytes: { roundedRatio: ["bytes", "flows"] } },
  describe: (d) => `${d.src} reached ${d.n.externalDestinations} external web destinations with small flows (${d.n.averageBytes} bytes on average) within ${d.seconds}s.`,
};

const LATERAL: Predicate = and(PROBE, { not: "rejected" }, "srcInside", "dstInside", { field: "port", in: [...ADMIN_PORTS] });

export const LATERAL_MOVEMENT: RuleDeclaration = {
  id: "lateral-movement",
  rule: "lateral-movement",
  summary: "One internal source connects to many internal hosts on admin ports (SSH, RDP, SMB, RPC, NetBIOS, WinRM).",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { internalHosts: { distinct: "dst", where: LATERAL }, adminPorts: { distinct: "port", where: LATERAL }, ports: { list: "port", where: LATERAL } },
  having: { atLeast: ["internalHosts", { threshold: "lateralHosts" }] },
  severity: { base: "HIGH" },
  evidence: { internalHosts: "internalHosts", adminPorts: "adminPorts" },
  describe: (d) => `${d.src} connected to ${d.n.internalHosts} internal hosts on admin ports ${d.values.ports!.join(", ")} within ${d.seconds}s.`,
};

export const REJECTED_SPIKE: RuleDeclaration = {
  id: "rejected-spike",
  rule: "rejected-spike",
  summary: "Many rejected flows from one source.",
  keys: ["src"],
  horizons: ["short"],
  records: "every flow",
  measures: { rejected: { count: true, where: "rejected" }, flows: { count: true } },
  having: { atLeast: ["rejected", { threshold: "rejectedFlows" }] },
  severity: { base: "LOW" },
  evidence: { rejected: "rejected", flows: "flows" },
  describe: (d) => `${d.n.rejected} rejected flows from ${d.src} within ${d.seconds}s.`,
};

export const UNUSUAL_PROTOCOL: RuleDeclaration = {
  id: "unusual-protocol",
  rule: "unusual-protocol",
  summary: "Flows of an IP protocol rarely seen in a VPC (unusualProtocols), per source, destination and protocol.",
  keys: ["src", "dst", "protocol"],
  horizons: ["short"],
  records: { field: "protocol", in: "unusualProtocols" },
  measures: { flows: { count: true }, bytes: { sum: "bytes" } },
  having: { always: true },
  severity: { base: "LOW" },
  evidence: { flows: "flows", bytes: "bytes" },
  describe: (d) => `${d.n.flows} flows of IP protocol ${d.protocol} from ${d.src} to ${d.dst} within ${d.seconds}s.`,
};

export const THREAT_INTEL: RuleDeclaration = {
  id: "threat-intel",
  rule: "threat-intel",
  summary: "Flows with an end on a threat list: HIGH, LOW when every flow was rejected (the contact was blocked).",
  keys: ["src", "dst"],
  horizons: ["short"],
  records: { any: ["srcThreat", "dstThreat"] },
  measures: { flows: { count: true }, accepted: { count: true, where: { not: "rejected" } }, bytes: { sum: "bytes" } },
  having: { always: true },
  severity: { base: "LOW", raise: [{ when: { above: ["accepted", 0] }, to: "HIGH" }] },
  evidence: { flows: "flows", accepted: "accepted", bytes: "bytes" },
  describe: (d) => {
    const listed = [d.src, d.dst].flatMap((a) => {
      const list = d.threatList(a!);
      return list === undefined ? [] : [`${a} (list ${list})`];
    });
    return `${d.n.flows} flows (${d.n.accepted} accepted) between ${d.src} and ${d.dst} within ${d.seconds}s; on a threat list: ${listed.join(", ")}.`;
  },
};

const LOST: Predicate = {
  any: [
    { field: "packetsLostNoRoute", above: 0 },
    { field: "packetsLostBlackhole", above: 0 },
    { field: "packetsLostMtuExceeded", above: 0 },
    { field: "packetsLostTtlExpired", above: 0 },
  ],
};

export const TGW_PACKET_LOSS: RuleDeclaration = {
  id: "tgw-packet-loss",
  rule: "tgw-packet-loss",
  summary: "Packets a transit-gateway attachment dropped (packets-lost-*: no route, blackhole, MTU exceeded, TTL expired); MEDIUM at ten times the threshold.",
  keys: ["interface"],
  horizons: ["short"],
  records: LOST,
  measures: {
    flows: { count: true },
    noRoute: { sum: "packetsLostNoRoute" },
    blackhole: { sum: "packetsLostBlackhole" },
    mtuExceeded: { sum: "packetsLostMtuExceeded" },
    ttlExpired: { sum: "packetsLostTtlExpired" },
  },
  having: { atLeast: [{ sum: ["noRoute", "blackhole", "mtuExceeded", "ttlExpired"] }, { threshold: "tgwPacketsLost" }] },
  severity: { base: "LOW", raise: [{ when: { atLeast: [{ sum: ["noRoute", "blackhole", "mtuExceeded", "ttlExpired"] }, { threshold: "tgwPacketsLost", times: 10 }] }, to: "MEDIUM" }] },
  evidence: { packetsLost: { sum: ["noRoute", "blackhole", "mtuExceeded", "ttlExpired"] }, noRoute: "noRoute", blackhole: "blackhole", mtuExceeded: "mtuExceeded", ttlExpired: "ttlExpired", flows: "flows" },
  describe: (d) => {
    const n = d.n;
    const reasons = ([["no route", n.noRoute!], ["blackhole route", n.blackhole!], ["MTU exceeded", n.mtuExceeded!], ["TTL expired", n.ttlExpired!]] as const)
      .filter(([, count]) => count > 0)
      .map(([why, count]) => `${why} ${count}`);
    const a = d.interfaceId;
    return `The transit gateway dropped ${n.packetsLost} packets of ${n.flows} flow${n.flows === 1 ? "" : "s"} on ${a === undefined ? "an attachment the records do not name" : `attachment ${a}`} within ${d.seconds}s (${reasons.join(", ")}).`;
  },
};

/*
 * A declaration's threshold predicate, severity and evidence over a group's measures, for any
 * engine that has the measures: findingsFromRows (sql.ts) over query rows, and the engine's
 * rules over their rows.
 */

/** The value of a term over a group's measures. */
export function termValue(x: Term, n: Readonly<Record<string, number>>, t: DetectorThresholds): number {
  if (typeof x === "string") return n[x]!;
  if (typeof x === "number") return x;
  if ("threshold" in x) return t[x.threshold] * (x.times ?? 1);
  if ("sum" in x) return x.sum.reduce<number>((a, y) => a + termValue(y, n, t), 0);
  if ("times" in x) return termValue(x.times[0], n, t) * termValue(x.times[1], n, t);
  return Math.round(termValue(x.roundedRatio[0], n, t) / termValue(x.roundedRatio[1], n, t));
}

/** Whether a condition (a rule's HAVING, a severity's) holds for a group's measures. */
export function conditionHolds(c: Condition, n: Readonly<Record<string, number>>, t: DetectorThresholds): boolean {
  if ("always" in c) return true;
  if ("all" in c) return c.all.every((x) => conditionHolds(x, n, t));
  if ("any" in c) return c.any.some((x) => conditionHolds(x, n, t));
  if ("atLeast" in c) return termValue(c.atLeast[0], n, t) >= termValue(c.atLeast[1], n, t);
  if ("above" in c) return termValue(c.above[0], n, t) > termValue(c.above[1], n, t);
  return termValue(c.atMost[0], n, t) <= termValue(c.atMost[1], n, t);
}

/** A group's severity: the base, raised by the first condition that holds. */
export function severityOf(d: RuleDeclaration, n: Readonly<Record<string, number>>, t: DetectorThresholds): Severity {
  return d.severity.raise?.find((r) => conditionHolds(r.when, n, t))?.to ?? d.severity.base;
}

/** A group's evidence, in the declaration's order. */
export function evidenceOf(d: RuleDeclaration, n: Readonly<Record<string, number>>, t: DetectorThresholds): Record<string, number> {
  return Object.fromEntries(Object.entries(d.evidence).map(([name, x]) => [name, termValue(x, n, t)]));
}

/** A group's rule id: the declaration's, or by the group's port (brute force). */
export function ruleOf(d: RuleDeclaration, port: number | undefined): RuleId {
  return typeof d.rule === "string" ? d.rule : d.rule.byPort[port!] ?? d.rule.otherwise;
}

/**
 * The endpoints a group's finding names, in this order: its keys; the destination (and port)
 * of its `first` measure where namesFirst applies; the fixed protocol.
 */
export function endpointsOf(d: RuleDeclaration, x: Described, t: DetectorThresholds): { src?: string; dst?: string; port?: number; protocol?: number } {
  const out: { src?: string; dst?: string; port?: number; protocol?: number } = {};
  if (x.src !== undefined) out.src = x.src;
  if (x.dst !== undefined) out.dst = x.dst;
  if (x.port !== undefined) out.port = x.port;
  if (x.protocol !== undefined) out.protocol = x.protocol;
  const named = d.namesFirst;
  if (named && (named.when === undefined || conditionHolds(named.when, x.n, t))) {
    const m = d.measures[named.measure]!;
    const first = x.values[named.measure]!;
    if ("first" in m) m.first.forEach((k, i) => (k === "port" ? (out.port = Number(first[i])) : (out.dst = String(first[i]))));
  }
  if (d.fixed?.protocol !== undefined) out.protocol = d.fixed.protocol;
  return out;
}

/** Every windowed rule, in the order the engine reports them before sorting. */
export const DECLARATIONS: readonly RuleDeclaration[] = Object.freeze([
  PORT_SCAN_PER_HOST, PORT_SCAN_ACROSS_HOSTS, SENSITIVE_PORT_SCAN, PORT_SWEEP, BRUTE_FORCE, EXFILTRATION, C2_FAN_OUT, LATERAL_MOVEMENT, REJECTED_SPIKE,
  UNUSUAL_PROTOCOL, TGW_PACKET_LOSS, DISTRIBUTED_SCAN, INBOUND_FLOOD, OUTBOUND_FLOOD, DNS_UNAPPROVED_RESOLVER, CRYPTO_MINING, THREAT_INTEL,
]);

/*
 * c2-beaconing: the small web flows (SMALL_WEB) of one (src, dst, port) series, judged by the
 * coefficient of variation (population standard deviation over mean) of the gaps between their
 * start times, in order. What each side judges:
 * - the engine (rules.ts beaconing): a series once idle for a long window (one series however
 *   many windows it crosses), on its first BEACON.POINTS (16) starts in input order, sorted;
 *   `flows` counts every point, and the description says "over the first 16" when it kept fewer.
 * - SQL (sql.ts beaconQuery, over the scheduled run's long-horizon range): every point of the
 *   series within the queried range, sorted; the series is cut at the range's ends, and judged
 *   on each run whether or not it has gone idle. On input in start order with at most 16 points
 *   a series, the two give the same finding field for field (the differential test's inputs).
 * Both reduce the gaps to four integers (points, gaps, their sum, the sum of their squares) and
 * beaconFinding does the arithmetic once for both, so the threshold test and the rounded
 * evidence agree to the bit: sd / mean = sqrt(n * sum(g^2) - sum(g)^2) / sum(g) for n gaps.
 */

/** c2-beaconing's definition: the flows it reads, the thresholds it compares with, its severity and evidence. */
export const C2_BEACONING = Object.freeze({
  id: "c2-beaconing",
  rule: "c2-beaconing" as RuleId,
  summary: "Regular small web flows from one internal source to one external destination and port: the gaps between their starts vary little (beaconMaxJitter).",
  /** The points of a series. */
  records: SMALL_WEB,
  /** Points a series needs to be judged: beaconMinFlows, and at least 3 (two gaps). */
  minPoints: (t: DetectorThresholds) => Math.max(t.beaconMinFlows, 3),
  severity: "HIGH" as Severity,
  evidence: ["flows", "intervalSeconds", "jitterPercent"] as const,
});

/** One beacon series reduced to what it is judged on. */
export interface BeaconSeriesMeasures {
  readonly src: string;
  readonly dst: string;
  readonly port: number;
  /** The interface of the series' first point (engine: first read; SQL: earliest start, ties to the smallest id). */
  readonly interfaceId: string | undefined;
  /** Every point of the series (engine: all it read; SQL: all in the range). */
  readonly flows: number;
  /** The starts judged (engine: at most 16; SQL: every point). */
  readonly points: number;
  /** The first and last of the starts judged, Unix seconds. */
  readonly first: number;
  readonly last: number;
  /** The sum of the gaps between consecutive sorted starts (last - first), and of their squares. */
  readonly gapSum: number;
  readonly gapSquares: number;
}

/**
 * The c2-beaconing finding of a series, or undefined when it is no beacon (too few points, all at
 * one time, or jitter above beaconMaxJitter). Its window runs from the first start judged to the
 * last (+1 s), and its id is keyed by the series and the long window (hour) its first start is
 * in, not that start itself: the scheduled run's hour-long query sees a series again on every
 * run while its range covers that hour, and a record of an earlier point arriving late (AWS
 * delivers up to ~15 minutes late) would otherwise move the first start and make a second
 * finding of the same beacon. A beacon still going when the range moves on to the next hour is
 * found again under the next hour's id: one finding per hour of beaconing, each updated in place.
 */
export function beaconFinding(s: BeaconSeriesMeasures, t: DetectorThresholds): Finding | undefined {
  const gaps = s.points - 1;
  if (s.flows < t.beaconMinFlows || s.points < C2_BEACONING.minPoints(t) || s.gapSum <= 0) return undefined;
  // n * sum(g^2) - sum(g)^2 in integers (BigInt: exact past 2^53), then one square root and one division.
  const spread = Number(BigInt(gaps) * BigInt(s.gapSquares) - BigInt(s.gapSum) * BigInt(s.gapSum));
  const jitter = Math.sqrt(spread) / s.gapSum;
  if (jitter > t.beaconMaxJitter) return undefined;
  const mean = s.gapSum / gaps;
  const long = t.long.windowSeconds;
  return finding({
    rule: C2_BEACONING.rule, severity: C2_BEACONING.severity, src: s.src, dst: s.dst, port: s.port, interfaceId: s.interfaceId,
    window: { start: s.first, end: s.last + 1 },
    idStart: s.first - (s.first % long),
    evidence: { flows: s.flows, intervalSeconds: Math.round(mean), jitterPercent: Math.round(jitter * 1000) / 10 },
    description: `${s.src} contacted ${s.dst}:${s.port} ${s.flows} times every ~${Math.round(mean)}s (jitter ${(jitter * 100).toFixed(1)}%${s.flows > s.points ? ` over the first ${s.points}` : ""}).`,
  });
}
