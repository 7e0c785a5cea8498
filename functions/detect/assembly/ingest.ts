/*
 * The detector's ingest loop in WebAssembly (AssemblyScript; built by scripts/build-wasm.js into
 * functions/detect/wasm-module.ts). It does exactly what FlowScanner plus Aggregator.add do for
 * an ordinary record, and nothing else: every line it is not sure of goes back to JavaScript.
 *
 * For each line of the input it reads every field of the format (field ends found sixteen bytes
 * at a time), assigns the record's window and appends it to its part's buffer, in the layout
 * Aggregator.flush reads. It returns at the first line that is not a plain record of the format
 * (a possible header or JSON line, a blank line, extra spaces, a CR, a malformed field, a number
 * of more than 15 digits), that holds a value no flow log holds (a number past its limit, an
 * address JavaScript refused, a word that is not the field's, an end before the start), or
 * that needs a decision JavaScript makes (a full buffer, the row budget, a window past the
 * limit). JavaScript handles that one line with FlowScanner, which counts why it is skipped,
 * then calls `scan` again. Numbers the loop has no slot for (the packets-lost-* counts of
 * transit-gateway records) get a limit of 0 (functions/detect/wasm.ts): a record that lost
 * packets goes back too, and FlowScanner keeps its counts. Ids come from JavaScript (the
 * scanner's intern tables), so both paths give a line the same ids.
 *
 * The state JavaScript shares lives in the control block (`init` returns it), 32-bit words at
 * the offsets below: the part buffers' address at `C_PARTS`, the input's at `C_INPUT`.
 */

import { allocFilled } from "./memory";

// Field kinds (FlowScanner's; 0 is a field passed over).
const NUMBER: u8 = 1;
const ADDRESS: u8 = 2;
const INTERFACE: u8 = 3;
const ACTION: u8 = 4;
const STATUS: u8 = 5;
const DIRECTION: u8 = 6;
const AWS_SERVICE: u8 = 9;

// Control block words (exported: functions/detect/wasm.ts reads its offsets from here).
export const C_WIDTH = 0;
export const C_PART_RECORDS = 1;
export const C_MAX_WAITING = 2;
export const C_WAITING = 3;
export const C_READ = 4;
export const C_ANALYSED = 5;
export const C_NODATA = 6;
export const C_SKIPDATA = 7;
export const C_WINDOW_SECONDS = 8;
export const C_WINDOW_LIMIT = 9;
export const C_INPUT = 10;
export const C_INPUT_CAPACITY = 11;
export const C_PARTS = 12;
/** Per field: kind | (target + 1) << 8. */
export const C_FIELDS = 16;
export const MAX_FIELDS = 64;
/** Records waiting per part. */
export const C_PART_WAITING = C_FIELDS + MAX_FIELDS;
const PARTS = 64;
/** Per field: the largest valid value of a number, as a 64-bit integer (two words, low first). */
export const C_LIMITS = C_PART_WAITING + PARTS;
const CONTROL_WORDS = C_LIMITS + 2 * MAX_FIELDS;

// The words of the enumerated fields as little-endian 64-bit integers of their bytes (values.ts).
const ACCEPT: u64 = 0x545045434341;
const REJECT: u64 = 0x5443454a4552;
const OK: u64 = 0x4b4f;
const NODATA: u64 = 0x415441444f4e;
const SKIPDATA: u64 = 0x4154414450494b53;
const INGRESS: u64 = 0x73736572676e69;
const EGRESS: u64 = 0x737365726765;
/** "EC2": the pkt-*-aws-service word that is no service (FlowScanner's AWS_SERVICE_NOT_A_SERVICE says why). */
const EC2: u64 = 0x324345;

/** Bytes per buffered record (Aggregator's REC words). */
const REC_BYTES = 64;

/**
 * Interning: JavaScript's id for field bytes [ptr, ptr + len); kind 0 address (id * 2 + 1 when
 * an allowed source, -1 when the bytes are no valid address), 1 interface (id * 2).
 */
@external("env", "intern")
declare function intern(kind: i32, ptr: usize, len: i32): i32;
/** JavaScript's window id for a window start. */
@external("env", "windowId")
declare function windowId(start: f64): i32;

let control: usize = 0;
/**
 * Scratch for one line: FlowScanner's num (9 64-bit integers), then addr (4 ints), then
 * interface, action, status, direction, and FlowScanner's awsService bits shifted left by 8 (as
 * the record's direction word carries them).
 */
let line: usize = 0;

// Interning caches, one per kind: slots of three 64-bit key words (the field's bytes, zero padded), a value and a used mark.
const SLOT = 32;
const MAX_KEY = 24;
const tables = new StaticArray<usize>(2);
const masks = new StaticArray<u32>(2);
const sizes = new StaticArray<u32>(2);

// Window ids of 4,096 windows around the first one seen, by their number.
const NEAR = 4096;
let near: usize = 0;
let nearBase: i64 = -1;
let lastIndex: i64 = -1;
let lastId: i32 = -1;

/** Sets up the control block, buffers for `partRecords` records per part, and an input area; returns the control block. */
export function init(partRecords: i32, inputCapacity: i32): usize {
  keyMasks();
  control = allocFilled(CONTROL_WORDS * 4);
  line = allocFilled(128);
  for (let k = 0; k < 2; k++) {
    tables[k] = allocFilled(1024 * SLOT);
    masks[k] = 1023;
    sizes[k] = 0;
  }
  near = allocFilled(NEAR * 4, 0xff);
  store<i32>(control + C_PART_RECORDS * 4, partRecords);
  // (Records are written before they are read: the buffers need no clearing.)
  store<i32>(control + C_PARTS * 4, <i32>heap.alloc(<usize>PARTS * <usize>partRecords * REC_BYTES));
  input(inputCapacity);
  return control;
}

/**
 * An input area of at least `bytes` bytes, followed by 64 bytes of newlines so that the loads
 * past a field's end (16 bytes for its end, 24 for its key) never leave it; returns its start.
 */
export function input(bytes: i32): usize {
  if (bytes > load<i32>(control + C_INPUT_CAPACITY * 4)) {
    const old = <usize>load<i32>(control + C_INPUT * 4);
    if (old != 0) heap.free(old);
    const p = heap.alloc(<usize>bytes + 64);
    store<i32>(control + C_INPUT * 4, <i32>p);
    store<i32>(control + C_INPUT_CAPACITY * 4, bytes);
  }
  const p = <usize>load<i32>(control + C_INPUT * 4);
  memory.fill(p + <usize>bytes, 10, 64);
  return p;
}

/** For a field of n bytes (0 to 24), the masks of its three key words: KEY_MASKS[n * 3 + w]. */
const KEY_MASKS = new StaticArray<u64>(25 * 3);

function keyMasks(): void {
  for (let n = 0; n <= 24; n++) {
    for (let w = 0; w < 3; w++) {
      const bytes = min(max(n - w * 8, 0), 8);
      KEY_MASKS[n * 3 + w] = bytes == 8 ? <u64>-1 : (<u64>1 << (<u64>bytes * 8)) - 1;
    }
  }
}

/**
 * The cached id of field bytes [p, p + len) of a kind: found in its first slot (the common case,
 * inlined), or by `lookupSlow`. A used slot's first key word is never 0 (field bytes are above
 * a space), so an empty slot never matches.
 */
@inline function lookup(kind: i32, p: usize, len: i32): i32 {
  if (len <= MAX_KEY) {
    const m = changetype<usize>(KEY_MASKS) + <usize>len * 24;
    const k0 = load<u64>(p) & load<u64>(m);
    const k1 = load<u64>(p, 8) & load<u64>(m, 8);
    const k2 = load<u64>(p, 16) & load<u64>(m, 16);
    const s = tables[kind] + <usize>(<u32>(hash(k0, k1, k2) >> 32) & masks[kind]) * SLOT;
    if (load<u64>(s) == k0 && load<u64>(s, 8) == k1 && load<u64>(s, 16) == k2) return load<i32>(s, 24);
  }
  return lookupSlow(kind, p, len);
}

/** `lookup` past the first slot: probes on, or asks JavaScript on first sight. */
function lookupSlow(kind: i32, p: usize, len: i32): i32 {
  if (len > MAX_KEY) return intern(kind, p, len);
  const m = changetype<usize>(KEY_MASKS) + <usize>len * 24;
  const k0 = load<u64>(p) & load<u64>(m);
  const k1 = load<u64>(p, 8) & load<u64>(m, 8);
  const k2 = load<u64>(p, 16) & load<u64>(m, 16);
  const h = hash(k0, k1, k2);
  const mask = masks[kind];
  const table = tables[kind];
  for (let slot = <u32>(h >> 32) & mask; ; slot = (slot + 1) & mask) {
    const s = table + <usize>slot * SLOT;
    if (load<i32>(s, 28) == 0) {
      const value = intern(kind, p, len);
      store<u64>(s, k0);
      store<u64>(s, k1, 8);
      store<u64>(s, k2, 16);
      store<i32>(s, value, 24);
      store<i32>(s, 1, 28);
      sizes[kind] += 1;
      if (sizes[kind] * 2 > mask) grow(kind);
      return value;
    }
    if (load<u64>(s) == k0 && load<u64>(s, 8) == k1 && load<u64>(s, 16) == k2) return load<i32>(s, 24);
  }
  return unreachable();
}

@inline function hash(k0: u64, k1: u64, k2: u64): u64 {
  return ((k0 ^ rotl(k1, 21) ^ rotl(k2, 42)) * 0x9e3779b97f4a7c15) ^ k1;
}

function grow(kind: i32): void {
  const old = tables[kind];
  const oldSlots = masks[kind] + 1;
  const slots = oldSlots * 2;
  const table = allocFilled(<usize>slots * SLOT);
  const mask = slots - 1;
  for (let i: u32 = 0; i < oldSlots; i++) {
    const from = old + <usize>i * SLOT;
    if (load<i32>(from, 28) == 0) continue;
    const h = hash(load<u64>(from), load<u64>(from, 8), load<u64>(from, 16));
    let slot = <u32>(h >> 32) & mask;
    while (load<i32>(table + <usize>slot * SLOT, 28) != 0) slot = (slot + 1) & mask;
    memory.copy(table + <usize>slot * SLOT, from, SLOT);
  }
  heap.free(old);
  tables[kind] = table;
  masks[kind] = mask;
}

/**
 * The window id of a start time (whole seconds, at least 0), from JavaScript when not seen
 * lately. Windows are numbered by start / seconds: a 32-bit division while times fit (until
 * 2106), and the 4,096 windows around the first one seen are cached by that number.
 */
function window(start: i64, seconds: i64): i32 {
  const index = start < 0x100000000 ? <i64>(<u32>start / <u32>seconds) : start / seconds;
  if (index == lastIndex) return lastId;
  if (nearBase < 0) nearBase = max(index - NEAR / 2, 0);
  const offset = index - nearBase;
  let id: i32 = -1;
  const cached = offset >= 0 && offset < NEAR;
  if (cached) id = load<i32>(near + <usize>offset * 4);
  if (id < 0) {
    id = windowId(<f64>(index * seconds));
    if (cached) store<i32>(near + <usize>offset * 4, id);
  }
  lastIndex = index;
  lastId = id;
  return id;
}

/** Where the field starting at p ends: its first byte at or below a space. */
@inline function fieldEnd(p: usize): usize {
  const limit = i8x16.splat(32);
  for (;;) {
    const m = i8x16.bitmask(i8x16.le_u(v128.load(p), limit));
    if (m != 0) return p + <usize>ctz(m);
    p += 16;
  }
  return unreachable();
}

/**
 * Scans the lines of [pos, end) (which ends with a newline) while they are plain records;
 * returns end, or the start of the first line left to JavaScript.
 */
export function scan(pos: usize, end: usize): usize {
  const c = control;
  const width = load<i32>(c + C_WIDTH * 4);
  const partRecords = load<i32>(c + C_PART_RECORDS * 4);
  const maxWaiting = load<i32>(c + C_MAX_WAITING * 4);
  const seconds = <i64>load<i32>(c + C_WINDOW_SECONDS * 4);
  const windowLimit = load<i32>(c + C_WINDOW_LIMIT * 4);
  const parts = <usize>load<i32>(c + C_PARTS * 4);
  const l = line;
  // Fields the format lacks stay absent.
  for (let i = 0; i < 9; i++) store<i64>(l + <usize>i * 8, -1);
  for (let i = 0; i < 5; i++) store<i32>(l + 72 + <usize>i * 4, -1);
  store<i32>(l + 92, 0);
  store<i32>(l + 96, 0);
  store<i32>(l + 100, 0);
  store<i32>(l + 104, 0);
  let read = 0;
  let analysed = 0;
  let nodata = 0;
  let skipdata = 0;
  let waiting = load<i32>(c + C_WAITING * 4);
  let at = pos;
  while (at < end) {
    const first = <u32>load<u8>(at);
    if (first - 48 > 9 && first != 45) break;
    let p = at;
    let ok = true;
    for (let i = 0; i < width; i++) {
      const e = fieldEnd(p);
      const len = <i32>(e - p);
      const sep = load<u8>(e);
      if (len == 0 || sep != (i + 1 < width ? 32 : 10)) {
        ok = false;
        break;
      }
      const field = load<i32>(c + <usize>(C_FIELDS + i) * 4);
      const kind = <u8>field;
      const target = (field >> 8) - 1;
      const dash = len == 1 && load<u8>(p) == 45;
      if (kind == NUMBER) {
        let v: i64 = -1;
        if (!dash) {
          // Up to 15 digits (exact as doubles): the last eight and the ones before them.
          if (len > 15) {
            ok = false;
            break;
          }
          v = digits(p + <usize>max(len - 8, 0), min(len, 8));
          if (len > 8) {
            const hi = digits(p, len - 8);
            v = (hi | v) < 0 ? -1 : v + hi * 100000000;
          }
          // Unsigned, -1 (not digits) is past every limit too.
          if (<u64>v > load<u64>(c + <usize>(C_LIMITS + 2 * i) * 4)) {
            ok = false;
            break;
          }
        }
        if (target >= 0) store<i64>(l + <usize>target * 8, v);
      } else if (kind == ADDRESS) {
        let id = -1;
        if (!dash) {
          id = lookup(0, p, len);
          if (id < 0) {
            ok = false;
            break;
          }
        }
        store<i32>(l + 72 + <usize>target * 4, id);
      } else if (kind == INTERFACE) {
        store<i32>(l + 88, dash ? -1 : lookup(1, p, len) >> 1);
      } else if (kind == AWS_SERVICE) {
        // Any word but EC2 is a service's address (FlowScanner reads it the same way).
        const w = len <= 8 ? load<u64>(p) & load<u64>(changetype<usize>(KEY_MASKS) + <usize>len * 24) : 0;
        const bit = 0x100 << target;
        store<i32>(l + 104, (load<i32>(l + 104) & ~bit) | (!dash && w != EC2 ? bit : 0));
      } else if (kind >= ACTION) {
        // ACTION, STATUS or DIRECTION: the field's bytes as one word (a field of more than 8
        // bytes is none of them). Field bytes are never 0, so equal words mean equal lengths.
        const w = len <= 8 ? load<u64>(p) & load<u64>(changetype<usize>(KEY_MASKS) + <usize>len * 24) : 0;
        let code = -1;
        if (dash) code = 0;
        else if (kind == ACTION) code = w == ACCEPT ? 1 : w == REJECT ? 2 : -1;
        else if (kind == STATUS) code = w == OK ? 0 : w == NODATA ? 1 : w == SKIPDATA ? 2 : -1;
        else if (kind == DIRECTION) code = w == INGRESS ? 1 : w == EGRESS ? 2 : -1;
        if (code < 0) {
          ok = false;
          break;
        }
        store<i32>(l + 92 + <usize>(kind - ACTION) * 4, code);
      }
      p = e + 1;
    }
    if (!ok) break;
    // A flow cannot end before it starts (-1 is absent).
    const last = load<i64>(l, 48);
    if (last >= 0 && last < load<i64>(l, 40)) break;
    const status = load<i32>(l + 96);
    if (status != 0) {
      read++;
      if (status == 1) nodata++;
      else skipdata++;
      at = p;
      continue;
    }
    // Aggregator.add: the packet-level addresses when present.
    const pktSrc = load<i32>(l + 80);
    const pktDst = load<i32>(l + 84);
    const src = pktSrc >= 0 ? pktSrc : load<i32>(l + 72);
    const dst = pktDst >= 0 ? pktDst : load<i32>(l + 76);
    if (src < 0 || dst < 0 || (src & 1) != 0) {
      // No address, or an allowed source: read and analysed, nothing to aggregate.
      read++;
      analysed++;
      at = p;
      continue;
    }
    const startValue = load<i64>(l + 40);
    const start: i64 = startValue < 0 ? 0 : startValue;
    const win = window(start, seconds);
    if (win >= windowLimit) break;
    const part = (src >> 1) & (PARTS - 1);
    const partWaiting = c + <usize>(C_PART_WAITING + part) * 4;
    const n = load<i32>(partWaiting);
    if (n >= partRecords || waiting >= maxWaiting) break;
    const r = parts + (<usize>part * <usize>partRecords + <usize>n) * REC_BYTES;
    store<i32>(r, src >> 1);
    store<i32>(r, dst >> 1, 4);
    store<i32>(r, load<i32>(l + 88), 8);
    store<i32>(r, win, 12);
    store<i32>(r, load<i32>(l + 92), 16);
    // The direction's code, and the awsService bits above it (Aggregator.add packs them alike).
    store<i32>(r, load<i32>(l + 100) | load<i32>(l + 104), 20);
    store<i32>(r, clamp(load<i64>(l)), 24);
    store<i32>(r, clamp(load<i64>(l, 8)), 28);
    store<i32>(r, clamp(load<i64>(l, 16)), 32);
    store<i32>(r, clamp(load<i64>(l, 56)), 36);
    store<f64>(r, <f64>load<i64>(l, 24), 40);
    store<f64>(r, <f64>load<i64>(l, 32), 48);
    store<f64>(r, <f64>startValue, 56);
    store<i32>(partWaiting, n + 1);
    waiting++;
    read++;
    analysed++;
    at = p;
  }
  store<i32>(c + C_WAITING * 4, waiting);
  store<i32>(c + C_READ * 4, load<i32>(c + C_READ * 4) + read);
  store<i32>(c + C_ANALYSED * 4, load<i32>(c + C_ANALYSED * 4) + analysed);
  store<i32>(c + C_NODATA * 4, load<i32>(c + C_NODATA * 4) + nodata);
  store<i32>(c + C_SKIPDATA * 4, load<i32>(c + C_SKIPDATA * 4) + skipdata);
  return at;
}

/**
 * The value of the 0 to 8 decimal digits at [p, p + len) (0 for none), or -1 when one is not a
 * digit: eight bytes at once (SWAR), the digits moved to the top and then paired, quadrupled
 * and halved.
 */
@inline function digits(p: usize, len: i32): i64 {
  const shift = <u64>(8 - len) * 8;
  // Bytes past the field are read as '0' and moved below the digits, where they add nothing.
  // (A shift by 64 is a shift by 0 in WebAssembly: no digits keep nothing.)
  const keep = select<u64>((<u64>-1) >> shift, 0, len > 0);
  const raw = (load<u64>(p) & keep) | (0x3030303030303030 & ~keep);
  if ((raw & 0xf0f0f0f0f0f0f0f0) != 0x3030303030303030 || ((raw + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) != 0x3030303030303030) return -1;
  let x = (raw - 0x3030303030303030) << shift;
  x = x * 10 + (x >> 8);
  x = (((x & 0x000000ff000000ff) * (100 + (1000000 << 32))) + (((x >> 16) & 0x000000ff000000ff) * (1 + (10000 << 32)))) >> 32;
  return <i64>x;
}

/** Aggregator's `int`: values past 2^31 - 1 are kept as 2^31 - 1. */
@inline function clamp(v: i64): i32 {
  return v > 2147483647 ? 2147483647 : <i32>v;
}
