/**
 * Detector thresholds. Defaults follow the network rules of established rule sets (Panther's
 * VPC flow rules, Elastic's network detection rules) scaled to one aggregation window; every
 * one can be overridden per environment.
 */
export interface DetectorThresholds {
  /** Length of an aggregation window, seconds. @default 300 */
  readonly windowSeconds: number;
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
   * Isolation Forest score at or above which a (source, destination, port) is reported. 0.5 is
   * average; 0.74 separates the planted attacks from ordinary traffic in bench/generate.ts data,
   * where ordinary tails reach 0.73. Tune it per environment.
   * @default 0.74
   */
  readonly anomalyScore: number;
  /** Fewest (source, destination, port) groups before the forest is fitted. @default 256 */
  readonly anomalyMinGroups: number;
  /** Most anomaly findings per run, highest scores first. @default 20 */
  readonly anomalyMaxFindings: number;
  /** Sources never reported (e.g. scanners you run, bastion hosts). @default [] */
  readonly allowedSources: readonly string[];
  /**
   * Most aggregate rows one run holds: memory stays bounded (about 300 bytes a row all told, measured)
   * whatever the input. Ordinary traffic needs far fewer (5 million generated records fill 1.8
   * million); a flood of distinct flows (spoofed sources, a scan of everything) fills it. Past
   * it, records are still read but counted as skipped ("row-budget"), and a
   * "detector-saturated" finding says so. @default 2500000
   */
  readonly rowBudget: number;
}

export const ADMIN_PORTS: readonly number[] = Object.freeze([22, 3389, 445, 135, 139, 5985, 5986]);
export const WEB_PORTS: readonly number[] = Object.freeze([80, 443, 8080]);

export const DEFAULT_THRESHOLDS: DetectorThresholds = Object.freeze({
  windowSeconds: 300,
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
  anomalyScore: 0.74,
  anomalyMinGroups: 256,
  anomalyMaxFindings: 20,
  allowedSources: Object.freeze([]),
  rowBudget: 2_500_000,
});

/** Defaults overlaid with an environment's overrides. */
export function resolveThresholds(overrides: Partial<DetectorThresholds> = {}): DetectorThresholds {
  return Object.freeze({ ...DEFAULT_THRESHOLDS, ...overrides });
}
