import type { BeaconSeries, GroupFeatures, WindowAggregates } from "./aggregates";
import { finding, Finding } from "./findings";
import { IsolationForest } from "./isolation-forest";
import { isPrivate } from "./net";
import type { DetectorThresholds } from "./thresholds";

/** A rule: a pure function of one window's aggregates and the thresholds. */
export type WindowRule = (w: WindowAggregates, t: DetectorThresholds) => Finding[];

const split = (key: string) => key.split("|");
const windowOf = (w: WindowAggregates) => ({ start: w.start, end: w.end });
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

export const portScan: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [key, p] of w.pairs) {
    if (p.ports.size < t.portScanPortsPerHost) continue;
    const [src, dst] = split(key);
    out.push(finding({
      rule: "port-scan", severity: "MEDIUM", src, dst, interfaceId: p.interfaceId, window: windowOf(w),
      evidence: { distinctPorts: p.ports.size },
      description: `${src} probed at least ${p.ports.size} distinct ports on ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  for (const [src, s] of w.sources) {
    if (s.ports.size >= t.portScanPortsAcrossHosts) {
      out.push(finding({
        rule: "port-scan", severity: "MEDIUM", src, interfaceId: s.interfaceId, window: windowOf(w),
        evidence: { distinctPorts: s.ports.size, flows: s.flows },
        description: `${src} probed at least ${s.ports.size} distinct ports across hosts within ${t.windowSeconds}s.`,
      }));
    }
    if (s.sensitive.size >= t.sensitivePortsProbed) {
      out.push(finding({
        rule: "sensitive-port-scan", severity: "MEDIUM", src, interfaceId: s.interfaceId, window: windowOf(w),
        evidence: { sensitivePorts: s.sensitive.size, rejected: s.rejected },
        description: `${src} probed sensitive ports ${[...s.sensitive.values()].sort((a, b) => a - b).join(", ")} within ${t.windowSeconds}s.`,
      }));
    }
  }
  return out;
};

export const portSweep: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [key, sw] of w.sweeps) {
    // Health checks and load balancers reach many hosts too, with full connections: a sweep is mostly probes.
    if (sw.hosts.size < t.portSweepHosts || sw.probes * 2 < sw.flows) continue;
    const [src, port] = split(key);
    out.push(finding({
      rule: "port-sweep", severity: "MEDIUM", src, port: Number(port), interfaceId: sw.interfaceId, window: windowOf(w),
      evidence: { distinctHosts: sw.hosts.size, probes: sw.probes, flows: sw.flows },
      description: `${src} probed port ${port} on at least ${sw.hosts.size} hosts within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const bruteForce: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [key, bf] of w.bruteForce) {
    if (bf.attempts < t.bruteForceAttempts) continue;
    const [src, dst, port] = split(key);
    const inside = isPrivate(src!);
    const ssh = port === "22";
    out.push(finding({
      rule: ssh ? "ssh-brute-force" : "rdp-brute-force",
      // From inside the VPC it means a compromised host is already attacking its neighbours.
      severity: inside ? "HIGH" : "MEDIUM",
      src, dst, port: Number(port), protocol: 6, interfaceId: bf.interfaceId, window: windowOf(w),
      evidence: { attempts: bf.attempts, synOnly: bf.synOnly, sourceInside: inside ? 1 : 0 },
      description: `${bf.attempts} short ${ssh ? "SSH" : "RDP"} connections from ${src} to ${dst} within ${t.windowSeconds}s${inside ? " (source inside the VPC)" : ""}.`,
    }));
  }
  return out;
};

export const exfiltration: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [key, p] of w.pairs) {
    if (p.egressBytes < t.exfiltrationBytes) continue;
    const [src, dst] = split(key);
    out.push(finding({
      rule: "exfiltration", severity: p.egressBytes >= 10 * t.exfiltrationBytes ? "CRITICAL" : "HIGH",
      src, dst, interfaceId: p.interfaceId, window: windowOf(w),
      evidence: { egressBytes: p.egressBytes },
      description: `${src} sent ${gib(p.egressBytes)} to external address ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const c2FanOut: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [src, s] of w.sources) {
    if (s.c2Destinations.size < t.c2Destinations || s.c2Flows === 0) continue;
    const avg = s.c2Bytes / s.c2Flows;
    if (avg > t.c2MaxAverageBytes) continue;
    out.push(finding({
      rule: "c2-fan-out", severity: "HIGH", src, interfaceId: s.interfaceId, window: windowOf(w),
      evidence: { externalDestinations: s.c2Destinations.size, flows: s.c2Flows, averageBytes: Math.round(avg) },
      description: `${src} reached at least ${s.c2Destinations.size} external web destinations with small flows (${Math.round(avg)} bytes on average) within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const lateralMovement: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [src, s] of w.sources) {
    if (s.lateralHosts.size < t.lateralHosts) continue;
    out.push(finding({
      rule: "lateral-movement", severity: "HIGH", src, interfaceId: s.interfaceId, window: windowOf(w),
      evidence: { internalHosts: s.lateralHosts.size, adminPorts: s.lateralPorts.size },
      description: `${src} connected to at least ${s.lateralHosts.size} internal hosts on admin ports ${[...s.lateralPorts.values()].sort((a, b) => a - b).join(", ")} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const rejectedSpike: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [src, s] of w.sources) {
    if (s.rejected < t.rejectedFlows) continue;
    out.push(finding({
      rule: "rejected-spike", severity: "LOW", src, interfaceId: s.interfaceId, window: windowOf(w),
      evidence: { rejected: s.rejected, flows: s.flows },
      description: `${s.rejected} rejected flows from ${src} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const unusualProtocol: WindowRule = (w, t) => {
  const out: Finding[] = [];
  for (const [key, pr] of w.protocols) {
    const [src, dst, proto] = split(key);
    out.push(finding({
      rule: "unusual-protocol", severity: "LOW", src, dst, protocol: Number(proto), interfaceId: pr.interfaceId, window: windowOf(w),
      evidence: { flows: pr.flows, bytes: pr.bytes },
      description: `${pr.flows} flows of IP protocol ${proto} from ${src} to ${dst} within ${t.windowSeconds}s.`,
    }));
  }
  return out;
};

export const WINDOW_RULES: readonly WindowRule[] = [portScan, portSweep, bruteForce, exfiltration, c2FanOut, lateralMovement, rejectedSpike, unusualProtocol];

/** Regular small flows to one external destination: low jitter between their start times. */
export function beaconing(series: ReadonlyMap<string, BeaconSeries>, t: DetectorThresholds): Finding[] {
  const out: Finding[] = [];
  for (const [key, b] of series) {
    if (b.starts.length < t.beaconMinFlows) continue;
    const starts = [...b.starts].sort((x, y) => x - y);
    const gaps: number[] = [];
    for (let i = 1; i < starts.length; i++) gaps.push(starts[i]! - starts[i - 1]!);
    const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    if (mean <= 0) continue;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    const jitter = sd / mean;
    if (jitter > t.beaconMaxJitter) continue;
    const [src, dst, port] = split(key);
    out.push(finding({
      rule: "c2-beaconing", severity: "HIGH", src, dst, port: Number(port), interfaceId: b.interfaceId,
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
 */
export function groupFeatures(g: GroupFeatures): number[] {
  const flows = Math.max(g.flows, 1);
  return [Math.log1p(g.bytes / flows), Math.log1p(g.packets / flows), Math.log1p(g.flows), Math.log1p(g.srcPorts.size)];
}

/** Isolation Forest over every (source, destination, port) group; the highest scores are reported. */
export function anomalies(groups: ReadonlyMap<string, GroupFeatures>, t: DetectorThresholds, seed = 42): Finding[] {
  if (groups.size < t.anomalyMinGroups) return [];
  const keys = [...groups.keys()];
  const rows = keys.map((k) => groupFeatures(groups.get(k)!));
  const forest = new IsolationForest({ trees: 100, sampleSize: 256, seed }).fit(rows);
  // One finding per source: a probe of 200 ports or 60 hosts is one story, not 200.
  const best = new Map<string, { i: number; score: number; groups: number }>();
  rows.forEach((row, i) => {
    const score = forest.score(row);
    if (score < t.anomalyScore) return;
    const src = keys[i]!.slice(0, keys[i]!.indexOf("|"));
    const prev = best.get(src);
    if (!prev) best.set(src, { i, score, groups: 1 });
    else {
      prev.groups++;
      if (score > prev.score || (score === prev.score && keys[i]! < keys[prev.i]!)) Object.assign(prev, { i, score });
    }
  });
  const scored = [...best.values()]
    .sort((a, b) => b.score - a.score || keys[a.i]!.localeCompare(keys[b.i]!))
    .slice(0, t.anomalyMaxFindings);
  return scored.map(({ i, score, groups: anomalous }) => {
    const [src, dst, port] = split(keys[i]!);
    const g = groups.get(keys[i]!)!;
    return finding({
      rule: "anomaly", severity: score >= 0.8 ? "MEDIUM" : "LOW", src, dst, port: Number(port), interfaceId: g.interfaceId,
      window: { start: Math.floor(g.firstStart / t.windowSeconds) * t.windowSeconds, end: Math.floor(g.firstStart / t.windowSeconds) * t.windowSeconds + t.windowSeconds },
      evidence: { scorePercent: Math.round(score * 1000) / 10, anomalousGroups: anomalous, bytes: g.bytes, packets: g.packets, flows: g.flows },
      description: `${src} -> ${dst}:${port} stands out from ${groups.size} (source, destination, port) groups (isolation score ${score.toFixed(3)}${anomalous > 1 ? `; ${anomalous} groups of this source stand out` : ""}).`,
    });
  });
}
