import { FlowScanner, LOST_FIRST } from "../flowlog/scanner";
import { countSkip, newStats, ParseStats, SkipReason } from "../flowlog/stats";
import { AddressContext } from "./context";
import { PartitionedRows, RowTable, Rows } from "../flowlog/row-table";
import { ADMIN_PORTS, DetectorThresholds, WEB_PORTS } from "./thresholds";
import { DetectorWasm, IngestCounts } from "./wasm";
import { DetectorError } from "./errors";

/*
 * One pass over records into rows of a few hash tables (RowTable's layout: keys and counters in
 * one slot), built by the detector's WebAssembly module (assembly/aggregate.ts) and read in
 * place by the rules. Addresses and interfaces arrive interned by the scanner. Distinct counts need no sets:
 * a (source, destination, window) row remembers the first port it saw, and a (source,
 * destination, port, window) row is made only for the others, so "first time in this window"
 * for that triple is one lookup, and that one event is a new port for the pair in the window, a
 * new host for the source's port in the window, and (through the sweep row) a new port for the
 * source in the window. Counts are exact.
 *
 * Streaming: every row belongs to a window of the short horizon (windowSeconds) or of the long
 * one (long.windowSeconds), to a beacon series, or to an internal host. Once the input's time
 * (the largest window start seen, the watermark) has passed a window's end by AWS's delivery
 * lateness, and no record has reached the window since the last check, the window is closed:
 * the rules run on its rows (`onClose`) and the rows are released. Memory follows the open
 * windows, not the input.
 *
 * Records far out of order (files given in random order) are never skipped: a record for a
 * closed window reopens it (its rows start again from that record), it closes again at the
 * next check once idle, and the rules run on it again; the engine merges findings of the same
 * rule, key and window by their deterministic id. A window still receiving records is never
 * closed, so a file read after a later one (its windows all past the watermark) is analysed
 * window by window as a sorted file is, and records of one hour shuffled keep that hour's
 * windows open until the hour has been read.
 *
 * Layouts: word offsets within a slot. Words 0-2 are the keys; doubles sit at even offsets.
 */

/**
 * How long after a window's end its records may still arrive: flow logs aggregate flows for up
 * to 10 minutes before a record is written, and then take minutes more to be published (about
 * 5 minutes to CloudWatch Logs, 10 to S3), so records reach a reader up to about 15 minutes out
 * of order.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html#flow-logs-aggregration-interval
 */
export const DELIVERY_LATENESS_SECONDS = 900;

/** (source, destination, window). PORT0 is the first destination port seen + 1 (see above). */
export const PW = { SRC: 0, DST: 1, WINDOW: 2, PORTS: 3, IFACE: 4, FLAGS: 5, EGRESS: 6, PORT0: 8, STRIDE: 10 } as const;
// PW.FLAGS bits: 1, the destination already counted as a lateral-movement host; 2, as a C2 destination of its source; 4, as an unapproved DNS resolver.

/** (source, window, 0). */
export const SRC = {
  SRC: 0, WINDOW: 1, FLOWS: 3, REJECTED: 4, IFACE: 5,
  /** Distinct destination ports probed (not responses), across hosts. */
  PORTS: 6,
  /** Distinct sensitive ports among them. */
  SENSITIVE: 7,
  /** Distinct internal hosts reached on admin ports (accepted, internal to internal). */
  LATERAL_HOSTS: 8,
  /** Bit i: ADMIN_PORTS[i] used for those. */
  LATERAL_PORTS: 9,
  /** Distinct external web destinations reached with small flows, those flows and their bytes. */
  C2_DESTINATIONS: 10, C2_FLOWS: 11, C2_BYTES: 12,
  /** DNS flows (53, 853) to resolvers that are not approved, the distinct resolvers, and the first one + 1. */
  DNS_FLOWS: 14, DNS_SERVERS: 15, DNS_DST: 22,
  /** Accepted flows to external mining-pool ports, and the first destination + 1 and its port. */
  MINING_FLOWS: 16, MINING_PORT: 17, MINING_DST: 18,
  /** Flows (not responses) to external addresses and their packets (outbound-flood; never a NAT gateway's). */
  OUT_FLOWS: 19, OUT_PACKETS: 20,
  STRIDE: 24,
} as const;

/** (source, destination port, window): the hosts probed on that port. */
export const SWEEP = { SRC: 0, PORT: 1, WINDOW: 2, FLOWS: 3, PROBES: 4, HOSTS: 5, IFACE: 6, STRIDE: 8 } as const;

/** (source, destination, window << 16 | port): short connections to a brute-force port. */
export const BRUTE = { SRC: 0, DST: 1, KEY: 2, ATTEMPTS: 3, SYN_ONLY: 4, IFACE: 5, STRIDE: 6 } as const;

/** (source, destination, window * 256 + protocol): unusual-protocol flows. */
export const PROTO = { SRC: 0, DST: 1, KEY: 2, FLOWS: 3, IFACE: 4, BYTES: 6, STRIDE: 8 } as const;

/** (host, port, long window): distinct peer ports (up to 3) the host has answered from that port; a listener once they reach listenerPeers. Learned again each long window. */
export const LISTEN = { HOST: 0, PORT: 1, WINDOW: 2, PEERS: 3, STRIDE: 8 } as const;

/**
 * (internal destination, window, 0), one table for every source: all flows and packets to the
 * host (inbound-flood), and the distinct sources that probed it and the distinct ports they
 * probed together (distributed-scan; a shared (destination, port, window) table finds new ports).
 */
export const DST = { DST: 0, WINDOW: 1, FLOWS: 3, SOURCES: 4, PORTS: 5, IFACE: 6, PACKETS: 8, STRIDE: 10 } as const;

/** (source, destination, window): flows with an end on a threat list, those accepted, and bytes. */
export const INTEL = { SRC: 0, DST: 1, WINDOW: 2, FLOWS: 3, ACCEPTED: 4, IFACE: 5, BYTES: 6, STRIDE: 8 } as const;

/**
 * (attachment id + 1, window, 0): packets a transit gateway dropped (packets-lost-* fields), by
 * reason, and the records that lost any. The attachment is the record's tgw-attachment-id (the
 * scanner's interface id; 0 when the format lacks it). Only records with a loss make a row.
 */
export const LOSS = { ATTACHMENT: 0, WINDOW: 1, FLOWS: 3, NO_ROUTE: 4, BLACKHOLE: 6, MTU_EXCEEDED: 8, TTL_EXPIRED: 10, STRIDE: 12 } as const;

/**
 * (internal source, external destination, port): a beacon series of small web flows. FLOWS
 * counts every point; the first POINTS starts (unsigned seconds) are kept, and LAST is the
 * latest start. A series is released once idle for a long window past the delivery lateness,
 * so a beacon is judged whole whatever window boundaries it crosses.
 */
export const BEACON = { SRC: 0, DST: 1, PORT: 2, IFACE: 3, FLOWS: 4, LAST: 5, STARTS: 6, POINTS: 16, STRIDE: 22 } as const;

/**
 * (internal host, 0, 0) over the whole run, one table for every part: the anomaly rule's
 * features, bounded by the number of internal hosts. Flows and bytes as source (OUT) and as
 * destination (IN), rejected flows either way, and three HyperLogLog sketches of 32 one-byte
 * registers (8 words each): distinct peers, distinct ports it probed (OUT_PORTS) and distinct
 * ports of its own that were probed (IN_PORTS), responses left out of both.
 */
export const HOST = { HOST: 0, OUT_FLOWS: 3, IN_FLOWS: 4, REJECTED: 5, IFACE: 6, OUT_BYTES: 8, IN_BYTES: 10, PEERS: 12, OUT_PORTS: 20, IN_PORTS: 28, STRIDE: 36 } as const;

/** Tables of each part in the WebAssembly module (assembly/aggregate.ts), by index; L marks the long horizon. */
const TABLE = { PAIRS: 0, SOURCES: 1, SWEEPS: 2, SEEN: 3, BRUTE: 4, PROTOCOLS: 5, LPAIRS: 6, LISTEN: 7, INTEL: 8, LSOURCES: 9, LSWEEPS: 10, LBRUTE: 11, LSEEN: 12, BEACON: 13 } as const;
/** The shared tables (part PARTS): destinations, destination ports, hosts. */
const SHARED = { DESTINATIONS: 0, HOSTS: 2 } as const;

/** Start times of small web flows from an internal source to one external destination and port. */
export interface BeaconSeries {
  readonly src: number;
  readonly dst: number;
  readonly port: number;
  readonly iface: number;
  /** Every point of the series, including those past the starts kept. */
  readonly flows: number;
  /** The first BEACON.POINTS starts, in the order read. */
  readonly starts: number[];
}

/** Turns ids back into names for findings. */
export interface Names {
  address(id: number): string;
  /** undefined for -1 (absent). */
  interfaceId(id: number): string | undefined;
}

/** Which horizon a view's windows belong to, and their length. */
export interface Horizon {
  readonly name: "short" | "long";
  readonly seconds: number;
}

/** What the rules read: one horizon's closed windows, or (for the run-wide rules) the whole run. */
export interface RunAggregates {
  readonly names: Names;
  readonly horizon: Horizon;
  /** The horizon's window length, seconds. */
  readonly windowSeconds: number;
  /** Start (Unix seconds) of a window id of this horizon. */
  windowStart(window: number): number;
  readonly pairWindows: Rows;
  readonly sources: Rows;
  readonly sweeps: Rows;
  readonly bruteForce: Rows;
  readonly protocols: Rows;
  readonly intel: Rows;
  readonly destinations: Rows;
  /** Internal hosts over the whole run (HOST): the anomaly rule's rows. */
  readonly hosts: Rows;
  /** The address context (inside, NAT, load balancers, resolvers, threat lists). */
  readonly context: AddressContext;
  /** SKIPDATA records read: capture windows whose records AWS skipped. */
  readonly skipdata: number;
  /** Start of the first and last short window seen (undefined before any record). */
  readonly span: { readonly first: number; readonly last: number } | undefined;
  /** Transit-gateway drops per attachment and window (LOSS). */
  readonly packetLoss: Rows;
  /** Beacon series released (or, at the end, every one left) with at least beaconMinFlows points. */
  readonly beacons: readonly BeaconSeries[];
  /** Set when the row budget ran out: the rows held, the records read but not analysed since, and the span of the windows seen. */
  readonly saturation: { readonly rows: number; readonly notAnalysed: number; readonly firstWindowStart: number; readonly lastWindowStart: number } | undefined;
}

/**
 * Records a parsing worker read, as `Aggregator.ship` hands them on and `Aggregator.receive`
 * takes them: the records (REC words each, part after part), how many of each part, the names
 * behind the address and interface ids given out since the last batch and the starts of the
 * new windows (all in id order), the transit-gateway drops of these records (LOSS_ENTRY numbers
 * each, place within its part's records here) and what was read since the last batch.
 */
export interface RecordBatch {
  readonly records: Int32Array;
  readonly counts: Int32Array;
  readonly addresses: readonly string[];
  readonly interfaces: readonly string[];
  readonly windows: readonly number[];
  readonly loss: readonly number[];
  readonly read: number;
  readonly analysed: number;
  readonly skipped: Partial<Record<SkipReason, number>>;
}

/** Numbers per entry of `Aggregator.pendingLoss`. */
const LOSS_ENTRY = 8;

/** Most rows one record can add: one in each of a part's fourteen tables and one in each of the three shared tables (two hosts rows). */
const MAX_NEW_ROWS = 18;

/**
 * Records a window must go without (at least; and at least an eighth of the records it holds
 * per short window: a long window of 12 short ones, a ninety-sixth) before it counts as idle
 * and may close: a window still being filled, by a file read late or
 * by input shuffled over an hour, is not closed under it (a window with a twelfth of an hour's
 * records, shuffled, goes 4,096 records untouched with odds below e^-300). A window holding
 * one record in a thousand may: it is then reopened, judged again, and its findings merged by
 * id. Sorted input passes a window by far more.
 */
const IDLE_RECORDS = 4096;

/** Short windows ready to close before a check closes them (see `Aggregator.close`). */
const CLOSE_BATCH = 2;

/** Window ids (of each horizon) stay below this so that packed keys stay within 31 bits. */
const WINDOW_LIMIT = 1 << 14;
/** The open windows' list's ends (see `Aggregator.next`): the slot past every window id. */
const OPEN_HEAD = 2 * WINDOW_LIMIT;

/**
 * Every table is split by source into this many parts (source id mod PARTS), and records wait
 * in a buffer per part; see `Aggregator.flush`. The WebAssembly module has the same 64.
 */
const PARTS = 64;
/** Records a part's buffer holds before every buffer is aggregated (1 MiB each, 64 MiB in all). */
const PART_RECORDS = 16384;
/** The most records a part's buffer may hold: 512 MiB of buffers in all (the module allocates at most 1 GiB at once). */
const MAX_PART_RECORDS = 1 << 17;
/** 32-bit words per buffered record: ten integers, then three doubles (at even words, so aligned). assembly/ingest.ts writes the same layout. */
const REC = 16;
// Their offsets: integer words, then double indexes relative to the record's first double.
const R_SRC = 0, R_DST = 1, R_IFACE = 2, R_WIN = 3, R_ACTION = 4, R_DIRECTION = 5, R_SRCPORT = 6, R_DSTPORT = 7, R_PROTOCOL = 8, R_FLAGS = 9;
/**
 * R_DIRECTION's word holds flow-direction's code (0 absent, 1 ingress, 2 egress) in its low
 * byte and, above it, FlowScanner's awsService bits: bit 8 the source is an AWS service's
 * address, bit 9 the destination is. Packed there, not in a word of their own, because the
 * record's sixteen words are all taken (a wider record would cost every format a quarter more
 * buffer traffic for two bits that only version-5 formats log).
 */
const R_AWS_SERVICE_SHIFT = 8;
const D_PACKETS = 5, D_BYTES = 6, D_START = 7;
/** Ports, protocols and tcp-flags past 2^31 - 1 (never valid) are kept as 2^31 - 1. */
const int = (v: number) => (v > 0x7fffffff ? 0x7fffffff : v);

/** Per address id: bit 0 known, bit 1 inside, bit 2 an allowed source, then the context's flags (context.ts). */
const KNOWN = 1;
const ALLOWED = 4;

/** Per port, for the aggregation: bit 0 sensitive, bit 1 web, bits 3-5 ADMIN_PORTS index + 1, bit 6 a brute-force port, bit 7 a mining-pool port. */
function portFlags(t: DetectorThresholds): Uint8Array {
  const out = new Uint8Array(65536);
  const set = (ports: readonly number[], bits: (i: number) => number) => ports.forEach((p, i) => p >= 0 && p < 65536 && (out[p] |= bits(i)));
  set(t.sensitivePorts, () => 1);
  set(WEB_PORTS, () => 2);
  set(ADMIN_PORTS, (i) => (i + 1) << 3);
  set(t.bruteForcePorts, () => 64);
  set(t.miningPorts, () => 128);
  return out;
}

/** FNV-1a of an address's text: the host sketches hash addresses by what they are, so that they do not depend on the input's order. */
function textHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The windows a check closed, as views the rules read; handed to `Aggregator.onClose`. The long
 * view is read first (in place, before the rows are dropped), the short one after (its rows
 * moved out of the tables).
 */
export interface ClosedWindows {
  readonly long: RunAggregates;
  readonly short: RunAggregates;
}

/** What the engine does with closed windows: each horizon's view is valid during its call only, the long one first. */
export interface WindowJudge {
  long(view: RunAggregates): void;
  short(view: RunAggregates): void;
}

/** The window of a row of some table: where its key keeps it. */
type WindowOf = (i32: Int32Array, base: number) => number;
const keyB: WindowOf = (i32, b) => i32[b + 1]!;
const keyC: WindowOf = (i32, b) => i32[b + 2]!;
const bruteKey: WindowOf = (i32, b) => i32[b + 2]! >>> 16;

/** The rows of a live table whose window is marked closed; lookups by key see every row. */
class ClosedRows implements Rows {
  private counted = -1;

  constructor(
    private readonly rows: Rows,
    private readonly windowOf: WindowOf,
    private readonly closed: Uint8Array,
  ) {}

  get size(): number {
    if (this.counted < 0) {
      let n = 0;
      this.each(() => n++);
      this.counted = n;
    }
    return this.counted;
  }

  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    const { windowOf, closed } = this;
    this.rows.each((base, i32, f64) => {
      if (closed[windowOf(i32, base)] === 1) fn(base, i32, f64);
    });
  }

  has(a: number, b: number, c: number): boolean {
    return this.rows.has(a, b, c);
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    return this.rows.get(a, b, c, read);
  }
}

/** No rows: what a horizon's view holds of the tables it does not have. */
const NO_ROWS: Rows = Object.freeze({ size: 0, each: () => undefined, has: () => false, get: () => undefined });

/**
 * One pass over records into aggregates keyed by source, pair, port and window. Every record
 * updates a few rows (at most one per table); the tables are split by source so that those
 * updates stay within a few cache-sized tables at a time (see `flush`), windows are closed and
 * their rows released as the input's time passes them (see the top of this file), and the rows
 * held never exceed the thresholds' row budget.
 */
export class Aggregator implements RunAggregates {
  readonly windowSeconds: number;
  readonly horizon: Horizon;
  /** Called with the windows each check closes: the long horizon's before its rows are dropped, the short one's once moved out. */
  onClose: WindowJudge | undefined;
  private joined: { readonly [name: string]: Rows } | undefined;
  /** Rows in all tables, as of the last flush. */
  private rows = 0;
  /** The most rows held at once (after any flush). */
  private peak = 0;
  /**
   * The record buffers and tables, one of each per part, in the WebAssembly module's memory;
   * its ingest loop fills the buffers from plain records, `add` from FlowScanner's.
   */
  private readonly ingest: DetectorWasm;
  /** Whether `ingestLines` uses the loop (asked for, and window ids of a whole number of seconds). */
  private readonly wasm: boolean;
  private readonly counts: IngestCounts = { read: 0, analysed: 0, nodata: 0, skipdata: 0 };
  private readonly onRecord = () => this.add();
  /** New rows a waiting record is expected to add: twice the rate of the last flush, at least 0.5. */
  private expectedNewRows = MAX_NEW_ROWS;
  /** Rows held when the budget ran out (then every further record is counted as skipped, not analysed). */
  private saturatedAt = -1;

  private readonly windowIds = new Map<number, number>();
  private readonly nearWindows = new Int32Array(4096).fill(-1);
  private windowBase = -1;
  private readonly windowStarts: number[] = [];
  private lastWindowStart = NaN;
  private lastWindowId = -1;
  private readonly longSeconds: number;
  private readonly longIds = new Map<number, number>();
  private readonly longStarts: number[] = [];
  /** The largest window start seen: the input's time. */
  private watermark = -Infinity;
  /** Set when the watermark moved: the next flush checks for windows to close. */
  private closeDue = false;
  /** Per window id (short, then WINDOW_LIMIT + long): when (records analysed) a check last found it reached, and whether it was closed then. */
  private readonly touchedAt = new Float64Array(2 * WINDOW_LIMIT);
  /** Records analysed at the last check. */
  private checkedAt = 0;
  private readonly closedAtCheck = new Uint8Array(2 * WINDOW_LIMIT);
  /**
   * The windows (short ids, then WINDOW_LIMIT + long ids) reached and not closed since, a list
   * linked through next and prev (OPEN_HEAD its ends) in the order they were last reached: the
   * only ones a check looks at, from the front.
   */
  private readonly isOpen = new Uint8Array(2 * WINDOW_LIMIT);
  private readonly next = new Int32Array(2 * WINDOW_LIMIT + 1).fill(OPEN_HEAD);
  private readonly prev = new Int32Array(2 * WINDOW_LIMIT + 1).fill(OPEN_HEAD);
  /** Windows closed more than once (reopened by records that came after they closed). */
  reopened = 0;
  private readonly allowed: Set<string>;
  readonly context: AddressContext;
  private address = new Uint8Array(1024);
  /** Transit-gateway drops (LOSS): rows are few (attachments x windows with a drop), so it stays in JavaScript; they count toward the row budget. */
  private readonly loss = new RowTable(LOSS.STRIDE, 1 << 4);
  /**
   * Drops of waiting records, LOSS_ENTRY numbers each: part, place in the part's buffer,
   * attachment, window and the four counts. They are added up in `flush` with their records,
   * and only if their record is (never when the row budget skips it).
   */
  private pendingLoss: number[] = [];
  /** Beacon series of the run view: none before the end (each check hands its own to `onClose`). */
  readonly beacons: readonly BeaconSeries[] = [];
  /** Set in a parsing worker: waiting records are shipped to it instead of added up (see `ship`). */
  sink: ((batch: RecordBatch) => void) | undefined;

  constructor(
    private readonly t: DetectorThresholds,
    private readonly scanner: FlowScanner,
    private readonly stats: ParseStats,
    /** Records a part's buffer holds before every buffer is aggregated; results never depend on it. */
    private readonly partRecords = PART_RECORDS,
    /** Whether `ingestLines` reads plain records with the WebAssembly loop. */
    webAssembly = true,
    /** Distinct short windows one run holds; records of later windows are counted as `window-limit`. Tests lower it. */
    private readonly windowLimit = WINDOW_LIMIT,
  ) {
    if (!Number.isInteger(windowLimit) || windowLimit < 1 || windowLimit > WINDOW_LIMIT) {
      throw new RangeError(`Aggregator: windowLimit must be a whole number from 1 to ${WINDOW_LIMIT} (got ${windowLimit})`);
    }
    if (!Number.isInteger(partRecords) || partRecords < 1 || partRecords > MAX_PART_RECORDS) {
      throw new RangeError(`Aggregator: partRecords must be a whole number from 1 to ${MAX_PART_RECORDS} (got ${partRecords})`);
    }
    this.windowSeconds = t.windowSeconds;
    this.horizon = { name: "short", seconds: t.windowSeconds };
    this.longSeconds = t.long.windowSeconds;
    this.allowed = new Set(t.allowedSources);
    this.context = new AddressContext(t);
    this.ingest = new DetectorWasm(partRecords, {
      intern: (kind, buf, s, e) => {
        if (kind === 1) return this.scanner.interfaces.intern(buf, s, e) * 2;
        const id = this.scanner.addresses.intern(buf, s, e);
        // No valid address: the loop hands the line to FlowScanner, which skips it (invalid-value).
        if (id < 0) return -1;
        return id * 2 + ((this.addressFlags(id) & ALLOWED) !== 0 ? 1 : 0);
      },
      windowId: (start) => this.windowId(start),
      addressFlags: (id) => this.addressFlags(id),
      addressHash: (id) => textHash(this.scanner.addresses.get(id)),
    }, (cause) => new DetectorError(
      `detector: the WebAssembly module stopped (${(cause as Error).message}) with ${this.rows} aggregate rows held (got rowBudget ${t.rowBudget}): ` +
        "its memory, at most 4 GiB, could not grow. Lower detectors.thresholds.rowBudget, or run flowlog-kit detect on the files in parts.",
      { cause },
    ));
    const unusual = new Uint8Array(256);
    for (const p of t.unusualProtocols) if (p >= 0 && p < 256) unusual[p] = 1;
    this.ingest.configure(t.bruteForceMaxPackets, t.c2MaxAverageBytes * 4, t.listenerPeers, portFlags(t), unusual);
    this.wasm = webAssembly && Number.isInteger(t.windowSeconds) && t.windowSeconds > 0 && t.windowSeconds < 2 ** 31;
  }

  /**
   * Reads and adds every record of buf[s, e) (whole lines): plain records through the
   * WebAssembly loop, every other line (and all of them once the row budget has run out)
   * through FlowScanner and `add`. Both count what they read in the run's stats.
   */
  ingestLines(buf: Buffer, s: number, e: number): void {
    const sc = this.scanner;
    if (!this.wasm) return sc.scanLines(buf, s, e, this.onRecord);
    const ingest = this.ingest;
    ingest.load(buf, s, e);
    let length = e - s;
    let from = 0;
    while (from < length) {
      const format = sc.currentFormat;
      if (this.saturatedAt >= 0 || !sc.readable || !ingest.reads(format)) return sc.scanLines(buf, s + from, e, this.onRecord);
      from = ingest.scan(format, this.windowSeconds, this.windowLimit, this.maxWaiting(), from, this.counts);
      this.countIngested();
      // The input's time moved: add up what waits and close the windows it has passed.
      if (this.closeDue) this.flush();
      if (from >= length) return;
      // Records wrapped in JSON go through the loop too, unwrapped a run of lines at a time;
      // that takes the loop's input area, so the rest of these lines is loaded again after.
      const json = buf[s + from] === 123 ? sc.unwrap(buf, s + from, e) : undefined;
      if (json) {
        this.ingestLines(json.lines, 0, json.lines.length);
        s = json.end;
        ingest.load(buf, s, e);
        length = e - s;
        from = 0;
        continue;
      }
      // One line for FlowScanner: a header, a malformed line, or a record that needs a flush first.
      const next = buf.indexOf(10, s + from) + 1;
      sc.scanLines(buf, s + from, next, this.onRecord);
      from = next - s;
    }
  }

  /** Adds the ingest loop's counts to the run's stats. */
  private countIngested(): void {
    const c = this.counts;
    this.stats.read += c.read;
    this.stats.analysed += c.analysed;
    if (c.nodata > 0) countSkip(this.stats, "nodata", c.nodata);
    if (c.skipdata > 0) countSkip(this.stats, "skipdata", c.skipdata);
    c.read = c.analysed = c.nodata = c.skipdata = 0;
  }

  /** The most records that may wait before `add` would add them up early (see `add`). */
  private maxWaiting(): number {
    const budget = this.t.rowBudget;
    const per = this.expectedNewRows;
    let m = Math.max(0, Math.floor((budget - this.rows) / per));
    while (m > 0 && this.rows + per * m > budget) m--;
    while (m < 0x7fffffff && this.rows + per * (m + 1) <= budget) m++;
    return Math.min(m, 0x7fffffff);
  }

  readonly names: Names = {
    address: (id) => this.scanner.addresses.get(id),
    interfaceId: (id) => (id < 0 ? undefined : this.scanner.interfaces.get(id)),
  };

  get saturation(): RunAggregates["saturation"] {
    this.flush();
    if (this.saturatedAt < 0) return undefined;
    const span = this.span;
    return { rows: this.saturatedAt, notAnalysed: this.stats.skipped["row-budget"] ?? 0, firstWindowStart: span?.first ?? Infinity, lastWindowStart: span?.last ?? -Infinity };
  }

  get pairWindows(): Rows {
    return this.join().pairWindows!;
  }
  get sources(): Rows {
    return this.join().sources!;
  }
  get sweeps(): Rows {
    return this.join().sweeps!;
  }
  get bruteForce(): Rows {
    return this.join().bruteForce!;
  }
  get protocols(): Rows {
    return this.join().protocols!;
  }
  get intel(): Rows {
    return this.join().intel!;
  }
  get destinations(): Rows {
    this.flush();
    return this.ingest.rows(PARTS, SHARED.DESTINATIONS);
  }
  get hosts(): Rows {
    this.flush();
    return this.ingest.rows(PARTS, SHARED.HOSTS);
  }
  get skipdata(): number {
    return this.stats.skipped["skipdata"] ?? 0;
  }
  get span(): RunAggregates["span"] {
    const starts = this.spanWindows < 0 ? this.windowStarts : this.windowStarts.slice(0, this.spanWindows);
    if (starts.length === 0) return undefined;
    let first = Infinity;
    let last = -Infinity;
    for (const w of starts) {
      if (w < first) first = w;
      if (w > last) last = w;
    }
    return { first, last };
  }
  get packetLoss(): Rows {
    this.flush();
    return this.loss;
  }

  /** Rows held now in every table (waiting records added up first): what memory follows. */
  liveRows(): number {
    this.flush();
    return this.rows;
  }

  /** The most rows held at once so far. */
  get peakRows(): number {
    return this.peak;
  }

  /** Table t of every part, read as one. */
  private part(t: number): Rows {
    return new PartitionedRows(Array.from({ length: PARTS }, (_, p) => this.ingest.rows(p, t)));
  }

  private join(): { readonly [name: string]: Rows } {
    this.flush();
    this.joined ??= {
      pairWindows: this.part(TABLE.PAIRS),
      sources: this.part(TABLE.SOURCES),
      sweeps: this.part(TABLE.SWEEPS),
      bruteForce: this.part(TABLE.BRUTE),
      protocols: this.part(TABLE.PROTOCOLS),
      intel: this.part(TABLE.INTEL),
    };
    return this.joined;
  }

  windowStart(window: number): number {
    return this.windowStarts[window]!;
  }

  private windowId(start: number): number {
    const w = start - (start % this.windowSeconds);
    if (w === this.lastWindowStart) return this.lastWindowId;
    // Windows near the first one (the next 4,096) by offset; others through the map.
    if (this.windowBase < 0) this.windowBase = w;
    const offset = (w - this.windowBase) / this.windowSeconds;
    let id = offset >= 0 && offset < this.nearWindows.length ? this.nearWindows[offset]! : this.windowIds.get(w) ?? -1;
    if (id === -1) id = this.newWindow(w);
    this.lastWindowStart = w;
    this.lastWindowId = id;
    return id;
  }

  /** Gives window start w (of the short horizon, not seen before) the next id, and its long window one if new; moves the watermark. */
  private newWindow(w: number): number {
    const id = this.windowStarts.length;
    this.windowStarts.push(w);
    if (this.windowBase < 0) this.windowBase = w;
    const offset = (w - this.windowBase) / this.windowSeconds;
    if (offset >= 0 && offset < this.nearWindows.length) this.nearWindows[offset] = id;
    else this.windowIds.set(w, id);
    if (id < WINDOW_LIMIT) {
      const long = w - (w % this.longSeconds);
      let lid = this.longIds.get(long);
      if (lid === undefined) {
        lid = this.longStarts.length;
        this.longStarts.push(long);
        this.longIds.set(long, lid);
      }
      const ingest = this.ingest;
      ingest.refresh();
      ingest.i32[ingest.longWindowOf + id] = lid;
    }
    if (w > this.watermark) {
      this.watermark = w;
      this.closeDue = true;
    }
    return id;
  }

  /** KNOWN | ALLOWED bits and the context's flags (context.ts) of an address id, worked out once per address. */
  private addressFlags(id: number): number {
    if (id >= this.address.length) {
      const bigger = new Uint8Array(Math.max(this.address.length * 2, id + 1));
      bigger.set(this.address);
      this.address = bigger;
    }
    let f = this.address[id]!;
    if (f === 0) {
      const name = this.scanner.addresses.get(id);
      f = KNOWN | this.context.flags(name) | (this.allowed.has(name) ? ALLOWED : 0);
      this.address[id] = f;
    }
    return f;
  }

  /**
   * Adds the record the scanner holds: its window is assigned now (window ids follow the
   * input), and it waits in its part's buffer until the next `flush`.
   */
  add(): void {
    if (this.saturatedAt >= 0) {
      this.stats.analysed--;
      countSkip(this.stats, "row-budget");
      return;
    }
    const sc = this.scanner;
    const addr = sc.addr;
    const src = addr[2]! >= 0 ? addr[2]! : addr[0]!;
    const dst = addr[3]! >= 0 ? addr[3]! : addr[1]!;
    if (src < 0 || dst < 0) return;
    if ((this.addressFlags(src) & ALLOWED) !== 0) return;
    const num = sc.num;
    const start = num[5]!;
    const win = this.windowId(start < 0 ? 0 : start);
    if (win >= this.windowLimit) {
      // More distinct windows than one run is sized for (over 56 days at 5 minutes): counted, never silent.
      this.stats.analysed--;
      countSkip(this.stats, "window-limit");
      return;
    }
    // Add up early when the waiting records may fill the budget (at the rate rows have been
    // growing, doubled): a flood is then caught soon, before its addresses pile up. The budget
    // itself is enforced in flush. A watermark that moved closes windows once IDLE_RECORDS
    // records wait (as the WebAssembly loop does once per chunk), not at every record: input
    // with a new window nearly every record would otherwise check and close windows per record.
    const ingest = this.ingest;
    if ((this.closeDue && ingest.waiting >= IDLE_RECORDS) || this.rows + this.expectedNewRows * (ingest.waiting + 1) > this.t.rowBudget) this.flush();
    const p = src & (PARTS - 1);
    if (ingest.partWaiting(p) === this.partRecords) this.flush();
    const n = ingest.partWaiting(p);
    const o = ingest.partBase(p) + n * REC;
    const r = ingest.i32;
    r[o + R_SRC] = src;
    r[o + R_DST] = dst;
    r[o + R_IFACE] = sc.interfaceId;
    r[o + R_WIN] = win;
    r[o + R_ACTION] = sc.action;
    r[o + R_DIRECTION] = sc.direction | (sc.awsService << R_AWS_SERVICE_SHIFT);
    r[o + R_SRCPORT] = int(num[0]!);
    r[o + R_DSTPORT] = int(num[1]!);
    r[o + R_PROTOCOL] = int(num[2]!);
    r[o + R_FLAGS] = int(num[7]!);
    const d = ingest.f64;
    const q = o >> 1;
    d[q + D_PACKETS] = num[3]!;
    d[q + D_BYTES] = num[4]!;
    d[q + D_START] = start;
    ingest.setPartWaiting(p, n + 1);
    ingest.waiting++;
    // Only FlowScanner keeps the packets-lost-* counts (the WebAssembly loop hands back every
    // record with one), so a drop is seen here or nowhere.
    const noRoute = num[LOST_FIRST]!;
    const blackhole = num[LOST_FIRST + 1]!;
    const mtu = num[LOST_FIRST + 2]!;
    const ttl = num[LOST_FIRST + 3]!;
    if (noRoute > 0 || blackhole > 0 || mtu > 0 || ttl > 0) {
      this.pendingLoss.push(p, n, sc.interfaceId, win, Math.max(noRoute, 0), Math.max(blackhole, 0), Math.max(mtu, 0), Math.max(ttl, 0));
    }
  }

  /**
   * Aggregates every waiting record, part by part, then (when the watermark has moved) closes
   * the windows it has passed. The tables are far larger than the caches (and than what the
   * processor's address translation covers), so a record's updates in input order are each a
   * trip to memory: about 120 ns, measured. One part's tables are a sixty-fourth of that, and
   * its records (one source's records always share a part, and keep their order) update rows
   * that stay cached from one record to the next.
   *
   * The row budget is kept here: once one more record might take the rows past it, the run is
   * saturated, and this and every later record is counted as skipped ("row-budget").
   */
  flush(): void {
    if (this.sink) return this.ship(this.sink);
    const ingest = this.ingest;
    const records = ingest.waiting;
    if (records > 0) {
      ingest.waiting = 0;
      this.joined = undefined;
      const rowsBefore = this.rows;
      const budget = this.t.rowBudget;
      /** Per part: how many of its waiting records were added up (the rest were past the row budget). */
      const added = new Int32Array(PARTS);
      // Room for the rows the waiting records' drops may add after them (none without transit-gateway drops).
      const reserve = this.pendingLoss.length / LOSS_ENTRY;
      for (let p = 0; p < PARTS; p++) {
        const n = ingest.partWaiting(p);
        if (n === 0) continue;
        ingest.setPartWaiting(p, 0);
        const before = ingest.partRows(p);
        let after = before;
        if (this.saturatedAt < 0 && this.rows + MAX_NEW_ROWS * n + reserve <= budget) {
          // Every record of the part fits, whatever rows it adds.
          after = ingest.aggregate(p, 0, n);
          added[p] = n;
        } else {
          // Near the budget: record by record, and none once one more might not fit.
          for (let i = 0; i < n; i++) {
            const rows = this.rows + after - before;
            if (this.saturatedAt < 0 && rows + MAX_NEW_ROWS + reserve > budget) this.saturate(rows);
            if (this.saturatedAt >= 0) {
              this.stats.analysed--;
              countSkip(this.stats, "row-budget");
              continue;
            }
            after = ingest.aggregate(p, i, 1);
            added[p] = i + 1;
          }
        }
        this.rows += after - before;
      }
      this.addLoss(added);
      this.expectedNewRows = Math.min(MAX_NEW_ROWS, Math.max(0.5, (2 * (this.rows - rowsBefore)) / records));
      if (this.rows > this.peak) this.peak = this.rows;
    }
    // Also every IDLE_RECORDS records: a file older than the watermark (files in reverse order) moves no watermark, and its windows close as it is read.
    if (this.closeDue || this.stats.analysed - this.checkedAt >= IDLE_RECORDS) {
      this.closeDue = false;
      this.close(false);
    }
  }

  /**
   * Ship mode (a parsing worker, see parallel.ts): hands the waiting records to `sink` with what
   * the aggregating side needs to read them (the address, interface and window ids given out
   * since the last batch, in id order, the counts read and the transit-gateway drops), instead
   * of adding them up here. Nothing is closed on this side.
   */
  private ship(sink: (batch: RecordBatch) => void): void {
    const ingest = this.ingest;
    this.closeDue = false;
    const total = ingest.waiting;
    const records = new Int32Array(total * REC);
    const counts = new Int32Array(PARTS);
    ingest.refresh();
    for (let p = 0, o = 0; p < PARTS; p++) {
      const n = ingest.partWaiting(p);
      if (n === 0) continue;
      const base = ingest.partBase(p);
      records.set(ingest.i32.subarray(base, base + n * REC), o);
      o += n * REC;
      counts[p] = n;
      ingest.setPartWaiting(p, 0);
    }
    ingest.waiting = 0;
    const sc = this.scanner;
    const shipped = this.shipped;
    const names = (table: typeof sc.addresses, from: number) => Array.from({ length: table.size - from }, (_, i) => table.get(from + i));
    const stats = this.stats;
    const skipped: Partial<Record<SkipReason, number>> = {};
    for (const [reason, n] of Object.entries(stats.skipped) as [SkipReason, number][]) {
      const d = n - (shipped.stats.skipped[reason] ?? 0);
      if (d !== 0) skipped[reason] = d;
    }
    const batch: RecordBatch = {
      records,
      counts,
      addresses: names(sc.addresses, shipped.addresses),
      interfaces: names(sc.interfaces, shipped.interfaces),
      windows: this.windowStarts.slice(shipped.windows),
      loss: this.pendingLoss,
      read: stats.read - shipped.stats.read,
      analysed: stats.analysed - shipped.stats.analysed,
      skipped,
    };
    this.pendingLoss = [];
    this.shipped = { addresses: sc.addresses.size, interfaces: sc.interfaces.size, windows: this.windowStarts.length, stats: { read: stats.read, analysed: stats.analysed, skipped: { ...stats.skipped } } };
    sink(batch);
  }

  /** Windows (by id) that count in `span`: all (-1), or those given out before batches received past the row budget. */
  private spanWindows = -1;

  /** What `ship` has handed on so far. */
  private shipped = { addresses: 0, interfaces: 0, windows: 0, stats: newStats() };

  /**
   * Takes a batch a shipping Aggregator (a parsing worker) made: its ids become this side's (the
   * same ids, given out in the same order), its counts are added to this run's, and its records
   * wait in their parts as if read here, then are added up on the same terms as `add`'s.
   * @throws Error when the ids do not line up (a batch lost or out of order: a bug)
   */
  receive(batch: RecordBatch): void {
    const sc = this.scanner;
    const intern = (table: typeof sc.addresses, names: readonly string[]) => {
      for (const name of names) {
        const b = Buffer.from(name, "latin1");
        const expected = table.size;
        if (table.intern(b, 0, b.length) !== expected) throw new Error(`Aggregator.receive: "${name}" did not get id ${expected}: batches out of order`);
      }
    };
    intern(sc.addresses, batch.addresses);
    intern(sc.interfaces, batch.interfaces);
    // Past the row budget a run on one thread gives out no more window ids; the worker did for
    // the batches in flight. Their windows get ids (to stay in step) but no place in the span.
    if (this.saturatedAt >= 0 && this.spanWindows < 0) this.spanWindows = this.windowStarts.length;
    for (const w of batch.windows) this.newWindow(w);
    const stats = this.stats;
    stats.read += batch.read;
    stats.analysed += batch.analysed;
    for (const [reason, n] of Object.entries(batch.skipped) as [SkipReason, number][]) countSkip(stats, reason, n);
    const ingest = this.ingest;
    const { counts } = batch;
    for (let p = 0; p < PARTS; p++) {
      if (ingest.partWaiting(p) + counts[p]! > this.partRecords) {
        this.flush();
        break;
      }
    }
    ingest.refresh();
    const at = new Int32Array(PARTS);
    for (let p = 0, o = 0; p < PARTS; p++) {
      const n = counts[p]!;
      if (n === 0) continue;
      const waiting = ingest.partWaiting(p);
      at[p] = waiting;
      ingest.i32.set(batch.records.subarray(o, o + n * REC), ingest.partBase(p) + waiting * REC);
      o += n * REC;
      ingest.setPartWaiting(p, waiting + n);
      ingest.waiting += n;
    }
    const loss = batch.loss;
    for (let i = 0; i < loss.length; i += LOSS_ENTRY) {
      const entry = loss.slice(i, i + LOSS_ENTRY);
      entry[1] += at[entry[0]!]!;
      this.pendingLoss.push(...entry);
    }
    if (this.closeDue || this.rows + this.expectedNewRows * ingest.waiting > this.t.rowBudget) this.flush();
  }

  /**
   * A parsing worker, told that the aggregating side's row budget ran out: from now on this side
   * counts every record as `row-budget` (as a run on one thread does past that point), reads
   * lines with FlowScanner, and interns no more addresses.
   */
  saturateShipping(): void {
    if (this.saturatedAt < 0) this.saturate(0);
  }

  /** Rows held when the row budget ran out, or -1 while it has not. */
  get saturatedRows(): number {
    return this.saturatedAt;
  }

  /** Takes window k out of the open list. */
  private unlink(k: number): void {
    const { next, prev } = this;
    next[prev[k]!] = next[k]!;
    prev[next[k]!] = prev[k]!;
  }

  /** Adds up what waits and closes every window still open: the end of the input. */
  closeAll(): void {
    this.closeDue = false;
    this.flush();
    this.close(true);
  }

  /**
   * Closes the windows (of both horizons) that the watermark has passed by their length and
   * the delivery lateness and that no record reached since the last check (all of them with
   * `all`), and hands them to `onClose`: the long windows (and idle beacon series) read in
   * place, then dropped; the short ones moved out of the tables, then read.
   */
  private close(all: boolean): void {
    const ingest = this.ingest;
    const now = this.stats.analysed;
    this.checkedAt = now;
    // Only the windows reached since the last check can have changed: they are (again) open,
    // and move to the back of the open list, which stays in the order windows were last reached.
    const { next, prev } = this;
    for (const k of ingest.takeTouched()) {
      this.touchedAt[k] = now;
      // Reached again after it closed: open again (reopened).
      if (this.closedAtCheck[k] === 1) this.closedAtCheck[k] = 2;
      if (this.isOpen[k] === 1) this.unlink(k);
      this.isOpen[k] = 1;
      const tail = prev[OPEN_HEAD]!;
      next[tail] = k;
      prev[k] = tail;
      next[k] = OPEN_HEAD;
      prev[OPEN_HEAD] = k;
    }
    ingest.refresh();
    const touched = ingest.i32;
    const at = ingest.touchedWindows;
    const ready = (k: number): boolean => {
      const short = k < WINDOW_LIMIT;
      const seconds = short ? this.windowSeconds : this.longSeconds;
      const start = short ? this.windowStarts[k]! : this.longStarts[k - WINDOW_LIMIT]!;
      const count = touched[at + k]!;
      // Idle: an eighth as many records read since it was last reached as a short window of it holds, and at least IDLE_RECORDS.
      const idle = now - this.touchedAt[k]! >= Math.max(IDLE_RECORDS, (count * this.windowSeconds) / (8 * seconds));
      return count > 0 && (all || (idle && start + seconds + DELIVERY_LATENESS_SECONDS <= this.watermark));
    };
    // A window reached fewer than IDLE_RECORDS records ago is not idle, nor is any after it in
    // the list: a check looks at the windows idle long enough to close, not at every one open.
    const closing: number[] = [];
    for (let k = next[OPEN_HEAD]!; k !== OPEN_HEAD && (all || now - this.touchedAt[k]! >= IDLE_RECORDS); k = next[k]!) if (ready(k)) closing.push(k);
    let readyShort = 0;
    for (const k of closing) if (k < WINDOW_LIMIT) readyShort++;
    const readyLong = closing.length - readyShort;
    // Closing scans every table once: windows ready wait until two short ones are (or a long
    // one, or the end, or half the row budget is held), which halves the scans for one more
    // window held.
    if (!all && readyLong === 0 && readyShort < CLOSE_BATCH && !(readyShort > 0 && this.rows * 2 > this.t.rowBudget)) return;
    if (readyShort === 0 && readyLong === 0 && !all) return;
    const shortClosed = new Uint8Array(WINDOW_LIMIT);
    const longClosed = new Uint8Array(WINDOW_LIMIT);
    for (const k of closing) {
      if (this.closedAtCheck[k] !== 0) this.reopened++;
      this.closedAtCheck[k] = 1;
      this.isOpen[k] = 0;
      this.unlink(k);
      if (k < WINDOW_LIMIT) shortClosed[k] = 1;
      else longClosed[k - WINDOW_LIMIT] = 1;
    }
    const cutoff = all ? 0xffffffff : this.watermark - this.longSeconds - DELIVERY_LATENESS_SECONDS;
    this.joined = undefined;
    // The long tables are read (every row looked at) only when a long window closes.
    this.onClose?.long(this.view({ name: "long", seconds: this.longSeconds }, (w) => this.longStarts[w]!, readyLong === 0 && !all ? {} : {
      pairWindows: new ClosedRows(this.part(TABLE.LPAIRS), keyC, longClosed),
      sources: new ClosedRows(this.part(TABLE.LSOURCES), keyB, longClosed),
      sweeps: new ClosedRows(this.part(TABLE.LSWEEPS), keyC, longClosed),
      bruteForce: new ClosedRows(this.part(TABLE.LBRUTE), bruteKey, longClosed),
    }, this.beaconSeries(this.part(TABLE.BEACON), cutoff)));
    // At the end every row left belongs to a window being closed: the rules read the tables
    // in place, and nothing is moved (the run holds no more records).
    if (!all) this.rows = ingest.closeWindows(shortClosed, longClosed, cutoff) + this.loss.size;
    const closed = (t: number) => (all ? this.part(t) : new PartitionedRows(Array.from({ length: PARTS }, (_, p) => ingest.closedRows(p, t))));
    const shared = (t: number) => (all ? ingest.rows(PARTS, t) : ingest.closedRows(PARTS, t));
    this.onClose?.short(this.view(this.horizon, (w) => this.windowStarts[w]!, {
      pairWindows: closed(TABLE.PAIRS),
      sources: closed(TABLE.SOURCES),
      sweeps: closed(TABLE.SWEEPS),
      bruteForce: closed(TABLE.BRUTE),
      protocols: closed(TABLE.PROTOCOLS),
      intel: closed(TABLE.INTEL),
      destinations: shared(SHARED.DESTINATIONS),
    }, []));
  }

  /** The beacon series last seen at or before `cutoff`, with enough points to be judged. */
  private beaconSeries(rows: Rows, cutoff: number): BeaconSeries[] {
    const out: BeaconSeries[] = [];
    const min = this.t.beaconMinFlows;
    rows.each((b, i32) => {
      const flows = i32[b + BEACON.FLOWS]!;
      if (flows < min || i32[b + BEACON.LAST]! >>> 0 > cutoff) return;
      const kept = Math.min(flows, BEACON.POINTS);
      const starts: number[] = [];
      for (let i = 0; i < kept; i++) starts.push(i32[b + BEACON.STARTS + i]! >>> 0);
      out.push({ src: i32[b + BEACON.SRC]!, dst: i32[b + BEACON.DST]!, port: i32[b + BEACON.PORT]!, iface: i32[b + BEACON.IFACE]!, flows, starts });
    });
    return out;
  }

  /** A horizon's view of closed windows: the tables given, no run-wide state. */
  private view(horizon: Horizon, windowStart: (w: number) => number, tables: Partial<Pick<RunAggregates, "pairWindows" | "sources" | "sweeps" | "bruteForce" | "protocols" | "intel" | "destinations">>, beacons: readonly BeaconSeries[]): RunAggregates {
    return {
      names: this.names,
      horizon,
      windowSeconds: horizon.seconds,
      windowStart,
      pairWindows: tables.pairWindows ?? NO_ROWS,
      sources: tables.sources ?? NO_ROWS,
      sweeps: tables.sweeps ?? NO_ROWS,
      bruteForce: tables.bruteForce ?? NO_ROWS,
      protocols: tables.protocols ?? NO_ROWS,
      intel: tables.intel ?? NO_ROWS,
      destinations: tables.destinations ?? NO_ROWS,
      hosts: NO_ROWS,
      context: this.context,
      skipdata: 0,
      span: undefined,
      packetLoss: NO_ROWS,
      beacons,
      saturation: undefined,
    };
  }

  /** Adds up the drops of the records just added up (`added[p]`: the first records of part p that were). */
  private addLoss(added: Int32Array): void {
    const pending = this.pendingLoss;
    if (pending.length === 0) return;
    this.pendingLoss = [];
    const loss = this.loss;
    for (let i = 0; i < pending.length; i += LOSS_ENTRY) {
      if (pending[i + 1]! >= added[pending[i]!]!) continue;
      const r = loss.upsert(pending[i + 2]! + 1, pending[i + 3]!, 0);
      if (loss.isNew) this.rows++;
      loss.i32[r + LOSS.FLOWS]++;
      const f = loss.f64;
      f[(r + LOSS.NO_ROUTE) >> 1] += pending[i + 4]!;
      f[(r + LOSS.BLACKHOLE) >> 1] += pending[i + 5]!;
      f[(r + LOSS.MTU_EXCEEDED) >> 1] += pending[i + 6]!;
      f[(r + LOSS.TTL_EXPIRED) >> 1] += pending[i + 7]!;
    }
  }

  /** The budget ran out at `rows`: nothing more is aggregated, and the scanner stops interning addresses, so memory stays put. */
  private saturate(rows: number): void {
    this.saturatedAt = rows;
    this.scanner.stopInterning();
  }
}

/**
 * Distinct values estimated from a HyperLogLog sketch of 32 one-byte registers starting at word
 * `word` of i32 (HOST): the harmonic mean of 2^register, and linear counting while registers are
 * still empty (small counts). About 18% error: the anomaly rule needs orders of magnitude.
 */
export function sketchCount(i32: Int32Array, word: number): number {
  let sum = 0;
  let zeros = 0;
  for (let k = 0; k < 8; k++) {
    const v = i32[word + k]!;
    for (let j = 0; j < 4; j++) {
      const r = (v >>> (8 * j)) & 255;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
  }
  if (zeros === 32) return 0;
  const estimate = (0.697 * 32 * 32) / sum;
  return Math.round(estimate <= 2.5 * 32 && zeros > 0 ? 32 * Math.log(32 / zeros) : estimate);
}
