import type { RunAggregates, WindowAggregates } from "./aggregates";
import type { CappedSet } from "./capped-set";
import { finding, Finding } from "./findings";
import { IsolationForest } from "./isolation-forest";
import { isPrivate } from "./net";
import type { DetectorThresholds } from "./thresholds";

/** A rule: a pure function of one window's aggregates and the thresholds (names turn ids into addresses). */
export type WindowRule = (w: WindowAggregates, t: DetectorThresholds, run: RunAggregates) => Finding[];

const windowOf = (w: WindowAggregates) => ({ start: w.start, end: w.end });
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
const sorted = (set: CappedSet | undefined) => (set ? set.values().sort((a, b) => a - b).join(", ") : "");

export const portScan: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const [pair, ports] of w.pairPorts) {
    if (typeof ports === "number" || ports.size < t.portScanPortsPerHost) continue;
    const src = n.address(run.pairSrc(pair));
    const dst = n.address(run.pairDst(pair));
    out.push(finding({
      rule: "port-scan", severity: "MEDIUM", src, dst, interfaceId: n.interfaceId(run.pairInterface(pair)), window: windowOf(w),
      evidence: { distinctPorts: ports.size },
      description: `${src} probed at least ${ports.size} distinct ports on ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  for (const s of w.sources.values()) {
    const src = n.address(s.src);
    if (s.ports && s.ports.size >= t.portScanPortsAcrossHosts) {
      out.push(finding({
        rule: "port-scan", severity: "MEDIUM", src, interfaceId: n.interfaceId(s.interfaceId), window: windowOf(w),
        evidence: { distinctPorts: s.ports.size, flows: s.flows },
        description: `${src} probed at least ${s.ports.size} distinct ports across hosts within ${t.windowSeconds}s.`,
      }));
    }
    if (s.sensitive && s.sensitive.size >= t.sensitivePortsProbed) {
      out.push(finding({
        rule: "sensitive-port-scan", severity: "MEDIUM", src, interfaceId: n.interfaceId(s.interfaceId), window: windowOf(w),
        evidence: { sensitivePorts: s.sensitive.size, rejected: s.rejected },
        description: `${src} probed sensitive ports ${sorted(s.sensitive)} within ${t.windowSeconds}s.`,
      }));
    }
  }
  return out;
};

export const portSweep: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const bySrc of w.sweeps.values()) {
    for (const sw of bySrc.values()) {
      // Health checks and load balancers reach many hosts too, with full connections: a sweep is mostly probes.
      if (sw.hosts.size < t.portSweepHosts || sw.probes * 2 < sw.flows) continue;
      const src = n.address(sw.src);
      out.push(finding({
        rule: "port-sweep", severity: "MEDIUM", src, port: sw.port, interfaceId: n.interfaceId(sw.interfaceId), window: windowOf(w),
        evidence: { distinctHosts: sw.hosts.size, probes: sw.probes, flows: sw.flows },
        description: `${src} probed port ${sw.port} on at least ${sw.hosts.size} hosts within ${t.windowSeconds}s.`,
      }));
    }
  }
  return out;
};

export const bruteForce: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const bf of w.bruteForce.values()) {
    if (bf.attempts < t.bruteForceAttempts) continue;
    const src = n.address(run.pairSrc(bf.pair));
    const dst = n.address(run.pairDst(bf.pair));
    const inside = isPrivate(src);
    const ssh = bf.port === 22;
    out.push(finding({
      rule: ssh ? "ssh-brute-force" : "rdp-brute-force",
      // From inside the VPC it means a compromised host is already attacking its neighbours.
      severity: inside ? "HIGH" : "MEDIUM",
      src, dst, port: bf.port, protocol: 6, interfaceId: n.interfaceId(run.pairInterface(bf.pair)), window: windowOf(w),
      evidence: { attempts: bf.attempts, synOnly: bf.synOnly, sourceInside: inside ? 1 : 0 },
      description: `${bf.attempts} short ${ssh ? "SSH" : "RDP"} connections from ${src} to ${dst} within ${t.windowSeconds}s${inside ? " (source inside the VPC)" : ""}.`,
    }));
  }
  return out;
};

export const exfiltration: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const [pair, egressBytes] of w.egress) {
    if (egressBytes < t.exfiltrationBytes) continue;
    const src = n.address(run.pairSrc(pair));
    const dst = n.address(run.pairDst(pair));
    out.push(finding({
      rule: "exfiltration", severity: egressBytes >= 10 * t.exfiltrationBytes ? "CRITICAL" : "HIGH",
      src, dst, interfaceId: n.interfaceId(run.pairInterface(pair)), window: windowOf(w),
      evidence: { egressBytes },
      description: `${src} sent ${gib(egressBytes)} to external address ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const c2FanOut: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const s of w.sources.values()) {
    if (!s.c2Destinations || s.c2Destinations.size < t.c2Destinations || s.c2Flows === 0) continue;
    const avg = s.c2Bytes / s.c2Flows;
    if (avg > t.c2MaxAverageBytes) continue;
    const src = n.address(s.src);
    out.push(finding({
      rule: "c2-fan-out", severity: "HIGH", src, interfaceId: n.interfaceId(s.interfaceId), window: windowOf(w),
      evidence: { externalDestinations: s.c2Destinations.size, flows: s.c2Flows, averageBytes: Math.round(avg) },
      description: `${src} reached at least ${s.c2Destinations.size} external web destinations with small flows (${Math.round(avg)} bytes on average) within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const lateralMovement: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const s of w.sources.values()) {
    if (!s.lateralHosts || s.lateralHosts.size < t.lateralHosts) continue;
    const src = n.address(s.src);
    out.push(finding({
      rule: "lateral-movement", severity: "HIGH", src, interfaceId: n.interfaceId(s.interfaceId), window: windowOf(w),
      evidence: { internalHosts: s.lateralHosts.size, adminPorts: s.lateralPorts?.size ?? 0 },
      description: `${src} connected to at least ${s.lateralHosts.size} internal hosts on admin ports ${sorted(s.lateralPorts)} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const rejectedSpike: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const s of w.sources.values()) {
    if (s.rejected < t.rejectedFlows) continue;
    const src = n.address(s.src);
    out.push(finding({
      rule: "rejected-spike", severity: "LOW", src, interfaceId: n.interfaceId(s.interfaceId), window: windowOf(w),
      evidence: { rejected: s.rejected, flows: s.flows },
      description: `${s.rejected} rejected flows from ${src} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const unusualProtocol: WindowRule = (w, t, run) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const byPair of w.protocols.values()) {
    for (const pr of byPair.values()) {
      const src = n.address(run.pairSrc(pr.pair));
      const dst = n.address(run.pairDst(pr.pair));
      out.push(finding({
        rule: "unusual-protocol", severity: "LOW", src, dst, protocol: pr.protocol, interfaceId: n.interfaceId(run.pairInterface(pr.pair)), window: windowOf(w),
        evidence: { flows: pr.flows, bytes: pr.bytes },
        description: `${pr.flows} flows of IP protocol ${pr.protocol} from ${src} to ${dst} within ${t.windowSeconds}s.`,
      }));
    }
  }
  return out;
};

export const WINDOW_RULES: readonly WindowRule[] = [portScan, portSweep, bruteForce, exfiltration, c2FanOut, lateralMovement, rejectedSpike, unusualProtocol];

/** Regular small flows to one external destination: low jitter between their start times. */
export function beaconing(run: RunAggregates, t: DetectorThresholds): Finding[] {
  const n = run.names;
  const out: Finding[] = [];
  for (const byPort of run.beacons.values()) for (const b of byPort.values()) {
    if (b.starts.length < t.beaconMinFlows) continue;
    const starts = [...b.starts].sort((x, y) => x - y);
    const gaps: number[] = [];
    for (let i = 1; i < starts.length; i++) gaps.push(starts[i]! - starts[i - 1]!);
    const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    if (mean <= 0) continue;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    const jitter = sd / mean;
    if (jitter > t.beaconMaxJitter) continue;
    const src = n.address(run.pairSrc(b.pair));
    const dst = n.address(run.pairDst(b.pair));
    const port = b.port;
    out.push(finding({
      rule: "c2-beaconing", severity: "HIGH", src, dst, port, interfaceId: n.interfaceId(run.pairInterface(b.pair)),
      window: { start: starts[0]!, end: starts[starts.length - 1]! + 1 },
      evidence: { flows: starts.length, intervalSeconds: Math.round(mean), jitterPercent: Math.round(jitter * 1000) / 10 },
      description: `${src} contacted ${dst}:${port} ${starts.length} times every ~${Math.round(mean)}s (jitter ${(jitter * 100).toFixed(1)}%).`,
    }));
  }
  return out;
}

/**
 * Features of one (source, destination, port) group, on log scales: bytes per flow, packets per
 * flow, flows, and distinct source ports. Per-flow ratios rather than totals keep the features
 * from all measuring the same thing (volume), so each random split separates something new.
 * Each is rounded to 1/64 (under 2% apart on the original scale), which lets groups with the
 * same rounded vector share one score.
 */
export function groupFeatures(run: RunAggregates, g: number): number[] {
  const flows = Math.max(run.groupFlows(g), 1);
  const q = (v: number) => Math.round(Math.log1p(v) * 64) / 64;
  return [q(run.groupBytes(g) / flows), q(run.groupPackets(g) / flows), q(run.groupFlows(g)), q(run.groupSrcPorts(g))];
}

/** A number that identifies a rounded feature vector (each feature below 2^11 / 64 = 32). */
const vectorKey = (row: readonly number[]) => ((row[0]! * 64 * 2048 + row[1]! * 64) * 2048 + row[2]! * 64) * 2048 + row[3]! * 64;

/**
 * Isolation Forest over every (source, destination, port) group; the highest-scoring group of
 * each source above the threshold is reported. Identical feature vectors get identical scores,
 * so each distinct vector is scored once.
 */
export function anomalies(run: RunAggregates, t: DetectorThresholds, seed = 42): Finding[] {
  const count = run.groupCount;
  if (count < t.anomalyMinGroups) return [];
  const rows: number[][] = new Array(count);
  for (let g = 0; g < count; g++) rows[g] = groupFeatures(run, g);
  const forest = new IsolationForest({ trees: 100, sampleSize: 256, seed }).fit(rows);
  const cache = new Map<number, number>();
  // One finding per source: a probe of 200 ports or 60 hosts is one story, not 200.
  const best = new Map<number, { g: number; score: number; groups: number }>();
  for (let g = 0; g < count; g++) {
    const row = rows[g]!;
    const key = vectorKey(row);
    let score = cache.get(key);
    if (score === undefined) {
      score = forest.score(row);
      cache.set(key, score);
    }
    if (score < t.anomalyScore) continue;
    const src = run.pairSrc(run.groupPair(g));
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
    const pair = run.groupPair(b.g);
    return { ...b, pair, port: run.groupPort(b.g), src: n.address(run.pairSrc(pair)), dst: n.address(run.pairDst(pair)) };
  });
  named.sort((a, b) => b.score - a.score || a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst) || a.port - b.port);
  return named.slice(0, t.anomalyMaxFindings).map(({ g, pair, port, score, groups: anomalous, src, dst }) => {
    const windowStart = Math.floor(run.groupFirstStart(g) / t.windowSeconds) * t.windowSeconds;
    return finding({
      rule: "anomaly", severity: score >= 0.8 ? "MEDIUM" : "LOW", src, dst, port, interfaceId: n.interfaceId(run.pairInterface(pair)),
      window: { start: windowStart, end: windowStart + t.windowSeconds },
      evidence: { scorePercent: Math.round(score * 1000) / 10, anomalousGroups: anomalous, bytes: run.groupBytes(g), packets: run.groupPackets(g), flows: run.groupFlows(g) },
      description: `${src} -> ${dst}:${port} stands out from ${count} (source, destination, port) groups (isolation score ${score.toFixed(3)}${anomalous > 1 ? `; ${anomalous} groups of this source stand out` : ""}).`,
    });
  });
}
