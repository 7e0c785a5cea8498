import { ACTION_REJECT, DIRECTION_INGRESS, FlowScanner } from "../flowlog/scanner";
import { countSkip, ParseStats } from "../flowlog/stats";
import { CappedSet } from "./capped-set";
import { Column, IntPairIndex } from "./int-table";
import { isPrivate, isResponse } from "./net";
import { ADMIN_PORTS, DetectorThresholds, WEB_PORTS } from "./thresholds";

/*
 * Layout for speed and bounded memory. Addresses and interfaces are interned by the scanner.
 * Every aggregate is a row in a table: an IntPairIndex maps its key (two integers) to a dense
 * row id, and its counters are typed-array columns. No object and no boxed key is created per
 * record; a distinct-count set is created only for a row that sees a second distinct member.
 */
const i32 = (fill = 0) => new Column((n) => new Int32Array(n), fill);
const f64 = () => new Column((n) => new Float64Array(n));
const grown = <T>(list: (T | undefined)[], i: number) => {
  while (list.length <= i) list.push(undefined);
  return list;
};

/** Rows of a table: an index from keys to row ids, and columns that grow together. */
abstract class Table {
  readonly index = new IntPairIndex();
  private capacity = 1 << 12;

  /** Columns to grow as rows are added. */
  protected abstract columns(): Column<Int32Array | Float64Array>[];

  /** The row of (a, b), creating it (and room for it in every column) when new. */
  row(a: number, b: number): number {
    const r = this.index.intern(a, b);
    if (r >= this.capacity) {
      this.capacity *= 2;
      for (const c of this.columns()) c.ensure(this.capacity - 1);
    }
    return r;
  }

  get size(): number {
    return this.index.size;
  }
}

/**
 * Adds `value` to a row's distinct members: the first lives in a column, a set (capped at
 * `cap`) is created only when a second distinct member arrives.
 */
function addDistinct(first: Column<Int32Array>, sets: (CappedSet | undefined)[], row: number, value: number, cap: number): void {
  const seen = first.data[row]!;
  if (seen === -1) {
    first.data[row] = value;
    return;
  }
  if (seen === value) return;
  let set = grown(sets, row)[row];
  if (!set) {
    set = new CappedSet(cap);
    set.add(seen);
    sets[row] = set;
  }
  set.add(value);
}

/** (source, destination) pairs over the whole run. */
export class PairTable extends Table {
  readonly src = i32();
  readonly dst = i32();
  /** The interface the pair was first seen on. */
  readonly iface = i32();

  protected columns() {
    return [this.src, this.dst, this.iface];
  }
}

/** Per source and window. */
export class SourceWindowTable extends Table {
  readonly src = i32();
  readonly window = i32();
  readonly iface = i32();
  readonly flows = i32();
  readonly rejected = i32();
  readonly c2Flows = i32();
  readonly c2Bytes = f64();
  /** Destination ports probed (not responses), across hosts. */
  readonly ports: (CappedSet | undefined)[] = [];
  readonly sensitive: (CappedSet | undefined)[] = [];
  /** External web destinations reached with small flows. */
  readonly c2Destinations: (CappedSet | undefined)[] = [];
  /** Internal hosts reached on admin ports (accepted), and the ports used. */
  readonly lateralHosts: (CappedSet | undefined)[] = [];
  readonly lateralPorts: (CappedSet | undefined)[] = [];

  protected columns() {
    return [this.src, this.window, this.iface, this.flows, this.rejected, this.c2Flows, this.c2Bytes];
  }
}

/** Per pair and window. */
export class PairWindowTable extends Table {
  readonly pair = i32();
  readonly window = i32();
  /** The first destination port probed; a set holds them from the second distinct one. */
  readonly firstPort = i32(-1);
  readonly portSets: (CappedSet | undefined)[] = [];
  /** Bytes from an internal source to an external destination. */
  readonly egress = f64();

  portCount(row: number): number {
    return this.portSets[row]?.size ?? (this.firstPort.data[row]! >= 0 ? 1 : 0);
  }

  protected columns() {
    return [this.pair, this.window, this.firstPort, this.egress];
  }
}

/** Per source, destination port and window: the hosts probed on that port. */
export class SweepTable extends Table {
  readonly src = i32();
  readonly port = i32();
  readonly window = i32();
  readonly iface = i32();
  readonly firstHost = i32(-1);
  readonly hostSets: (CappedSet | undefined)[] = [];
  readonly flows = i32();
  /** Rejected or probe-sized (at most 3 packets) flows. */
  readonly probes = i32();

  hostCount(row: number): number {
    return this.hostSets[row]?.size ?? (this.firstHost.data[row]! >= 0 ? 1 : 0);
  }

  protected columns() {
    return [this.src, this.port, this.window, this.iface, this.firstHost, this.flows, this.probes];
  }
}

/** Per pair and destination port over the whole run: the anomaly features. */
export class GroupTable extends Table {
  readonly pair = i32();
  readonly port = i32();
  readonly flows = i32();
  readonly bytes = f64();
  readonly packets = f64();
  readonly firstStart = f64();
  /**
   * Source ports as a 64-bit linear-counting sketch (two 32-bit words): an anomaly feature
   * needs the spread's order of magnitude, not an exact count, and a sketch costs no allocation.
   */
  readonly srcPortBitsLo = i32();
  readonly srcPortBitsHi = i32();

  /** Estimated distinct source ports: 64 ln(64 / empty bits), exact enough below about 40. */
  srcPortCount(row: number): number {
    const set = popcount(this.srcPortBitsLo.data[row]!) + popcount(this.srcPortBitsHi.data[row]!);
    if (set === 0) return 0;
    if (set === 64) return 64 * Math.log(64);
    return Math.round(64 * Math.log(64 / (64 - set)));
  }

  protected columns() {
    return [this.pair, this.port, this.flows, this.bytes, this.packets, this.firstStart, this.srcPortBitsLo, this.srcPortBitsHi];
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Short SSH/RDP connections per pair, port and window (few rows: only ports 22 and 3389). */
export interface BruteForceRow {
  readonly pair: number;
  readonly port: number;
  readonly window: number;
  attempts: number;
  synOnly: number;
}

/** Unusual-protocol flows per pair, protocol and window (few rows). */
export interface ProtocolRow {
  readonly pair: number;
  readonly protocol: number;
  readonly window: number;
  flows: number;
  bytes: number;
}

/** Start times of small web flows from an internal source to one external destination and port. */
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

/** Everything the rules read. */
export interface RunAggregates {
  readonly names: Names;
  readonly windowSeconds: number;
  /** Start (Unix seconds) of a window id. */
  windowStart(window: number): number;
  readonly pairs: PairTable;
  readonly sources: SourceWindowTable;
  readonly pairWindows: PairWindowTable;
  readonly sweeps: SweepTable;
  readonly groups: GroupTable;
  readonly bruteForce: ReadonlyMap<number, BruteForceRow>;
  readonly protocols: ReadonlyMap<string, ProtocolRow>;
  readonly beacons: ReadonlyMap<string, BeaconSeries>;
}

const BEACON_SERIES_CAP = 256;

/** Address ids and window ids stay below these so that packed keys stay within 31 bits. */
const WINDOW_LIMIT = 1 << 14;

/**
 * One pass over records into bounded aggregates keyed by source, pair, port and window, with
 * distinct-count sets capped just past each threshold.
 */
export class Aggregator implements RunAggregates {
  readonly pairs = new PairTable();
  readonly sources = new SourceWindowTable();
  readonly pairWindows = new PairWindowTable();
  readonly sweeps = new SweepTable();
  readonly groups = new GroupTable();
  readonly bruteForce = new Map<number, BruteForceRow>();
  readonly protocols = new Map<string, ProtocolRow>();
  readonly beacons = new Map<string, BeaconSeries>();
  /** Groups not tracked because `maxGroups` was reached. */
  droppedGroups = 0;
  readonly windowSeconds: number;

  private readonly windowIds = new Map<number, number>();
  private readonly windowStarts: number[] = [];
  private lastWindowStart = NaN;
  private lastWindowId = -1;
  private readonly sensitive: Set<number>;
  private readonly admin = new Set(ADMIN_PORTS);
  private readonly web = new Set(WEB_PORTS);
  private readonly unusual: Set<number>;
  private readonly allowed: Set<string>;
  /** Per address id: 0 unknown, 1 private, 2 public. */
  private privacy = new Uint8Array(1024);

  constructor(
    private readonly t: DetectorThresholds,
    private readonly scanner: FlowScanner,
    private readonly stats: ParseStats,
    /** Bound on anomaly groups kept in memory. @default 4000000 */
    private readonly maxGroups = 4_000_000,
  ) {
    this.windowSeconds = t.windowSeconds;
    this.sensitive = new Set(t.sensitivePorts);
    this.unusual = new Set(t.unusualProtocols);
    this.allowed = new Set(t.allowedSources);
  }

  readonly names: Names = {
    address: (id) => this.scanner.addresses.get(id),
    interfaceId: (id) => (id < 0 ? undefined : this.scanner.interfaces.get(id)),
  };

  windowStart(window: number): number {
    return this.windowStarts[window]!;
  }

  private windowId(start: number): number {
    const w = start - (start % this.windowSeconds);
    if (w === this.lastWindowStart) return this.lastWindowId;
    let id = this.windowIds.get(w);
    if (id === undefined) {
      id = this.windowStarts.length;
      this.windowStarts.push(w);
      this.windowIds.set(w, id);
    }
    this.lastWindowStart = w;
    this.lastWindowId = id;
    return id;
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

  /** Adds the record the scanner holds. */
  add(): void {
    const sc = this.scanner;
    const addr = sc.addr;
    const src = addr[2]! >= 0 ? addr[2]! : addr[0]!;
    const dst = addr[3]! >= 0 ? addr[3]! : addr[1]!;
    if (src < 0 || dst < 0) return;
    if (this.allowed.size > 0 && this.allowed.has(sc.addresses.get(src))) return;
    const t = this.t;
    const num = sc.num;
    const start = num[5]! < 0 ? 0 : num[5]!;
    const win = this.windowId(start);
    if (win >= WINDOW_LIMIT) {
      // More distinct windows than one run is sized for (over 56 days at 5 minutes): counted, never silent.
      this.stats.analysed--;
      countSkip(this.stats, "window-limit");
      return;
    }
    const eni = sc.interfaceId;
    const rejected = sc.action === ACTION_REJECT;
    const packets = num[3]! < 0 ? 0 : num[3]!;
    const bytes = num[4]! < 0 ? 0 : num[4]!;
    const srcport = num[0]!;
    const dport = num[1]!;
    const protocol = num[2]!;
    const tcpFlags = num[7]!;

    const pt = this.pairs;
    const pair = pt.row(src, dst);
    if (pt.index.isNew) {
      pt.src.data[pair] = src;
      pt.dst.data[pair] = dst;
      pt.iface.data[pair] = eni;
    }

    const st = this.sources;
    const s = st.row(src, win);
    if (st.index.isNew) {
      st.src.data[s] = src;
      st.window.data[s] = win;
      st.iface.data[s] = eni;
    }
    st.flows.data[s]++;
    if (rejected) st.rejected.data[s]++;

    const srcPrivate = this.isPrivateId(src);
    const dstPrivate = this.isPrivateId(dst);
    const pw = this.pairWindows;
    const egress = srcPrivate && !dstPrivate && !rejected && sc.direction !== DIRECTION_INGRESS;
    const response = dport < 0 || isResponse(srcport < 0 ? undefined : srcport, dport, tcpFlags < 0 ? undefined : tcpFlags);
    let p = -1;
    if (egress || !response) {
      p = pw.row(pair, win);
      if (pw.index.isNew) {
        pw.pair.data[p] = pair;
        pw.window.data[p] = win;
      }
      if (egress) pw.egress.data[p] += bytes;
    }

    if (protocol >= 0 && this.unusual.has(protocol)) {
      const key = `${pair}|${protocol}|${win}`;
      let pr = this.protocols.get(key);
      if (!pr) {
        pr = { pair, protocol, window: win, flows: 0, bytes: 0 };
        this.protocols.set(key, pr);
      }
      pr.flows++;
      pr.bytes += bytes;
    }

    if (response) return;

    addDistinct(pw.firstPort, pw.portSets, p, dport, t.portScanPortsPerHost);
    ((grown(st.ports, s)[s] ??= new CappedSet(t.portScanPortsAcrossHosts))).add(dport);
    if (this.sensitive.has(dport)) (grown(st.sensitive, s)[s] ??= new CappedSet(t.sensitivePortsProbed)).add(dport);

    const sw = this.sweeps;
    const w = sw.row(src, win * 65536 + dport);
    if (sw.index.isNew) {
      sw.src.data[w] = src;
      sw.port.data[w] = dport;
      sw.window.data[w] = win;
      sw.iface.data[w] = eni;
    }
    addDistinct(sw.firstHost, sw.hostSets, w, dst, t.portSweepHosts);
    sw.flows.data[w]++;
    if (rejected || packets <= 3) sw.probes.data[w]++;

    if ((dport === 22 || dport === 3389) && protocol !== 17) {
      const synOnly = tcpFlags === 2;
      if (synOnly || packets <= t.bruteForceMaxPackets) {
        const key = p * 2 + (dport === 22 ? 0 : 1);
        let bf = this.bruteForce.get(key);
        if (!bf) {
          bf = { pair, port: dport, window: win, attempts: 0, synOnly: 0 };
          this.bruteForce.set(key, bf);
        }
        bf.attempts++;
        if (synOnly) bf.synOnly++;
      }
    }
    if (!rejected && srcPrivate) {
      if (dstPrivate) {
        if (this.admin.has(dport)) {
          (grown(st.lateralHosts, s)[s] ??= new CappedSet(t.lateralHosts)).add(dst);
          (grown(st.lateralPorts, s)[s] ??= new CappedSet(ADMIN_PORTS.length)).add(dport);
        }
      } else if (this.web.has(dport) && bytes <= t.c2MaxAverageBytes * 4) {
        (grown(st.c2Destinations, s)[s] ??= new CappedSet(t.c2Destinations)).add(dst);
        st.c2Flows.data[s]++;
        st.c2Bytes.data[s] += bytes;
        const key = `${pair}|${dport}`;
        let b = this.beacons.get(key);
        if (!b) {
          b = { pair, port: dport, starts: [] };
          this.beacons.set(key, b);
        }
        if (b.starts.length < BEACON_SERIES_CAP && num[5]! >= 0) b.starts.push(num[5]!);
      }
    }

    const gt = this.groups;
    if (gt.index.size >= this.maxGroups && gt.index.get(pair, dport) === -1) {
      this.droppedGroups++;
      return;
    }
    const g = gt.row(pair, dport);
    if (gt.index.isNew) {
      gt.pair.data[g] = pair;
      gt.port.data[g] = dport;
      gt.firstStart.data[g] = start;
    }
    gt.bytes.data[g] += bytes;
    gt.packets.data[g] += packets;
    gt.flows.data[g]++;
    if (srcport >= 0) {
      const bit = Math.imul(srcport, 0x9e3779b1) >>> 26;
      if (bit < 32) gt.srcPortBitsLo.data[g] |= 1 << bit;
      else gt.srcPortBitsHi.data[g] |= 1 << (bit - 32);
    }
  }
}
