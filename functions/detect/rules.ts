import { BRUTE, DST, HOST, INTEL, LOSS, PROTO, PW, RunAggregates, sketchCount, SRC, SWEEP } from "./aggregates";
import {
  beaconFinding, BRUTE_FORCE, C2_FAN_OUT, Condition, CRYPTO_MINING, Described, DISTRIBUTED_SCAN, DNS_UNAPPROVED_RESOLVER, endpointsOf, evidenceOf, EXFILTRATION,
  INBOUND_FLOOD, LATERAL_MOVEMENT, OUTBOUND_FLOOD, PORT_SCAN_ACROSS_HOSTS, PORT_SCAN_PER_HOST, PORT_SWEEP, REJECTED_SPIKE, RuleDeclaration, ruleOf,
  SENSITIVE_PORT_SCAN, severityOf, Term, termValue, TGW_PACKET_LOSS, THREAT_INTEL, UNUSUAL_PROTOCOL,
} from "./declarations";
import { DetectorError } from "./errors";
import { finding, Finding } from "./findings";
import { anomalyFindings, HostCounts, skippedFinding } from "./anomaly";
import { ADMIN_PORTS, DetectorThresholds } from "./thresholds";

/*
 * Records without an action. Transit-gateway records have no action field: a transit gateway
 * has no security groups or network ACLs, so a record describes traffic it forwarded, and what
 * it dropped shows as packets-lost-* counts instead. (A VPC record written without its action,
 * "-" or a format that leaves it out, reads the same way.) So such a record is never "rejected",
 * and per rule:
 * - port-scan, sensitive-port-scan, brute-force, unusual-protocol, anomaly: the action
 *   plays no part; the record counts as any other.
 * - port-sweep: a probe is a rejected flow, one of at most 3 packets or a TCP SYN alone
 *   (PROBE_SIZED); without an action, only the last two.
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


/*
 * The windowed rules run their declarations (declarations.ts). Each binds its declaration's
 * measures to the columns of the engine table that holds them (aggregates.ts lays the tables
 * out), plus those computed from a row (a source's place, a port list); the declaration
 * decides, grades, gives the evidence and words the finding.
 */

/** Where a measure lies in a row: an offset of the row's i32 view, or of its f64 view (a double; in i32 units, as the tables' constants are). */
type Column = { readonly i32: number } | { readonly f64: number };

/** A function of one table row: its base and the table's two views. */
type RowFn<T> = (r: number, i32: Int32Array, f64: Float64Array) => T;

/** A declaration bound to an engine table. */
export interface BoundDeclaration {
  /** The declaration's condition (HAVING) over a row: conditionHolds on the row's measures. */
  readonly holds: RowFn<boolean>;
  /** The row's measures held in columns, by the declaration's names. */
  readonly measures: RowFn<Record<string, number>>;
}

/** Conditions compiled, by their code: the same function for every check, so its call in each rule's loop stays monomorphic and optimised. */
const compiled = new Map<string, RowFn<boolean>>();

/**
 * Binds a declaration to a table's columns, the measures not in `columns` being `computed` by
 * the rule from the row. The condition is compiled to code reading the columns, thresholds as
 * constants: tables hold millions of rows, few pass, and interpreting the condition for each
 * (conditionHolds on an object filled per row) made the rules three times slower. Its
 * arithmetic is conditionHolds's, term for term.
 */
export function bindDeclaration(d: RuleDeclaration, t: DetectorThresholds, columns: Readonly<Record<string, Column>>, computed: readonly string[] = []): BoundDeclaration {
  const numeric = Object.entries(d.measures).filter(([, m]) => !("first" in m) && !("list" in m)).map(([name]) => name);
  const unbound = numeric.filter((name) => columns[name] === undefined && !computed.includes(name));
  if (unbound.length > 0) {
    throw new DetectorError(`detector: rule ${d.id}: measures without a column in the engine's table (got ${unbound.join(", ")}). Bind each to its column, or compute it, in rules.ts.`);
  }
  const read = (name: string): string => {
    const c = columns[name];
    if (c === undefined) throw new DetectorError(`detector: rule ${d.id}: its condition reads ${name}, a measure computed per row, not held in a column (got columns ${Object.keys(columns).join(", ") || "none"}). Hold it in the engine's table.`);
    return "i32" in c ? `i32[r + ${c.i32}]` : `f64[(r + ${c.f64}) >> 1]`;
  };
  const term = (x: Term): string => {
    if (typeof x === "string") return read(x);
    if (typeof x === "number") return `(${x})`;
    if ("threshold" in x) return `(${termValue(x, {}, t)})`;
    if ("sum" in x) return `(${["0", ...x.sum.map(term)].join(" + ")})`;
    if ("times" in x) return `(${term(x.times[0])} * ${term(x.times[1])})`;
    return `Math.round(${term(x.roundedRatio[0])} / ${term(x.roundedRatio[1])})`;
  };
  const condition = (c: Condition): string => {
    if ("always" in c) return "true";
    if ("all" in c) return `(${["true", ...c.all.map(condition)].join(" && ")})`;
    if ("any" in c) return `(${["false", ...c.any.map(condition)].join(" || ")})`;
    if ("atLeast" in c) return `${term(c.atLeast[0])} >= ${term(c.atLeast[1])}`;
    if ("above" in c) return `${term(c.above[0])} > ${term(c.above[1])}`;
    return `${term(c.atMost[0])} <= ${term(c.atMost[1])}`;
  };
  const code = `"use strict";\nreturn ${condition(d.having)};`;
  let holds = compiled.get(code);
  if (holds === undefined) {
    holds = new Function("r", "i32", "f64", code) as RowFn<boolean>;
    compiled.set(code, holds);
  }
  const bound = Object.entries(columns);
  return {
    holds,
    measures: (r, i32, f64) => Object.fromEntries(bound.map(([name, c]) => [name, "i32" in c ? i32[r + c.i32]! : f64[(r + c.f64) >> 1]!])),
  };
}

/**
 * A group that holds its declaration's condition: its keys as names, where it was recorded, its
 * window (an id of the run's horizon), and the declaration's `first` and `list` measures when it
 * has them.
 */
interface Group {
  readonly src?: string;
  readonly dst?: string;
  readonly port?: number;
  readonly protocol?: number;
  readonly interfaceId: string | undefined;
  readonly window: number;
  readonly values?: Readonly<Record<string, readonly (string | number)[]>>;
}

/**
 * The finding a declaration makes of a group, from its measures (`m`, by the declaration's
 * names): rule id, severity, evidence, endpoints and description are the declaration's, as
 * findingsFromRows (sql.ts) makes them of the SQL's rows. A long-horizon finding says so in its
 * evidence (which also keeps its id apart from the short window starting at the same time).
 */
function declared(run: RunAggregates, d: RuleDeclaration, m: Readonly<Record<string, number>>, t: DetectorThresholds, g: Group): Finding {
  const evidence = evidenceOf(d, m, t);
  if (run.horizon.name === "long") evidence.horizonSeconds = run.windowSeconds;
  const described: Described = {
    src: g.src, dst: g.dst, port: g.port, protocol: g.protocol, interfaceId: g.interfaceId,
    n: { ...m, ...evidence }, values: g.values ?? {}, seconds: run.windowSeconds, threatList: (a) => run.context.threatList(a),
  };
  const start = run.windowStart(g.window);
  return finding({
    rule: ruleOf(d, g.port), severity: severityOf(d, m, t), ...endpointsOf(d, described, t), interfaceId: g.interfaceId,
    window: { start, end: start + run.windowSeconds },
    evidence, description: d.describe(described),
  });
}

export const portScan: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const perHost = bindDeclaration(PORT_SCAN_PER_HOST, t, { distinctPorts: { i32: PW.PORTS } });
  run.pairWindows.each((r, i32, f64) => {
    if (!perHost.holds(r, i32, f64)) return;
    out.push(declared(run, PORT_SCAN_PER_HOST, perHost.measures(r, i32, f64), t, {
      src: n.address(i32[r + PW.SRC]!), dst: n.address(i32[r + PW.DST]!), interfaceId: n.interfaceId(i32[r + PW.IFACE]!), window: i32[r + PW.WINDOW]!,
    }));
  });
  // One (source, window) row holds the measures of both rules.
  const acrossHosts = bindDeclaration(PORT_SCAN_ACROSS_HOSTS, t, { distinctPorts: { i32: SRC.PORTS }, flows: { i32: SRC.FLOWS } });
  const sensitive = bindDeclaration(SENSITIVE_PORT_SCAN, t, { sensitivePorts: { i32: SRC.SENSITIVE }, rejected: { i32: SRC.REJECTED } });
  run.sources.each((r, i32, f64) => {
    const scan = acrossHosts.holds(r, i32, f64);
    const probe = sensitive.holds(r, i32, f64);
    if (!scan && !probe) return;
    const srcId = i32[r + SRC.SRC]!;
    const window = i32[r + SRC.WINDOW]!;
    const group = { src: n.address(srcId), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window };
    if (scan) out.push(declared(run, PORT_SCAN_ACROSS_HOSTS, acrossHosts.measures(r, i32, f64), t, group));
    if (probe) {
      // The sweep table's (source, port, window) rows name the sensitive ports probed.
      const probed = t.sensitivePorts.filter((p) => run.sweeps.has(srcId, p, window)).sort((a, b) => a - b);
      out.push(declared(run, SENSITIVE_PORT_SCAN, sensitive.measures(r, i32, f64), t, { ...group, values: { probed } }));
    }
  });
  return out;
};

export const portSweep: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const sweep = bindDeclaration(PORT_SWEEP, t, { distinctHosts: { i32: SWEEP.HOSTS }, probes: { i32: SWEEP.PROBES }, flows: { i32: SWEEP.FLOWS } });
  run.sweeps.each((r, i32, f64) => {
    if (!sweep.holds(r, i32, f64)) return;
    out.push(declared(run, PORT_SWEEP, sweep.measures(r, i32, f64), t, {
      src: n.address(i32[r + SWEEP.SRC]!), port: i32[r + SWEEP.PORT]!, interfaceId: n.interfaceId(i32[r + SWEEP.IFACE]!), window: i32[r + SWEEP.WINDOW]!,
    }));
  });
  return out;
};

export const bruteForce: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const brute = bindDeclaration(BRUTE_FORCE, t, { attempts: { i32: BRUTE.ATTEMPTS }, synOnly: { i32: BRUTE.SYN_ONLY } }, ["sourceInside"]);
  run.bruteForce.each((r, i32, f64) => {
    if (!brute.holds(r, i32, f64)) return;
    const src = n.address(i32[r + BRUTE.SRC]!);
    const key = i32[r + BRUTE.KEY]!;
    out.push(declared(run, BRUTE_FORCE, { ...brute.measures(r, i32, f64), sourceInside: run.context.isInside(src) ? 1 : 0 }, t, {
      src, dst: n.address(i32[r + BRUTE.DST]!), port: key & 0xffff, interfaceId: n.interfaceId(i32[r + BRUTE.IFACE]!), window: key >>> 16,
    }));
  });
  return out;
};

/**
 * Many sources, one internal target, many ports: each source stays under the port-scan
 * thresholds, together they cover the host. A busy server has many sources on one or two
 * ports; a distributed scan, many sources on many ports.
 */
export const distributedScan: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const scan = bindDeclaration(DISTRIBUTED_SCAN, t, { sources: { i32: DST.SOURCES }, distinctPorts: { i32: DST.PORTS } });
  run.destinations.each((r, i32, f64) => {
    if (!scan.holds(r, i32, f64)) return;
    out.push(declared(run, DISTRIBUTED_SCAN, scan.measures(r, i32, f64), t, { dst: n.address(i32[r + DST.DST]!), interfaceId: n.interfaceId(i32[r + DST.IFACE]!), window: i32[r + DST.WINDOW]! }));
  });
  return out;
};

/** Flows or packets to one internal host, all sources together (a flood of spoofed sources included). */
export const inboundFlood: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const flood = bindDeclaration(INBOUND_FLOOD, t, { flows: { i32: DST.FLOWS }, packets: { f64: DST.PACKETS }, sources: { i32: DST.SOURCES } });
  run.destinations.each((r, i32, f64) => {
    if (!flood.holds(r, i32, f64)) return;
    out.push(declared(run, INBOUND_FLOOD, flood.measures(r, i32, f64), t, { dst: n.address(i32[r + DST.DST]!), interfaceId: n.interfaceId(i32[r + DST.IFACE]!), window: i32[r + DST.WINDOW]! }));
  });
  return out;
};

/** Flows or packets from one internal host to external addresses (never a NAT gateway: its clients' records carry theirs). */
export const outboundFlood: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const flood = bindDeclaration(OUTBOUND_FLOOD, t, { flows: { i32: SRC.OUT_FLOWS }, packets: { f64: SRC.OUT_PACKETS } });
  run.sources.each((r, i32, f64) => {
    if (!flood.holds(r, i32, f64)) return;
    out.push(declared(run, OUTBOUND_FLOOD, flood.measures(r, i32, f64), t, { src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]! }));
  });
  return out;
};

/** DNS (53, 853) from an internal host to resolvers that are not approved: a policy bypass, and a channel for tunnelling. */
export const dnsUnapproved: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const dns = bindDeclaration(DNS_UNAPPROVED_RESOLVER, t, { flows: { i32: SRC.DNS_FLOWS }, resolvers: { i32: SRC.DNS_SERVERS } });
  run.sources.each((r, i32, f64) => {
    if (!dns.holds(r, i32, f64)) return;
    out.push(declared(run, DNS_UNAPPROVED_RESOLVER, dns.measures(r, i32, f64), t, {
      src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]!,
      values: { first: [n.address(i32[r + SRC.DNS_DST]! - 1)] },
    }));
  });
  return out;
};

/** Accepted flows from an internal host to an external mining-pool port (miningPorts). */
export const cryptoMining: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const mining = bindDeclaration(CRYPTO_MINING, t, { flows: { i32: SRC.MINING_FLOWS } });
  run.sources.each((r, i32, f64) => {
    if (!mining.holds(r, i32, f64)) return;
    out.push(declared(run, CRYPTO_MINING, mining.measures(r, i32, f64), t, {
      src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]!,
      values: { first: [n.address(i32[r + SRC.MINING_DST]! - 1), i32[r + SRC.MINING_PORT]!] },
    }));
  });
  return out;
};

/** Flows with an end on a configured threat list: HIGH; LOW when every flow was rejected (the contact was blocked). */
export const threatIntel: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const intel = bindDeclaration(THREAT_INTEL, t, { flows: { i32: INTEL.FLOWS }, accepted: { i32: INTEL.ACCEPTED }, bytes: { f64: INTEL.BYTES } });
  run.intel.each((r, i32, f64) => {
    if (!intel.holds(r, i32, f64)) return;
    out.push(declared(run, THREAT_INTEL, intel.measures(r, i32, f64), t, {
      src: n.address(i32[r + INTEL.SRC]!), dst: n.address(i32[r + INTEL.DST]!), interfaceId: n.interfaceId(i32[r + INTEL.IFACE]!), window: i32[r + INTEL.WINDOW]!,
    }));
  });
  return out;
};

export const exfiltration: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const exfil = bindDeclaration(EXFILTRATION, t, { egressBytes: { f64: PW.EGRESS } });
  run.pairWindows.each((r, i32, f64) => {
    if (!exfil.holds(r, i32, f64)) return;
    out.push(declared(run, EXFILTRATION, exfil.measures(r, i32, f64), t, {
      src: n.address(i32[r + PW.SRC]!), dst: n.address(i32[r + PW.DST]!), interfaceId: n.interfaceId(i32[r + PW.IFACE]!), window: i32[r + PW.WINDOW]!,
    }));
  });
  return out;
};

export const c2FanOut: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const c2 = bindDeclaration(C2_FAN_OUT, t, { externalDestinations: { i32: SRC.C2_DESTINATIONS }, flows: { i32: SRC.C2_FLOWS }, bytes: { f64: SRC.C2_BYTES } });
  run.sources.each((r, i32, f64) => {
    if (!c2.holds(r, i32, f64)) return;
    out.push(declared(run, C2_FAN_OUT, c2.measures(r, i32, f64), t, { src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]! }));
  });
  return out;
};

export const lateralMovement: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const lateral = bindDeclaration(LATERAL_MOVEMENT, t, { internalHosts: { i32: SRC.LATERAL_HOSTS } }, ["adminPorts"]);
  run.sources.each((r, i32, f64) => {
    if (!lateral.holds(r, i32, f64)) return;
    // Bit i of the row's mask: ADMIN_PORTS[i] was used.
    const mask = i32[r + SRC.LATERAL_PORTS]!;
    const ports = ADMIN_PORTS.filter((_, i) => (mask & (1 << i)) !== 0).sort((a, b) => a - b);
    out.push(declared(run, LATERAL_MOVEMENT, { ...lateral.measures(r, i32, f64), adminPorts: ports.length }, t, {
      src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]!, values: { ports },
    }));
  });
  return out;
};

export const rejectedSpike: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const spike = bindDeclaration(REJECTED_SPIKE, t, { rejected: { i32: SRC.REJECTED }, flows: { i32: SRC.FLOWS } });
  run.sources.each((r, i32, f64) => {
    if (!spike.holds(r, i32, f64)) return;
    out.push(declared(run, REJECTED_SPIKE, spike.measures(r, i32, f64), t, { src: n.address(i32[r + SRC.SRC]!), interfaceId: n.interfaceId(i32[r + SRC.IFACE]!), window: i32[r + SRC.WINDOW]! }));
  });
  return out;
};

export const unusualProtocol: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const unusual = bindDeclaration(UNUSUAL_PROTOCOL, t, { flows: { i32: PROTO.FLOWS }, bytes: { f64: PROTO.BYTES } });
  run.protocols.each((r, i32, f64) => {
    if (!unusual.holds(r, i32, f64)) return;
    const key = i32[r + PROTO.KEY]!;
    out.push(declared(run, UNUSUAL_PROTOCOL, unusual.measures(r, i32, f64), t, {
      src: n.address(i32[r + PROTO.SRC]!), dst: n.address(i32[r + PROTO.DST]!), protocol: key & 255, interfaceId: n.interfaceId(i32[r + PROTO.IFACE]!), window: key >> 8,
    }));
  });
  return out;
};

/**
 * Packets a transit-gateway attachment dropped in a window (packets-lost-*): no route or a
 * blackhole route for the destination (a route that went missing, or traffic to addresses
 * nothing should reach, as a scan of unrouted space sends), packets larger than the
 * attachment's MTU, or TTLs run out (a routing loop).
 */
export const tgwPacketLoss: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  const loss = bindDeclaration(TGW_PACKET_LOSS, t, {
    flows: { i32: LOSS.FLOWS }, noRoute: { f64: LOSS.NO_ROUTE }, blackhole: { f64: LOSS.BLACKHOLE }, mtuExceeded: { f64: LOSS.MTU_EXCEEDED }, ttlExpired: { f64: LOSS.TTL_EXPIRED },
  });
  run.packetLoss.each((r, i32, f64) => {
    if (!loss.holds(r, i32, f64)) return;
    out.push(declared(run, TGW_PACKET_LOSS, loss.measures(r, i32, f64), t, { interfaceId: n.interfaceId(i32[r + LOSS.ATTACHMENT]! - 1), window: i32[r + LOSS.WINDOW]! }));
  });
  return out;
};

/** SKIPDATA records: AWS could not capture some flows (capacity or an internal error), so every rule saw less than happened. */
export const skippedRecords: Rule = (run) => {
  const skipped = run.skipdata;
  const span = run.span;
  if (skipped === 0) return [];
  return [skippedFinding(skipped, span ? { start: span.first, end: span.last + run.windowSeconds } : { start: 0, end: 0 })];
};

/**
 * Regular small flows to one external destination: low jitter between their start times. A
 * series is judged whole once idle for a long window (so a beacon crossing window boundaries,
 * or every 4 minutes over 40, is one series), on its first BEACON.POINTS starts, sorted; the
 * judgement and the finding are beaconFinding's (declarations.ts), which the SQL's rows also go
 * through.
 */
export const beaconing: Rule = (run, t) => {
  const n = run.names;
  const out: Finding[] = [];
  for (const b of run.beacons) {
    if (b.flows < t.beaconMinFlows || b.starts.length < 3) continue;
    const starts = [...b.starts].sort((x, y) => x - y);
    let gapSquares = 0;
    for (let i = 1; i < starts.length; i++) gapSquares += (starts[i]! - starts[i - 1]!) ** 2;
    const first = starts[0]!;
    const last = starts[starts.length - 1]!;
    const found = beaconFinding({
      src: n.address(b.src), dst: n.address(b.dst), port: b.port, interfaceId: n.interfaceId(b.iface),
      flows: b.flows, points: starts.length, first, last, gapSum: last - first, gapSquares,
    }, t);
    if (found) out.push(found);
  }
  return out;
};

/**
 * Isolation Forest over the internal hosts' behaviour over the run (hostFeatures): state is a
 * row per internal host, whatever the number of flows. The engine's counts of distinct peers and
 * ports are HyperLogLog estimates (aggregates.ts HOST); Athena's are exact, and Logs Insights'
 * distinct peers the larger of a host's peers as source and as destination
 * (sql.ts anomalyQuery).
 */
export const anomalies: Rule = (run, t) => {
  const hosts = run.hosts;
  if (hosts.size < t.anomalyMinGroups) return [];
  const n = run.names;
  const counts: HostCounts[] = [];
  hosts.each((base, h, f64) => {
    counts.push({
      name: n.address(h[base + HOST.HOST]!),
      interfaceId: n.interfaceId(h[base + HOST.IFACE]!),
      flowsOut: h[base + HOST.OUT_FLOWS]!,
      flowsIn: h[base + HOST.IN_FLOWS]!,
      bytesOut: f64[(base + HOST.OUT_BYTES) >> 1]!,
      bytesIn: f64[(base + HOST.IN_BYTES) >> 1]!,
      peers: sketchCount(h, base + HOST.PEERS),
      portsProbed: sketchCount(h, base + HOST.OUT_PORTS),
      portsProbedOn: sketchCount(h, base + HOST.IN_PORTS),
      rejected: h[base + HOST.REJECTED]!,
    });
  });
  const span = run.span;
  return anomalyFindings(counts, t, span ? { start: span.first, end: span.last + run.windowSeconds } : { start: 0, end: 0 });
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
