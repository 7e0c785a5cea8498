import { finding, Finding } from "./findings";
import { IsolationForest } from "./isolation-forest";
import type { DetectorThresholds } from "./thresholds";

/*
 * The run-wide rules' findings from counts, shared by the engine (rules.ts anomalies and
 * skippedRecords, over its aggregates) and the SQL paths (sql.ts anomalyQuery and skippedQuery,
 * over a query's rows).
 */

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

/** Features per host (hostFeatures). */
export const HOST_FEATURES = 8;

/** One internal host's counts over a run: what the anomaly rule scores (hostFeatures). */
export interface HostCounts {
  /** The host's address. */
  readonly name: string;
  readonly interfaceId?: string;
  readonly flowsOut: number;
  readonly flowsIn: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
  /** Distinct peers, either way. */
  readonly peers: number;
  /** Distinct ports it probed (responses left out). */
  readonly portsProbed: number;
  /** Distinct ports of its own that were probed (responses left out). */
  readonly portsProbedOn: number;
  /** Rejected flows, either way. */
  readonly rejected: number;
}

/**
 * Features of one internal host over the run, on log scales: flows and bytes as source and as
 * destination, distinct peers, distinct ports it probed, distinct ports of its own probed by
 * others, and the share of its flows rejected. Each is rounded to 1/64. Written to out[o, o + 8).
 */
export function hostFeatures(h: HostCounts, out: Float64Array, o: number): void {
  out[o] = quantized(h.flowsOut);
  out[o + 1] = quantized(h.flowsIn);
  out[o + 2] = quantized(h.bytesOut);
  out[o + 3] = quantized(h.bytesIn);
  out[o + 4] = quantized(h.peers);
  out[o + 5] = quantized(h.portsProbed);
  out[o + 6] = quantized(h.portsProbedOn);
  out[o + 7] = Math.round((h.rejected / Math.max(h.flowsOut + h.flowsIn, 1)) * 8 * 64) / 64;
}

/** A feature on a log scale, rounded to 1/64. */
const quantized = (v: number) => Math.round(Math.log1p(v) * 64) / 64;

/**
 * The anomaly rule's findings from the internal hosts' counts over a window: none below
 * anomalyMinGroups hosts; else a seeded forest fitted on the hosts in the order of their
 * addresses (so scores depend on the traffic alone, not on the order it was read in), and the
 * hosts scoring at least anomalyScore, highest first, at most anomalyMaxFindings.
 */
export function anomalyFindings(hosts: readonly HostCounts[], t: DetectorThresholds, window: { readonly start: number; readonly end: number }): Finding[] {
  const count = hosts.length;
  if (count < t.anomalyMinGroups) return [];
  const features = new Float64Array(count * HOST_FEATURES);
  hosts.forEach((h, i) => hostFeatures(h, features, i * HOST_FEATURES));
  const order = Int32Array.from(hosts.keys()).sort((a, b) => compareAddresses(hosts[a]!.name, hosts[b]!.name));
  const forest = new IsolationForest({ trees: 100, sampleSize: 256, seed: 42 }).fitMatrix(features, HOST_FEATURES, order);
  const scores = forest.scoreMatrix(features, HOST_FEATURES, t.anomalyScore);
  const found = [...hosts.keys()].filter((k) => scores[k]! >= t.anomalyScore);
  found.sort((a, b) => scores[b]! - scores[a]! || compareAddresses(hosts[a]!.name, hosts[b]!.name));
  return found.slice(0, t.anomalyMaxFindings).map((k) => {
    const h = hosts[k]!;
    const score = scores[k]!;
    const evidence = {
      scorePercent: Math.round(score * 1000) / 10,
      flowsOut: h.flowsOut,
      flowsIn: h.flowsIn,
      bytesOut: h.bytesOut,
      bytesIn: h.bytesIn,
      peers: h.peers,
      portsProbed: h.portsProbed,
      portsProbedOn: h.portsProbedOn,
      rejected: h.rejected,
    };
    return finding({
      rule: "anomaly", severity: score >= 0.8 ? "MEDIUM" : "LOW", src: h.name, interfaceId: h.interfaceId, window, evidence,
      description:
        `${h.name} behaves unlike the other ${count - 1} internal hosts (isolation score ${score.toFixed(3)}): ${evidence.flowsOut} flows out (${gib(evidence.bytesOut)}), ` +
        `${evidence.flowsIn} in (${gib(evidence.bytesIn)}), ~${evidence.peers} peers, ~${evidence.portsProbed} ports probed, ~${evidence.portsProbedOn} of its ports probed, ${evidence.rejected} rejected.`,
    });
  });
}

/** Addresses in a fixed order (by their text): what the forest's sample follows. */
const compareAddresses = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The log-skipped finding: `skipped` SKIPDATA records within `window` (of one interface, when given: the queries count per interface). */
export function skippedFinding(skipped: number, window: { readonly start: number; readonly end: number }, interfaceId?: string): Finding {
  return finding({
    rule: "log-skipped", severity: "LOW", window, ...(interfaceId ? { interfaceId } : {}),
    evidence: { skipdataRecords: skipped },
    description:
      `${skipped} SKIPDATA record${skipped === 1 ? "" : "s"}${interfaceId ? ` from ${interfaceId}` : ""}: AWS skipped flows it could not capture during those aggregation intervals, so these findings cover less than the traffic. ` +
      "Repeated, it means an interface past flow-log capacity: check the log-gap alarm.",
  });
}
