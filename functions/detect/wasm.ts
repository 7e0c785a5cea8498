import { fieldPlan, LOOP_NUMBERS, NUMBER } from "../flowlog/scanner";
import type { LogFormat } from "../flowlog/format";
import { EMPTY, hash, Rows } from "../flowlog/row-table";
import { DETECTOR_WASM_BASE64 } from "./wasm-module";

/*
 * The JavaScript side of the detector's WebAssembly module (assembly/): its memory holds the
 * aggregator's record buffers and tables.
 * - `scan` (assembly/ingest.ts) reads plain records of a format straight into the buffers. Every
 *   line it leaves (headers, JSON lines, blank or malformed lines, values no flow log holds,
 *   full buffers, the row budget) is handed back to be read by FlowScanner and added by
 *   Aggregator.add, so the two paths share one set of buffers, one set of ids and one set of
 *   counts, and FlowScanner alone decides why a line is skipped.
 * - `aggregate` (assembly/aggregate.ts) adds one part's buffered records up into its tables,
 *   which the rules read in place through `WasmRows`.
 * - `forestWalk` (assembly/forest.ts) walks rows through an Isolation Forest (`forestSums`), and
 *   assembly/groups.ts orders the anomaly rule's groups and finds their distinct vectors
 *   (`orderByIds`, `distinctVectors`).
 */

/** Tables per part in the module (assembly/aggregate.ts TABLES). */
const TABLES_PER_PART = 14;
/** The tables of a part that every open short window has its own of: pairs, sources, sweeps (aggregates.ts TABLE 0 to 2). */
const GENERATION_KINDS = 3;
const PARTS = 64;

/** The control block's word offsets, as the module exports them (assembly/ingest.ts). */
const CONTROL = ["C_WIDTH", "C_MAX_WAITING", "C_WAITING", "C_READ", "C_ANALYSED", "C_NODATA", "C_SKIPDATA", "C_WINDOW_SECONDS", "C_WINDOW_LIMIT", "C_PARTS", "C_FIELDS", "MAX_FIELDS", "C_PART_WAITING", "C_LIMITS"] as const;
type Control = { readonly [name in (typeof CONTROL)[number]]: number };

/** What the loop asks of JavaScript. */
export interface IngestHost {
  /** The id of the address (kind 0) or interface id (kind 1) in buf[s, e); for an address, id * 2 + 1 when it is an allowed source, else id * 2, and -1 when the bytes are no valid address. */
  intern(kind: number, buf: Buffer, s: number, e: number): number;
  /** The window id of a window start (Unix seconds, a multiple of the window). */
  windowId(start: number): number;
  /** KNOWN | PRIVATE | ALLOWED flags of an address id (see Aggregator). */
  addressFlags(id: number): number;
  /** A 32-bit hash of an address's text (ids follow the input's order; the host sketches must not). */
  addressHash(id: number): number;
}

/** Counts of one `scan` call. */
export interface IngestCounts {
  read: number;
  analysed: number;
  nodata: number;
  skipdata: number;
}

/** The WebAssembly API as used here (the project's TypeScript libs leave it out: it is typed with the DOM's). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

/** The compiled module (compiled once per process). */
function detectorModule(): object {
  compiled ??= new wasmApi.Module(Buffer.from(DETECTOR_WASM_BASE64, "base64"));
  return compiled;
}

/** The control block's offsets read from an instance's exported globals. */
function controlOffsets(exports: object): Control {
  const globals = exports as Record<string, { value: number }>;
  return Object.fromEntries(CONTROL.map((name) => [name, globals[name]!.value])) as Control;
}

export class DetectorWasm {
  private readonly exports: {
    memory: WasmMemory;
    init(partRecords: number, inputCapacity: number): number;
    input(bytes: number): number;
    scan(pos: number, end: number): number;
    setupAggregates(maxRecords: number): number;
    setThresholds(bruteForceMaxPackets: number, c2SmallBytes: number, listenerPeers: number): void;
    portFlags(): number;
    protocolFlags(): number;
    aggregate(part: number, records: number, n: number): number;
    partRows(part: number): number;
    liveRows(): number;
    closeWindows(closed: number, closedLong: number, beaconCutoff: number): number;
    closedTables(): number;
    generationTables(): number;
    generations(): number;
    longWindows(): number;
    touchedWindows(): number;
    takeTouched(): number;
    touchedCount(): number;
  };
  /** Word offset of the table descriptors (see `rows`). */
  private readonly descriptors: number;
  private readonly control: number;
  /** Word offsets in the control block. */
  private readonly layout: Control;
  private view: ArrayBuffer | undefined;
  private bytes!: Buffer;
  /** The memory as 32-bit integers and as doubles (refreshed when the memory grows). */
  i32!: Int32Array;
  f64!: Float64Array;
  private format: LogFormat | undefined;

  constructor(
    /** Records each part's buffer holds (the module has 64 parts). */
    readonly partRecords: number,
    host: IngestHost,
    /** The error to throw when the module traps (it does only when its memory cannot grow: 4 GiB at most). */
    private readonly trapped: (cause: unknown) => Error,
  ) {
    const instance = new wasmApi.Instance(detectorModule(), {
      env: {
        intern: (kind: number, ptr: number, len: number) => host.intern(kind, this.memory(), ptr, ptr + len),
        windowId: (start: number) => host.windowId(start),
        addressFlags: (id: number) => host.addressFlags(id),
        addressHash: (id: number) => host.addressHash(id),
      },
    });
    this.exports = instance.exports as unknown as DetectorWasm["exports"];
    this.layout = controlOffsets(instance.exports);
    this.control = this.guard(() => this.exports.init(partRecords, 1 << 16)) >>> 2;
    this.descriptors = this.guard(() => this.exports.setupAggregates(partRecords)) >>> 2;
    this.refresh();
  }

  /**
   * What the aggregation applies: brute-force packet limit, small C2 flow bytes, and flags per
   * port (bit 0 sensitive, bit 1 web, bit 2 a high service port, bits 3-5 an admin port's index
   * + 1) and per protocol (1 unusual).
   */
  configure(bruteForceMaxPackets: number, c2SmallBytes: number, listenerPeers: number, ports: Uint8Array, protocols: Uint8Array): void {
    const x = this.exports;
    x.setThresholds(bruteForceMaxPackets, c2SmallBytes, listenerPeers);
    this.refresh();
    this.bytes.set(ports, x.portFlags());
    this.bytes.set(protocols, x.protocolFlags());
  }

  /** Adds up n buffered records of part p, from its `first`-th on, into the part's tables; returns the part's rows. */
  aggregate(p: number, first: number, n: number): number {
    const rows = this.guard(() => this.exports.aggregate(p, (this.partBase(p) + first * 16) * 4, n));
    this.refresh();
    return rows;
  }

  /** Rows in every table. */
  liveRows(): number {
    return this.exports.liveRows();
  }

  /**
   * Moves the rows of the windows marked closed (a byte per id: `closed` short, `closedLong`
   * long) and of beacon series last seen at or before `beaconCutoff` (Unix seconds) out of the
   * tables, into tables of their own that `closedRows` reads until the next call; returns the
   * rows left. Rows read before are invalid after.
   */
  closeWindows(closed: Uint8Array, closedLong: Uint8Array, beaconCutoff: number): number {
    const x = this.exports as unknown as ToolExports & DetectorWasm["exports"];
    return withBlocks(x, [closed.length, closedLong.length], ([pc, pl]) => {
      const memory = new Uint8Array(x.memory.buffer);
      memory.set(closed, pc!);
      memory.set(closedLong, pl!);
      const rows = this.guard(() => this.exports.closeWindows(pc!, pl!, Math.max(0, Math.min(beaconCutoff, 0xffffffff)) >>> 0));
      this.refresh();
      return rows;
    });
  }

  /** The rows of table t of part p that the last `closeWindows` moved out, one after another. */
  closedRows(p: number, t: number): Rows {
    return new MovedRows(this.i32, this.f64, (this.exports.closedTables() >>> 2) + (p * TABLES_PER_PART + t) * 4);
  }

  /** Word offset (in `i32`) of the long window id per short window id. */
  get longWindowOf(): number {
    return this.exports.longWindows() >>> 2;
  }

  /** Word offset (in `i32`) of the records added up per short window id, then per long window id. */
  get touchedWindows(): number {
    return this.exports.touchedWindows() >>> 2;
  }

  /**
   * The windows records reached since the last call, each once (short ids, then WINDOW_LIMIT +
   * long ids), as a fresh array.
   */
  takeTouched(): Int32Array {
    const at = this.exports.takeTouched() >>> 2;
    this.refresh();
    return this.i32.slice(at, at + this.exports.touchedCount());
  }

  /** Rows in all of part p's tables. */
  partRows(p: number): number {
    return this.exports.partRows(p);
  }

  /**
   * Table t of part p (aggregates.ts TABLE), read in place; valid until the next `aggregate`,
   * `release` or `scan`. Part 64 holds the tables all parts share: 0 destinations, 1
   * destination ports, 2 hosts.
   */
  rows(p: number, t: number): Rows {
    if (p < PARTS && t < GENERATION_KINDS) {
      // A short window's pairs, sources and sweeps are in tables of its own (assembly/aggregate.ts, generations).
      const first = this.exports.generationTables() >>> 2;
      const tables: WasmRows[] = [];
      for (let g = 0, n = this.exports.generations(); g < n; g++) {
        const d = first + ((g * PARTS + p) * GENERATION_KINDS + t) * 4;
        if (this.i32[d + 2]! > 0) tables.push(new WasmRows(this.i32, this.f64, d));
      }
      return tables.length === 1 ? tables[0]! : new JoinedRows(tables);
    }
    return new WasmRows(this.i32, this.f64, this.descriptors + (p * TABLES_PER_PART + t) * 4);
  }

  /** Runs a call into the module, turning a trap into the caller's error. */
  private guard<T>(call: () => T): T {
    try {
      return call();
    } catch (err) {
      if (err instanceof Error && err.name === "RuntimeError") throw this.trapped(err);
      throw err;
    }
  }

  /** The memory as bytes, current after any growth. */
  private memory(): Buffer {
    this.refresh();
    return this.bytes;
  }

  /** Renews the views when the memory has grown (which detaches the old ones). */
  refresh(): void {
    const buffer = this.exports.memory.buffer;
    if (buffer === this.view) return;
    this.view = buffer;
    this.bytes = Buffer.from(buffer);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  /** Word offset (in `i32`) of part p's first buffered record. */
  partBase(p: number): number {
    return (this.i32[this.control + this.layout.C_PARTS]! >>> 2) + p * this.partRecords * 16;
  }

  /** Records waiting in part p. */
  partWaiting(p: number): number {
    return this.i32[this.control + this.layout.C_PART_WAITING + p]!;
  }

  setPartWaiting(p: number, n: number): void {
    this.i32[this.control + this.layout.C_PART_WAITING + p] = n;
  }

  /** Records waiting in all parts. */
  get waiting(): number {
    return this.i32[this.control + this.layout.C_WAITING]!;
  }

  set waiting(n: number) {
    this.i32[this.control + this.layout.C_WAITING] = n;
  }

  /** Whether `scan` can read this format (at most 64 fields). */
  reads(format: LogFormat): boolean {
    return format.fields.length <= this.layout.MAX_FIELDS;
  }

  /** Copies buf[s, e) (whole lines) into the input area, for `scan`. */
  load(buf: Buffer, s: number, e: number): void {
    this.input = this.guard(() => this.exports.input(e - s));
    this.inputLength = e - s;
    this.refresh();
    this.bytes.set(buf.subarray(s, e), this.input);
  }

  private input = 0;
  private inputLength = 0;

  /**
   * Scans the loaded lines from offset `from` while they are plain records of `format`; returns
   * the input's length, or the offset of the first line left to the caller. `maxWaiting` caps
   * the records waiting in all parts; `counts` receives what was read.
   */
  scan(format: LogFormat, windowSeconds: number, windowLimit: number, maxWaiting: number, from: number, counts: IngestCounts): number {
    const c = this.control;
    const L = this.layout;
    if (format !== this.format) {
      const { kinds, targets, limits } = fieldPlan(format);
      for (let i = 0; i < kinds.length; i++) {
        // A number the loop has no slot for (the packets-lost-* counts of transit-gateway
        // records) is kept by FlowScanner alone: the loop reads a record whose count is 0 or
        // absent, and with a limit of 0 hands back any other, so FlowScanner reads that one.
        const kept = kinds[i] !== NUMBER || targets[i]! < LOOP_NUMBERS;
        this.i32[c + L.C_FIELDS + i] = kinds[i]! | ((kept ? targets[i]! + 1 : 0) << 8);
        // As a 64-bit integer, low word first; no limit is the largest one.
        const limit = kept ? limits[i]! : 0;
        this.i32[c + L.C_LIMITS + 2 * i] = limit < Infinity ? limit % 2 ** 32 | 0 : -1;
        this.i32[c + L.C_LIMITS + 2 * i + 1] = limit < Infinity ? Math.floor(limit / 2 ** 32) : 0x7fffffff;
      }
      this.i32[c + L.C_WIDTH] = kinds.length;
      this.format = format;
    }
    const i32 = this.i32;
    i32[c + L.C_WINDOW_SECONDS] = windowSeconds;
    i32[c + L.C_WINDOW_LIMIT] = windowLimit;
    i32[c + L.C_MAX_WAITING] = maxWaiting;
    const at = this.guard(() => this.exports.scan(this.input + from, this.input + this.inputLength));
    this.refresh();
    const j = this.i32;
    counts.read += j[c + L.C_READ]!;
    counts.analysed += j[c + L.C_ANALYSED]!;
    counts.nodata += j[c + L.C_NODATA]!;
    counts.skipdata += j[c + L.C_SKIPDATA]!;
    j[c + L.C_READ] = 0;
    j[c + L.C_ANALYSED] = 0;
    j[c + L.C_NODATA] = 0;
    j[c + L.C_SKIPDATA] = 0;
    return at - this.input;
  }
}

/** A part's tables of one kind, one per open short window (generations), read as one: rows table after table. */
class JoinedRows implements Rows {
  readonly size: number;

  constructor(private readonly tables: readonly Rows[]) {
    this.size = tables.reduce((n, t) => n + t.size, 0);
  }

  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    for (const t of this.tables) t.each(fn);
  }

  has(a: number, b: number, c: number): boolean {
    return this.tables.some((t) => t.has(a, b, c));
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    for (const t of this.tables) if (t.has(a, b, c)) return t.get(a, b, c, read);
    return undefined;
  }
}

/**
 * A table of the module read in place: RowTable's layout and hashing, so the same rows in the
 * same order. Its descriptor (4 words at `d`) holds the slots' byte offset, mask, rows, stride.
 */
class WasmRows implements Rows {
  readonly size: number;
  private readonly first: number;
  private readonly mask: number;
  private readonly stride: number;

  constructor(
    private readonly i32: Int32Array,
    private readonly f64: Float64Array,
    d: number,
  ) {
    this.first = i32[d]! >>> 2;
    this.mask = i32[d + 1]!;
    this.size = i32[d + 2]!;
    this.stride = i32[d + 3]!;
  }

  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    // A table of no slots (a closed table nothing was moved to) has no slots to read.
    if (this.size === 0) return;
    const i32 = this.i32;
    const end = this.first + (this.mask + 1) * this.stride;
    for (let base = this.first; base < end; base += this.stride) if (i32[base] !== EMPTY) fn(base, i32, this.f64);
  }

  private find(a: number, b: number, c: number): number {
    if (this.size === 0) return -1;
    const i32 = this.i32;
    for (let slot = hash(a, b, c) & this.mask; ; slot = (slot + 1) & this.mask) {
      const base = this.first + slot * this.stride;
      const k = i32[base]!;
      if (k === EMPTY) return -1;
      if (k === a && i32[base + 1] === b && i32[base + 2] === c) return base;
    }
  }

  has(a: number, b: number, c: number): boolean {
    return this.find(a, b, c) !== -1;
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    const base = this.find(a, b, c);
    return base === -1 ? undefined : read(base, this.i32, this.f64);
  }
}

/**
 * Rows moved out of a table of the module, one after another (descriptor at word `d`: the
 * block's byte offset, its capacity, rows, stride). A lookup by key builds an index on first use.
 */
class MovedRows implements Rows {
  readonly size: number;
  private readonly first: number;
  private readonly stride: number;
  private index: Map<string, number> | undefined;

  constructor(
    private readonly i32: Int32Array,
    private readonly f64: Float64Array,
    d: number,
  ) {
    this.first = i32[d]! >>> 2;
    this.size = i32[d + 2]!;
    this.stride = i32[d + 3]!;
  }

  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    const end = this.first + this.size * this.stride;
    for (let base = this.first; base < end; base += this.stride) fn(base, this.i32, this.f64);
  }

  private find(a: number, b: number, c: number): number {
    if (!this.index) {
      const index = new Map<string, number>();
      this.each((base, i32) => index.set(`${i32[base]},${i32[base + 1]},${i32[base + 2]}`, base));
      this.index = index;
    }
    return this.index.get(`${a},${b},${c}`) ?? -1;
  }

  has(a: number, b: number, c: number): boolean {
    return this.find(a, b, c) !== -1;
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    const base = this.find(a, b, c);
    return base === -1 ? undefined : read(base, this.i32, this.f64);
  }
}

/** A flattened Isolation Forest (see IsolationForest.flatten). */
export interface FlatForest {
  readonly depth: number;
  readonly trees: number;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly leaf: Float64Array;
}

interface ToolExports {
  memory: WasmMemory;
  allocate(bytes: number): number;
  release(p: number): void;
  orderByKeys(a: number, b: number, c: number, n: number, order: number, next: number): number;
  distinctVectors(features: number, n: number, vectorOf: number, distinct: number): number;
  forestWalk(rows: number, dims: number, depth: number, feature: number, threshold: number, leaf: number, sums: number, active: number, count: number, t0: number, t1: number): void;
  forestPrune(sums: number, active: number, count: number, ahead: number, cut: number, dropped: number): number;
}

/** An instance of the module for the anomaly rule's work (created once per process; its memory holds only what a call copies in). */
let toolsInstance: ToolExports | undefined;

const noRecords = () => {
  throw new Error("the anomaly rule's module instance reads no flow records");
};

function tools(): ToolExports {
  return (toolsInstance ??= new wasmApi.Instance(detectorModule(), { env: { intern: noRecords, windowId: noRecords, addressFlags: noRecords, addressHash: noRecords } }).exports as unknown as ToolExports);
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Runs `use` with blocks of the given sizes in the module's memory, freed afterwards. */
function withBlocks<T>(x: ToolExports, sizes: readonly number[], use: (at: number[]) => T): T {
  const at = sizes.map((size) => x.allocate(Math.max(size, 8)));
  try {
    return use(at);
  } finally {
    for (const p of at) x.release(p);
  }
}

/** Row numbers ordered by (a, b, c) (non-negative ids), ties in row order. */
export function orderByIds(a: Int32Array, b: Int32Array, c: Int32Array): Int32Array {
  const x = tools();
  const n = a.length;
  return withBlocks(x, [n * 4, n * 4, n * 4, n * 4, n * 4], ([pa, pb, pc, order, next]) => {
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(bytesOf(a), pa!);
    memory.set(bytesOf(b), pb!);
    memory.set(bytesOf(c), pc!);
    const out = x.orderByKeys(pa!, pb!, pc!, n, order!, next!);
    return new Int32Array(x.memory.buffer.slice(out, out + n * 4));
  });
}

/**
 * The distinct vectors of rows of four features (each a multiple of 1/64 in [0, 64)), in order
 * of first appearance, and for each row the number of its vector.
 */
export function distinctVectors(features: Float64Array): { distinct: Float64Array; vectorOf: Int32Array } {
  const x = tools();
  const n = Math.floor(features.length / 4);
  return withBlocks(x, [n * 32, n * 4, n * 32], ([pf, pv, pd]) => {
    new Uint8Array(x.memory.buffer).set(bytesOf(features.subarray(0, n * 4)), pf!);
    const count = x.distinctVectors(pf!, n, pv!, pd!);
    return { distinct: new Float64Array(x.memory.buffer.slice(pd!, pd! + count * 32)), vectorOf: new Int32Array(x.memory.buffer.slice(pv!, pv! + n * 4)) };
  });
}

/**
 * Walks rows (row-major, `dims` doubles each) through a forest in the module, ten trees per
 * call, and returns each row's sum of path lengths (added tree by tree, in tree order). With
 * `cut` finite, every ten trees a row whose sum plus `ahead[t]` (a lower bound of what the
 * trees from t on add) exceeds `cut` stops walking: its sum is then partial, and `dropped`
 * marks it.
 */
export function forestSums(forest: FlatForest, rows: Float64Array, dims: number, ahead: Float64Array, cut: number): { sums: Float64Array; dropped: Uint8Array } {
  const x = tools();
  const n = Math.floor(rows.length / dims);
  const sizes = [n * dims * 8, forest.feature.byteLength, forest.threshold.byteLength, forest.leaf.byteLength, n * 8, n * 4, n];
  return withBlocks(x, sizes, (at) => {
    const [pRows, pFeature, pThreshold, pLeaf, pSums, pActive, pDropped] = at as [number, number, number, number, number, number, number];
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(bytesOf(rows.subarray(0, n * dims)), pRows);
    memory.set(bytesOf(forest.feature), pFeature);
    memory.set(bytesOf(forest.threshold), pThreshold);
    memory.set(bytesOf(forest.leaf), pLeaf);
    memory.fill(0, pSums, pSums + n * 8);
    memory.fill(0, pDropped, pDropped + n);
    const active = new Int32Array(x.memory.buffer, pActive, n);
    for (let i = 0; i < n; i++) active[i] = i;
    let count = n;
    for (let t = 0; t < forest.trees; t += 10) {
      if (t > 0 && cut < Infinity) count = x.forestPrune(pSums, pActive, count, ahead[t]!, cut, pDropped);
      x.forestWalk(pRows, dims, forest.depth, pFeature, pThreshold, pLeaf, pSums, pActive, count, t, Math.min(t + 10, forest.trees));
    }
    return { sums: new Float64Array(x.memory.buffer.slice(pSums, pSums + n * 8)), dropped: new Uint8Array(x.memory.buffer.slice(pDropped, pDropped + n)) };
  });
}
