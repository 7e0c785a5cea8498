import { BRUTE, DST, HOST, INTEL, LOSS, PROTO, PW, RunAggregates, sketchCount, SRC, SWEEP } from "./aggregates";
import { finding, Finding } from "./findings";
import { IsolationForest } from "./isolation-forest";
import { ADMIN_PORTS, DetectorThresholds } from "./thresholds";

/*
 * Records without an action. Transit-gateway records have no action field: a transit gateway
 * has no security groups or network ACLs, so a record describes traffic it forwarded, and what
 * it dropped shows as packets-lost-* counts instead. (A VPC record written without its action,
 * "-" or a format that leaves it out, reads the same way.) So such a record is never "rejected",
 * and per rule:
 * - port-scan, sensitive-port-scan, ssh/rdp-brute-force, unusual-protocol, anomaly: the action
 *   plays no part; the record counts as any other.
 * - port-sweep: a probe is a rejected flow or one of at most 3 packets; without an action, only
 *   the second.
 * - exfiltration, c2-fan-out, c2-beaconing, lateral-movement: these count traffic that got
 *   through (not rejected), and a transit-gateway record is traffic that crossed the hub:
 *   counted, as an ACCEPT is. Crossing VPCs or accounts over a transit gateway is exactly where
 *   lateral movement and a central egress path show.
 * - rejected-spike: counts REJECT records only, so transit-gateway records never raise it; their
 *   drops raise tgw-packet-loss.
 * A flow through a transit gateway is recorded at each attachment it crosses (entering, with
 * flow-direction ingress, and leaving, egress), as a flow between two interfaces of one VPC is
 * recorded at both: counts of flows see it twice, distinct counts once, and egress bytes once
 * (only records not marked ingress count).
 */

/**
 * A rule: a pure function of the aggregates of some closed windows (of one horizon) or of the
 * whole run, and the thresholds (for the long horizon, `longHorizon(t)`: its window and
 * thresholds in place of the short ones). Names turn ids into addresses.
 */
export type Rule = (run: RunAggregates, t: DetectorThresholds) => Finding[];

const windowOf = (run: RunAggregates, w: number) => ({ start: run.windowStart(w), end: run.windowStart(w) + run.windowSeconds });
/** A long-horizon finding says so in its evidence (which also keeps its id apart from the short window starting at the same time). */
const horizonOf = (run: RunAggregates): Record<string, number> => (run.horizon.name === "long" ? { horizonSeconds: run.windowSeconds } : {});
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

export const portScan: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const pw = run.pairWindows;
  pw.each((r, i32) => {
    const count = i32[r + PW.PORTS]!;
    if (count < t.portScanPortsPerHost) return;
    const src = n.address(i32[r + PW.SRC]!);
    const dst = n.address(i32[r + PW.DST]!);
    out.push(finding({
      rule: "port-scan", severity: "MEDIUM", src, dst, interfaceId: n.interfaceId(i32[r + PW.IFACE]!), window: windowOf(run, i32[r + PW.WINDOW]!),
      evidence: { distinctPorts: count, ...horizonOf(run) },
      description: `${src} probed ${count} distinct ports on ${dst} within ${run.windowSeconds}s.`,
    }));
  });
  const st = run.sources;
  st.each((r, i32) => {
    const ports = i32[r + SRC.PORTS]!;
    const sensitive = i32[r + SRC.SENSITIVE]!;
    if (ports < t.portScanPortsAcrossHosts && sensitive < t.sensitivePortsProbed) return;
    const srcId = i32[r + SRC.SRC]!;
    const win = i32[r + SRC.WINDOW]!;
    const src = n.address(srcId);
    const common = { src, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, win) };
    if (ports >= t.portScanPortsAcrossHosts) {
      out.push(finding({
        rule: "port-scan", severity: "MEDIUM", ...common,
        evidence: { distinctPorts: ports, flows: i32[r + SRC.FLOWS]!, ...horizonOf(run) },
        description: `${src} probed ${ports} distinct ports across hosts within ${run.windowSeconds}s.`,
      }));
    }
    if (sensitive >= t.sensitivePortsProbed) {
      const probed = t.sensitivePorts.filter((p) => run.sweeps.has(srcId, p, win)).sort((a, b) => a - b);
      out.push(finding({
        rule: "sensitive-port-scan", severity: "MEDIUM", ...common,
        evidence: { sensitivePorts: sensitive, rejected: i32[r + SRC.REJECTED]!, ...horizonOf(run) },
        description: `${src} probed sensitive ports ${probed.join(", ")} within ${run.windowSeconds}s.`,
      }));
    }
  });
  return out;
};

export const portSweep: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const sw = run.sweeps;
  sw.each((r, i32) => {
    const hosts = i32[r + SWEEP.HOSTS]!;
    const flows = i32[r + SWEEP.FLOWS]!;
    const probes = i32[r + SWEEP.PROBES]!;
    // Health checks and load balancers reach many hosts too, with full connections: a sweep is mostly probes.
    if (hosts < t.portSweepHosts || probes * 2 < flows) return;
    const src = n.address(i32[r + SWEEP.SRC]!);
    const port = i32[r + SWEEP.PORT]!;
    out.push(finding({
      rule: "port-sweep", severity: "MEDIUM", src, port, interfaceId: n.interfaceId(i32[r + SWEEP.IFACE]!), window: windowOf(run, i32[r + SWEEP.WINDOW]!),
      evidence: { distinctHosts: hosts, probes, flows, ...horizonOf(run) },
      description: `${src} probed port ${port} on ${hosts} hosts within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

export const bruteForce: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const bf = run.bruteForce;
  bf.each((r, i32) => {
    const attempts = i32[r + BRUTE.ATTEMPTS]!;
    if (attempts < t.bruteForceAttempts) return;
    const src = n.address(i32[r + BRUTE.SRC]!);
    const dst = n.address(i32[r + BRUTE.DST]!);
    const key = i32[r + BRUTE.KEY]!;
    const port = key & 0xffff;
    const service = BRUTE_SERVICES[port];
    const inside = run.context.isInside(src);
    out.push(finding({
      rule: port === 22 ? "ssh-brute-force" : port === 3389 ? "rdp-brute-force" : "brute-force",
      // From inside the VPC it means a compromised host is already attacking its neighbours.
      severity: inside ? "HIGH" : "MEDIUM",
      src, dst, port, protocol: 6, interfaceId: n.interfaceId(i32[r + BRUTE.IFACE]!), window: windowOf(run, key >>> 16),
      evidence: { attempts, synOnly: i32[r + BRUTE.SYN_ONLY]!, sourceInside: inside ? 1 : 0, ...horizonOf(run) },
      description: `${attempts} short ${service ?? `port ${port}`} connections from ${src} to ${dst}${service ? ` port ${port}` : ""} within ${run.windowSeconds}s${inside ? " (source inside the VPC)" : ""}.`,
    }));
  });
  return out;
};

/** Names of the usual login ports, for descriptions. */
const BRUTE_SERVICES: Readonly<Record<number, string>> = Object.freeze({ 22: "SSH", 3389: "RDP", 5985: "WinRM (HTTP)", 5986: "WinRM (HTTPS)", 23: "Telnet", 21: "FTP" });

/**
 * Many sources, one internal target, many ports: each source stays under the port-scan
 * thresholds, together they cover the host. A busy server has many sources on one or two
 * ports; a distributed scan, many sources on many ports.
 */
export const distributedScan: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.destinations.each((r, i32) => {
    const sources = i32[r + DST.SOURCES]!;
    const ports = i32[r + DST.PORTS]!;
    if (sources < t.distributedScanSources || ports < t.distributedScanPorts) return;
    const dst = n.address(i32[r + DST.DST]!);
    out.push(finding({
      rule: "distributed-scan", severity: "MEDIUM", dst, interfaceId: n.interfaceId(i32[r + DST.IFACE]!), window: windowOf(run, i32[r + DST.WINDOW]!),
      evidence: { sources, distinctPorts: ports },
      description: `${sources} sources together probed ${ports} distinct ports on ${dst} within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

/** Flows or packets to one internal host past the thresholds, all sources together (a flood of spoofed sources included). */
export const inboundFlood: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.destinations.each((r, i32, f64) => {
    const flows = i32[r + DST.FLOWS]!;
    const packets = f64[(r + DST.PACKETS) >> 1]!;
    if (flows < t.inboundFloodFlows && packets < t.inboundFloodPackets) return;
    const dst = n.address(i32[r + DST.DST]!);
    out.push(finding({
      rule: "inbound-flood", severity: "HIGH", dst, interfaceId: n.interfaceId(i32[r + DST.IFACE]!), window: windowOf(run, i32[r + DST.WINDOW]!),
      evidence: { flows, packets, sources: i32[r + DST.SOURCES]! },
      description: `${dst} received ${flows} flows and ${packets} packets within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

/** Flows or packets from one internal host to external addresses past the thresholds (never a NAT gateway: its clients' records carry theirs). */
export const outboundFlood: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.sources.each((r, i32, f64) => {
    const flows = i32[r + SRC.OUT_FLOWS]!;
    const packets = f64[(r + SRC.OUT_PACKETS) >> 1]!;
    if (flows < t.outboundFloodFlows && packets < t.outboundFloodPackets) return;
    const src = n.address(i32[r + SRC.SRC]!);
    out.push(finding({
      rule: "outbound-flood", severity: "HIGH", src, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { flows, packets },
      description: `${src} opened ${flows} flows with ${packets} packets to external addresses within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

/** DNS (53, 853) from an internal host to resolvers that are not approved: a policy bypass, and a channel for tunnelling. */
export const dnsUnapproved: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.sources.each((r, i32) => {
    const flows = i32[r + SRC.DNS_FLOWS]!;
    if (flows === 0 || flows < t.dnsUnapprovedFlows) return;
    const src = n.address(i32[r + SRC.SRC]!);
    const resolvers = i32[r + SRC.DNS_SERVERS]!;
    const first = n.address(i32[r + SRC.DNS_DST]! - 1);
    out.push(finding({
      rule: "dns-unapproved-resolver", severity: "MEDIUM", src, dst: resolvers === 1 ? first : undefined, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { flows, resolvers },
      description: `${src} sent ${flows} DNS flows to ${resolvers === 1 ? `the unapproved resolver ${first}` : `${resolvers} unapproved resolvers (${first} first)`} within ${run.windowSeconds}s. Approve it in network.resolvers if it is yours.`,
    }));
  });
  return out;
};

/** Accepted flows from an internal host to an external mining-pool port (MINING_POOL_PORTS). */
export const cryptoMining: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.sources.each((r, i32) => {
    const flows = i32[r + SRC.MINING_FLOWS]!;
    if (flows === 0 || flows < t.miningFlows) return;
    const src = n.address(i32[r + SRC.SRC]!);
    const dst = n.address(i32[r + SRC.MINING_DST]! - 1);
    const port = i32[r + SRC.MINING_PORT]!;
    out.push(finding({
      rule: "crypto-mining", severity: "MEDIUM", src, dst, port, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { flows },
      description: `${src} made ${flows} accepted connections to mining-pool ports (first ${dst}:${port}) within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

/** Flows with an end on a configured threat list: HIGH; LOW when every flow was rejected (the contact was blocked). */
export const threatIntel: Rule = (run) => {
  const n = run.names;
  const out: Finding[] = [];
  run.intel.each((r, i32, f64) => {
    const src = n.address(i32[r + INTEL.SRC]!);
    const dst = n.address(i32[r + INTEL.DST]!);
    const flows = i32[r + INTEL.FLOWS]!;
    const accepted = i32[r + INTEL.ACCEPTED]!;
    const srcList = run.context.threatList(src);
    const dstList = run.context.threatList(dst);
    const listed = [srcList !== undefined ? `${src} (list ${srcList})` : "", dstList !== undefined ? `${dst} (list ${dstList})` : ""].filter((x) => x !== "");
    out.push(finding({
      rule: "threat-intel", severity: accepted > 0 ? "HIGH" : "LOW", src, dst, interfaceId: n.interfaceId(i32[r + INTEL.IFACE]!), window: windowOf(run, i32[r + INTEL.WINDOW]!),
      evidence: { flows, accepted, bytes: f64[(r + INTEL.BYTES) >> 1]! },
      description: `${flows} flows (${accepted} accepted) between ${src} and ${dst} within ${run.windowSeconds}s; on a threat list: ${listed.join(", ")}.`,
    }));
  });
  return out;
};

/** SKIPDATA records: AWS could not capture some flows (capacity or an internal error), so every rule saw less than happened. */
export const skippedRecords: Rule = (run) => {
  const skipped = run.skipdata;
  const span = run.span;
  if (skipped === 0) return [];
  return [finding({
    rule: "log-skipped", severity: "LOW",
    window: span ? { start: span.first, end: span.last + run.windowSeconds } : { start: 0, end: 0 },
    evidence: { skipdataRecords: skipped },
    description:
      `${skipped} SKIPDATA record${skipped === 1 ? "" : "s"}: AWS skipped flows it could not capture during those aggregation intervals, so these findings cover less than the traffic. ` +
      "Repeated, it means an interface past flow-log capacity: check the log-gap alarm.",
  })];
};

export const exfiltration: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const pw = run.pairWindows;
  pw.each((r, i32, f64) => {
    const egressBytes = f64[(r + PW.EGRESS) >> 1]!;
    if (egressBytes < t.exfiltrationBytes) return;
    const src = n.address(i32[r + PW.SRC]!);
    const dst = n.address(i32[r + PW.DST]!);
    out.push(finding({
      rule: "exfiltration", severity: egressBytes >= 10 * t.exfiltrationBytes ? "CRITICAL" : "HIGH",
      src, dst, interfaceId: n.interfaceId(i32[r + PW.IFACE]!), window: windowOf(run, i32[r + PW.WINDOW]!),
      evidence: { egressBytes },
      description: `${src} sent ${gib(egressBytes)} to external address ${dst} within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

export const c2FanOut: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  st.each((r, i32, f64) => {
    const dsts = i32[r + SRC.C2_DESTINATIONS]!;
    const flows = i32[r + SRC.C2_FLOWS]!;
    if (dsts < t.c2Destinations || flows === 0) return;
    const avg = f64[(r + SRC.C2_BYTES) >> 1]! / flows;
    if (avg > t.c2MaxAverageBytes) return;
    const src = n.address(i32[r + SRC.SRC]!);
    out.push(finding({
      rule: "c2-fan-out", severity: "HIGH", src, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { externalDestinations: dsts, flows, averageBytes: Math.round(avg) },
      description: `${src} reached ${dsts} external web destinations with small flows (${Math.round(avg)} bytes on average) within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

export const lateralMovement: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  st.each((r, i32) => {
    const hosts = i32[r + SRC.LATERAL_HOSTS]!;
    if (hosts < t.lateralHosts) return;
    const mask = i32[r + SRC.LATERAL_PORTS]!;
    const ports = ADMIN_PORTS.filter((_, i) => (mask & (1 << i)) !== 0).sort((a, b) => a - b);
    const src = n.address(i32[r + SRC.SRC]!);
    out.push(finding({
      rule: "lateral-movement", severity: "HIGH", src, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { internalHosts: hosts, adminPorts: ports.length },
      description: `${src} connected to ${hosts} internal hosts on admin ports ${ports.join(", ")} within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

export const rejectedSpike: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  st.each((r, i32) => {
    const rejected = i32[r + SRC.REJECTED]!;
    if (rejected < t.rejectedFlows) return;
    const src = n.address(i32[r + SRC.SRC]!);
    out.push(finding({
      rule: "rejected-spike", severity: "LOW", src, interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: windowOf(run, i32[r + SRC.WINDOW]!),
      evidence: { rejected, flows: i32[r + SRC.FLOWS]! },
      description: `${rejected} rejected flows from ${src} within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

export const unusualProtocol: Rule = (run) => {
  const n = run.names;
  const out: Finding[] = [];
  const pr = run.protocols;
  pr.each((r, i32, f64) => {
    const src = n.address(i32[r + PROTO.SRC]!);
    const dst = n.address(i32[r + PROTO.DST]!);
    const key = i32[r + PROTO.KEY]!;
    const protocol = key & 255;
    const flows = i32[r + PROTO.FLOWS]!;
    out.push(finding({
      rule: "unusual-protocol", severity: "LOW", src, dst, protocol, interfaceId: n.interfaceId(i32[r + PROTO.IFACE]!), window: windowOf(run, key >> 8),
      evidence: { flows, bytes: f64[(r + PROTO.BYTES) >> 1]! },
      description: `${flows} flows of IP protocol ${protocol} from ${src} to ${dst} within ${run.windowSeconds}s.`,
    }));
  });
  return out;
};

/**
 * Regular small flows to one external destination: low jitter between their start times. A
 * series is judged whole once idle for a long window (so a beacon crossing window boundaries,
 * or every 4 minutes over 40, is one series), on its first BEACON.POINTS starts.
 */
export const beaconing: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const b of run.beacons) {
    if (b.flows < t.beaconMinFlows || b.starts.length < 3) continue;
    const starts = [...b.starts].sort((x, y) => x - y);
    const gaps: number[] = [];
    for (let i = 1; i < starts.length; i++) gaps.push(starts[i]! - starts[i - 1]!);
    const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    if (mean <= 0) continue;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    const jitter = sd / mean;
    if (jitter > t.beaconMaxJitter) continue;
    const src = n.address(b.src);
    const dst = n.address(b.dst);
    const port = b.port;
    out.push(finding({
      rule: "c2-beaconing", severity: "HIGH", src, dst, port, interfaceId: n.interfaceId(b.iface),
      window: { start: starts[0]!, end: starts[starts.length - 1]! + 1 },
      evidence: { flows: b.flows, intervalSeconds: Math.round(mean), jitterPercent: Math.round(jitter * 1000) / 10 },
      description: `${src} contacted ${dst}:${port} ${b.flows} times every ~${Math.round(mean)}s (jitter ${(jitter * 100).toFixed(1)}%${b.flows > starts.length ? ` over the first ${starts.length}` : ""}).`,
    }));
  }
  return out;
};

/** Features per host (hostFeatures). */
export const HOST_FEATURES = 8;

/**
 * Features of one internal host over the run, on log scales: flows and bytes as source and as
 * destination, distinct peers, distinct ports it probed, distinct ports of its own probed by
 * others, and the share of its flows rejected. Each is rounded to 1/64. Written to out[o, o + 8).
 */
export function hostFeatures(i32: Int32Array, f64: Float64Array, h: number, out: Float64Array, o: number): void {
  const outFlows = i32[h + HOST.OUT_FLOWS]!;
  const inFlows = i32[h + HOST.IN_FLOWS]!;
  out[o] = quantized(outFlows);
  out[o + 1] = quantized(inFlows);
  out[o + 2] = quantized(f64[(h + HOST.OUT_BYTES) >> 1]!);
  out[o + 3] = quantized(f64[(h + HOST.IN_BYTES) >> 1]!);
  out[o + 4] = quantized(sketchCount(i32, h + HOST.PEERS));
  out[o + 5] = quantized(sketchCount(i32, h + HOST.OUT_PORTS));
  out[o + 6] = quantized(sketchCount(i32, h + HOST.IN_PORTS));
  out[o + 7] = Math.round((i32[h + HOST.REJECTED]! / Math.max(outFlows + inFlows, 1)) * 8 * 64) / 64;
}

/** A feature on a log scale, rounded to 1/64. */
const quantized = (v: number) => Math.round(Math.log1p(v) * 64) / 64;

/**
 * Isolation Forest over the internal hosts' behaviour over the run (hostFeatures): state is a
 * row per internal host, whatever the number of flows. Hosts are sampled in the order of their
 * addresses, so scores depend on the traffic alone, not on the order it was read in.
 */
export const anomalies: Rule = (run, t) => {
  const hosts = run.hosts;
  const count = hosts.size;
  if (count < t.anomalyMinGroups) return [];
  const n = run.names;
  const rows: { name: string; base: number }[] = [];
  const features = new Float64Array(count * HOST_FEATURES);
  let i32: Int32Array | undefined;
  let f64: Float64Array | undefined;
  hosts.each((base, a, b) => {
    hostFeatures(a, b, base, features, rows.length * HOST_FEATURES);
    rows.push({ name: n.address(a[base + HOST.HOST]!), base });
    i32 = a;
    f64 = b;
  });
  const order = Int32Array.from(rows.keys()).sort((a, b) => compareAddresses(rows[a]!.name, rows[b]!.name));
  const forest = new IsolationForest({ trees: 100, sampleSize: 256, seed: 42 }).fitMatrix(features, HOST_FEATURES, order);
  const scores = forest.scoreMatrix(features, HOST_FEATURES, t.anomalyScore);
  const span = run.span;
  const window = span ? { start: span.first, end: span.last + run.windowSeconds } : { start: 0, end: 0 };
  const found = [...rows.keys()].filter((k) => scores[k]! >= t.anomalyScore);
  found.sort((a, b) => scores[b]! - scores[a]! || compareAddresses(rows[a]!.name, rows[b]!.name));
  return found.slice(0, t.anomalyMaxFindings).map((k) => {
    const { name, base } = rows[k]!;
    const score = scores[k]!;
    const h = i32!;
    const evidence = {
      scorePercent: Math.round(score * 1000) / 10,
      flowsOut: h[base + HOST.OUT_FLOWS]!,
      flowsIn: h[base + HOST.IN_FLOWS]!,
      bytesOut: f64![(base + HOST.OUT_BYTES) >> 1]!,
      bytesIn: f64![(base + HOST.IN_BYTES) >> 1]!,
      peers: sketchCount(h, base + HOST.PEERS),
      portsProbed: sketchCount(h, base + HOST.OUT_PORTS),
      portsProbedOn: sketchCount(h, base + HOST.IN_PORTS),
      rejected: h[base + HOST.REJECTED]!,
    };
    return finding({
      rule: "anomaly", severity: score >= 0.8 ? "MEDIUM" : "LOW", src: name, interfaceId: n.interfaceId(h[base + HOST.IFACE]!), window, evidence,
      description:
        `${name} behaves unlike the other ${count - 1} internal hosts (isolation score ${score.toFixed(3)}): ${evidence.flowsOut} flows out (${gib(evidence.bytesOut)}), ` +
        `${evidence.flowsIn} in (${gib(evidence.bytesIn)}), ~${evidence.peers} peers, ~${evidence.portsProbed} ports probed, ~${evidence.portsProbedOn} of its ports probed, ${evidence.rejected} rejected.`,
    });
  });
};

/** Addresses in a fixed order (by their text): what the forest's sample follows. */
const compareAddresses = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Packets a transit-gateway attachment dropped in a window (packets-lost-*): no route or a
 * blackhole route for the destination (a route that went missing, or traffic to addresses
 * nothing should reach, as a scan of unrouted space sends), packets larger than the
 * attachment's MTU, or TTLs run out (a routing loop).
 */
export const tgwPacketLoss: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  run.packetLoss.each((r, i32, f64) => {
    const noRoute = f64[(r + LOSS.NO_ROUTE) >> 1]!;
    const blackhole = f64[(r + LOSS.BLACKHOLE) >> 1]!;
    const mtuExceeded = f64[(r + LOSS.MTU_EXCEEDED) >> 1]!;
    const ttlExpired = f64[(r + LOSS.TTL_EXPIRED) >> 1]!;
    const lost = noRoute + blackhole + mtuExceeded + ttlExpired;
    if (lost < t.tgwPacketsLost) return;
    const attachment = n.interfaceId(i32[r + LOSS.ATTACHMENT]! - 1);
    const flows = i32[r + LOSS.FLOWS]!;
    const reasons = ([["no route", noRoute], ["blackhole route", blackhole], ["MTU exceeded", mtuExceeded], ["TTL expired", ttlExpired]] as const)
      .filter(([, count]) => count > 0)
      .map(([why, count]) => `${why} ${count}`);
    out.push(finding({
      rule: "tgw-packet-loss", severity: lost >= 10 * t.tgwPacketsLost ? "MEDIUM" : "LOW", interfaceId: attachment, window: windowOf(run, i32[r + LOSS.WINDOW]!),
      evidence: { packetsLost: lost, noRoute, blackhole, mtuExceeded, ttlExpired, flows },
      description: `The transit gateway dropped ${lost} packets of ${flows} flow${flows === 1 ? "" : "s"} on ${attachment === undefined ? "an attachment the records do not name" : `attachment ${attachment}`} within ${run.windowSeconds}s (${reasons.join(", ")}).`,
    }));
  });
  return out;
};

/** The run stopped analysing when its row budget ran out: say so, with how much was left unread. */
export const saturation: Rule = (run, t) => {
  const s = run.saturation;
  if (!s) return [];
  return [finding({
    rule: "detector-saturated", severity: "MEDIUM",
    window: { start: s.firstWindowStart, end: s.lastWindowStart + run.windowSeconds },
    evidence: { rows: s.rows, rowBudget: t.rowBudget, recordsNotAnalysed: s.notAnalysed },
    description:
      `Detection stopped at ${s.rows} aggregate rows (rowBudget ${t.rowBudget}): ${s.notAnalysed} records were read but not analysed, ` +
      "and the other findings cover the records analysed before that. A flood of distinct flows (spoofed sources, a scan of everything) fills the budget. " +
      "Raise rowBudget if the detector has memory to spare (about 120 bytes a row), or run flowlog-kit detect on the files in parts.",
  })];
};

/** The rules of the short horizon, run on each check's closed short windows. */
export const SHORT_RULES: readonly Rule[] = [
  portScan, portSweep, bruteForce, exfiltration, c2FanOut, lateralMovement, rejectedSpike, unusualProtocol,
  distributedScan, inboundFlood, outboundFlood, dnsUnapproved, cryptoMining, threatIntel,
];

/** The rules of the long horizon (with `longHorizon(t)`), run on each check's closed long windows, and beaconing on the beacon series released. */
export const LONG_RULES: readonly Rule[] = [portScan, portSweep, bruteForce, beaconing];

/** The rules of the whole run, once at the end. */
export const RUN_RULES: readonly Rule[] = [anomalies, tgwPacketLoss, saturation, skippedRecords];

/** Every rule. */
export const RULE_SET: readonly Rule[] = [...SHORT_RULES, beaconing, ...RUN_RULES];
