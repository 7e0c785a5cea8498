import type { GroupTable, RunAggregates } from "./aggregates";
import type { CappedSet } from "./capped-set";
import { finding, Finding } from "./findings";
import { IsolationForest } from "./isolation-forest";
import { isPrivate } from "./net";
import type { DetectorThresholds } from "./thresholds";

/** A rule: a pure function of one window's aggregates and the thresholds (names turn ids into addresses). */
export type Rule = (run: RunAggregates, t: DetectorThresholds) => Finding[];

const windowOf = (run: RunAggregates, w: number) => ({ start: run.windowStart(w), end: run.windowStart(w) + run.windowSeconds });
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
const sorted = (set: CappedSet | undefined) => (set ? set.values().sort((a, b) => a - b).join(", ") : "");

export const portScan: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const pw = run.pairWindows;
  for (let row = 0; row < pw.index.size; row++) {
    const count = pw.portCount(row);
    if (count < t.portScanPortsPerHost) continue;
    const pair = pw.pair.data[row]!;
    const src = n.address(run.pairs.src.data[pair]!);
    const dst = n.address(run.pairs.dst.data[pair]!);
    out.push(finding({
      rule: "port-scan", severity: "MEDIUM", src, dst, interfaceId: n.interfaceId(run.pairs.iface.data[pair]!), window: windowOf(run, pw.window.data[row]!),
      evidence: { distinctPorts: count },
      description: `${src} probed at least ${count} distinct ports on ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  const st = run.sources;
  for (let row = 0; row < st.index.size; row++) {
    const ports = st.ports[row];
    const sensitive = st.sensitive[row];
    if ((ports?.size ?? 0) < t.portScanPortsAcrossHosts && (sensitive?.size ?? 0) < t.sensitivePortsProbed) continue;
    const src = n.address(st.src.data[row]!);
    const common = { src, interfaceId: n.interfaceId(st.iface.data[row]!), window: windowOf(run, st.window.data[row]!) };
    if (ports && ports.size >= t.portScanPortsAcrossHosts) {
      out.push(finding({
        rule: "port-scan", severity: "MEDIUM", ...common,
        evidence: { distinctPorts: ports.size, flows: st.flows.data[row]! },
        description: `${src} probed at least ${ports.size} distinct ports across hosts within ${t.windowSeconds}s.`,
      }));
    }
    if (sensitive && sensitive.size >= t.sensitivePortsProbed) {
      out.push(finding({
        rule: "sensitive-port-scan", severity: "MEDIUM", ...common,
        evidence: { sensitivePorts: sensitive.size, rejected: st.rejected.data[row]! },
        description: `${src} probed sensitive ports ${sorted(sensitive)} within ${t.windowSeconds}s.`,
      }));
    }
  }
  return out;
};

export const portSweep: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const sw = run.sweeps;
  for (let row = 0; row < sw.index.size; row++) {
    const hosts = sw.hostCount(row);
    const flows = sw.flows.data[row]!;
    const probes = sw.probes.data[row]!;
    // Health checks and load balancers reach many hosts too, with full connections: a sweep is mostly probes.
    if (hosts < t.portSweepHosts || probes * 2 < flows) continue;
    const src = n.address(sw.src.data[row]!);
    const port = sw.port.data[row]!;
    out.push(finding({
      rule: "port-sweep", severity: "MEDIUM", src, port, interfaceId: n.interfaceId(sw.iface.data[row]!), window: windowOf(run, sw.window.data[row]!),
      evidence: { distinctHosts: hosts, probes, flows },
      description: `${src} probed port ${port} on at least ${hosts} hosts within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const bruteForce: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const bf of run.bruteForce.values()) {
    if (bf.attempts < t.bruteForceAttempts) continue;
    const src = n.address(run.pairs.src.data[bf.pair]!);
    const dst = n.address(run.pairs.dst.data[bf.pair]!);
    const inside = isPrivate(src);
    const ssh = bf.port === 22;
    out.push(finding({
      rule: ssh ? "ssh-brute-force" : "rdp-brute-force",
      // From inside the VPC it means a compromised host is already attacking its neighbours.
      severity: inside ? "HIGH" : "MEDIUM",
      src, dst, port: bf.port, protocol: 6, interfaceId: n.interfaceId(run.pairs.iface.data[bf.pair]!), window: windowOf(run, bf.window),
      evidence: { attempts: bf.attempts, synOnly: bf.synOnly, sourceInside: inside ? 1 : 0 },
      description: `${bf.attempts} short ${ssh ? "SSH" : "RDP"} connections from ${src} to ${dst} within ${t.windowSeconds}s${inside ? " (source inside the VPC)" : ""}.`,
    }));
  }
  return out;
};

export const exfiltration: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const pw = run.pairWindows;
  for (let row = 0; row < pw.index.size; row++) {
    const egressBytes = pw.egress.data[row]!;
    if (egressBytes < t.exfiltrationBytes) continue;
    const pair = pw.pair.data[row]!;
    const src = n.address(run.pairs.src.data[pair]!);
    const dst = n.address(run.pairs.dst.data[pair]!);
    out.push(finding({
      rule: "exfiltration", severity: egressBytes >= 10 * t.exfiltrationBytes ? "CRITICAL" : "HIGH",
      src, dst, interfaceId: n.interfaceId(run.pairs.iface.data[pair]!), window: windowOf(run, pw.window.data[row]!),
      evidence: { egressBytes },
      description: `${src} sent ${gib(egressBytes)} to external address ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const c2FanOut: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  for (let row = 0; row < st.index.size; row++) {
    const dsts = st.c2Destinations[row];
    const flows = st.c2Flows.data[row]!;
    if (!dsts || dsts.size < t.c2Destinations || flows === 0) continue;
    const avg = st.c2Bytes.data[row]! / flows;
    if (avg > t.c2MaxAverageBytes) continue;
    const src = n.address(st.src.data[row]!);
    out.push(finding({
      rule: "c2-fan-out", severity: "HIGH", src, interfaceId: n.interfaceId(st.iface.data[row]!), window: windowOf(run, st.window.data[row]!),
      evidence: { externalDestinations: dsts.size, flows, averageBytes: Math.round(avg) },
      description: `${src} reached at least ${dsts.size} external web destinations with small flows (${Math.round(avg)} bytes on average) within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const lateralMovement: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  for (let row = 0; row < st.index.size; row++) {
    const hosts = st.lateralHosts[row];
    if (!hosts || hosts.size < t.lateralHosts) continue;
    const src = n.address(st.src.data[row]!);
    out.push(finding({
      rule: "lateral-movement", severity: "HIGH", src, interfaceId: n.interfaceId(st.iface.data[row]!), window: windowOf(run, st.window.data[row]!),
      evidence: { internalHosts: hosts.size, adminPorts: st.lateralPorts[row]?.size ?? 0 },
      description: `${src} connected to at least ${hosts.size} internal hosts on admin ports ${sorted(st.lateralPorts[row])} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const rejectedSpike: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const st = run.sources;
  for (let row = 0; row < st.index.size; row++) {
    const rejected = st.rejected.data[row]!;
    if (rejected < t.rejectedFlows) continue;
    const src = n.address(st.src.data[row]!);
    out.push(finding({
      rule: "rejected-spike", severity: "LOW", src, interfaceId: n.interfaceId(st.iface.data[row]!), window: windowOf(run, st.window.data[row]!),
      evidence: { rejected, flows: st.flows.data[row]! },
      description: `${rejected} rejected flows from ${src} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const unusualProtocol: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const pr of run.protocols.values()) {
    const src = n.address(run.pairs.src.data[pr.pair]!);
    const dst = n.address(run.pairs.dst.data[pr.pair]!);
    out.push(finding({
      rule: "unusual-protocol", severity: "LOW", src, dst, protocol: pr.protocol, interfaceId: n.interfaceId(run.pairs.iface.data[pr.pair]!), window: windowOf(run, pr.window),
      evidence: { flows: pr.flows, bytes: pr.bytes },
      description: `${pr.flows} flows of IP protocol ${pr.protocol} from ${src} to ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

/** Regular small flows to one external destination: low jitter between their start times. */
export const beaconing: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const b of run.beacons.values()) {
    if (b.starts.length < t.beaconMinFlows) continue;
    const starts = [...b.starts].sort((x, y) => x - y);
    const gaps: number[] = [];
    for (let i = 1; i < starts.length; i++) gaps.push(starts[i]! - starts[i - 1]!);
    const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    if (mean <= 0) continue;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    const jitter = sd / mean;
    if (jitter > t.beaconMaxJitter) continue;
    const src = n.address(run.pairs.src.data[b.pair]!);
    const dst = n.address(run.pairs.dst.data[b.pair]!);
    const port = b.port;
    out.push(finding({
      rule: "c2-beaconing", severity: "HIGH", src, dst, port, interfaceId: n.interfaceId(run.pairs.iface.data[b.pair]!),
      window: { start: starts[0]!, end: starts[starts.length - 1]! + 1 },
      evidence: { flows: starts.length, intervalSeconds: Math.round(mean), jitterPercent: Math.round(jitter * 1000) / 10 },
      description: `${src} contacted ${dst}:${port} ${starts.length} times every ~${Math.round(mean)}s (jitter ${(jitter * 100).toFixed(1)}%).`,
    }));
  }
  return out;
};

/**
 * Features of one (source, destination, port) group, on log scales: bytes per flow, packets per
 * flow, flows, and distinct source ports. Per-flow ratios rather than totals keep the features
 * from all measuring the same thing (volume), so each random split separates something new.
 * Each is rounded to 1/64 (under 2% apart on the original scale), which lets groups with the
 * same rounded vector share one score.
 */
export function groupFeatures(groups: GroupTable, g: number): number[] {
  const flows = Math.max(groups.flows.data[g]!, 1);
  const q = (v: number) => Math.round(Math.log1p(v) * 64) / 64;
  return [q(groups.bytes.data[g]! / flows), q(groups.packets.data[g]! / flows), q(groups.flows.data[g]!), q(groups.srcPortCount(g))];
}

/** A number that identifies a rounded feature vector (each feature below 2^11 / 64 = 32). */
const vectorKey = (row: readonly number[]) => ((row[0]! * 64 * 2048 + row[1]! * 64) * 2048 + row[2]! * 64) * 2048 + row[3]! * 64;

/**
 * Isolation Forest over every (source, destination, port) group; the highest-scoring group of
 * each source above the threshold is reported. Identical feature vectors get identical scores,
 * so each distinct vector is scored once.
 */
export const anomalies: Rule = (run, t) => {
  const gt = run.groups;
  const count = gt.index.size;
  if (count < t.anomalyMinGroups) return [];
  const rows: number[][] = new Array(count);
  for (let g = 0; g < count; g++) rows[g] = groupFeatures(gt, g);
  const forest = new IsolationForest({ trees: 100, sampleSize: 256, seed: 42 }).fit(rows);
  // Groups with the same rounded features share a score: score each distinct vector once.
  const vectorIndex = new Map<number, number>();
  const distinct: number[][] = [];
  const vectorOf = new Int32Array(count);
  for (let g = 0; g < count; g++) {
    const key = vectorKey(rows[g]!);
    let v = vectorIndex.get(key);
    if (v === undefined) {
      v = distinct.length;
      distinct.push(rows[g]!);
      vectorIndex.set(key, v);
    }
    vectorOf[g] = v;
  }
  const scores = forest.scoreAll(distinct);
  // One finding per source: a probe of 200 ports or 60 hosts is one story, not 200.
  const best = new Map<number, { g: number; score: number; groups: number }>();
  for (let g = 0; g < count; g++) {
    const score = scores[vectorOf[g]!]!;
    if (score < t.anomalyScore) continue;
    const src = run.pairs.src.data[gt.pair.data[g]!]!;
    const prev = best.get(src);
    if (!prev) best.set(src, { g, score, groups: 1 });
    else {
      prev.groups++;
      if (score > prev.score) {
        prev.g = g;
        prev.score = score;
      }
    }
  }
  const n = run.names;
  const named = [...best.values()].map((b) => {
    const pair = gt.pair.data[b.g]!;
    return { ...b, pair, port: gt.port.data[b.g]!, src: n.address(run.pairs.src.data[pair]!), dst: n.address(run.pairs.dst.data[pair]!) };
  });
  named.sort((a, b) => b.score - a.score || a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst) || a.port - b.port);
  return named.slice(0, t.anomalyMaxFindings).map(({ g, pair, port, score, groups: anomalous, src, dst }) => {
    const first = gt.firstStart.data[g]!;
    const windowStart = first - (first % t.windowSeconds);
    return finding({
      rule: "anomaly", severity: score >= 0.8 ? "MEDIUM" : "LOW", src, dst, port, interfaceId: n.interfaceId(run.pairs.iface.data[pair]!),
      window: { start: windowStart, end: windowStart + t.windowSeconds },
      evidence: { scorePercent: Math.round(score * 1000) / 10, anomalousGroups: anomalous, bytes: gt.bytes.data[g]!, packets: gt.packets.data[g]!, flows: gt.flows.data[g]! },
      description: `${src} -> ${dst}:${port} stands out from ${count} (source, destination, port) groups (isolation score ${score.toFixed(3)}${anomalous > 1 ? `; ${anomalous} groups of this source stand out` : ""}).`,
    });
  });
};

/** Every rule, in the order findings are reported before sorting. */
export const RULE_SET: readonly Rule[] = [portScan, portSweep, bruteForce, exfiltration, c2FanOut, lateralMovement, rejectedSpike, unusualProtocol, beaconing, anomalies];
