/*
 * The detector's aggregation in WebAssembly: Aggregator.flush hands it one part's buffered
 * records at a time, and it adds them up into that part's tables. The tables have RowTable's
 * layout and hashing exactly (functions/flowlog/row-table.ts): slots of `stride` 32-bit words,
 * three keys first (word 0 is -1 when the slot is empty), doubles at even words, linear probing,
 * doubling when three quarters full. So JavaScript reads them in place (WasmRows), in the same
 * order, and the rules cannot tell where they were built. The row layouts are those of
 * functions/detect/aggregates.ts.
 *
 * Every row belongs to a window of one of two horizons (the short window, and the long one
 * where slow attacks show), or to a beacon series, or to a host; `release` drops the rows of
 * windows Aggregator has closed (and beacon series idle long enough), so memory follows the
 * open windows, not the input.
 */

import { allocFilled } from "./memory";

/** KNOWN | INSIDE | ALLOWED | NAT | LOAD_BALANCER | THREAT | RESOLVER flags of an address id, from JavaScript on first use. */
@external("env", "addressFlags")
declare function addressFlagsOf(id: i32): i32;

/** A hash of an address's text (not of its id, which follows the input's order), from JavaScript on first use. */
@external("env", "addressHash")
declare function addressHashOf(id: i32): i32;

const EMPTY: i32 = -1;
// Address flags (aggregates.ts): inside the network's CIDRs, a NAT gateway, a load-balancer node, on a threat list, an approved resolver.
const INSIDE: u8 = 2;
const NAT: u8 = 8;
const LOAD_BALANCER: u8 = 16;
const THREAT: u8 = 32;
const RESOLVER: u8 = 64;

// Tables of a part, in this order (aggregates.ts names them). L marks the long horizon.
const T_PAIRS = 0;
const T_SOURCES = 1;
const T_SWEEPS = 2;
const T_SEEN = 3;
const T_BRUTE = 4;
const T_PROTOCOLS = 5;
const T_LPAIRS = 6;
const T_LISTEN = 7;
const T_INTEL = 8;
const T_LSOURCES = 9;
const T_LSWEEPS = 10;
const T_LBRUTE = 11;
const T_LSEEN = 12;
const T_BEACON = 13;
const TABLES = 14;
const PARTS = 64;
/** Tables every part shares (keyed by destination or host): destinations, destination ports, hosts. */
const SHARED = 3;
/** Window ids of either horizon stay below this (aggregates.ts WINDOW_LIMIT). */
const WINDOW_LIMIT = 1 << 14;

// Table descriptors: byte offset of the slots, mask, rows, stride (words).
const D_PTR = 0;
const D_MASK = 4;
const D_SIZE = 8;
const D_STRIDE = 12;
const D_BYTES = 16;

// Row layouts (aggregates.ts).
const PW_PORTS = 3, PW_IFACE = 4, PW_FLAGS = 5, PW_EGRESS = 6, PW_PORT0 = 8, PW_STRIDE = 10;
const LATERAL_COUNTED = 1, C2_COUNTED = 2;
const SRC_FLOWS = 3, SRC_REJECTED = 4, SRC_IFACE = 5, SRC_PORTS = 6, SRC_SENSITIVE = 7, SRC_LATERAL_HOSTS = 8, SRC_LATERAL_PORTS = 9;
const SRC_C2_DESTINATIONS = 10, SRC_C2_FLOWS = 11, SRC_C2_BYTES = 12;
const SRC_DNS_FLOWS = 14, SRC_DNS_SERVERS = 15, SRC_MINING_FLOWS = 16, SRC_MINING_PORT = 17, SRC_MINING_DST = 18, SRC_OUT_FLOWS = 19, SRC_OUT_PACKETS = 20, SRC_DNS_DST = 22, SRC_STRIDE = 24;
const DNS_COUNTED = 4;
// (host, port, long window): up to three distinct peer ports answered from the host's port (aggregates.ts LISTEN).
const LISTEN_PEERS = 3, LISTEN_PORT0 = 4, LISTEN_STRIDE = 8;
// (internal destination, window, 0), one table for all parts (aggregates.ts DST).
const DST_FLOWS = 3, DST_SOURCES = 4, DST_PORTS = 5, DST_IFACE = 6, DST_PACKETS = 8, DST_STRIDE = 10;
// (source, destination, window): flows with an end on a threat list (aggregates.ts INTEL).
const INTEL_FLOWS = 3, INTEL_ACCEPTED = 4, INTEL_IFACE = 5, INTEL_BYTES = 6, INTEL_STRIDE = 8;
const SWEEP_FLOWS = 3, SWEEP_PROBES = 4, SWEEP_HOSTS = 5, SWEEP_IFACE = 6, SWEEP_STRIDE = 8;
const BRUTE_ATTEMPTS = 3, BRUTE_SYN_ONLY = 4, BRUTE_IFACE = 5, BRUTE_STRIDE = 6;
const PROTO_FLOWS = 3, PROTO_IFACE = 4, PROTO_BYTES = 6, PROTO_STRIDE = 8;
// (source, destination, port): a beacon series (aggregates.ts BEACON).
const BEACON_IFACE = 3, BEACON_FLOWS = 4, BEACON_LAST = 5, BEACON_STARTS = 6, BEACON_POINTS = 16, BEACON_STRIDE = 22;
// (internal host, 0, 0), one table for all parts: the anomaly rule's features (aggregates.ts HOST).
const HOST_OUT_FLOWS = 3, HOST_IN_FLOWS = 4, HOST_REJECTED = 5, HOST_IFACE = 6, HOST_OUT_BYTES = 8, HOST_IN_BYTES = 10;
const HOST_PEERS = 12, HOST_OUT_PORTS = 20, HOST_IN_PORTS = 28, HOST_STRIDE = 36;
/** Packets at or below which a flow is a probe (with a rejected or SYN-only flow). */
const PROBE_PACKETS: f64 = 3;

// Buffered records (Aggregator's REC layout): integer words, then doubles at byte 40.
const R_SRC = 0, R_DST = 4, R_IFACE = 8, R_WIN = 12, R_ACTION = 16, R_DIRECTION = 20, R_SRCPORT = 24, R_DSTPORT = 28, R_PROTOCOL = 32, R_FLAGS = 36;
const R_PACKETS = 40, R_BYTES = 48, R_START = 56, REC_BYTES = 64;

const ACTION_REJECT = 2;
const DIRECTION_INGRESS = 1;
const DIRECTION_ABSENT = 0;
// R_DIRECTION's word: the direction's code in its low byte, then whether the source (bit 8) and the destination (bit 9) are AWS services' addresses (aggregates.ts).
const DIRECTION_CODE = 0xff;
const SRC_AWS_SERVICE = 0x100;
const DST_AWS_SERVICE = 0x200;

// Per port: bit 0 sensitive, bit 1 web, bits 3-5 ADMIN_PORTS index + 1, bit 6 a brute-force port, bit 7 a mining-pool port.
const PORT_SENSITIVE: u8 = 1;
const PORT_WEB: u8 = 2;
const PORT_BRUTE: u8 = 64;
const PORT_MINING: u8 = 128;

let descriptors: usize = 0;
let ports: usize = 0;
let protocols: usize = 0;
let flags: usize = 0;
let hashes: usize = 0;
let flagsCapacity: i32 = 0;
let bruteForceMaxPackets: f64 = 0;
let listenerPeers: i32 = 3;
/** The descriptor of the table of internal destinations, shared by every part. */
let destinations: usize = 0;
/** The descriptor of the (internal destination, port, window) table, shared by every part: distinct ports probed on a host. */
let destinationPorts: usize = 0;
/** The descriptor of the hosts table, shared by every part. */
let hosts: usize = 0;
let c2SmallBytes: f64 = 0;
/** Per short window id: its long window's id (written by JavaScript as ids are given out). */
let longOf: usize = 0;
/** Per window id, short then long: records added up in it (Aggregator tells a window still filling from one done). */
let touched: usize = 0;
/**
 * The windows (short ids, then WINDOW_LIMIT + long ids) reached since JavaScript last took the
 * list (`takeTouched`), each once: Aggregator checks only those and the windows it holds open,
 * never every window the run has seen.
 */
let touchList: usize = 0;
let touchListed: usize = 0;
let touchCount: i32 = 0;
let isNew = false;
/** Rows inserted into any table so far (aggregate() counts a part's new rows with it). */
let inserted: i32 = 0;
/** Per part: the rows of its own tables (its tables and its generations' tables). */
let partCount: usize = 0;

/** Sets up every part's tables and the lookup tables; returns the descriptors (TABLES per part, then the shared ones, 16 bytes each). */
export function setupAggregates(maxRecords: i32): usize {
  descriptors = heap.alloc((PARTS * TABLES + SHARED) * D_BYTES);
  for (let p = 0; p < PARTS; p++) for (let t = 0; t < TABLES; t++) table(p * TABLES + t, strideOf(t), firstCapacity(t));
  // Destinations and hosts are keyed by destination or host, not source: one table for every
  // part, whose counts (sums, and new rows) do not depend on the order parts are added up in.
  table(PARTS * TABLES, DST_STRIDE, 1 << 10);
  table(PARTS * TABLES + 1, 4, 1 << 10);
  table(PARTS * TABLES + 2, HOST_STRIDE, 1 << 8);
  destinations = descriptors + <usize>(PARTS * TABLES) * D_BYTES;
  destinationPorts = destinations + D_BYTES;
  hosts = destinations + 2 * D_BYTES;
  ports = allocFilled(65536);
  protocols = allocFilled(256);
  flagsCapacity = 1024;
  flags = allocFilled(<usize>flagsCapacity);
  hashes = allocFilled(<usize>flagsCapacity * 4);
  longOf = allocFilled(<usize>WINDOW_LIMIT * 4);
  touched = allocFilled(<usize>WINDOW_LIMIT * 8);
  touchList = allocFilled(<usize>WINDOW_LIMIT * 8);
  touchListed = allocFilled(<usize>WINDOW_LIMIT * 2);
  partCount = allocFilled(<usize>PARTS * 4);
  genOf = allocFilled(<usize>WINDOW_LIMIT * 4, 0xff);
  lastRows = allocFilled(<usize>PARTS * GEN_KINDS * 4);
  gens = 8;
  genDesc = allocFilled(<usize>gens * PARTS * GEN_KINDS * D_BYTES);
  genWindow = allocFilled(<usize>gens * 4, 0xff);
  freeGens = allocFilled(<usize>gens * 4);
  for (let g = 0; g < gens; g++) store<i32>(freeGens + <usize>g * 4, gens - 1 - g);
  freeCount = gens;
  closedGens = allocFilled(<usize>gens * 4);
  return descriptors;
}

function strideOf(t: i32): i32 {
  if (t == T_PAIRS || t == T_LPAIRS) return PW_STRIDE;
  if (t == T_SOURCES || t == T_LSOURCES) return SRC_STRIDE;
  if (t == T_SWEEPS || t == T_LSWEEPS) return SWEEP_STRIDE;
  if (t == T_BRUTE || t == T_LBRUTE) return BRUTE_STRIDE;
  if (t == T_PROTOCOLS) return PROTO_STRIDE;
  if (t == T_LISTEN) return LISTEN_STRIDE;
  if (t == T_INTEL) return INTEL_STRIDE;
  if (t == T_BEACON) return BEACON_STRIDE;
  return 4;
}

function firstCapacity(t: i32): i32 {
  return t == T_PAIRS || t == T_SEEN ? 1 << 10 : t == T_SOURCES || t == T_SWEEPS || t == T_LISTEN ? 1 << 6 : 1 << 4;
}

/** Thresholds the aggregation applies; the port and protocol flags are written by JavaScript at `portFlags()` and `protocolFlags()`. */
export function setThresholds(bruteMaxPackets: f64, c2Small: f64, peers: i32): void {
  bruteForceMaxPackets = bruteMaxPackets;
  listenerPeers = peers;
  c2SmallBytes = c2Small;
}

export function portFlags(): usize {
  return ports;
}

export function protocolFlags(): usize {
  return protocols;
}

export function longWindows(): usize {
  return longOf;
}

export function touchedWindows(): usize {
  return touched;
}

/**
 * The windows reached since the last call (short ids, then WINDOW_LIMIT + long ids; `touchedCount()`
 * of them, each once), and starts a new list.
 */
export function takeTouched(): usize {
  for (let i = 0; i < touchCount; i++) store<u8>(touchListed + <usize>load<i32>(touchList + <usize>i * 4), 0);
  lastTaken = touchCount;
  touchCount = 0;
  return touchList;
}

/** How many windows the last `takeTouched` returned. */
export function touchedCount(): i32 {
  return lastTaken;
}

let lastTaken: i32 = 0;

/** Counts a record in window k (short id, or WINDOW_LIMIT + long id) and lists the window for the next check. */
@inline function touch(k: i32): void {
  const at = touched + <usize>k * 4;
  store<i32>(at, load<i32>(at) + 1);
  if (load<u8>(touchListed + <usize>k) == 0) {
    store<u8>(touchListed + <usize>k, 1);
    store<i32>(touchList + <usize>touchCount * 4, k);
    touchCount++;
  }
}

function table(index: i32, stride: i32, capacity: i32): void {
  const d = descriptors + <usize>index * D_BYTES;
  store<i32>(d, <i32>slots(capacity, stride), D_PTR);
  store<i32>(d, capacity - 1, D_MASK);
  store<i32>(d, 0, D_SIZE);
  store<i32>(d, stride, D_STRIDE);
}

/**
 * The short window's tables keyed by source (pairs, sources, sweeps: the tables most rows are
 * in) are a window's own: a generation of tables per open short window (for every part), so a
 * closed window's rows are copied out of its own tables, which are then freed whole, instead
 * of being searched for and deleted from tables every open window shares. A new window's
 * tables start at the size the last closed window's needed. The rows, keys and layouts are
 * the same; `generationTables` tells JavaScript where they are.
 */
const GEN_KINDS = 3;
/** Per short window id: its generation, or -1. */
let genOf: usize = 0;
/** Per generation: its window id, or -1 when free. */
let genWindow: usize = 0;
/** Generations there is room for. */
let gens: i32 = 0;
/** Descriptors: generation, then part, then kind (T_PAIRS, T_SOURCES, T_SWEEPS). */
let genDesc: usize = 0;
/** Per part and kind: the rows of the last closed window's table. */
let lastRows: usize = 0;
/** Free generations, a stack (`freeCount` of them). */
let freeGens: usize = 0;
let freeCount: i32 = 0;
/** The generations `closeWindows` is closing (`closedGenCount`), room for every generation. */
let closedGens: usize = 0;
let closedGenCount: i32 = 0;

@inline function genDescriptor(g: i32, part: i32, kind: i32): usize {
  return genDesc + <usize>((g * PARTS + part) * GEN_KINDS + kind) * D_BYTES;
}

/** The generation of short window `win`, given one (and its tables) on first use. */
@inline function genFor(win: i32): i32 {
  const g = load<i32>(genOf + <usize>win * 4);
  return g >= 0 ? g : newGeneration(win);
}

function newGeneration(win: i32): i32 {
  if (freeCount == 0) {
    const more = gens * 2;
    const desc = allocFilled(<usize>more * PARTS * GEN_KINDS * D_BYTES);
    memory.copy(desc, genDesc, <usize>gens * PARTS * GEN_KINDS * D_BYTES);
    heap.free(genDesc);
    genDesc = desc;
    const windows = allocFilled(<usize>more * 4, 0xff);
    memory.copy(windows, genWindow, <usize>gens * 4);
    heap.free(genWindow);
    genWindow = windows;
    heap.free(freeGens);
    freeGens = allocFilled(<usize>more * 4);
    for (let g = more - 1; g >= gens; g--) store<i32>(freeGens + <usize>(freeCount++) * 4, g);
    heap.free(closedGens);
    closedGens = allocFilled(<usize>more * 4);
    gens = more;
  }
  const g = load<i32>(freeGens + <usize>(--freeCount) * 4);
  store<i32>(genWindow + <usize>g * 4, win);
  store<i32>(genOf + <usize>win * 4, g);
  return g;
}

/**
 * A part's tables of a generation, made on the part's first record of the window (a window
 * may hold a part's few records, or none): as large as the last closed window's needed.
 */
function generationPart(own: usize, part: i32): void {
  for (let k = 0; k < GEN_KINDS; k++) {
    const rows = load<i32>(lastRows + <usize>(part * GEN_KINDS + k) * 4);
    let capacity = 16;
    while (rows * 4 > capacity * 3) capacity *= 2;
    const d = own + <usize>k * D_BYTES;
    const stride = strideOf(k);
    store<i32>(d, <i32>slots(capacity, stride), D_PTR);
    store<i32>(d, capacity - 1, D_MASK);
    store<i32>(d, 0, D_SIZE);
    store<i32>(d, stride, D_STRIDE);
  }
}

/** The generation descriptors (generation, part, kind: 16 bytes each) and, after them, nothing: `generations()` tells how many. */
export function generationTables(): usize {
  return genDesc;
}

export function generations(): i32 {
  return gens;
}

/** Slots for `capacity` rows, every one empty: every byte 0xff (one fill; `insert` zeroes a row's fields as it takes a slot). */
function slots(capacity: i32, stride: i32): usize {
  return allocFilled(<usize>capacity * <usize>stride * 4, 0xff);
}

/** RowTable's hash. */
@inline function hash(a: i32, b: i32, c: i32): i32 {
  let h = (a * <i32>0x9e3779b1) ^ ((b ^ <i32>(<u32>b >> 15)) * <i32>0x85ebca77) ^ ((c ^ <i32>(<u32>c >> 13)) * <i32>0xc2b2ae35);
  h ^= <i32>(<u32>h >> 15);
  h = h * 0x2c1b3c6d;
  return h ^ <i32>(<u32>h >> 12);
}

/**
 * RowTable.upsert: the byte address of row (a, b, c) of table d (of `stride` words, a constant
 * where it is inlined), created (fields zero) when new; `isNew` tells which.
 */
@inline function upsert(d: usize, a: i32, b: i32, c: i32, stride: i32): usize {
  const base = <usize>load<i32>(d, D_PTR);
  const mask = load<i32>(d, D_MASK);
  const bytes = <usize>stride * 4;
  let slot = hash(a, b, c) & mask;
  let row = base + <usize>slot * bytes;
  let k = load<i32>(row);
  while (k != a || load<i32>(row, 4) != b || load<i32>(row, 8) != c) {
    if (k == EMPTY) return insert(d, row, a, b, c);
    slot = (slot + 1) & mask;
    row = base + <usize>slot * bytes;
    k = load<i32>(row);
  }
  isNew = false;
  return row;
}

/** A new row (a, b, c) in the empty slot at `row` of table d (out of line: rare next to the updates of existing rows). */
function insert(d: usize, row: usize, a: i32, b: i32, c: i32): usize {
  store<i32>(row, a);
  store<i32>(row, b, 4);
  store<i32>(row, c, 8);
  memory.fill(row + 12, 0, <usize>load<i32>(d, D_STRIDE) * 4 - 12);
  isNew = true;
  inserted++;
  const size = load<i32>(d, D_SIZE) + 1;
  store<i32>(d, size, D_SIZE);
  if (size * 4 > (load<i32>(d, D_MASK) + 1) * 3) return grow(d, a, b, c);
  return row;
}

/** RowTable.grow: doubles the slots, rows moved in slot order; returns the new address of (a, b, c). */
function grow(d: usize, a: i32, b: i32, c: i32): usize {
  const old = <usize>load<i32>(d, D_PTR);
  const oldSlots = load<i32>(d, D_MASK) + 1;
  const stride = load<i32>(d, D_STRIDE);
  const bytes = <usize>stride * 4;
  const capacity = oldSlots * 2;
  const mask = capacity - 1;
  const fresh = slots(capacity, stride);
  let found: usize = 0;
  for (let i = 0; i < oldSlots; i++) {
    const from = old + <usize>i * bytes;
    const k = load<i32>(from);
    if (k == EMPTY) continue;
    const kb = load<i32>(from, 4);
    const kc = load<i32>(from, 8);
    let slot = hash(k, kb, kc) & mask;
    while (load<i32>(fresh + <usize>slot * bytes) != EMPTY) slot = (slot + 1) & mask;
    const to = fresh + <usize>slot * bytes;
    memory.copy(to, from, bytes);
    if (k == a && kb == b && kc == c) found = to;
  }
  heap.free(old);
  store<i32>(d, <i32>fresh, D_PTR);
  store<i32>(d, mask, D_MASK);
  return found;
}

/** The flags of an address id (from JavaScript on first use, with the hash of its text). */
@inline function flagsOf(id: i32): u8 {
  if (id >= flagsCapacity) {
    let capacity = flagsCapacity * 2;
    while (capacity <= id) capacity *= 2;
    const bigger = allocFilled(<usize>capacity);
    memory.copy(bigger, flags, <usize>flagsCapacity);
    heap.free(flags);
    flags = bigger;
    const biggerHashes = allocFilled(<usize>capacity * 4);
    memory.copy(biggerHashes, hashes, <usize>flagsCapacity * 4);
    heap.free(hashes);
    hashes = biggerHashes;
    flagsCapacity = capacity;
  }
  let f = load<u8>(flags + <usize>id);
  if (f == 0) {
    f = <u8>addressFlagsOf(id);
    store<u8>(flags + <usize>id, f);
    store<i32>(hashes + <usize>id * 4, addressHashOf(id));
  }
  return f;
}

/** murmur3's finalizer: spreads a value's bits for the host sketches. */
@inline function mix(v: i32): u32 {
  let h = <u32>v;
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >> 16);
}

/**
 * Adds a hashed value to a HyperLogLog sketch of 32 one-byte registers at `at`: the first 5 bits
 * pick the register, which keeps the longest run of leading zeros seen in the rest (plus one).
 */
@inline function sketch(at: usize, h: u32): void {
  const r = at + <usize>(h >> 27);
  const rank = <u8>(clz<u32>((h << 5) | 16) + 1);
  if (load<u8>(r) < rank) store<u8>(r, rank);
}

/**
 * Whether a flow is the answering side of a connection (net.ts tells why, in this order):
 * a rejected inbound flow never is; tcp-flags decide when logged (SYN-ACK answers, SYN without
 * it opens); else the source's port is a listener learned from the traffic: it has answered
 * `listenerPeers` distinct peer ports. A port's own number never decides.
 */
function isResponse(tables: usize, src: i32, srcport: i32, dport: i32, protocol: i32, tcpFlags: i32, rejected: bool, inbound: bool, lwin: i32): bool {
  if (rejected && inbound) return false;
  if (protocol == 6 && tcpFlags > 0) {
    // Flow logs record ACK only with SYN (18), and OR the flags over the aggregation interval.
    if ((tcpFlags & 16) != 0) return true;
    if ((tcpFlags & 2) != 0) return false;
  }
  // Only a port below its peer's is a candidate listener: a client's ephemeral port is above the
  // service's, and learning every client port would hold a row per connection.
  if (srcport < 0 || srcport >= dport) return false;
  const d = tables + T_LISTEN * D_BYTES;
  let row: usize = 0;
  if (rejected) {
    row = find(d, src, srcport, lwin, LISTEN_STRIDE);
    if (row == 0) return false;
  } else {
    row = upsert(d, src, srcport, lwin, LISTEN_STRIDE);
    const n = load<i32>(row, LISTEN_PEERS * 4);
    if (n < listenerPeers && n < 3) {
      let seen = false;
      for (let i = 0; i < n; i++) if (load<i32>(row + <usize>(LISTEN_PORT0 + i) * 4) == dport) seen = true;
      if (!seen) {
        store<i32>(row + <usize>(LISTEN_PORT0 + n) * 4, dport);
        store<i32>(row, n + 1, LISTEN_PEERS * 4);
      }
    }
  }
  return load<i32>(row, LISTEN_PEERS * 4) >= min(listenerPeers, 3);
}

/** The byte address of row (a, b, c) of table d, or 0 when absent. */
function find(d: usize, a: i32, b: i32, c: i32, stride: i32): usize {
  const base = <usize>load<i32>(d, D_PTR);
  const mask = load<i32>(d, D_MASK);
  const bytes = <usize>stride * 4;
  for (let slot = hash(a, b, c) & mask; ; slot = (slot + 1) & mask) {
    const row = base + <usize>slot * bytes;
    const k = load<i32>(row);
    if (k == EMPTY) return 0;
    if (k == a && load<i32>(row, 4) == b && load<i32>(row, 8) == c) return row;
  }
  return unreachable();
}

/** Rows in the tables every part shares. */
@inline function sharedRows(): i32 {
  let n = 0;
  for (let k = 0; k < SHARED; k++) n += load<i32>(destinations + <usize>k * D_BYTES, D_SIZE);
  return n;
}

/** Rows in all of a part's tables, and in the shared ones (so that a part's growth includes what it added there). */
export function partRows(part: i32): i32 {
  return load<i32>(partCount + <usize>part * 4) + sharedRows();
}

/** Rows in every table. */
export function liveRows(): i32 {
  let n = sharedRows();
  for (let p = 0; p < PARTS; p++) n += load<i32>(partCount + <usize>p * 4);
  return n;
}

/** Rows in a part's tables other than its generations'. */
function staticRows(part: i32): i32 {
  let n = 0;
  for (let t = 0; t < TABLES; t++) n += load<i32>(descriptors + <usize>(part * TABLES + t) * D_BYTES, D_SIZE);
  return n;
}

/**
 * Adds up the `n` records at `records` (one part's, in order) into that part's tables; returns
 * the part's rows.
 */
export function aggregate(part: i32, records: usize, n: i32): i32 {
  const tables = descriptors + <usize>(part * TABLES) * D_BYTES;
  const sharedBefore = sharedRows();
  const insertedBefore = inserted;
  for (let i = 0; i < n; i++) add(tables, part, records + <usize>i * REC_BYTES);
  const at = partCount + <usize>part * 4;
  store<i32>(at, load<i32>(at) + (inserted - insertedBefore) - (sharedRows() - sharedBefore));
  return partRows(part);
}

/**
 * Moves the rows of closed short windows out of the tables, and deletes those of closed long
 * windows and of beacon series whose last point is at or before `beaconCutoff` (unsigned
 * seconds; Aggregator reads those in place first: they close once an hour, and a copy would
 * add to the peak). `closed` (short window ids) and `closedLong` (long ones) hold a byte per
 * id, 1 when closed. Each table's moved rows are written one
 * after another (descriptors at `closedTables()`: block, capacity, rows, stride), which the rules
 * read; those of the previous call are freed first. The rows stay deleted in place (linear probing's backward
 * shift), so the rows kept are not moved, and a table keeps its size for the windows to come.
 * Returns the rows left in the tables.
 */
export function closeWindows(closed: usize, closedLong: usize, beaconCutoff: u32): i32 {
  if (closedDescriptors == 0) {
    closedDescriptors = allocFilled((PARTS * TABLES + SHARED) * D_BYTES);
  } else {
    for (let t = 0; t < PARTS * TABLES + SHARED; t++) {
      const d = closedDescriptors + <usize>t * D_BYTES;
      const ptr = <usize>load<i32>(d, D_PTR);
      if (ptr != 0) heap.free(ptr);
      store<i32>(d, 0, D_PTR);
      store<i32>(d, 0, D_MASK);
      store<i32>(d, 0, D_SIZE);
    }
  }
  // The generations of the windows closing, found once (not once per part and table).
  closedGenCount = 0;
  for (let w = 0; w < WINDOW_LIMIT; w += 8) {
    if (load<u64>(closed + <usize>w) == 0) continue;
    for (let i = w; i < w + 8; i++) {
      const g = load<i32>(genOf + <usize>i * 4);
      if (g >= 0 && load<u8>(closed + <usize>i) != 0) store<i32>(closedGens + <usize>(closedGenCount++) * 4, g);
    }
  }
  for (let p = 0; p < PARTS; p++) {
    const base = p * TABLES;
    const before = staticRows(p);
    let gathered = 0;
    for (let k = 0; k < GEN_KINDS; k++) gathered += gather(p, k);
    split(base + T_SEEN, closed, 2, 0, WINDOW_LIMIT - 1);
    split(base + T_BRUTE, closed, 2, 16, 0x7fff);
    split(base + T_PROTOCOLS, closed, 2, 8, 0x7fffff);
    split(base + T_INTEL, closed, 2, 0, 0x7fffffff);
    // The long horizon's rows and beacon series were read in place before: dropped, not moved.
    drop(base + T_LPAIRS, closedLong, 2, 0, 0x7fffffff);
    drop(base + T_LISTEN, closedLong, 2, 0, 0x7fffffff);
    drop(base + T_LSOURCES, closedLong, 1, 0, 0x7fffffff);
    drop(base + T_LSWEEPS, closedLong, 2, 0, 0x7fffffff);
    drop(base + T_LBRUTE, closedLong, 2, 16, 0x7fff);
    drop(base + T_LSEEN, closedLong, 2, 0, WINDOW_LIMIT - 1);
    drop(base + T_BEACON, 0, beaconCutoff, 0, 0);
    const at = partCount + <usize>p * 4;
    store<i32>(at, load<i32>(at) - gathered - (before - staticRows(p)));
  }
  split(PARTS * TABLES, closed, 1, 0, 0x7fffffff);
  split(PARTS * TABLES + 1, closed, 2, 0, 0x7fffffff);
  for (let i = 0; i < closedGenCount; i++) {
    const g = load<i32>(closedGens + <usize>i * 4);
    const w = load<i32>(genWindow + <usize>g * 4);
    store<i32>(genWindow + <usize>g * 4, -1);
    store<i32>(genOf + <usize>w * 4, -1);
    store<i32>(freeGens + <usize>(freeCount++) * 4, g);
  }
  return liveRows();
}

/**
 * Copies the rows of kind k of part p of the closed windows' generations, one after another in
 * slot order, into that table's closed block; frees those generations' tables of the part.
 */
function gather(p: i32, k: i32): i32 {
  const to = closedDescriptors + <usize>(p * TABLES + k) * D_BYTES;
  const stride = strideOf(k);
  const bytes = <usize>stride * 4;
  store<i32>(to, stride, D_STRIDE);
  let total = 0;
  let most = -1;
  for (let i = 0; i < closedGenCount; i++) {
    const size = load<i32>(genDescriptor(load<i32>(closedGens + <usize>i * 4), p, k), D_SIZE);
    total += size;
    if (size > most) most = size;
  }
  if (most < 0) return 0;
  store<i32>(lastRows + <usize>(p * GEN_KINDS + k) * 4, most);
  let out: usize = 0;
  if (total > 0) out = heap.alloc(<usize>total * bytes);
  let moved = 0;
  for (let i = 0; i < closedGenCount; i++) {
    const d = genDescriptor(load<i32>(closedGens + <usize>i * 4), p, k);
    const base = <usize>load<i32>(d, D_PTR);
    const slotsEnd = base + <usize>(load<i32>(d, D_MASK) + 1) * bytes;
    if (load<i32>(d, D_SIZE) > 0) {
      for (let row = base; row < slotsEnd; row += bytes) {
        if (load<i32>(row) == EMPTY) continue;
        memory.copy(out + <usize>moved * bytes, row, bytes);
        moved++;
      }
    }
    if (base != 0) heap.free(base);
    store<i32>(d, 0, D_PTR);
    store<i32>(d, 0, D_MASK);
    store<i32>(d, 0, D_SIZE);
  }
  if (total == 0) return 0;
  store<i32>(to, <i32>out, D_PTR);
  store<i32>(to, total, D_MASK);
  store<i32>(to, total, D_SIZE);
  return total;
}

/** The descriptors of the tables of rows `closeWindows` moved out last (same order as the tables'). */
export function closedTables(): usize {
  return closedDescriptors;
}

let closedDescriptors: usize = 0;

/**
 * Moves the rows of table `index` whose window ((key word `word` >> shift) & mask) is marked in
 * `closed` into its closed table; with `closed` 0 (beacon series), those whose last point is at
 * or before `word` (unsigned seconds).
 */
function split(index: i32, closed: usize, word: u32, shift: i32, mask: i32): void {
  const d = descriptors + <usize>index * D_BYTES;
  const to = closedDescriptors + <usize>index * D_BYTES;
  const stride = load<i32>(d, D_STRIDE);
  store<i32>(to, stride, D_STRIDE);
  if (load<i32>(d, D_SIZE) == 0) return;
  const base = <usize>load<i32>(d, D_PTR);
  const m = load<i32>(d, D_MASK);
  const bytes = <usize>stride * 4;
  let empty = 0;
  while (load<i32>(base + <usize>empty * bytes) != EMPTY) empty++;
  // The moved rows, one after another (the rules read them in order, and look up few).
  let out: usize = 0;
  let capacity = 0;
  let moved = 0;
  // From just past an empty slot: no cluster wraps past the start, so a row the backward
  // shift moves lands on the slot being looked at, and is looked at next.
  for (let k = 1; k <= m + 1; k++) {
    const i = (empty + k) & m;
    const row = base + <usize>i * bytes;
    for (;;) {
      if (load<i32>(row) == EMPTY || !doomed(row, closed, word, shift, mask)) break;
      if (moved == capacity) {
        capacity = capacity == 0 ? 64 : capacity * 2;
        const bigger = heap.alloc(<usize>capacity * bytes);
        if (out != 0) {
          memory.copy(bigger, out, <usize>moved * bytes);
          heap.free(out);
        }
        out = bigger;
      }
      memory.copy(out + <usize>moved * bytes, row, bytes);
      moved++;
      remove(base, m, bytes, i);
    }
  }
  if (moved == 0) return;
  store<i32>(to, <i32>out, D_PTR);
  store<i32>(to, capacity, D_MASK);
  store<i32>(to, moved, D_SIZE);
  store<i32>(d, load<i32>(d, D_SIZE) - moved, D_SIZE);
}

/** Deletes the rows of table `index` that `split` would move (same arguments), keeping none. */
function drop(index: i32, closed: usize, word: u32, shift: i32, mask: i32): void {
  const d = descriptors + <usize>index * D_BYTES;
  if (load<i32>(d, D_SIZE) == 0) return;
  const base = <usize>load<i32>(d, D_PTR);
  const m = load<i32>(d, D_MASK);
  const bytes = <usize>load<i32>(d, D_STRIDE) * 4;
  let empty = 0;
  while (load<i32>(base + <usize>empty * bytes) != EMPTY) empty++;
  let dropped = 0;
  for (let k = 1; k <= m + 1; k++) {
    const i = (empty + k) & m;
    const row = base + <usize>i * bytes;
    while (load<i32>(row) != EMPTY && doomed(row, closed, word, shift, mask)) {
      remove(base, m, bytes, i);
      dropped++;
    }
  }
  store<i32>(d, load<i32>(d, D_SIZE) - dropped, D_SIZE);
}

/** Empties slot i of a linear-probing table, moving back the rows after it whose probe passed it. */
function remove(base: usize, m: i32, bytes: usize, i: i32): void {
  let hole = i;
  let j = i;
  for (;;) {
    j = (j + 1) & m;
    const row = base + <usize>j * bytes;
    const key = load<i32>(row);
    if (key == EMPTY) break;
    const home = hash(key, load<i32>(row, 4), load<i32>(row, 8)) & m;
    // The row stays when its home lies cyclically in (hole, j].
    const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
    if (stays) continue;
    memory.copy(base + <usize>hole * bytes, row, bytes);
    hole = j;
  }
  // Only the key marks a slot empty: `insert` zeroes a row's fields as it takes the slot.
  store<i32>(base + <usize>hole * bytes, EMPTY);
}

@inline function doomed(row: usize, closed: usize, word: u32, shift: i32, mask: i32): bool {
  if (closed == 0) return <u32>load<i32>(row, BEACON_LAST * 4) <= word;
  const w = (load<i32>(row + <usize>word * 4) >> shift) & mask;
  return load<u8>(closed + <usize>w) != 0;
}

/**
 * Whether this flow's destination port is new for its (source, destination) row `p` in the
 * row's window: the row keeps the first port (+ 1); any other goes through a (source,
 * destination, port << 14 | window) table. Most pairs see one port, so most need no such row.
 */
@inline function firstPort(p: usize, seen: usize, src: i32, dst: i32, port: i32, win: i32): bool {
  const first = load<i32>(p, PW_PORT0 * 4);
  if (first == 0) {
    store<i32>(p, port + 1, PW_PORT0 * 4);
    return true;
  }
  if (first == port + 1) return false;
  upsert(seen, src, dst, (port << 14) | win, 4);
  return isNew;
}

/**
 * The interface of a row of a shared table: the smallest id seen. Parts are added up in turn,
 * so which record reaches a shared row first depends on when buffers are added up; the
 * smallest id does not.
 */
@inline function sharedInterface(at: usize, eni: i32): void {
  const cur = load<i32>(at);
  if (isNew || (eni >= 0 && (cur < 0 || eni < cur))) store<i32>(at, eni);
}

/** Adds a flow to an internal host's row of the hosts table (as source when `out`). */
@inline function hostFlow(host: i32, eni: i32, out: bool, bytes: f64, rejected: bool, peerHash: i32, port: i32): void {
  const h = upsert(hosts, host, 0, 0, HOST_STRIDE);
  sharedInterface(h + HOST_IFACE * 4, eni);
  if (out) {
    store<i32>(h, load<i32>(h, HOST_OUT_FLOWS * 4) + 1, HOST_OUT_FLOWS * 4);
    store<f64>(h, load<f64>(h, HOST_OUT_BYTES * 4) + bytes, HOST_OUT_BYTES * 4);
  } else {
    store<i32>(h, load<i32>(h, HOST_IN_FLOWS * 4) + 1, HOST_IN_FLOWS * 4);
    store<f64>(h, load<f64>(h, HOST_IN_BYTES * 4) + bytes, HOST_IN_BYTES * 4);
  }
  if (rejected) store<i32>(h, load<i32>(h, HOST_REJECTED * 4) + 1, HOST_REJECTED * 4);
  sketch(h + HOST_PEERS * 4, mix(peerHash));
  // -1: a response, whose port is the peer's, not one this host probed or was probed on.
  if (port >= 0) sketch(h + (out ? HOST_OUT_PORTS : HOST_IN_PORTS) * 4, mix(port * <i32>0x9e3779b1 + 1));
}

/** Aggregator.aggregate, for the record at r. */
function add(tables: usize, part: i32, r: usize): void {
  const src = load<i32>(r, R_SRC);
  const dst = load<i32>(r, R_DST);
  const eni = load<i32>(r, R_IFACE);
  const win = load<i32>(r, R_WIN);
  const lwin = load<i32>(longOf + <usize>win * 4);
  const own = genDescriptor(genFor(win), part, 0);
  if (load<i32>(own, D_PTR) == 0) generationPart(own, part);
  touch(win);
  touch(WINDOW_LIMIT + lwin);
  // A record without an action (every transit-gateway record) is not rejected: rules.ts says what that means per rule.
  const rejected = load<i32>(r, R_ACTION) == ACTION_REJECT;
  const srcport = load<i32>(r, R_SRCPORT);
  const dport = load<i32>(r, R_DSTPORT);
  const protocol = load<i32>(r, R_PROTOCOL);
  const rawPackets = load<f64>(r, R_PACKETS);
  const packets = rawPackets < 0 ? 0 : rawPackets;
  const rawBytes = load<f64>(r, R_BYTES);
  const bytes = rawBytes < 0 ? 0 : rawBytes;
  const rawStart = load<f64>(r, R_START);
  const start = rawStart < 0 ? 0 : rawStart;
  const tcpFlags = load<i32>(r, R_FLAGS);
  const sf = flagsOf(src);
  const df = flagsOf(dst);
  const srcPrivate = (sf & INSIDE) != 0;
  const dstPrivate = (df & INSIDE) != 0;
  const directionWord = load<i32>(r, R_DIRECTION);
  const direction = directionWord & DIRECTION_CODE;
  const dstService = (directionWord & DST_AWS_SERVICE) != 0;
  const inbound = direction == DIRECTION_INGRESS || (direction == DIRECTION_ABSENT && !srcPrivate);

  const s = upsert(own + T_SOURCES * D_BYTES, src, win, 0, SRC_STRIDE);
  if (isNew) store<i32>(s, eni, SRC_IFACE * 4);
  store<i32>(s, load<i32>(s, SRC_FLOWS * 4) + 1, SRC_FLOWS * 4);
  if (rejected) store<i32>(s, load<i32>(s, SRC_REJECTED * 4) + 1, SRC_REJECTED * 4);

  if (protocol >= 0 && protocol < 256 && load<u8>(protocols + <usize>protocol) == 1) {
    const pr = upsert(tables + T_PROTOCOLS * D_BYTES, src, dst, win * 256 + protocol, PROTO_STRIDE);
    if (isNew) store<i32>(pr, eni, PROTO_IFACE * 4);
    store<i32>(pr, load<i32>(pr, PROTO_FLOWS * 4) + 1, PROTO_FLOWS * 4);
    store<f64>(pr, load<f64>(pr, PROTO_BYTES * 4) + bytes, PROTO_BYTES * 4);
  }

  if (((sf | df) & THREAT) != 0) {
    const ti = upsert(tables + T_INTEL * D_BYTES, src, dst, win, INTEL_STRIDE);
    if (isNew) store<i32>(ti, eni, INTEL_IFACE * 4);
    store<i32>(ti, load<i32>(ti, INTEL_FLOWS * 4) + 1, INTEL_FLOWS * 4);
    if (!rejected) store<i32>(ti, load<i32>(ti, INTEL_ACCEPTED * 4) + 1, INTEL_ACCEPTED * 4);
    store<f64>(ti, load<f64>(ti, INTEL_BYTES * 4) + bytes, INTEL_BYTES * 4);
  }

  // A NAT gateway's records repeat its clients' traffic, which their own records carry; data
  // sent to an AWS service (a backup to S3) stays with AWS.
  const egress = srcPrivate && !dstPrivate && !rejected && direction != DIRECTION_INGRESS && (sf & NAT) == 0 && !dstService;
  let response = dport < 0 || isResponse(tables, src, srcport, dport, protocol, tcpFlags, rejected, inbound, lwin);
  // Load-balancer health checks and targets' answers to them, return traffic to a NAT gateway
  // from outside, and flows from AWS services (their answers, Route 53 health checks) are the
  // network's own traffic, never probes.
  if (((sf | df) & LOAD_BALANCER) != 0 || ((df & NAT) != 0 && !srcPrivate) || (directionWord & SRC_AWS_SERVICE) != 0) response = true;
  const port = dport < 65536 ? dport : 65535;

  if (srcPrivate) hostFlow(src, eni, true, bytes, rejected, load<i32>(hashes + <usize>dst * 4), response ? -1 : port);
  if (dstPrivate) hostFlow(dst, eni, false, bytes, rejected, load<i32>(hashes + <usize>src * 4), response ? -1 : port);

  let dr: usize = 0;
  if (dstPrivate) {
    dr = upsert(destinations, dst, win, 0, DST_STRIDE);
    sharedInterface(dr + DST_IFACE * 4, eni);
    store<i32>(dr, load<i32>(dr, DST_FLOWS * 4) + 1, DST_FLOWS * 4);
    store<f64>(dr, load<f64>(dr, DST_PACKETS * 4) + packets, DST_PACKETS * 4);
  }
  if (srcPrivate && !dstPrivate && !response && (sf & NAT) == 0) {
    store<i32>(s, load<i32>(s, SRC_OUT_FLOWS * 4) + 1, SRC_OUT_FLOWS * 4);
    store<f64>(s, load<f64>(s, SRC_OUT_PACKETS * 4) + packets, SRC_OUT_PACKETS * 4);
  }
  if (response && !egress) return;

  const p = upsert(own + T_PAIRS * D_BYTES, src, dst, win, PW_STRIDE);
  if (isNew) {
    store<i32>(p, eni, PW_IFACE * 4);
    if (!response && dr != 0) store<i32>(dr, load<i32>(dr, DST_SOURCES * 4) + 1, DST_SOURCES * 4);
  }
  if (egress) store<f64>(p, load<f64>(p, PW_EGRESS * 4) + bytes, PW_EGRESS * 4);
  if (response) return;
  const portFlags = load<u8>(ports + <usize>port);

  if (srcPrivate && !rejected && (port == 53 || port == 853) && (protocol == 6 || protocol == 17) && (df & RESOLVER) == 0) {
    store<i32>(s, load<i32>(s, SRC_DNS_FLOWS * 4) + 1, SRC_DNS_FLOWS * 4);
    const pf = load<i32>(p, PW_FLAGS * 4);
    if ((pf & DNS_COUNTED) == 0) {
      store<i32>(p, pf | DNS_COUNTED, PW_FLAGS * 4);
      store<i32>(s, load<i32>(s, SRC_DNS_SERVERS * 4) + 1, SRC_DNS_SERVERS * 4);
      if (load<i32>(s, SRC_DNS_DST * 4) == 0) store<i32>(s, dst + 1, SRC_DNS_DST * 4);
    }
  }
  if (srcPrivate && !dstPrivate && !rejected && (portFlags & PORT_MINING) != 0) {
    store<i32>(s, load<i32>(s, SRC_MINING_FLOWS * 4) + 1, SRC_MINING_FLOWS * 4);
    if (load<i32>(s, SRC_MINING_DST * 4) == 0) {
      store<i32>(s, dst + 1, SRC_MINING_DST * 4);
      store<i32>(s, port, SRC_MINING_PORT * 4);
    }
  }

  if (!rejected && srcPrivate) {
    if (dstPrivate) {
      const admin = <i32>((portFlags >> 3) & 7);
      if (admin != 0) {
        const pf = load<i32>(p, PW_FLAGS * 4);
        if ((pf & LATERAL_COUNTED) == 0) {
          store<i32>(p, pf | LATERAL_COUNTED, PW_FLAGS * 4);
          store<i32>(s, load<i32>(s, SRC_LATERAL_HOSTS * 4) + 1, SRC_LATERAL_HOSTS * 4);
        }
        store<i32>(s, load<i32>(s, SRC_LATERAL_PORTS * 4) | (1 << (admin - 1)), SRC_LATERAL_PORTS * 4);
      }
    } else if ((portFlags & PORT_WEB) != 0 && bytes <= c2SmallBytes && (sf & NAT) == 0 && !dstService) {
      // (AWS services' endpoints are many addresses called often with small requests: neither a fan-out nor a beacon.)
      const pf = load<i32>(p, PW_FLAGS * 4);
      if ((pf & C2_COUNTED) == 0) {
        store<i32>(p, pf | C2_COUNTED, PW_FLAGS * 4);
        store<i32>(s, load<i32>(s, SRC_C2_DESTINATIONS * 4) + 1, SRC_C2_DESTINATIONS * 4);
      }
      store<i32>(s, load<i32>(s, SRC_C2_FLOWS * 4) + 1, SRC_C2_FLOWS * 4);
      store<f64>(s, load<f64>(s, SRC_C2_BYTES * 4) + bytes, SRC_C2_BYTES * 4);
      if (rawStart >= 0) beaconPoint(tables, src, dst, port, eni, start);
    }
  }

  if ((portFlags & PORT_BRUTE) != 0 && protocol != 17) {
    const synOnly = tcpFlags == 2;
    if (synOnly || packets <= bruteForceMaxPackets) {
      // Window ids stay below 2^14, so (window << 16) | port stays within 31 bits.
      const bf = upsert(tables + T_BRUTE * D_BYTES, src, dst, (win << 16) | port, BRUTE_STRIDE);
      if (isNew) store<i32>(bf, eni, BRUTE_IFACE * 4);
      store<i32>(bf, load<i32>(bf, BRUTE_ATTEMPTS * 4) + 1, BRUTE_ATTEMPTS * 4);
      if (synOnly) store<i32>(bf, load<i32>(bf, BRUTE_SYN_ONLY * 4) + 1, BRUTE_SYN_ONLY * 4);
      const lb = upsert(tables + T_LBRUTE * D_BYTES, src, dst, (lwin << 16) | port, BRUTE_STRIDE);
      if (isNew) store<i32>(lb, eni, BRUTE_IFACE * 4);
      store<i32>(lb, load<i32>(lb, BRUTE_ATTEMPTS * 4) + 1, BRUTE_ATTEMPTS * 4);
      if (synOnly) store<i32>(lb, load<i32>(lb, BRUTE_SYN_ONLY * 4) + 1, BRUTE_SYN_ONLY * 4);
    }
  }

  const first = firstPort(p, tables + T_SEEN * D_BYTES, src, dst, port, win);
  const w = upsert(own + T_SWEEPS * D_BYTES, src, port, win, SWEEP_STRIDE);
  if (isNew) {
    store<i32>(w, eni, SWEEP_IFACE * 4);
    store<i32>(s, load<i32>(s, SRC_PORTS * 4) + 1, SRC_PORTS * 4);
    if ((portFlags & PORT_SENSITIVE) != 0) store<i32>(s, load<i32>(s, SRC_SENSITIVE * 4) + 1, SRC_SENSITIVE * 4);
  }
  store<i32>(w, load<i32>(w, SWEEP_FLOWS * 4) + 1, SWEEP_FLOWS * 4);
  const probe = rejected || packets <= PROBE_PACKETS || (protocol == 6 && tcpFlags == 2);
  if (probe) store<i32>(w, load<i32>(w, SWEEP_PROBES * 4) + 1, SWEEP_PROBES * 4);
  if (first) {
    if (dr != 0) {
      upsert(destinationPorts, dst, port, win, 4);
      if (isNew) store<i32>(dr, load<i32>(dr, DST_PORTS * 4) + 1, DST_PORTS * 4);
    }
    store<i32>(p, load<i32>(p, PW_PORTS * 4) + 1, PW_PORTS * 4);
    store<i32>(w, load<i32>(w, SWEEP_HOSTS * 4) + 1, SWEEP_HOSTS * 4);
  }
  // The long horizon counts probes only: a slow scan is made of them, and a busy hour's
  // ordinary connections (which carry data) would otherwise hold a row per pair for an hour.
  if (probe) longProbe(tables, src, dst, port, lwin, eni, rejected, portFlags);
}

/** A probe into the long horizon's pairs, sources and sweeps. */
function longProbe(tables: usize, src: i32, dst: i32, port: i32, lwin: i32, eni: i32, rejected: bool, portFlags: u8): void {
  const p = upsert(tables + T_LPAIRS * D_BYTES, src, dst, lwin, PW_STRIDE);
  if (isNew) store<i32>(p, eni, PW_IFACE * 4);
  const first = firstPort(p, tables + T_LSEEN * D_BYTES, src, dst, port, lwin);
  const s = upsert(tables + T_LSOURCES * D_BYTES, src, lwin, 0, SRC_STRIDE);
  if (isNew) store<i32>(s, eni, SRC_IFACE * 4);
  store<i32>(s, load<i32>(s, SRC_FLOWS * 4) + 1, SRC_FLOWS * 4);
  if (rejected) store<i32>(s, load<i32>(s, SRC_REJECTED * 4) + 1, SRC_REJECTED * 4);
  const w = upsert(tables + T_LSWEEPS * D_BYTES, src, port, lwin, SWEEP_STRIDE);
  if (isNew) {
    store<i32>(w, eni, SWEEP_IFACE * 4);
    store<i32>(s, load<i32>(s, SRC_PORTS * 4) + 1, SRC_PORTS * 4);
    if ((portFlags & PORT_SENSITIVE) != 0) store<i32>(s, load<i32>(s, SRC_SENSITIVE * 4) + 1, SRC_SENSITIVE * 4);
  }
  store<i32>(w, load<i32>(w, SWEEP_FLOWS * 4) + 1, SWEEP_FLOWS * 4);
  store<i32>(w, load<i32>(w, SWEEP_PROBES * 4) + 1, SWEEP_PROBES * 4);
  if (first) {
    store<i32>(p, load<i32>(p, PW_PORTS * 4) + 1, PW_PORTS * 4);
    store<i32>(w, load<i32>(w, SWEEP_HOSTS * 4) + 1, SWEEP_HOSTS * 4);
  }
}

/** A small web flow from inside to outside: a point of the (source, destination, port) beacon series, its first BEACON_POINTS starts kept. */
function beaconPoint(tables: usize, src: i32, dst: i32, port: i32, eni: i32, start: f64): void {
  const b = upsert(tables + T_BEACON * D_BYTES, src, dst, port, BEACON_STRIDE);
  if (isNew) store<i32>(b, eni, BEACON_IFACE * 4);
  const n = load<i32>(b, BEACON_FLOWS * 4);
  const at = <u32>start;
  if (n < BEACON_POINTS) store<u32>(b + <usize>(BEACON_STARTS + n) * 4, at);
  store<i32>(b, n + 1, BEACON_FLOWS * 4);
  if (n == 0 || at > load<u32>(b, BEACON_LAST * 4)) store<u32>(b, at, BEACON_LAST * 4);
}
