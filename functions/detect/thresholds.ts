/**
 * Detector thresholds. Defaults follow the network rules of established rule sets (Panther's
 * VPC flow rules, Elastic's network detection rules) scaled to one aggregation window; every
 * one can be overridden per environment.
 */
export interface DetectorThresholds {
  /** Length of an aggregation window of the short horizon, seconds. @default 300 */
  readonly windowSeconds: number;
  /**
   * The long horizon, where slow attacks show: port scans (per host and across hosts), port
   * sweeps and brute force spread over an hour, each under the short window's thresholds.
   * Only probes count there (rejected flows, SYN-only flows, flows of at most 3 packets):
   * a slow scan is made of them, and ordinary connections would hold a row per pair for an
   * hour. Beacon series are judged whole, however long, and released after a long window idle.
   */
  readonly long: LongHorizonThresholds;
  /** Distinct destination ports one source probes on one host. @default 25 */
  readonly portScanPortsPerHost: number;
  /** Distinct destination ports one source probes across all hosts. @default 100 */
  readonly portScanPortsAcrossHosts: number;
  /** Ports whose probing is suspicious even when few. */
  readonly sensitivePorts: readonly number[];
  /** Distinct sensitive ports one source probes. @default 4 */
  readonly sensitivePortsProbed: number;
  /** Distinct hosts one source probes on a single port, with mostly rejected or probe-sized flows. @default 25 */
  readonly portSweepHosts: number;
  /** Short connections from one source to one host on SSH or RDP. @default 20 */
  readonly bruteForceAttempts: number;
  /** A connection with at most this many packets counts as a login attempt. @default 30 */
  readonly bruteForceMaxPackets: number;
  /** Bytes from one internal source to one external address in a window. @default 500 MiB */
  readonly exfiltrationBytes: number;
  /** Distinct external web destinations with small flows from one source. @default 50 */
  readonly c2Destinations: number;
  /** Average bytes per flow below which web traffic counts as small. @default 2000 */
  readonly c2MaxAverageBytes: number;
  /** Small flows to one external destination before their regularity is judged. @default 8 */
  readonly beaconMinFlows: number;
  /** Largest coefficient of variation of the intervals between flows that is still a beacon. @default 0.1 */
  readonly beaconMaxJitter: number;
  /** Distinct internal hosts one internal source reaches on admin ports. @default 10 */
  readonly lateralHosts: number;
  /** Rejected flows from one source in a window. @default 200 */
  readonly rejectedFlows: number;
  /** IP protocol numbers rarely seen in a VPC (IPv6-in-IPv4, GRE, ESP). */
  readonly unusualProtocols: readonly number[];
  /**
   * Packets one transit-gateway attachment drops in a window (the packets-lost-* fields: no
   * route, blackhole route, MTU exceeded, TTL expired), LOW; ten times as many, MEDIUM. About
   * 3 packets a second over 5 minutes: more than a stray packet to an unrouted address, less
   * than a route that went missing under real traffic.
   * @default 1000
   * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-fields
   */
  readonly tgwPacketsLost: number;
  /**
   * Isolation Forest score at or above which an internal host's behaviour over the run is
   * reported (rules.ts hostFeatures: flows, bytes and distinct peers and ports, each way, and
   * the rejected share). 0.5 is average. Tune it per environment.
   *
   * Calibrated on two files, every host scored (anomalyScore 0.5, no cap on findings):
   * - bench/generate.ts, 5,000,000 records, seed 1 (250 internal hosts and 20 load-balancer
   *   interfaces): the eight internal hosts of planted attacks score 0.731 (rejected-spike
   *   victim) to 0.789 (port-scan victim): c2 fan-out 0.757, exfiltration 0.748, lateral
   *   movement 0.743, unusual protocol 0.735, beaconing 0.733, brute-force victim 0.732. The
   *   highest ordinary host scores 0.689.
   * - ../shared/bench/gen-busy.py, 5,000,000 records (2,000 internal hosts; the generator's
   *   "internet" addresses that fall in private ranges count as inside too, 562 hosts score at
   *   least 0.5): the highest host scores 0.717.
   * 0.725 sits between: no finding on either file's ordinary traffic, every planted host found.
   * @default 0.725
   */
  readonly anomalyScore: number;
  /** Fewest internal hosts before the forest is fitted (fewer make no population to stand out from). @default 64 */
  readonly anomalyMinGroups: number;
  /** Most anomaly findings per run, highest scores first. @default 20 */
  readonly anomalyMaxFindings: number;
  /** Sources never reported (e.g. scanners you run, bastion hosts). @default [] */
  readonly allowedSources: readonly string[];
  /**
   * Destination ports whose short connections count as login attempts (brute-force rules):
   * 22 reports as ssh-brute-force, 3389 as rdp-brute-force, any other as brute-force.
   * @default [22, 3389, 5985, 5986] (SSH, RDP, WinRM over HTTP and HTTPS)
   */
  readonly bruteForcePorts: readonly number[];
  /**
   * Distinct answers (to distinct peer ports) after which a host's port counts as a listening
   * service whose flows are responses, when tcp-flags do not say. @default 3
   */
  readonly listenerPeers: number;
  /** Distinct sources probing one internal host in a window before its distinct ports are counted (distributed-scan). @default 20 */
  readonly distributedScanSources: number;
  /** Distinct ports those sources probed on the host together (distributed-scan). @default 100 */
  readonly distributedScanPorts: number;
  /** Flows to one internal host in a window (inbound-flood), all sources together. @default 100000 */
  readonly inboundFloodFlows: number;
  /** Packets to one internal host in a window (inbound-flood). @default 10000000 */
  readonly inboundFloodPackets: number;
  /** Flows one internal source opens to external addresses in a window (outbound-flood). @default 10000 */
  readonly outboundFloodFlows: number;
  /** Packets one internal source sends to external addresses in a window (outbound-flood). @default 5000000 */
  readonly outboundFloodPackets: number;
  /** DNS flows (53, 853) from one internal source to resolvers that are not approved, in a window. @default 30 */
  readonly dnsUnapprovedFlows: number;
  /** Destination ports of mining pools (see MINING_POOL_PORTS for the source). */
  readonly miningPorts: readonly number[];
  /** Accepted flows from one internal source to external mining-pool ports in a window. @default 1 */
  readonly miningFlows: number;
  /** The network the flows belong to (environment `network`). */
  readonly network: NetworkContext;
  /** Findings dropped on purpose (environment `detectors.suppress`). @default [] */
  readonly suppress: readonly Suppression[];
  /** Threat-intelligence lists, read (environment `detectors.threatIntel`). @default [] */
  readonly threatIntel: readonly ThreatIntelList[];
  /**
   * Most aggregate rows one run holds at once: memory stays bounded (about 120 bytes a row all
   * told, measured) whatever the input. Rows are released as windows close, so the rows held
   * follow about 30 minutes of traffic (a window, AWS's 15 minutes of delivery lateness, the
   * window being filled, and one more while two windows wait to close together), and the long
   * horizon's probes of an hour: the busy hour of ../shared/bench/gen-busy.py (5 million
   * records, nearly every one a new pair) holds at most 4.4 million. A flood of distinct flows (spoofed
   * sources, a scan of everything) fills it. Past it, records are still read but counted as
   * skipped ("row-budget"), and a "detector-saturated" finding says so. @default 6000000
   */
  readonly rowBudget: number;
}

/** The long horizon's window and thresholds (see DetectorThresholds.long); the rules are the short horizon's. */
export interface LongHorizonThresholds {
  /** Length of a long window, seconds: a whole number of short windows. @default 3600 */
  readonly windowSeconds: number;
  /** Distinct destination ports one source probes on one host in a long window. @default 60 */
  readonly portScanPortsPerHost: number;
  /** Distinct destination ports one source probes across all hosts in a long window. @default 250 */
  readonly portScanPortsAcrossHosts: number;
  /** Distinct sensitive ports one source probes in a long window. @default 6 */
  readonly sensitivePortsProbed: number;
  /** Distinct hosts one source probes on a single port in a long window. @default 60 */
  readonly portSweepHosts: number;
  /** Short connections from one source to one host on a brute-force port in a long window. @default 60 */
  readonly bruteForceAttempts: number;
}

/**
 * Where the flows are. Every entry is an IPv4 or IPv6 address or CIDR.
 */
export interface NetworkContext {
  /** Inside the VPC: the VPC's IPv4 and IPv6 CIDRs (IPv6 VPC ranges are global addresses). @default DEFAULT_INSIDE (the private ranges) */
  readonly cidrs: readonly string[];
  /** Private IPs of NAT gateways: their return traffic is no probe, their fan-out no C2. @default [] */
  readonly natGateways: readonly string[];
  /** IPs or CIDRs of load-balancer nodes: their health checks, and targets' answers to them, are no probes. @default [] */
  readonly loadBalancers: readonly string[];
  /** Approved DNS resolvers, besides the VPC resolver (base of each IPv4 VPC CIDR + 2) and 169.254.169.253. @default [] */
  readonly resolvers: readonly string[];
}

/** A rule for findings nobody should see again: every given part must match (a finding lacking an endpoint a part needs does not). */
export interface Suppression {
  /** @default - every rule */
  readonly rule?: string;
  /** IPs or CIDRs the finding's source is in. @default - any source */
  readonly sources?: readonly string[];
  /** IPs or CIDRs the finding's destination is in. @default - any destination */
  readonly destinations?: readonly string[];
  /** @default - any port */
  readonly ports?: readonly number[];
  /** Why: kept with the configuration for the reviewer. */
  readonly reason: string;
}

/** A threat-intelligence list as read: its name and its entries (IPs and CIDRs). */
export interface ThreatIntelList {
  readonly name: string;
  readonly entries: readonly string[];
}

/**
 * "Inside" when the environment names no CIDRs: the private ranges (RFC 1918, carrier-grade NAT
 * RFC 6598, loopback, link-local, IPv6 unique-local and link-local). A VPC with IPv6 has global
 * IPv6 addresses: configure network.cidrs, or its IPv6 hosts count as outside.
 */
export const DEFAULT_INSIDE: readonly string[] = Object.freeze(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128"]);

/**
 * Resolvers always approved: the Route 53 Resolver's link-local addresses (IPv4, and IPv6 on
 * Nitro instances).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html
 */
export const AMAZON_RESOLVERS: readonly string[] = Object.freeze(["169.254.169.253", "fd00:ec2::253"]);

/**
 * Destination ports of cryptocurrency mining pools (Stratum): 3333 (the Stratum default),
 * 4444, 5555, 7777, 14444 (Monero pools) and 45700 (MoneroOcean). The one place this list lives;
 * its source is issue 14's list of pool ports, which follows the port lists of public mining-pool
 * detections (Panther's and Elastic's network rules were named as the reference but not checked
 * against here). A port alone is weak evidence (4444 and 5555 serve other software too), so the
 * rule is MEDIUM and counts only accepted flows from inside to outside.
 */
export const MINING_POOL_PORTS: readonly number[] = Object.freeze([3333, 4444, 5555, 7777, 14444, 45700]);

export const ADMIN_PORTS: readonly number[] = Object.freeze([22, 3389, 445, 135, 139, 5985, 5986]);
export const WEB_PORTS: readonly number[] = Object.freeze([80, 443, 8080]);

export const DEFAULT_THRESHOLDS: DetectorThresholds = Object.freeze({
  windowSeconds: 300,
  long: Object.freeze({ windowSeconds: 3600, portScanPortsPerHost: 60, portScanPortsAcrossHosts: 250, sensitivePortsProbed: 6, portSweepHosts: 60, bruteForceAttempts: 60 }),
  portScanPortsPerHost: 25,
  portScanPortsAcrossHosts: 100,
  sensitivePorts: Object.freeze([22, 23, 3389, 445, 5900, 5985, 1433, 3306]),
  sensitivePortsProbed: 4,
  portSweepHosts: 25,
  bruteForceAttempts: 20,
  bruteForceMaxPackets: 30,
  exfiltrationBytes: 500 * 1024 * 1024,
  c2Destinations: 50,
  c2MaxAverageBytes: 2000,
  beaconMinFlows: 8,
  beaconMaxJitter: 0.1,
  lateralHosts: 10,
  rejectedFlows: 200,
  unusualProtocols: Object.freeze([41, 47, 50]),
  tgwPacketsLost: 1000,
  anomalyScore: 0.725,
  anomalyMinGroups: 64,
  anomalyMaxFindings: 20,
  allowedSources: Object.freeze([]),
  bruteForcePorts: Object.freeze([22, 3389, 5985, 5986]),
  listenerPeers: 3,
  distributedScanSources: 20,
  distributedScanPorts: 100,
  inboundFloodFlows: 100_000,
  inboundFloodPackets: 10_000_000,
  outboundFloodFlows: 10_000,
  outboundFloodPackets: 5_000_000,
  dnsUnapprovedFlows: 30,
  miningPorts: MINING_POOL_PORTS,
  miningFlows: 1,
  network: Object.freeze({ cidrs: DEFAULT_INSIDE, natGateways: Object.freeze([]), loadBalancers: Object.freeze([]), resolvers: Object.freeze([]) }),
  suppress: Object.freeze([]),
  threatIntel: Object.freeze([]),
  rowBudget: 6_000_000,
});

/** Defaults overlaid with an environment's overrides. */
export function resolveThresholds(
  overrides: Partial<Omit<DetectorThresholds, "network" | "long">> & { readonly network?: Partial<NetworkContext>; readonly long?: Partial<LongHorizonThresholds> } = {},
): DetectorThresholds {
  const network = { ...DEFAULT_THRESHOLDS.network, ...overrides.network };
  const long = { ...DEFAULT_THRESHOLDS.long, ...overrides.long };
  return Object.freeze({ ...DEFAULT_THRESHOLDS, ...overrides, network: Object.freeze(network), long: Object.freeze(long) });
}

/** The thresholds as the long horizon's rules read them: its window and its thresholds in place of the short ones. */
export function longHorizon(t: DetectorThresholds): DetectorThresholds {
  return Object.freeze({ ...t, ...t.long });
}
