/**
 * The flow-log record scanner: reads records straight from bytes, one pass per line, with no
 * per-field strings. Addresses and interface ids are interned to small integers; numbers are
 * read digit by digit. This is the only record parser in the kit: RecordParser wraps it for
 * callers that hold lines as strings.
 */
import { fieldByName } from "./fields";
import { LogFormat } from "./format";
import { countSkip, ParseStats, SkipReason } from "./stats";
import { RowTable } from "./row-table";

/** Interns byte strings (addresses, interface ids) to dense integer ids. */
export class InternTable {
  private keys = new Uint8Array(1 << 16);
  private hashes: Int32Array = new Int32Array(1024);
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
    const mask = this.slots.length - 1;
    const len = e - s;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]!;
      if (id === -1) return this.add(buf, s, e, slot, h);
      if (this.hashes[id] === h && this.lengths[id] === len) {
        const keys = this.keys;
        let i = this.offsets[id]!;
        let j = s;
        while (j < e && keys[i] === buf[j]) {
          i++;
          j++;
        }
        if (j === e) return id;
      }
    }
  }

  /** The string of an id. */
  get(id: number): string {
    let s = this.strings[id];
    if (s === undefined) {
      s = Buffer.from(this.keys.buffer, this.keys.byteOffset + this.offsets[id]!, this.lengths[id]!).toString("latin1");
      this.strings[id] = s;
    }
    return s;
  }

  private add(buf: Buffer, s: number, e: number, slot: number, h: number): number {
    const id = this.size++;
    const len = e - s;
    if (this.used + len > this.keys.length) {
      const bigger = new Uint8Array(Math.max(this.keys.length * 2, this.used + len));
      bigger.set(this.keys.subarray(0, this.used));
      this.keys = bigger;
    }
    this.keys.set(buf.subarray(s, e), this.used);
    if (id >= this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
      const l = new Int32Array(this.lengths.length * 2);
      l.set(this.lengths);
      this.lengths = l;
      const hs = new Int32Array(this.hashes.length * 2);
      hs.set(this.hashes);
      this.hashes = hs;
    }
    this.hashes[id] = h;
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
      let slot = this.hashes[id]! & mask;
      while (slots[slot] !== -1) slot = (slot + 1) & mask;
      slots[slot] = id;
    }
    this.slots = slots;
  }
}

// What the scanner does with each field of the format (functions/detect/assembly/ingest.ts uses the same codes).
export const SKIP = 0;
export const NUMBER = 1;
export const ADDRESS = 2;
export const INTERFACE = 3;
export const ACTION = 4;
export const STATUS = 5;
export const DIRECTION = 6;
const TEXT = 7;

/** Where a numeric field lands. */
const NUMERIC_TARGETS: Record<string, number> = { srcport: 0, dstport: 1, protocol: 2, packets: 3, bytes: 4, start: 5, end: 6, "tcp-flags": 7, "traffic-path": 8 };
const ADDRESS_TARGETS: Record<string, number> = { srcaddr: 0, dstaddr: 1, "pkt-srcaddr": 2, "pkt-dstaddr": 3 };

/**
 * How each field of a format is read: its kind, and for numbers and addresses the slot it lands
 * in (NUMERIC_TARGETS, ADDRESS_TARGETS; -1 for a number that is validated but not kept).
 * Without interning, addresses and interface ids are passed over; without tokens, text too.
 */
export function fieldPlan(format: LogFormat, interning = true, keepTokens = false): { kinds: Uint8Array; targets: Int8Array } {
  const width = format.fields.length;
  const kinds = new Uint8Array(width);
  const targets = new Int8Array(width).fill(-1);
  format.fields.forEach((f, i) => {
    if (!interning && (f.name in ADDRESS_TARGETS || f.name === "interface-id")) kinds[i] = SKIP;
    else if (f.name in ADDRESS_TARGETS) {
      kinds[i] = ADDRESS;
      targets[i] = ADDRESS_TARGETS[f.name]!;
    } else if (f.name in NUMERIC_TARGETS) {
      kinds[i] = NUMBER;
      targets[i] = NUMERIC_TARGETS[f.name]!;
    } else if (f.name === "interface-id") kinds[i] = INTERFACE;
    else if (f.name === "action") kinds[i] = ACTION;
    else if (f.name === "log-status") kinds[i] = STATUS;
    else if (f.name === "flow-direction") kinds[i] = DIRECTION;
    else if (f.type !== "string") kinds[i] = NUMBER; // validated, not kept
    else kinds[i] = keepTokens ? TEXT : SKIP;
  });
  return { kinds, targets };
}

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
  /**
   * IPv4 address (as a 32-bit number) -> address id, open addressing: a known IPv4 address costs
   * one integer lookup. Not a RowTable: one key instead of three measured 7% faster scanning.
   */
  private v4Keys = new Int32Array(1 << 12);
  private v4Ids = new Int32Array(1 << 12).fill(-1);
  private v4Shift = 32 - 12;
  private v4Size = 0;
  private lines!: LinesScanner;
  /** ENI ids read as numbers -> interface id. */
  private readonly eniIds = new RowTable(4);
  private format!: LogFormat;
  /** Off once a run has stopped analysing: addresses and interfaces are then passed over, not interned. */
  private interning = true;

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
    const { kinds, targets } = fieldPlan(format, this.interning, this.keepTokens);
    this.lines = compileLines(kinds, targets, this.keepTokens);
  }

  /**
   * Stops interning addresses and interface ids (from the next run of lines on): their fields
   * are still checked as fields but read as absent. For a run that no longer analyses records,
   * so that a flood of distinct addresses cannot grow memory.
   */
  stopInterning(): void {
    if (!this.interning) return;
    this.interning = false;
    this.use(this.format);
  }

  /** The address id of an IPv4 address given as a 32-bit number (its text is buf[s, e)). */
  ipv4(ip: number, buf: Buffer, s: number, e: number): number {
    const mask = this.v4Ids.length - 1;
    for (let slot = Math.imul(ip, 0x9e3779b1) >>> this.v4Shift; ; slot = (slot + 1) & mask) {
      const id = this.v4Ids[slot]!;
      if (id === -1) {
        const fresh = this.addresses.intern(buf, s, e);
        this.v4Keys[slot] = ip;
        this.v4Ids[slot] = fresh;
        if (++this.v4Size * 2 > this.v4Ids.length) this.growV4();
        return fresh;
      }
      if (this.v4Keys[slot] === ip) return id;
    }
  }

  private growV4(): void {
    const keys = this.v4Keys;
    const ids = this.v4Ids;
    this.v4Keys = new Int32Array(keys.length * 2);
    this.v4Ids = new Int32Array(ids.length * 2).fill(-1);
    this.v4Shift--;
    const mask = this.v4Ids.length - 1;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === -1) continue;
      let slot = Math.imul(keys[i]!, 0x9e3779b1) >>> this.v4Shift;
      while (this.v4Ids[slot] !== -1) slot = (slot + 1) & mask;
      this.v4Keys[slot] = keys[i]!;
      this.v4Ids[slot] = ids[i]!;
    }
  }

  /** The interface id of "eni-" + 17 hex digits given as three numbers (7, 7 and 3 digits); its text is buf[s, e). */
  eni(a: number, b: number, c: number, buf: Buffer, s: number, e: number): number {
    const row = this.eniIds.upsert(a, b, c);
    if (this.eniIds.isNew) this.eniIds.i32[row + 3] = this.interfaces.intern(buf, s, e);
    return this.eniIds.i32[row + 3]!;
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

  /** Counts a skipped line (called by the compiled scanner). */
  skipped(reason: SkipReason): void {
    countSkip(this.stats, reason);
  }

  /**
   * Scans every line of buf[s, e), which ends with a newline, calling `onRecord` for each record
   * to analyse while the public fields hold it. Blank lines are passed over, a header line
   * switches the format for the lines after it, and every other line is read: analysed, or
   * skipped and counted in `stats` by reason.
   */
  scanLines(buf: Buffer, s: number, e: number, onRecord: () => void): void {
    let pos = s;
    let plain = -1;
    while (pos < e) {
      // The compiled scanner stops at a line that may be a header: the one place that needs names.
      const at = this.lines(this, buf, pos, e, onRecord, plain);
      if (at >= e) return;
      let end = buf.indexOf(10, at);
      const next = end + 1;
      if (end > at && buf[end - 1] === 13) end--;
      const header = this.header(buf, at, end);
      if (header) {
        this.use(header);
        pos = next;
      } else {
        plain = at;
        pos = at;
      }
    }
  }

  /**
   * Scans buf[s, e), one line without its newline. Returns true for a record to analyse; false
   * for a blank or header line or a skip, which is counted in `stats` by reason.
   */
  scan(buf: Buffer, s: number, e: number): boolean {
    const line = Buffer.allocUnsafe(e - s + 1);
    buf.copy(line, 0, s, e);
    line[e - s] = 10;
    let found = false;
    this.scanLines(line, 0, line.length, () => (found = true));
    return found;
  }
}

/**
 * Scans complete lines of buf[pos, e) into the scanner's fields, calling onRecord per record
 * to analyse; returns e, or the start of a line that begins with a letter (a possible header)
 * unless that line starts at `plain` (already known not to be a header).
 */
type LinesScanner = (sc: FlowScanner, buf: Buffer, pos: number, e: number, onRecord: () => void, plain: number) => number;

const compiled = new Map<string, LinesScanner>();

/**
 * Compiles a format into a straight-line scanner: one block per field, in the format's order,
 * each reading its bytes in the way its kind needs (digits into a number, an IPv4 address into
 * a 32-bit number, an id hashed for interning, a code by its first letter). With no per-field
 * dispatch, no per-line call and no search for line ends, a record costs little more than one
 * look at each of its bytes. Fields are separated by spaces; a line ends at LF, with or without
 * CR. The code is built only from the fixed snippets below, never from input text.
 */
function compileLines(kinds: Uint8Array, targets: Int8Array, keepTokens: boolean): LinesScanner {
  const key = `${kinds.join(",")}/${targets.join(",")}/${keepTokens}`;
  const known = compiled.get(key);
  if (known) return known;
  const body: string[] = [];
  kinds.forEach((kind, i) => {
    if (i > 0) body.push(`if (c !== 32) ${endOfField}`, "do c = buf[++pos]; while (c === 32);", `if (c <= 32) ${endOfField}`);
    body.push("b = pos;");
    // "-" alone is an absent value.
    body.push("if (c === 45 && buf[pos + 1] <= 32) {", "  c = buf[++pos];", ...ABSENT[kind]!(targets[i]!).map((l) => `  ${l}`), "} else {", ...READ[kind]!(targets[i]!).map((l) => `  ${l}`), "}");
    if (keepTokens) body.push(`sc.tokens[${2 * i}] = b;`, `sc.tokens[${2 * i + 1}] = pos;`);
  });
  const code = [
    "const num = sc.num, addr = sc.addr, stats = sc.stats;",
    "let c = 0, b = 0, d = 0, v = 0, ip = 0, octet = 0, dots = 0, v4 = true, x1 = 0, x2 = 0, x3 = 0, digits = 0, eni = false, skip = '';",
    "while (pos < e) {",
    "  while (buf[pos] === 32) pos++;",
    "  c = buf[pos];",
    "  if (c === 10 || (c === 13 && buf[pos + 1] === 10)) { pos += c === 10 ? 1 : 2; continue; }",
    "  if ((c < 48 || c > 57) && c !== 45 && pos !== plain) return pos;",
    "  stats.read++;",
    "  skip = '';",
    "  line: {",
    ...body.map((l) => `    ${l}`),
    "    while (c === 32) c = buf[++pos];",
    "    if (c === 13) c = buf[++pos];",
    `    if (c !== 10) { skip = c > 32 ? "too-many-fields" : "control-character"; break line; }`,
    "    pos++;",
    "  }",
    "  if (skip !== '') {",
    "    sc.skipped(skip);",
    "    pos = buf.indexOf(10, pos) + 1;",
    `  } else if (sc.status !== ${STATUS_OK}) sc.skipped(sc.status === 1 ? "nodata" : "skipdata");`,
    "  else {",
    "    stats.analysed++;",
    "    onRecord();",
    "  }",
    "}",
    "return e;",
  ];
  const fn = new Function("sc", "buf", "pos", "e", "onRecord", "plain", code.join("\n")) as LinesScanner;
  compiled.set(key, fn);
  return fn;
}

/** A field ended where the next should start: the line is short, or holds a control character. */
const endOfField = '{ skip = c === 10 || c === 13 ? "too-few-fields" : "control-character"; break line; }';

const toEnd = "while (c > 32) c = buf[++pos];";

/** What each kind of field does when its value is "-". */
const ABSENT: Record<number, (t: number) => string[]> = {
  [SKIP]: () => [],
  [TEXT]: () => [],
  [NUMBER]: (t) => (t >= 0 ? [`num[${t}] = -1;`] : []),
  [ADDRESS]: (t) => [`addr[${t}] = -1;`],
  [INTERFACE]: () => ["sc.interfaceId = -1;"],
  [ACTION]: () => ["sc.action = 0;"],
  [STATUS]: () => [`sc.status = ${STATUS_OK};`],
  [DIRECTION]: () => ["sc.direction = 0;"],
};

/** How each kind of field is read: c = buf[pos] is its first byte; leaves c = buf[pos] the byte after it. */
const READ: Record<number, (t: number) => string[]> = {
  [SKIP]: () => [toEnd],
  [TEXT]: () => [toEnd],
  [NUMBER]: (t) => [
    "v = 0;",
    "while ((c - 48) >>> 0 <= 9) {",
    "  v = v * 10 + (c - 48);",
    "  c = buf[++pos];",
    "}",
    'if (c > 32 || pos === b) { skip = "non-numeric"; break line; }',
    ...(t >= 0 ? [`num[${t}] = v;`] : []),
  ],
  [ADDRESS]: (t) => [
    // IPv4 is read as a 32-bit number on the way; anything else is interned by its bytes.
    // Exact: four octets of 1-3 digits, each at most 255, no leading zero (else two texts would share a number).
    "ip = 0; octet = 0; dots = 0; digits = 0; v4 = true;",
    "while (c > 32) {",
    "  if (c === 46) {",
    "    ip = (ip << 8) | octet;",
    "    if (octet > 255 || digits === 0) v4 = false;",
    "    octet = 0;",
    "    digits = 0;",
    "    dots++;",
    "  } else if ((c - 48) >>> 0 <= 9) {",
    "    if (digits > 0 && octet === 0) v4 = false;",
    "    octet = octet * 10 + (c - 48);",
    "    digits++;",
    "  } else v4 = false;",
    "  c = buf[++pos];",
    "}",
    `addr[${t}] = v4 && dots === 3 && digits > 0 && octet <= 255 && pos - b <= 15 ? sc.ipv4((ip << 8) | octet, buf, b, pos) : sc.addresses.intern(buf, b, pos);`,
  ],
  [INTERFACE]: () => [
    // An ENI id ("eni-" and 17 hex digits) is read as three numbers on the way; others are interned by their bytes.
    "x1 = 0; x2 = 0; x3 = 0; digits = 0;",
    "eni = c === 101 && buf[pos + 1] === 110 && buf[pos + 2] === 105 && buf[pos + 3] === 45;",
    "if (eni) c = buf[pos += 4];",
    "while (c > 32) {",
    "  d = c <= 57 ? c - 48 : c - 87;",
    "  if (d >>> 0 > 15 || (c > 57 && c < 97)) eni = false;",
    "  else if (digits < 7) x1 = x1 * 16 + d;",
    "  else if (digits < 14) x2 = x2 * 16 + d;",
    "  else x3 = x3 * 16 + d;",
    "  digits++;",
    "  c = buf[++pos];",
    "}",
    "sc.interfaceId = eni && digits === 17 ? sc.eni(x1, x2, x3, buf, b, pos) : sc.interfaces.intern(buf, b, pos);",
  ],
  // ACCEPT / REJECT, OK / NODATA / SKIPDATA, ingress / egress: the first letter tells.
  [ACTION]: () => [`sc.action = c === 82 ? ${ACTION_REJECT} : c === 65 ? ${ACTION_ACCEPT} : 0;`, toEnd],
  [STATUS]: () => [`sc.status = c === 78 ? 1 : c === 83 ? 2 : ${STATUS_OK};`, toEnd],
  [DIRECTION]: () => [`sc.direction = c === 105 ? ${DIRECTION_INGRESS} : c === 101 ? ${DIRECTION_EGRESS} : 0;`, toEnd],
};

/**
 * Cuts a stream of byte chunks at line ends: hands on runs of whole lines (each run ends with a
 * newline) and keeps a partial last line for the next chunk.
 */
export class LineSplitter {
  private carry: Buffer | undefined;

  constructor(private readonly onLines: (buf: Buffer, s: number, e: number) => void) {}

  push(chunk: Buffer): void {
    let s = 0;
    if (this.carry) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = undefined;
      this.onLines(line, 0, line.length);
      s = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= s) {
      this.onLines(chunk, s, last + 1);
      s = last + 1;
    }
    if (s < chunk.length) this.carry = Buffer.from(chunk.subarray(s));
  }

  /** Ends the stream: the last line, if it had no newline. */
  end(): void {
    const carry = this.carry;
    this.carry = undefined;
    if (carry) this.onLines(Buffer.concat([carry, NEWLINE]), 0, carry.length + 1);
  }

  /** Drops a partial line (a damaged stream's last line is not a record). */
  discard(): void {
    this.carry = undefined;
  }
}

const NEWLINE = Buffer.from("\n");
