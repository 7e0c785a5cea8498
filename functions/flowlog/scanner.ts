/**
 * The flow-log record scanner: reads records straight from bytes, one pass per line, with no
 * per-field strings. Addresses and interface ids are interned to small integers; numbers are
 * read digit by digit. This is the only record parser in the kit: RecordParser wraps it for
 * callers that hold lines as strings.
 */
import { fieldByName } from "./fields";
import { LogFormat } from "./format";
import { countSkip, ParseStats } from "./stats";

/** Interns byte strings (addresses, interface ids) to dense integer ids. */
export class InternTable {
  private keys: Buffer = Buffer.alloc(1 << 16);
  private used = 0;
  private offsets: Int32Array = new Int32Array(1024);
  private lengths: Int32Array = new Int32Array(1024);
  private slots: Int32Array = new Int32Array(2048).fill(-1);
  private readonly strings: (string | undefined)[] = [];
  size = 0;

  /** The id of buf[s, e), adding it when new. */
  intern(buf: Buffer, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    return this.internHashed(buf, s, e, h);
  }

  /** As `intern`, with the FNV-1a hash of the bytes already computed (while scanning them). */
  internHashed(buf: Buffer, s: number, e: number, h: number): number {
    const mask = this.slots.length - 1;
    const len = e - s;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]!;
      if (id === -1) return this.add(buf, s, e, slot);
      if (this.lengths[id] === len) {
        const off = this.offsets[id]!;
        let same = true;
        for (let i = 0; i < len; i++) {
          if (this.keys[off + i] !== buf[s + i]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
    }
  }

  /** The string of an id. */
  get(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      s = this.keys.toString("latin1", this.offsets[id]!, this.offsets[id]! + this.lengths[id]!);
      this.strings[id] = s;
    }
    return s;
  }

  private add(buf: Buffer, s: number, e: number, slot: number): number {
    const id = this.size++;
    const len = e - s;
    if (this.used + len > this.keys.length) {
      const bigger = Buffer.alloc(Math.max(this.keys.length * 2, this.used + len));
      this.keys.copy(bigger, 0, 0, this.used);
      this.keys = bigger;
    }
    buf.copy(this.keys, this.used, s, e);
    if (id >= this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Int32Array(this.lengths.length * 2);
      l.set(this.lengths);
      this.lengths = l;
    }
    this.offsets[id] = this.used;
    this.lengths[id] = len;
    this.used += len;
    this.slots[slot] = id;
    if (this.size * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.size; id++) {
      let h = 0x811c9dc5;
      const off = this.offsets[id]!;
      for (let i = 0; i < this.lengths[id]!; i++) h = Math.imul(h ^ this.keys[off + i]!, 0x01000193);
      let slot = h & mask;
      while (slots[slot] !== -1) slot = (slot + 1) & mask;
      slots[slot] = id;
    }
    this.slots = slots;
  }
}

// What the scanner does with each field of the format.
const SKIP = 0;
const NUMBER = 1;
const ADDRESS = 2;
const INTERFACE = 3;
const ACTION = 4;
const STATUS = 5;
const DIRECTION = 6;
const TEXT = 7;

/** Where a numeric field lands. */
const NUMERIC_TARGETS: Record<string, number> = { srcport: 0, dstport: 1, protocol: 2, packets: 3, bytes: 4, start: 5, end: 6, "tcp-flags": 7, "traffic-path": 8 };
const ADDRESS_TARGETS: Record<string, number> = { srcaddr: 0, dstaddr: 1, "pkt-srcaddr": 2, "pkt-dstaddr": 3 };

export const ACTION_ACCEPT = 1;
export const ACTION_REJECT = 2;
export const STATUS_OK = 0;
export const DIRECTION_INGRESS = 1;
export const DIRECTION_EGRESS = 2;

/**
 * Scans records of one log format. After `scan` returns true, the public fields hold the
 * record; -1 (or 0 for the codes) means absent.
 */
export class FlowScanner {
  /** srcport, dstport, protocol, packets, bytes, start, end, tcp-flags, traffic-path; -1 when absent. */
  readonly num = new Float64Array(9);
  /** srcaddr, dstaddr, pkt-srcaddr, pkt-dstaddr as address ids; -1 when absent. */
  readonly addr = new Int32Array(4);
  interfaceId = -1;
  action = 0;
  status = STATUS_OK;
  direction = 0;
  /** Start and end offset of every field of the last line, when `keepTokens` is on. */
  readonly tokens: Int32Array;
  readonly addresses = new InternTable();
  readonly interfaces = new InternTable();
  /** IPv4 address (as a number) -> address id, so a known IPv4 address costs one integer lookup. */
  private readonly v4Index = new Map<number, number>();
  private kinds!: Uint8Array;
  private targets!: Int8Array;
  private width = 0;
  private format!: LogFormat;

  constructor(
    format: LogFormat,
    readonly stats: ParseStats,
    private readonly keepTokens = false,
  ) {
    this.tokens = new Int32Array(2 * 64);
    this.use(format);
  }

  get currentFormat(): LogFormat {
    return this.format;
  }

  /** Switches to another format (e.g. the one a file's header names). */
  use(format: LogFormat): void {
    this.format = format;
    // Fields the format lacks stay absent; fields it has are written on every line.
    this.num.fill(-1);
    this.addr.fill(-1);
    this.interfaceId = -1;
    this.action = 0;
    this.status = STATUS_OK;
    this.direction = 0;
    this.width = format.fields.length;
    this.kinds = new Uint8Array(this.width);
    this.targets = new Int8Array(this.width);
    format.fields.forEach((f, i) => {
      if (f.name in ADDRESS_TARGETS) {
        this.kinds[i] = ADDRESS;
        this.targets[i] = ADDRESS_TARGETS[f.name]!;
      } else if (f.name in NUMERIC_TARGETS) {
        this.kinds[i] = NUMBER;
        this.targets[i] = NUMERIC_TARGETS[f.name]!;
      } else if (f.name === "interface-id") this.kinds[i] = INTERFACE;
      else if (f.name === "action") this.kinds[i] = ACTION;
      else if (f.name === "log-status") this.kinds[i] = STATUS;
      else if (f.name === "flow-direction") this.kinds[i] = DIRECTION;
      else if (f.type !== "string") {
        this.kinds[i] = NUMBER;
        this.targets[i] = -1; // validated, not kept
      } else this.kinds[i] = this.keepTokens ? TEXT : SKIP;
    });
  }

  private ipv4(ip: number, buf: Buffer, s: number, e: number, h: number): number {
    let id = this.v4Index.get(ip);
    if (id === undefined) {
      id = this.addresses.internHashed(buf, s, e, h);
      this.v4Index.set(ip, id);
    }
    return id;
  }

  /** A header line names its format; returns it, or undefined when the line is not a header. */
  private header(buf: Buffer, s: number, e: number): LogFormat | undefined {
    let sp = buf.indexOf(32, s);
    if (sp === -1 || sp > e) sp = e;
    if (!fieldByName(buf.toString("latin1", s, sp))) return undefined;
    const tokens = buf.toString("latin1", s, e).trim().split(/\s+/);
    if (!tokens.every((t) => fieldByName(t) !== undefined)) return undefined;
    const resource = tokens.some((t) => fieldByName(t)!.family === "tgw") ? "transit-gateway" : "vpc";
    try {
      return LogFormat.custom(tokens, resource);
    } catch {
      return undefined;
    }
  }

  /**
   * Scans buf[s, e) (one line, without its newline). Returns true for a record to analyse;
   * false for a blank or header line or a skip, which is counted in `stats` by reason.
   */
  scan(buf: Buffer, s: number, e: number): boolean {
    if (e > s && buf[e - 1] === 13) e--;
    while (s < e && buf[s] === 32) s++;
    if (s >= e) return false;
    const first = buf[s]!;
    if ((first < 48 || first > 57) && first !== 45) {
      const header = this.header(buf, s, e);
      if (header) {
        this.use(header);
        return false;
      }
    }
    const stats = this.stats;
    stats.read++;
    const num = this.num;
    const addr = this.addr;
    const kinds = this.kinds;
    const targets = this.targets;
    const width = this.width;
    const keep = this.keepTokens;
    let field = 0;
    let pos = s;
    // One pass: each field's loop finds its end and reads it at the same time.
    while (pos < e) {
      let c = buf[pos]!;
      if (c === 32) {
        pos++;
        continue;
      }
      if (field >= width) {
        countSkip(stats, "too-many-fields");
        return false;
      }
      const begin = pos;
      const kind = kinds[field]!;
      if (c === 45 && (pos + 1 === e || buf[pos + 1] === 32)) {
        // "-": absent.
        pos++;
        if (kind === NUMBER) {
          if (targets[field]! >= 0) num[targets[field]!] = -1;
        } else if (kind === ADDRESS) addr[targets[field]!] = -1;
        else if (kind === INTERFACE) this.interfaceId = -1;
        else if (kind === ACTION) this.action = 0;
        else if (kind === STATUS) this.status = STATUS_OK;
        else if (kind === DIRECTION) this.direction = 0;
      } else if (kind === NUMBER) {
        let v = 0;
        for (; pos < e; pos++) {
          c = buf[pos]!;
          if (c === 32) break;
          const d = c - 48;
          if (d < 0 || d > 9) {
            countSkip(stats, "non-numeric");
            return false;
          }
          v = v * 10 + d;
        }
        const t = targets[field]!;
        if (t >= 0) num[t] = v;
      } else if (kind === ADDRESS) {
        // IPv4 is read as a 32-bit number on the way; anything else is interned by its bytes.
        let ip = 0;
        let octet = 0;
        let dots = 0;
        let v4 = true;
        let h = 0x811c9dc5;
        for (; pos < e; pos++) {
          c = buf[pos]!;
          if (c === 32) break;
          h = Math.imul(h ^ c, 0x01000193);
          if (c === 46) {
            ip = ip * 256 + octet;
            octet = 0;
            dots++;
          } else {
            const d = c - 48;
            if (d < 0 || d > 9) v4 = false;
            else octet = octet * 10 + d;
          }
        }
        addr[targets[field]!] = v4 && dots === 3 ? this.ipv4(ip * 256 + octet, buf, begin, pos, h) : this.addresses.internHashed(buf, begin, pos, h);
      } else if (kind === INTERFACE) {
        let h = 0x811c9dc5;
        for (; pos < e; pos++) {
          c = buf[pos]!;
          if (c === 32) break;
          h = Math.imul(h ^ c, 0x01000193);
        }
        this.interfaceId = this.interfaces.internHashed(buf, begin, pos, h);
      } else {
        if (kind === ACTION) this.action = c === 82 ? ACTION_REJECT : c === 65 ? ACTION_ACCEPT : 0; // R, A
        else if (kind === STATUS) this.status = c === 78 ? 1 : c === 83 ? 2 : STATUS_OK; // NODATA, SKIPDATA
        else if (kind === DIRECTION) this.direction = c === 105 ? DIRECTION_INGRESS : c === 101 ? DIRECTION_EGRESS : 0; // i, e
        while (pos < e && buf[pos] !== 32) pos++;
      }
      if (keep) {
        this.tokens[2 * field] = begin;
        this.tokens[2 * field + 1] = pos;
      }
      field++;
    }
    if (field < width) {
      countSkip(stats, "too-few-fields");
      return false;
    }
    if (this.status === 1) {
      countSkip(stats, "nodata");
      return false;
    }
    if (this.status === 2) {
      countSkip(stats, "skipdata");
      return false;
    }
    stats.analysed++;
    return true;
  }
}

/** Splits chunks of bytes into lines and scans each; keeps a partial last line for the next chunk. */
export class LineSplitter {
  private carry: Buffer | undefined;

  constructor(private readonly onLine: (buf: Buffer, s: number, e: number) => void) {}

  push(chunk: Buffer): void {
    const buf = chunk;
    let s = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl)]);
      this.carry = undefined;
      this.onLine(line, 0, line.length);
      s = nl + 1;
    }
    for (let nl = buf.indexOf(10, s); nl !== -1; nl = buf.indexOf(10, s)) {
      this.onLine(buf, s, nl);
      s = nl + 1;
    }
    if (s < buf.length) this.carry = Buffer.from(buf.subarray(s));
  }

  /** Ends the stream: the last line, if it had no newline. */
  end(): void {
    if (this.carry) this.onLine(this.carry, 0, this.carry.length);
    this.carry = undefined;
  }

  /** Drops a partial line (a damaged stream's last line is not a record). */
  discard(): void {
    this.carry = undefined;
  }
}
