/**
 * The flow-log record scanner: reads records straight from bytes, one pass per line, with no
 * per-field strings. Addresses and interface ids are interned to small integers; numbers are
 * read digit by digit. This is the only record parser in the kit: RecordParser wraps it for
 * callers that hold lines as strings.
 */
import { fieldByName } from "./fields";
import { LogFormat, LogFormatError } from "./format";
import { countSkip, ParseStats, SkipReason } from "./stats";
import { RowTable } from "./row-table";
import { ACTIONS, FLOW_DIRECTIONS, isIPAddress, LOG_STATUSES, VALUE_LIMITS } from "./values";

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

  constructor(
    /** Which byte strings may be added: intern returns -1 for any other, so every id stands for an accepted one. */
    private readonly accept?: (buf: Buffer, s: number, e: number) => boolean,
  ) {}

  /** The id of buf[s, e), adding it when new; -1 when it is new and not accepted. */
  intern(buf: Buffer, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const mask = this.slots.length - 1;
    const len = e - s;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]!;
      if (id === -1) return this.accept === undefined || this.accept(buf, s, e) ? this.add(buf, s, e, slot, h) : -1;
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
/** An address checked but not interned (once a run has stopped interning). */
const ADDRESS_CHECK = 8;
/** pkt-src-aws-service or pkt-dst-aws-service: whether the address is an AWS service's (see `awsService`). */
export const AWS_SERVICE = 9;

/**
 * Where a numeric field lands. The first nine are the ones the WebAssembly ingest loop keeps
 * (LOOP_NUMBERS); the packets-lost-* counts of transit-gateway records only FlowScanner keeps.
 */
const NUMERIC_TARGETS: Record<string, number> = {
  srcport: 0, dstport: 1, protocol: 2, packets: 3, bytes: 4, start: 5, end: 6, "tcp-flags": 7, "traffic-path": 8,
  "packets-lost-no-route": 9, "packets-lost-blackhole": 10, "packets-lost-mtu-exceeded": 11, "packets-lost-ttl-expired": 12,
};
/** Numbers the WebAssembly ingest loop keeps per record: num[0, LOOP_NUMBERS). */
export const LOOP_NUMBERS = 9;
/** Where the packets-lost-* counts land in `num`: no route, blackhole, MTU exceeded, TTL expired. */
export const LOST_FIRST = 9;
const ADDRESS_TARGETS: Record<string, number> = { srcaddr: 0, dstaddr: 1, "pkt-srcaddr": 2, "pkt-dstaddr": 3 };
/** The bit of FlowScanner.awsService each field sets: 0 the source, 1 the destination. */
const AWS_SERVICE_TARGETS: Record<string, number> = { "pkt-src-aws-service": 0, "pkt-dst-aws-service": 1 };
/**
 * The pkt-*-aws-service value that does not make an address an AWS service's: EC2 names the
 * ranges AWS rents to its customers' instances (anyone's, an attacker's included), so it says
 * who hosts the peer, not that the peer is a service. Every other value names ranges AWS's own
 * services answer on (S3, DYNAMODB, CLOUDFRONT, ROUTE53_HEALTHCHECKS, ...; AMAZON for those
 * only in AWS's catch-all subset, such as its API endpoints); "-" is none.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
 */
export const AWS_SERVICE_NOT_A_SERVICE = "EC2";

/**
 * How each field of a format is read: its kind, for numbers and addresses the slot it lands
 * in (NUMERIC_TARGETS, ADDRESS_TARGETS; -1 for a number that is validated but not kept), and
 * for numbers the largest valid value (VALUE_LIMITS; Infinity when unbounded).
 * Without interning, addresses are checked but not interned and interface ids passed over;
 * without tokens, text is passed over too.
 */
export function fieldPlan(format: LogFormat, interning = true, keepTokens = false): { kinds: Uint8Array; targets: Int8Array; limits: Float64Array } {
  const width = format.fields.length;
  const kinds = new Uint8Array(width);
  const targets = new Int8Array(width).fill(-1);
  const limits = new Float64Array(width).fill(Infinity);
  format.fields.forEach((f, i) => {
    if (f.name in VALUE_LIMITS) limits[i] = VALUE_LIMITS[f.name]!;
    if (!interning && f.name in ADDRESS_TARGETS) kinds[i] = ADDRESS_CHECK;
    else if (!interning && (f.name === "interface-id" || f.name === "tgw-attachment-id")) kinds[i] = SKIP;
    else if (f.name in ADDRESS_TARGETS) {
      kinds[i] = ADDRESS;
      targets[i] = ADDRESS_TARGETS[f.name]!;
    } else if (f.name in NUMERIC_TARGETS) {
      kinds[i] = NUMBER;
      targets[i] = NUMERIC_TARGETS[f.name]!;
    } else if (f.name === "interface-id" || f.name === "tgw-attachment-id") kinds[i] = INTERFACE;
    else if (f.name === "action") kinds[i] = ACTION;
    else if (f.name === "log-status") kinds[i] = STATUS;
    else if (f.name === "flow-direction") kinds[i] = DIRECTION;
    else if (f.name in AWS_SERVICE_TARGETS) {
      kinds[i] = AWS_SERVICE;
      targets[i] = AWS_SERVICE_TARGETS[f.name]!;
    } else if (f.type !== "string") kinds[i] = NUMBER; // validated, not kept
    else kinds[i] = keepTokens ? TEXT : SKIP;
  });
  return { kinds, targets, limits };
}

// Codes of the enumerated fields: each word's place in its list in values.ts, from these.
export const ACTION_ACCEPT = 1;
export const ACTION_REJECT = 2;
export const STATUS_OK = 0;
export const DIRECTION_INGRESS = 1;
export const DIRECTION_EGRESS = 2;

/** A header line as read: the format it names, or why it names none. */
export interface HeaderLine {
  /** Its field names, space-separated. */
  readonly text: string;
  /** The format it names; undefined when it cannot name one (see `problems`). */
  readonly format?: LogFormat;
  /** Why it names no format, one sentence per bad field (e.g. `unknown field "dstadr"; did you mean "dstaddr"?`). */
  readonly problems?: readonly string[];
}

/** A line that was read and skipped (NODATA and SKIPDATA records aside), kept to explain a run that analysed nothing. */
export interface SkippedLine {
  /** Its first bytes (at most SAMPLE_BYTES), as latin1. */
  readonly text: string;
  readonly reason: SkipReason;
  /** The format it was read in. */
  readonly format: LogFormat;
}

/** Skipped lines a scanner keeps, and how much of each: enough for a record of every field (a transit-gateway default record is over 300 bytes), so that its fields can be counted. */
const SAMPLES = 3;
export const SAMPLES_KEPT = SAMPLES;
const SAMPLE_BYTES = 1024;

/**
 * Scans records of one log format. After `scan` returns true, the public fields hold the
 * record; -1 (or 0 for the codes) means absent.
 */
export class FlowScanner {
  /** srcport, dstport, protocol, packets, bytes, start, end, tcp-flags, traffic-path, then packets lost (no route, blackhole, MTU exceeded, TTL expired); -1 when absent. */
  readonly num = new Float64Array(13);
  /** srcaddr, dstaddr, pkt-srcaddr, pkt-dstaddr as address ids; -1 when absent. */
  readonly addr = new Int32Array(4);
  /**
   * Where the record was captured, as an id of `interfaces`: a VPC record's interface-id, or a
   * transit-gateway record's tgw-attachment-id (its counterpart: the attachment the traffic
   * crossed, which findings then name); -1 when absent.
   */
  interfaceId = -1;
  /** ACTION_ACCEPT, ACTION_REJECT, or 0: absent, as in every transit-gateway record (they have no action field). */
  action = 0;
  status = STATUS_OK;
  direction = 0;
  /**
   * Bit 0: the packet-level source is an AWS service's address (pkt-src-aws-service logged, and
   * neither "-" nor AWS_SERVICE_NOT_A_SERVICE); bit 1: the destination is (pkt-dst-aws-service).
   * 0 when the format logs neither.
   */
  awsService = 0;
  /** Start and end offset of every field of the last line, when `keepTokens` is on. */
  readonly tokens: Int32Array;
  /** Only valid addresses get an id (values.ts): a line with any other is skipped as invalid-value. */
  readonly addresses = new InternTable(isIPAddress);
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
  /** Off once a run has stopped analysing: addresses are then checked but not interned, and interface ids passed over. */
  private interning = true;
  /** The header line in force that names no format: until the next header, lines are skipped (bad-header). */
  private unreadable: HeaderLine | undefined;
  /** Called for every header line, good or bad. */
  onHeader: ((header: HeaderLine) => void) | undefined;
  /** The first few lines skipped (see SkippedLine). */
  readonly samples: SkippedLine[] = [];

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

  /** Whether lines are read as records of `currentFormat`; false under a header line that names no format. */
  get readable(): boolean {
    return this.unreadable === undefined;
  }

  /** Switches to another format (e.g. the one a file's header names). */
  use(format: LogFormat): void {
    this.format = format;
    this.unreadable = undefined;
    this.compile();
  }

  private compile(): void {
    // Fields the format lacks stay absent; fields it has are written on every line.
    this.num.fill(-1);
    this.addr.fill(-1);
    this.interfaceId = -1;
    this.action = 0;
    this.status = STATUS_OK;
    this.direction = 0;
    this.awsService = 0;
    if (this.unreadable) {
      this.lines = skipLines;
      return;
    }
    const { kinds, targets, limits } = fieldPlan(this.format, this.interning, this.keepTokens);
    this.lines = compileLines(kinds, targets, limits, this.format.has("start") && this.format.has("end"), this.keepTokens);
  }

  /**
   * Stops interning addresses and interface ids (from the next run of lines on): addresses are
   * still checked, interface ids passed over, and both read as absent. For a run that no longer
   * analyses records, so that a flood of distinct addresses cannot grow memory.
   */
  stopInterning(): void {
    if (!this.interning) return;
    this.interning = false;
    this.compile();
  }

  /** Whether the field at buf[s] is a minus sign and digits (called by the compiled scanner for a field that is not digits). */
  negative(buf: Buffer, s: number): boolean {
    let i = s + 1;
    while (buf[i]! >= 48 && buf[i]! <= 57) i++;
    return buf[s] === 45 && i > s + 1 && buf[i]! <= 32;
  }

  /** Whether buf[s, e) is an IPv4 or IPv6 address (called by the compiled scanner once it no longer interns). */
  validAddress(buf: Buffer, s: number, e: number): boolean {
    return isIPAddress(buf, s, e);
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

  /**
   * The header line buf[s, e) (without its newline), or undefined when it is not one. A header
   * is a line of field-name-shaped words (lower-case letters, digits, hyphens), more than half
   * of them catalog fields: so a header with a typo or a field the catalog lacks is still known
   * for one (and reported), while prose such as "start the engine" is not.
   */
  private header(buf: Buffer, s: number, e: number): HeaderLine | undefined {
    const text = buf.toString("latin1", s, e).trim();
    const tokens = text.split(/\s+/);
    if (!tokens.every((t) => FIELD_NAME.test(t))) return undefined;
    if (tokens.filter((t) => fieldByName(t) !== undefined).length * 2 <= tokens.length) return undefined;
    try {
      return { text: tokens.join(" "), format: formatOfFields(tokens) };
    } catch (err) {
      if (!(err instanceof LogFormatError)) throw err;
      return { text: tokens.join(" "), problems: err.problems };
    }
  }

  /** Counts a skipped line (called by the compiled scanner), keeping the first few that were not NODATA or SKIPDATA records; buf[s] starts the line. */
  skipped(reason: SkipReason, buf?: Buffer, s = 0): void {
    countSkip(this.stats, reason);
    if (buf !== undefined && this.samples.length < SAMPLES) {
      let end = buf.indexOf(10, s);
      if (end === -1 || end - s > SAMPLE_BYTES) end = Math.min(buf.length, s + SAMPLE_BYTES);
      else if (end > s && buf[end - 1] === 13) end--;
      this.samples.push({ text: buf.toString("latin1", s, end), reason, format: this.format });
    }
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
      // The compiled scanner stops at a line that may be a header or JSON: the one place that needs names.
      const at = this.lines(this, buf, pos, e, onRecord, plain);
      if (at >= e) return;
      let end = buf.indexOf(10, at);
      const next = end + 1;
      if (end > at && buf[end - 1] === 13) end--;
      const json = buf[at] === 123 ? this.unwrap(buf, at, e) : undefined;
      if (json) {
        this.scanLines(json.lines, 0, json.lines.length, onRecord);
        pos = json.end;
        continue;
      }
      const header = this.header(buf, at, end);
      if (header) {
        if (header.format) this.use(header.format);
        else {
          this.unreadable = header;
          this.compile();
        }
        this.onHeader?.(header);
        pos = next;
      } else {
        plain = at;
        pos = at;
      }
    }
  }

  /**
   * The records wrapped in the JSON lines from buf[s] on (see jsonMessages), as lines of their
   * own, and where the first line after them starts; undefined when the line at s wraps none.
   * buf[s, e) ends with a newline.
   */
  unwrap(buf: Buffer, s: number, e: number): { lines: Buffer; end: number } | undefined {
    const messages: string[] = [];
    let pos = s;
    while (pos < e && buf[pos] === 123) {
      const next = buf.indexOf(10, pos) + 1;
      const wrapped = jsonMessages(buf, pos, next > pos + 1 && buf[next - 2] === 13 ? next - 2 : next - 1);
      if (wrapped === undefined) break;
      for (const m of wrapped) messages.push(m);
      pos = next;
    }
    if (pos === s) return undefined;
    return { lines: Buffer.from(messages.length ? `${messages.join("\n")}\n` : "", "utf8"), end: pos };
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

/** `"a"`, `"a" and "b"`, `"a", "b" and "c"`. */
const quoted = (names: readonly string[]) => {
  const q = names.map((n) => `"${n}"`);
  return q.length === 1 ? q[0]! : `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
};

/**
 * The format a list of catalog field names names when no resource type comes with it (a header
 * line, `detect --format`, the detector's FLOWLOG_FORMAT): a transit-gateway format when a field
 * exists only in transit-gateway flow logs, else a VPC one. Fields both kinds have (srcaddr,
 * packets, tcp-flags, ...) read alike in either.
 * @throws LogFormatError with LogFormat.custom's problems, and first, when the list mixes fields
 * only transit-gateway flow logs have with fields only VPC flow logs have, one naming both: no
 * flow log writes records with both.
 */
export function formatOfFields(names: readonly string[]): LogFormat {
  const only = (family: "vpc" | "tgw") => [...new Set(names.filter((n) => fieldByName(n)?.family === family))];
  const tgw = only("tgw");
  if (tgw.length === 0) return LogFormat.custom(names, "vpc");
  const vpc = only("vpc");
  const problems: string[] = [];
  if (vpc.length > 0) {
    const fields = (list: readonly string[]) => `${list.length === 1 ? "field" : "fields"} ${quoted(list)}`;
    problems.push(`${fields(tgw)} ${tgw.length === 1 ? "exists" : "exist"} only in transit gateway flow logs and ${fields(vpc)} only in VPC flow logs: no flow log has both`);
  }
  try {
    const format = LogFormat.custom(names.filter((n) => !vpc.includes(n)), "transit-gateway");
    if (problems.length === 0) return format;
  } catch (err) {
    if (!(err instanceof LogFormatError)) throw err;
    problems.push(...err.problems);
  }
  throw new LogFormatError(problems);
}

/** What a header's words look like. */
const FIELD_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * The flow-log records a JSON line wraps, or undefined when it wraps none: a shipper's
 * `{"message": "<record>", ...}` (Vector, Logstash, a Firehose transform), or a CloudWatch Logs
 * subscription payload `{"messageType": ..., "logEvents": [{"message": ...}]}` (none for its
 * control messages).
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
 */
function jsonMessages(buf: Buffer, s: number, e: number): string[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString("utf8", s, e));
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null) return undefined;
  const { message, messageType, logEvents } = doc as { message?: unknown; messageType?: unknown; logEvents?: unknown };
  if (typeof message === "string") return [message];
  if (messageType === "CONTROL_MESSAGE") return [];
  if (!Array.isArray(logEvents)) return undefined;
  const messages = logEvents.map((event) => (event as { message?: unknown } | null)?.message).filter((m): m is string => typeof m === "string");
  return messages.length === logEvents.length ? messages : undefined;
}

/**
 * Scans complete lines of buf[pos, e) into the scanner's fields, calling onRecord per record
 * to analyse; returns e, or the start of a line that begins with a letter or `{` (a possible
 * header or JSON) unless that line starts at `plain` (already known to be neither).
 */
type LinesScanner = (sc: FlowScanner, buf: Buffer, pos: number, e: number, onRecord: () => void, plain: number) => number;

const compiled = new Map<string, LinesScanner>();

/**
 * Compiles a format into a straight-line scanner: one block per field, in the format's order,
 * each reading its bytes in the way its kind needs (digits into a number and checked against
 * its limit, an IPv4 address into a 32-bit number, an id hashed for interning, a code compared
 * with its words). With no per-field dispatch, no per-line call and no search for line ends, a
 * record costs little more than one look at each of its bytes. Fields are separated by spaces;
 * a line ends at LF, with or without CR. The code is built only from the fixed snippets below,
 * never from input text.
 */
function compileLines(kinds: Uint8Array, targets: Int8Array, limits: Float64Array, startEnd: boolean, keepTokens: boolean): LinesScanner {
  const key = `${kinds.join(",")}/${targets.join(",")}/${limits.join(",")}/${startEnd}/${keepTokens}`;
  const known = compiled.get(key);
  if (known) return known;
  const body: string[] = [];
  kinds.forEach((kind, i) => {
    if (i > 0) body.push(`if (c !== 32) ${endOfField}`, "do c = buf[++pos]; while (c === 32);", `if (c <= 32) ${endOfField}`);
    body.push("b = pos;");
    // "-" alone is an absent value.
    body.push("if (c === 45 && buf[pos + 1] <= 32) {", "  c = buf[++pos];", ...ABSENT[kind]!(targets[i]!).map((l) => `  ${l}`), "} else {", ...READ[kind]!(targets[i]!, limits[i]!).map((l) => `  ${l}`), "}");
    if (keepTokens) body.push(`sc.tokens[${2 * i}] = b;`, `sc.tokens[${2 * i + 1}] = pos;`);
  });
  // A flow cannot end before it starts (both are whole seconds; -1 is absent).
  if (startEnd) body.push(`if (num[6] >= 0 && num[6] < num[5]) ${invalid}`);
  const code = [
    "const num = sc.num, addr = sc.addr, stats = sc.stats;",
    "let c = 0, b = 0, d = 0, v = 0, ip = 0, octet = 0, dots = 0, v4 = true, x1 = 0, x2 = 0, x3 = 0, digits = 0, eni = false, skip = '', ls = 0;",
    "while (pos < e) {",
    "  while (buf[pos] === 32) pos++;",
    "  c = buf[pos];",
    "  if (c === 10 || (c === 13 && buf[pos + 1] === 10)) { pos += c === 10 ? 1 : 2; continue; }",
    "  if ((c < 48 || c > 57) && c !== 45 && pos !== plain) return pos;",
    "  stats.read++;",
    "  skip = '';",
    "  ls = pos;",
    "  line: {",
    ...body.map((l) => `    ${l}`),
    "    while (c === 32) c = buf[++pos];",
    "    if (c === 13) c = buf[++pos];",
    `    if (c !== 10) { skip = c > 32 ? "too-many-fields" : "control-character"; break line; }`,
    "    pos++;",
    "  }",
    "  if (skip !== '') {",
    "    sc.skipped(skip, buf, ls);",
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

/**
 * Under a header line that names no format: every line is read and skipped (bad-header) up to
 * the next line that may be a header or JSON.
 */
const skipLines: LinesScanner = (sc, buf, pos, e, _onRecord, plain) => {
  while (pos < e) {
    while (buf[pos] === 32) pos++;
    const c = buf[pos]!;
    if (c === 10 || (c === 13 && buf[pos + 1] === 10)) {
      pos += c === 10 ? 1 : 2;
      continue;
    }
    if ((c < 48 || c > 57) && c !== 45 && pos !== plain) return pos;
    sc.stats.read++;
    sc.skipped("bad-header", buf, pos);
    pos = buf.indexOf(10, pos) + 1;
  }
  return e;
};

/** A field ended where the next should start: the line is short, or holds a control character. */
const endOfField = '{ skip = c === 10 || c === 13 ? "too-few-fields" : "control-character"; break line; }';

const invalid = '{ skip = "invalid-value"; break line; }';

const toEnd = "while (c > 32) c = buf[++pos];";

/** A test that the field just read, buf[b, pos), is `word` (ASCII). */
const fieldIs = (word: string) => [`pos - b === ${word.length}`, ...Array.from(word, (ch, i) => `buf[b + ${i}] === ${ch.charCodeAt(0)}`)].join(" && ");

/** Reads a field that holds one of `words`, storing the word's code (`first` + its index) in `target`; any other word is an invalid value. */
const oneOf = (target: string, words: readonly string[], first: number) => [toEnd, `${words.map((w, i) => `if (${fieldIs(w)}) ${target} = ${first + i};`).join(" else ")} else ${invalid}`];

/** What each kind of field does when its value is "-". */
const ABSENT: Record<number, (t: number) => string[]> = {
  [SKIP]: () => [],
  [TEXT]: () => [],
  [NUMBER]: (t) => (t >= 0 ? [`num[${t}] = -1;`] : []),
  [ADDRESS]: (t) => [`addr[${t}] = -1;`],
  [ADDRESS_CHECK]: () => [],
  [INTERFACE]: () => ["sc.interfaceId = -1;"],
  [ACTION]: () => ["sc.action = 0;"],
  [STATUS]: () => [`sc.status = ${STATUS_OK};`],
  [DIRECTION]: () => ["sc.direction = 0;"],
  [AWS_SERVICE]: (t) => [`sc.awsService &= ${~(1 << t)};`],
};

/**
 * How each kind of field is read: c = buf[pos] is its first byte; leaves c = buf[pos] the byte
 * after it. `limit` is a number's largest valid value.
 */
const READ: Record<number, (t: number, limit: number) => string[]> = {
  [SKIP]: () => [toEnd],
  [TEXT]: () => [toEnd],
  [NUMBER]: (t, limit) => [
    "v = 0;",
    "while ((c - 48) >>> 0 <= 9) {",
    "  v = v * 10 + (c - 48);",
    "  c = buf[++pos];",
    "}",
    // A negative number is a number, but never a valid value: no flow-log number is negative.
    'if (c > 32 || pos === b) { skip = pos === b && sc.negative(buf, b) ? "invalid-value" : "non-numeric"; break line; }',
    ...(limit < Infinity ? [`if (v > ${limit}) ${invalid}`] : []),
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
    // The address table takes only valid addresses (IPv6 ones here): -1 is any other text.
    `addr[${t}] = v4 && dots === 3 && digits > 0 && octet <= 255 && pos - b <= 15 ? sc.ipv4((ip << 8) | octet, buf, b, pos) : sc.addresses.intern(buf, b, pos);`,
    `if (addr[${t}] < 0) ${invalid}`,
  ],
  [ADDRESS_CHECK]: () => [toEnd, `if (!sc.validAddress(buf, b, pos)) ${invalid}`],
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
  // The words exactly as AWS writes them: "MAYBE" is no action, "accept" none either.
  [ACTION]: () => oneOf("sc.action", ACTIONS, ACTION_ACCEPT),
  [STATUS]: () => oneOf("sc.status", LOG_STATUSES, STATUS_OK),
  [DIRECTION]: () => oneOf("sc.direction", FLOW_DIRECTIONS, DIRECTION_INGRESS),
  // Any word but EC2 (AWS adds services to the list: a word not known yet is one too).
  [AWS_SERVICE]: (t) => [toEnd, `if (${fieldIs(AWS_SERVICE_NOT_A_SERVICE)}) sc.awsService &= ${~(1 << t)}; else sc.awsService |= ${1 << t};`],
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
