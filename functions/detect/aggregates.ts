import { ACTION_REJECT, DIRECTION_INGRESS, FlowScanner } from "../flowlog/scanner";
import { countSkip, ParseStats } from "../flowlog/stats";
import { CappedSet } from "./capped-set";
import { isPrivate, isResponse } from "./net";
import { ADMIN_PORTS, DetectorThresholds, WEB_PORTS } from "./thresholds";

/*
 * Layout for speed and bounded memory. Addresses are interned by the scanner; each distinct
 * (source, destination) pair gets a dense pair id, so every per-window map is keyed by small
 * integers (V8 hashes those fastest) and most values are plain numbers, not objects: a pair
 * that used one port in a window costs one map entry, a set appears only on its second port.
 * Anomaly groups (pair, port) are columns in typed arrays, not objects.
 */
const PAIR_ID_LIMIT = 1 << 30;
const ADDRESS_ID_LIMIT = 1 << 22;

/** Per source, per window. Sets are created when a source first needs them. */
export interface SourceAggregate {
  readonly src: number;
  readonly interfaceId: number;
  flows: number;
  rejected: number;
  /** Destination ports probed (not responses), across hosts. */
  ports?: CappedSet;
  /** Sensitive destination ports probed. */
  sensitive?: CappedSet;
  /** External web destinations reached with small flows. */
  c2Destinations?: CappedSet;
  c2Flows: number;
  c2Bytes: number;
  /** Internal hosts reached on admin ports (accepted), and the ports used. */
  lateralHosts?: CappedSet;
  lateralPorts?: CappedSet;
}

/** Per source and destination port, per window: the hosts probed on that port. */
export interface SweepAggregate {
  readonly src: number;
  readonly port: number;
  readonly interfaceId: number;
  readonly hosts: CappedSet;
  flows: number;
  /** Rejected or probe-sized (at most 3 packets) flows. */
  probes: number;
}

/** Per pair and SSH/RDP port, per window. */
export interface BruteForceAggregate {
  readonly pair: number;
  readonly port: number;
  attempts: number;
  synOnly: number;
}

/** Per pair and unusual protocol, per window. */
export interface ProtocolAggregate {
  readonly pair: number;
  readonly protocol: number;
  flows: number;
  bytes: number;
}

/** Everything the window rules read for one window. */
export interface WindowAggregates {
  readonly start: number;
  readonly end: number;
  readonly sources: Map<number, SourceAggregate>;
  /** pair id -> the one destination port probed so far, or the set of them. */
  readonly pairPorts: Map<number, number | CappedSet>;
  /** pair id -> bytes from an internal source to an external destination. */
  readonly egress: Map<number, number>;
  /** port -> source -> sweep. */
  readonly sweeps: Map<number, Map<number, SweepAggregate>>;
  /** pair id * 2 + (0 for SSH, 1 for RDP) -> attempts. */
  readonly bruteForce: Map<number, BruteForceAggregate>;
  /** protocol -> pair id -> flows. */
  readonly protocols: Map<number, Map<number, ProtocolAggregate>>;
}

/** Small flows from one internal source to one external web destination, over the whole run. */
export interface BeaconSeries {
  readonly pair: number;
  readonly port: number;
  readonly starts: number[];
}

/** Turns ids back into names for findings. */
export interface Names {
  address(id: number): string;
  /** undefined for -1 (absent). */
  interfaceId(id: number): string | undefined;
}

/**
 * What the rules read: the windows, the beacon series, and the run-wide pair and group
 * columns (pairs are (source, destination); groups are (pair, destination port)).
 */
export interface RunAggregates {
  readonly windows: ReadonlyMap<number, WindowAggregates>;
  readonly beacons: ReadonlyMap<number, ReadonlyMap<number, BeaconSeries>>;
  readonly names: Names;
  readonly groupCount: number;
  pairSrc(pair: number): number;
  pairDst(pair: number): number;
  /** The interface the pair was first seen on. */
  pairInterface(pair: number): number;
  groupPair(g: number): number;
  groupPort(g: number): number;
  groupBytes(g: number): number;
  groupPackets(g: number): number;
  groupFlows(g: number): number;
  groupSrcPorts(g: number): number;
  groupFirstStart(g: number): number;
}

const BEACON_SERIES_CAP = 256;

function grow<T extends Int32Array | Float64Array>(a: T, need: number): T {
  if (need < a.length) return a;
  const b = new (a.constructor as { new (n: number): T })(Math.max(a.length * 2, need + 1));
  b.set(a);
  return b;
}

/**
 * One pass over records into bounded aggregates: per-window maps keyed by source, pair and
 * port, with distinct-count sets capped just past each threshold.
 */
export class Aggregator implements RunAggregates {
  readonly windows = new Map<number, WindowAggregates>();
  /** pair id -> port -> start times of small web flows. */
  readonly beacons = new Map<number, Map<number, BeaconSeries>>();
  /** Groups not tracked because `maxGroups` was reached. */
  droppedGroups = 0;

  private readonly pairIndex = new Map<number, number>();
  private pSrc = new Int32Array(1 << 12);
  private pDst = new Int32Array(1 << 12);
  private pEni = new Int32Array(1 << 12);
  private pairCount = 0;

  /** port -> pair id -> group id. */
  private readonly groupIndex = new Map<number, Map<number, number>>();
  private gPair = new Int32Array(1 << 12);
  private gPort = new Int32Array(1 << 12);
  private gBytes = new Float64Array(1 << 12);
  private gPackets = new Float64Array(1 << 12);
  private gFlows = new Int32Array(1 << 12);
  private gFirst = new Float64Array(1 << 12);
  private gSrcPort = new Int32Array(1 << 12);
  private readonly gSrcPorts = new Map<number, CappedSet>();
  private groups = 0;

  private readonly sensitive: Set<number>;
  private readonly admin = new Set(ADMIN_PORTS);
  private readonly web = new Set(WEB_PORTS);
  private readonly unusual: Set<number>;
  private readonly allowed: Set<string>;
  /** Per address id: 0 unknown, 1 private, 2 public. */
  private privacy = new Uint8Array(1024);
  private lastWindow: WindowAggregates | undefined;

  constructor(
    private readonly t: DetectorThresholds,
    private readonly scanner: FlowScanner,
    private readonly stats: ParseStats,
    /** Bound on anomaly groups kept in memory. @default 2000000 */
    private readonly maxGroups = 2_000_000,
  ) {
    this.sensitive = new Set(t.sensitivePorts);
    this.unusual = new Set(t.unusualProtocols);
    this.allowed = new Set(t.allowedSources);
  }

  readonly names: Names = {
    address: (id) => this.scanner.addresses.get(id),
    interfaceId: (id) => (id < 0 ? undefined : this.scanner.interfaces.get(id)),
  };

  get groupCount(): number {
    return this.groups;
  }
  pairSrc(p: number): number {
    return this.pSrc[p]!;
  }
  pairDst(p: number): number {
    return this.pDst[p]!;
  }
  pairInterface(p: number): number {
    return this.pEni[p]!;
  }
  groupPair(g: number): number {
    return this.gPair[g]!;
  }
  groupPort(g: number): number {
    return this.gPort[g]!;
  }
  groupBytes(g: number): number {
    return this.gBytes[g]!;
  }
  groupPackets(g: number): number {
    return this.gPackets[g]!;
  }
  groupFlows(g: number): number {
    return this.gFlows[g]!;
  }
  groupSrcPorts(g: number): number {
    return this.gSrcPorts.get(g)?.size ?? (this.gSrcPort[g]! >= 0 ? 1 : 0);
  }
  groupFirstStart(g: number): number {
    return this.gFirst[g]!;
  }

  private isPrivateId(id: number): boolean {
    if (id >= this.privacy.length) {
      const bigger = new Uint8Array(Math.max(this.privacy.length * 2, id + 1));
      bigger.set(this.privacy);
      this.privacy = bigger;
    }
    let p = this.privacy[id]!;
    if (p === 0) {
      p = isPrivate(this.scanner.addresses.get(id)) ? 1 : 2;
      this.privacy[id] = p;
    }
    return p === 1;
  }

  private window(start: number): WindowAggregates {
    const w = Math.floor(start / this.t.windowSeconds) * this.t.windowSeconds;
    const last = this.lastWindow;
    if (last && last.start === w) return last;
    let agg = this.windows.get(w);
    if (!agg) {
      agg = { start: w, end: w + this.t.windowSeconds, sources: new Map(), pairPorts: new Map(), egress: new Map(), sweeps: new Map(), bruteForce: new Map(), protocols: new Map() };
      this.windows.set(w, agg);
    }
    this.lastWindow = agg;
    return agg;
  }

  private pairId(src: number, dst: number, eni: number): number {
    const key = src * ADDRESS_ID_LIMIT + dst;
    let id = this.pairIndex.get(key);
    if (id === undefined) {
      id = this.pairCount++;
      this.pSrc = grow(this.pSrc, id);
      this.pDst = grow(this.pDst, id);
      this.pEni = grow(this.pEni, id);
      this.pSrc[id] = src;
      this.pDst[id] = dst;
      this.pEni[id] = eni;
      this.pairIndex.set(key, id);
    }
    return id;
  }

  private group(pair: number, port: number, start: number): number {
    let byPair = this.groupIndex.get(port);
    if (!byPair) {
      byPair = new Map();
      this.groupIndex.set(port, byPair);
    }
    let g = byPair.get(pair);
    if (g === undefined) {
      if (this.groups >= this.maxGroups) return -1;
      g = this.groups++;
      if (g >= this.gPair.length) {
        this.gPair = grow(this.gPair, g);
        this.gPort = grow(this.gPort, g);
        this.gBytes = grow(this.gBytes, g);
        this.gPackets = grow(this.gPackets, g);
        this.gFlows = grow(this.gFlows, g);
        this.gFirst = grow(this.gFirst, g);
        this.gSrcPort = grow(this.gSrcPort, g);
      }
      this.gPair[g] = pair;
      this.gPort[g] = port;
      this.gFirst[g] = start;
      this.gSrcPort[g] = -1;
      byPair.set(pair, g);
    }
    return g;
  }

  /** Adds the record the scanner holds. */
  add(): void {
    const sc = this.scanner;
    const addr = sc.addr;
    const src = addr[2]! >= 0 ? addr[2]! : addr[0]!;
    const dst = addr[3]! >= 0 ? addr[3]! : addr[1]!;
    if (src < 0 || dst < 0) return;
    if (src >= ADDRESS_ID_LIMIT || dst >= ADDRESS_ID_LIMIT || this.pairCount >= PAIR_ID_LIMIT) {
      // More distinct addresses than the aggregates are sized for: counted, never silent.
      this.stats.analysed--;
      countSkip(this.stats, "address-limit");
      return;
    }
    if (this.allowed.size > 0 && this.allowed.has(sc.addresses.get(src))) return;
    const t = this.t;
    const num = sc.num;
    const start = num[5]! < 0 ? 0 : num[5]!;
    const w = this.window(start);
    const eni = sc.interfaceId;
    const rejected = sc.action === ACTION_REJECT;
    const packets = num[3]! < 0 ? 0 : num[3]!;
    const bytes = num[4]! < 0 ? 0 : num[4]!;
    const srcport = num[0]!;
    const dport = num[1]!;
    const protocol = num[2]!;
    const tcpFlags = num[7]!;
    const pair = this.pairId(src, dst, eni);

    let s = w.sources.get(src);
    if (!s) {
      s = { src, interfaceId: eni, flows: 0, rejected: 0, c2Flows: 0, c2Bytes: 0 };
      w.sources.set(src, s);
    }
    s.flows++;
    if (rejected) s.rejected++;

    const srcPrivate = this.isPrivateId(src);
    const dstPrivate = this.isPrivateId(dst);
    if (srcPrivate && !dstPrivate && !rejected && sc.direction !== DIRECTION_INGRESS) w.egress.set(pair, (w.egress.get(pair) ?? 0) + bytes);

    if (protocol >= 0 && this.unusual.has(protocol)) {
      let byPair = w.protocols.get(protocol);
      if (!byPair) {
        byPair = new Map();
        w.protocols.set(protocol, byPair);
      }
      let pr = byPair.get(pair);
      if (!pr) {
        pr = { pair, protocol, flows: 0, bytes: 0 };
        byPair.set(pair, pr);
      }
      pr.flows++;
      pr.bytes += bytes;
    }

    if (dport < 0 || isResponse(srcport < 0 ? undefined : srcport, dport, tcpFlags < 0 ? undefined : tcpFlags)) return;

    const seen = w.pairPorts.get(pair);
    if (seen === undefined) w.pairPorts.set(pair, dport);
    else if (typeof seen === "number") {
      if (seen !== dport) {
        const set = new CappedSet(t.portScanPortsPerHost);
        set.add(seen);
        set.add(dport);
        w.pairPorts.set(pair, set);
      }
    } else seen.add(dport);
    (s.ports ??= new CappedSet(t.portScanPortsAcrossHosts)).add(dport);
    if (this.sensitive.has(dport)) (s.sensitive ??= new CappedSet(t.sensitivePortsProbed)).add(dport);

    let bySrc = w.sweeps.get(dport);
    if (!bySrc) {
      bySrc = new Map();
      w.sweeps.set(dport, bySrc);
    }
    let sw = bySrc.get(src);
    if (!sw) {
      sw = { src, port: dport, interfaceId: eni, hosts: new CappedSet(t.portSweepHosts), flows: 0, probes: 0 };
      bySrc.set(src, sw);
    }
    sw.hosts.add(dst);
    sw.flows++;
    if (rejected || packets <= 3) sw.probes++;

    if ((dport === 22 || dport === 3389) && protocol !== 17) {
      const synOnly = tcpFlags === 2;
      if (synOnly || packets <= t.bruteForceMaxPackets) {
        const key = pair * 2 + (dport === 22 ? 0 : 1);
        let bf = w.bruteForce.get(key);
        if (!bf) {
          bf = { pair, port: dport, attempts: 0, synOnly: 0 };
          w.bruteForce.set(key, bf);
        }
        bf.attempts++;
        if (synOnly) bf.synOnly++;
      }
    }
    if (!rejected && srcPrivate) {
      if (dstPrivate) {
        if (this.admin.has(dport)) {
          (s.lateralHosts ??= new CappedSet(t.lateralHosts)).add(dst);
          (s.lateralPorts ??= new CappedSet(ADMIN_PORTS.length)).add(dport);
        }
      } else if (this.web.has(dport) && bytes <= t.c2MaxAverageBytes * 4) {
        (s.c2Destinations ??= new CappedSet(t.c2Destinations)).add(dst);
        s.c2Flows++;
        s.c2Bytes += bytes;
        let byPort = this.beacons.get(pair);
        if (!byPort) {
          byPort = new Map();
          this.beacons.set(pair, byPort);
        }
        let b = byPort.get(dport);
        if (!b) {
          b = { pair, port: dport, starts: [] };
          byPort.set(dport, b);
        }
        if (b.starts.length < BEACON_SERIES_CAP && num[5]! >= 0) b.starts.push(num[5]!);
      }
    }

    const g = this.group(pair, dport, start);
    if (g < 0) {
      this.droppedGroups++;
      return;
    }
    this.gBytes[g] += bytes;
    this.gPackets[g] += packets;
    this.gFlows[g]++;
    if (srcport >= 0) {
      const first = this.gSrcPort[g]!;
      if (first === -1) this.gSrcPort[g] = srcport;
      else if (first !== srcport) {
        let set = this.gSrcPorts.get(g);
        if (!set) {
          set = new CappedSet(1024);
          set.add(first);
          this.gSrcPorts.set(g, set);
        }
        set.add(srcport);
      }
    }
  }
}
