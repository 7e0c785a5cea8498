import { fieldPlan } from "../flowlog/scanner";
import type { LogFormat } from "../flowlog/format";
import { INGEST_WASM_BASE64 } from "./ingest-wasm";

/*
 * The JavaScript side of the WebAssembly ingest loop (assembly/ingest.ts): its memory holds the
 * aggregator's record buffers, and `scan` reads plain records of a format straight into them.
 * Every line it leaves (headers, blank or malformed lines, full buffers, the row budget) is
 * handed back to be read by FlowScanner and added by Aggregator.add, so the two paths share one
 * set of buffers, one set of ids and one set of counts.
 */

// Control block words (assembly/ingest.ts).
const C_WIDTH = 0;
const C_MAX_WAITING = 2;
const C_WAITING = 3;
const C_READ = 4;
const C_ANALYSED = 5;
const C_NODATA = 6;
const C_SKIPDATA = 7;
const C_WINDOW_SECONDS = 8;
const C_WINDOW_LIMIT = 9;
const C_PARTS = 12;
const C_FIELDS = 16;
const MAX_FIELDS = 64;
const C_PART_WAITING = C_FIELDS + MAX_FIELDS;

/** What the loop asks of JavaScript. */
export interface IngestHost {
  /** The id of the address (kind 0) or interface id (kind 1) in buf[s, e); for an address, id * 2 + 1 when it is an allowed source, else id * 2. */
  intern(kind: number, buf: Buffer, s: number, e: number): number;
  /** The window id of a window start (Unix seconds, a multiple of the window). */
  windowId(start: number): number;
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

export class WasmIngest {
  private readonly exports: {
    memory: WasmMemory;
    init(partRecords: number, inputCapacity: number): number;
    input(bytes: number): number;
    scan(pos: number, end: number): number;
  };
  private readonly control: number;
  private view: ArrayBuffer | undefined;
  private bytes!: Buffer;
  /** The memory as 32-bit integers and as doubles (refreshed when the memory grows). */
  i32!: Int32Array;
  f64!: Float64Array;
  private format: LogFormat | undefined;

  constructor(
    /** Records each part's buffer holds. */
    readonly partRecords: number,
    readonly parts: number,
    host: IngestHost,
  ) {
    compiled ??= new wasmApi.Module(Buffer.from(INGEST_WASM_BASE64, "base64"));
    const instance = new wasmApi.Instance(compiled, {
      env: {
        intern: (kind: number, ptr: number, len: number) => host.intern(kind, this.memory(), ptr, ptr + len),
        windowId: (start: number) => host.windowId(start),
      },
    });
    this.exports = instance.exports as unknown as WasmIngest["exports"];
    this.control = this.exports.init(partRecords, 1 << 16) >>> 2;
    this.refresh();
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
    return (this.i32[this.control + C_PARTS]! >>> 2) + p * this.partRecords * 16;
  }

  /** Records waiting in part p. */
  partWaiting(p: number): number {
    return this.i32[this.control + C_PART_WAITING + p]!;
  }

  setPartWaiting(p: number, n: number): void {
    this.i32[this.control + C_PART_WAITING + p] = n;
  }

  /** Records waiting in all parts. */
  get waiting(): number {
    return this.i32[this.control + C_WAITING]!;
  }

  set waiting(n: number) {
    this.i32[this.control + C_WAITING] = n;
  }

  /** Whether the loop can read this format (at most 64 fields). */
  static reads(format: LogFormat): boolean {
    return format.fields.length <= MAX_FIELDS;
  }

  /** Copies buf[s, e) (whole lines) into the input area, for `scan`. */
  load(buf: Buffer, s: number, e: number): void {
    this.input = this.exports.input(e - s);
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
    if (format !== this.format) {
      const { kinds, targets } = fieldPlan(format);
      for (let i = 0; i < kinds.length; i++) this.i32[c + C_FIELDS + i] = kinds[i]! | ((targets[i]! + 1) << 8);
      this.i32[c + C_WIDTH] = kinds.length;
      this.format = format;
    }
    const i32 = this.i32;
    i32[c + C_WINDOW_SECONDS] = windowSeconds;
    i32[c + C_WINDOW_LIMIT] = windowLimit;
    i32[c + C_MAX_WAITING] = maxWaiting;
    const at = this.exports.scan(this.input + from, this.input + this.inputLength);
    this.refresh();
    const j = this.i32;
    counts.read += j[c + C_READ]!;
    counts.analysed += j[c + C_ANALYSED]!;
    counts.nodata += j[c + C_NODATA]!;
    counts.skipdata += j[c + C_SKIPDATA]!;
    j[c + C_READ] = 0;
    j[c + C_ANALYSED] = 0;
    j[c + C_NODATA] = 0;
    j[c + C_SKIPDATA] = 0;
    return at - this.input;
  }
}
