import type { FlowRecord } from "../flowlog/parser";
import { CappedSet } from "./capped-set";
import { isPrivate, isResponse } from "./net";
import { ADMIN_PORTS, DetectorThresholds, WEB_PORTS } from "./thresholds";

/** Per source, per window. */
export interface SourceAggregate {
  interfaceId?: string;
  flows: number;
  rejected: number;
  /** Destination ports probed (not responses), across hosts. */
  ports: CappedSet<number>;
  /** Sensitive destination ports probed. */
  sensitive: CappedSet<number>;
  /** External web destinations reached with small flows. */
  c2Destinations: CappedSet<string>;
  c2Flows: number;
  c2Bytes: number;
  /** Internal hosts reached on admin ports (ACCEPTed), and the ports used. */
  lateralHosts: CappedSet<string>;
  lateralPorts: CappedSet<number>;
}

/** Per source and destination host, per window. */
export interface PairAggregate {
  interfaceId?: string;
  ports: CappedSet<number>;
  /** Bytes from an internal source to an external destination. */
  egressBytes: number;
}

/** Per source and destination port, per window: the hosts probed on that port. */
export interface SweepAggregate {
  interfaceId?: string;
  hosts: CappedSet<string>;
  flows: number;
  /** Rejected or probe-sized (at most 3 packets) flows. */
  probes: number;
}

/** Per source, destination and SSH/RDP port, per window. */
export interface BruteForceAggregate {
  interfaceId?: string;
  attempts: number;
  synOnly: number;
}

/** Per source, destination and protocol, per window, for unusual protocols. */
export interface ProtocolAggregate {
  interfaceId?: string;
  flows: number;
  bytes: number;
}

/** Everything the rules read for one window. Keys join fields with "|". */
export interface WindowAggregates {
  readonly start: number;
  readonly end: number;
  readonly sources: Map<string, SourceAggregate>;
  readonly pairs: Map<string, PairAggregate>;
  readonly sweeps: Map<string, SweepAggregate>;
  readonly bruteForce: Map<string, BruteForceAggregate>;
  readonly protocols: Map<string, ProtocolAggregate>;
}

/** Per (source, destination, destination port) over the whole run: the anomaly features. */
export interface GroupFeatures {
  interfaceId?: string;
  firstStart: number;
  bytes: number;
  packets: number;
  flows: number;
  srcPorts: CappedSet<number>;
}

/** Small flows from one internal source to one external web destination, over the whole run. */
export interface BeaconSeries {
  interfaceId?: string;
  starts: number[];
}

const BEACON_SERIES_CAP = 256;

/**
 * One pass over records into bounded aggregates: per-window maps keyed by source, destination
 * and port, with distinct-count sets capped just past each threshold.
 */
export class Aggregator {
  readonly windows = new Map<number, WindowAggregates>();
  readonly groups = new Map<string, GroupFeatures>();
  readonly beacons = new Map<string, BeaconSeries>();
  /** Groups not tracked because `maxGroups` was reached. */
  droppedGroups = 0;
  private readonly sensitive: Set<number>;
  private readonly admin = new Set(ADMIN_PORTS);
  private readonly web = new Set(WEB_PORTS);
  private readonly unusual: Set<number>;
  private readonly allowed: Set<string>;

  constructor(
    private readonly t: DetectorThresholds,
    /** Bound on anomaly groups kept in memory. @default 500000 */
    private readonly maxGroups = 500_000,
  ) {
    this.sensitive = new Set(t.sensitivePorts);
    this.unusual = new Set(t.unusualProtocols);
    this.allowed = new Set(t.allowedSources);
  }

  private window(start: number): WindowAggregates {
    const w = Math.floor(start / this.t.windowSeconds) * this.t.windowSeconds;
    let agg = this.windows.get(w);
    if (!agg) {
      agg = { start: w, end: w + this.t.windowSeconds, sources: new Map(), pairs: new Map(), sweeps: new Map(), bruteForce: new Map(), protocols: new Map() };
      this.windows.set(w, agg);
    }
    return agg;
  }

  add(r: FlowRecord): void {
    const src = r.pktSrcaddr ?? r.srcaddr;
    const dst = r.pktDstaddr ?? r.dstaddr;
    if (src === undefined || dst === undefined || this.allowed.has(src)) return;
    const t = this.t;
    const w = this.window(r.start ?? 0);
    const eni = r.interfaceId;
    const rejected = r.action === "REJECT";
    const packets = r.packets ?? 0;
    const bytes = r.bytes ?? 0;
    const dport = r.dstport;
    const response = isResponse(r.srcport, dport, r.tcpFlags);
    const srcPrivate = isPrivate(src);
    const dstPrivate = isPrivate(dst);

    let s = w.sources.get(src);
    if (!s) {
      s = {
        interfaceId: eni, flows: 0, rejected: 0,
        ports: new CappedSet(t.portScanPortsAcrossHosts), sensitive: new CappedSet(t.sensitivePortsProbed),
        c2Destinations: new CappedSet(t.c2Destinations), c2Flows: 0, c2Bytes: 0,
        lateralHosts: new CappedSet(t.lateralHosts), lateralPorts: new CappedSet(ADMIN_PORTS.length),
      };
      w.sources.set(src, s);
    }
    s.flows++;
    if (rejected) s.rejected++;

    const pairKey = `${src}|${dst}`;
    let p = w.pairs.get(pairKey);
    if (!p) {
      p = { interfaceId: eni, ports: new CappedSet(t.portScanPortsPerHost), egressBytes: 0 };
      w.pairs.set(pairKey, p);
    }
    if (srcPrivate && !dstPrivate && !rejected && r.flowDirection !== "ingress") p.egressBytes += bytes;

    if (dport !== undefined && !response) {
      s.ports.add(dport);
      p.ports.add(dport);
      if (this.sensitive.has(dport)) s.sensitive.add(dport);

      const sweepKey = `${src}|${dport}`;
      let sw = w.sweeps.get(sweepKey);
      if (!sw) {
        sw = { interfaceId: eni, hosts: new CappedSet(t.portSweepHosts), flows: 0, probes: 0 };
        w.sweeps.set(sweepKey, sw);
      }
      sw.hosts.add(dst);
      sw.flows++;
      if (rejected || packets <= 3) sw.probes++;

      if ((dport === 22 || dport === 3389) && r.protocol !== 17) {
        const synOnly = r.tcpFlags === 2;
        if (synOnly || packets <= t.bruteForceMaxPackets) {
          const bfKey = `${src}|${dst}|${dport}`;
          let bf = w.bruteForce.get(bfKey);
          if (!bf) {
            bf = { interfaceId: eni, attempts: 0, synOnly: 0 };
            w.bruteForce.set(bfKey, bf);
          }
          bf.attempts++;
          if (synOnly) bf.synOnly++;
        }
      }
      if (srcPrivate && dstPrivate && !rejected && this.admin.has(dport)) {
        s.lateralHosts.add(dst);
        s.lateralPorts.add(dport);
      }
      if (srcPrivate && !dstPrivate && !rejected && this.web.has(dport) && bytes <= t.c2MaxAverageBytes * 4) {
        s.c2Destinations.add(dst);
        s.c2Flows++;
        s.c2Bytes += bytes;
        const beaconKey = `${src}|${dst}|${dport}`;
        let b = this.beacons.get(beaconKey);
        if (!b) {
          b = { interfaceId: eni, starts: [] };
          this.beacons.set(beaconKey, b);
        }
        if (b.starts.length < BEACON_SERIES_CAP && r.start !== undefined) b.starts.push(r.start);
      }
    }

    if (r.protocol !== undefined && this.unusual.has(r.protocol)) {
      const protoKey = `${src}|${dst}|${r.protocol}`;
      let pr = w.protocols.get(protoKey);
      if (!pr) {
        pr = { interfaceId: eni, flows: 0, bytes: 0 };
        w.protocols.set(protoKey, pr);
      }
      pr.flows++;
      pr.bytes += bytes;
    }

    if (!response && dport !== undefined) {
      const groupKey = `${src}|${dst}|${dport}`;
      let g = this.groups.get(groupKey);
      if (!g) {
        if (this.groups.size >= this.maxGroups) {
          this.droppedGroups++;
          return;
        }
        g = { interfaceId: eni, firstStart: r.start ?? 0, bytes: 0, packets: 0, flows: 0, srcPorts: new CappedSet(1024) };
        this.groups.set(groupKey, g);
      }
      g.bytes += bytes;
      g.packets += packets;
      g.flows++;
      if (r.srcport !== undefined) g.srcPorts.add(r.srcport);
    }
  }
}
