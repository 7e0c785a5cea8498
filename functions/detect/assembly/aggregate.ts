/*
 * The detector's aggregation in WebAssembly: Aggregator.flush hands it one part's buffered
 * records at a time, and it adds them up into that part's tables. The tables have RowTable's
 * layout and hashing exactly (functions/flowlog/row-table.ts): slots of `stride` 32-bit words,
 * three keys first (word 0 is -1 when the slot is empty), doubles at even words, linear probing,
 * doubling when three quarters full. So JavaScript reads them in place (WasmRows), in the same
 * order, and the rules cannot tell where they were built. The row layouts are those of
 * functions/detect/aggregates.ts (PW, SRC, SWEEP, GROUP, BRUTE, PROTO).
 */

import { allocFilled } from "./memory";

/** KNOWN | INSIDE | ALLOWED | NAT | LOAD_BALANCER | THREAT | RESOLVER flags of an address id, from JavaScript on first use. */
@external("env", "addressFlags")
declare function addressFlagsOf(id: i32): i32;

const EMPTY: i32 = -1;
// Address flags (aggregates.ts): inside the network's CIDRs, a NAT gateway, a load-balancer node, on a threat list, an approved resolver.
const INSIDE: u8 = 2;
const NAT: u8 = 8;
const LOAD_BALANCER: u8 = 16;
const THREAT: u8 = 32;
const RESOLVER: u8 = 64;

// Tables of a part, in this order; their strides and first capacities.
const T_PAIRS = 0;
const T_SOURCES = 1;
const T_SWEEPS = 2;
const T_GROUPS = 3;
const T_BRUTE = 4;
const T_PROTOCOLS = 5;
const T_LATER = 6;
const T_LISTEN = 7;
const T_INTEL = 8;
const TABLES = 9;
const PARTS = 64;

// Table descriptors: byte offset of the slots, mask, rows, stride (words).
const D_PTR = 0;
const D_MASK = 4;
const D_SIZE = 8;
const D_STRIDE = 12;
const D_BYTES = 16;

// Row layouts (aggregates.ts).
const PW_PORTS = 3, PW_IFACE = 4, PW_FLAGS = 5, PW_EGRESS = 6, PW_STRIDE = 8;
const LATERAL_COUNTED = 1, C2_COUNTED = 2;
const SRC_FLOWS = 3, SRC_REJECTED = 4, SRC_IFACE = 5, SRC_PORTS = 6, SRC_SENSITIVE = 7, SRC_LATERAL_HOSTS = 8, SRC_LATERAL_PORTS = 9;
const SRC_C2_DESTINATIONS = 10, SRC_C2_FLOWS = 11, SRC_C2_BYTES = 12;
const SRC_DNS_FLOWS = 14, SRC_DNS_SERVERS = 15, SRC_MINING_FLOWS = 16, SRC_MINING_PORT = 17, SRC_MINING_DST = 18, SRC_OUT_FLOWS = 19, SRC_OUT_PACKETS = 20, SRC_DNS_DST = 22, SRC_STRIDE = 24;
const DNS_COUNTED = 4;
// (host, port, 0): up to three distinct peer ports answered from the host's port (aggregates.ts LISTEN).
const LISTEN_PEERS = 3, LISTEN_PORT0 = 4, LISTEN_STRIDE = 8;
// (internal destination, window, 0), one table for all parts (aggregates.ts DST).
const DST_FLOWS = 3, DST_SOURCES = 4, DST_PORTS = 5, DST_IFACE = 6, DST_PACKETS = 8, DST_STRIDE = 10;
// (source, destination, window): flows with an end on a threat list (aggregates.ts INTEL).
const INTEL_FLOWS = 3, INTEL_ACCEPTED = 4, INTEL_IFACE = 5, INTEL_BYTES = 6, INTEL_STRIDE = 8;
const SWEEP_FLOWS = 3, SWEEP_PROBES = 4, SWEEP_HOSTS = 5, SWEEP_IFACE = 6, SWEEP_STRIDE = 8;
const GROUP_FLOWS = 3, GROUP_IFACE = 4, GROUP_SKETCH_LO = 5, GROUP_SKETCH_HI = 6, GROUP_WINDOWS = 7, GROUP_BEACON = 8;
const GROUP_BYTES = 10, GROUP_PACKETS = 12, GROUP_FIRST_START = 14, GROUP_STRIDE = 16;
const BRUTE_ATTEMPTS = 3, BRUTE_SYN_ONLY = 4, BRUTE_IFACE = 5, BRUTE_STRIDE = 6;
const PROTO_FLOWS = 3, PROTO_IFACE = 4, PROTO_BYTES = 6, PROTO_STRIDE = 8;

// Buffered records (Aggregator's REC layout): integer words, then doubles at byte 40.
const R_SRC = 0, R_DST = 4, R_IFACE = 8, R_WIN = 12, R_ACTION = 16, R_DIRECTION = 20, R_SRCPORT = 24, R_DSTPORT = 28, R_PROTOCOL = 32, R_FLAGS = 36;
const R_PACKETS = 40, R_BYTES = 48, R_START = 56, REC_BYTES = 64;

const ACTION_REJECT = 2;
const DIRECTION_INGRESS = 1;
const DIRECTION_ABSENT = 0;

// Per port: bit 0 sensitive, bit 1 web, bit 2 a high service port (net.ts), bits 3-5 ADMIN_PORTS index + 1.
const PORT_SENSITIVE: u8 = 1;
const PORT_WEB: u8 = 2;
const PORT_BRUTE: u8 = 64;
const PORT_MINING: u8 = 128;

let descriptors: usize = 0;
let ports: usize = 0;
let protocols: usize = 0;
let flags: usize = 0;
let flagsCapacity: i32 = 0;
let bruteForceMaxPackets: f64 = 0;
let listenerPeers: i32 = 3;
/** The descriptor of the table of internal destinations, shared by every part. */
let destinations: usize = 0;
/** The descriptor of the (internal destination, port, window) table, shared by every part: distinct ports probed on a host. */
let destinationPorts: usize = 0;
let c2SmallBytes: f64 = 0;
/** Beacon events of the last `aggregate`: (series, start) pairs; a series is new when it is one past the last seen. */
let events: usize = 0;
let eventCount: i32 = 0;
let beaconSeries: i32 = 0;
let isNew = false;

/** Sets up every part's tables and the lookup tables; returns the descriptors (7 per part, 16 bytes each). */
export function setupAggregates(maxRecords: i32): usize {
  descriptors = heap.alloc((PARTS * TABLES + 2) * D_BYTES);
  for (let p = 0; p < PARTS; p++) {
    table(p, T_PAIRS, PW_STRIDE, 1 << 10);
    table(p, T_SOURCES, SRC_STRIDE, 1 << 6);
    table(p, T_SWEEPS, SWEEP_STRIDE, 1 << 6);
    table(p, T_GROUPS, GROUP_STRIDE, 1 << 10);
    table(p, T_BRUTE, BRUTE_STRIDE, 1 << 4);
    table(p, T_PROTOCOLS, PROTO_STRIDE, 1 << 4);
    table(p, T_LATER, 4, 1 << 4);
    table(p, T_LISTEN, LISTEN_STRIDE, 1 << 6);
    table(p, T_INTEL, INTEL_STRIDE, 1 << 4);
  }
  // Destinations are keyed by destination, not source: one table for every part, whose counts
  // (sums, and new source-destination rows) do not depend on the order parts are added up in.
  table(PARTS, 0, DST_STRIDE, 1 << 10);
  table(PARTS, 1, 4, 1 << 10);
  destinations = descriptors + <usize>(PARTS * TABLES) * D_BYTES;
  destinationPorts = destinations + D_BYTES;
  ports = allocFilled(65536);
  protocols = allocFilled(256);
  flagsCapacity = 1024;
  flags = allocFilled(<usize>flagsCapacity);
  events = heap.alloc(<usize>maxRecords * 16);
  return descriptors;
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

export function beaconEvents(): usize {
  return events;
}

function table(part: i32, t: i32, stride: i32, capacity: i32): void {
  const d = descriptors + <usize>(part * TABLES + t) * D_BYTES;
  store<i32>(d, <i32>slots(capacity, stride), D_PTR);
  store<i32>(d, capacity - 1, D_MASK);
  store<i32>(d, 0, D_SIZE);
  store<i32>(d, stride, D_STRIDE);
}

/** Slots for `capacity` rows, every one empty. */
function slots(capacity: i32, stride: i32): usize {
  const bytes = <usize>capacity * <usize>stride * 4;
  const p = allocFilled(bytes);
  for (let b: usize = 0; b < bytes; b += <usize>stride * 4) store<i32>(p + b, EMPTY);
  return p;
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
  isNew = true;
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

/** The flags of an address id (from JavaScript on first use). */
@inline function flagsOf(id: i32): u8 {
  if (id >= flagsCapacity) {
    let capacity = flagsCapacity * 2;
    while (capacity <= id) capacity *= 2;
    const bigger = allocFilled(<usize>capacity);
    memory.copy(bigger, flags, <usize>flagsCapacity);
    heap.free(flags);
    flags = bigger;
    flagsCapacity = capacity;
  }
  let f = load<u8>(flags + <usize>id);
  if (f == 0) {
    f = <u8>addressFlagsOf(id);
    store<u8>(flags + <usize>id, f);
  }
  return f;
}

/**
 * Whether a flow is the answering side of a connection (net.ts tells why, in this order):
 * a rejected inbound flow never is; tcp-flags decide when logged (SYN-ACK answers, SYN without
 * it opens); else the source's port is a listener learned from the traffic: it has answered
 * `listenerPeers` distinct peer ports. A port's own number never decides.
 */
function isResponse(tables: usize, src: i32, srcport: i32, dport: i32, protocol: i32, tcpFlags: i32, rejected: bool, inbound: bool): bool {
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
    row = find(d, src, srcport, 0, LISTEN_STRIDE);
    if (row == 0) return false;
  } else {
    row = upsert(d, src, srcport, 0, LISTEN_STRIDE);
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

/** Rows in all of a part's tables. */
export function partRows(part: i32): i32 {
  let n = 0;
  for (let t = 0; t < TABLES; t++) n += load<i32>(descriptors + <usize>(part * TABLES + t) * D_BYTES, D_SIZE);
  // The shared destinations table counts with every part, so that a part's growth includes what it added there.
  return n + load<i32>(destinations, D_SIZE) + load<i32>(destinationPorts, D_SIZE);
}

/**
 * Adds up the `n` records at `records` (one part's, in order) into that part's tables; returns
 * the part's rows. Beacon events are left at `beaconEvents()` (their count is returned by
 * `beaconEventCount`).
 */
export function aggregate(part: i32, records: usize, n: i32): i32 {
  eventCount = 0;
  const tables = descriptors + <usize>(part * TABLES) * D_BYTES;
  for (let i = 0; i < n; i++) add(tables, records + <usize>i * REC_BYTES);
  return partRows(part);
}

export function beaconEventCount(): i32 {
  return eventCount;
}

/** Aggregator.aggregate, for the record at r. */
function add(tables: usize, r: usize): void {
  const src = load<i32>(r, R_SRC);
  const dst = load<i32>(r, R_DST);
  const eni = load<i32>(r, R_IFACE);
  const win = load<i32>(r, R_WIN);
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
  const direction = load<i32>(r, R_DIRECTION);
  const inbound = direction == DIRECTION_INGRESS || (direction == DIRECTION_ABSENT && !srcPrivate);

  const s = upsert(tables + T_SOURCES * D_BYTES, src, win, 0, SRC_STRIDE);
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

  // A NAT gateway's records repeat its clients' traffic, which their own records carry.
  const egress = srcPrivate && !dstPrivate && !rejected && direction != DIRECTION_INGRESS && (sf & NAT) == 0;
  let response = dport < 0 || isResponse(tables, src, srcport, dport, protocol, tcpFlags, rejected, inbound);
  // Load-balancer health checks and targets' answers to them, and return traffic to a NAT
  // gateway from outside, are the network's own traffic, never probes.
  if (((sf | df) & LOAD_BALANCER) != 0 || ((df & NAT) != 0 && !srcPrivate)) response = true;

  let dr: usize = 0;
  if (dstPrivate) {
    dr = upsert(destinations, dst, win, 0, DST_STRIDE);
    if (isNew) store<i32>(dr, eni, DST_IFACE * 4);
    store<i32>(dr, load<i32>(dr, DST_FLOWS * 4) + 1, DST_FLOWS * 4);
    store<f64>(dr, load<f64>(dr, DST_PACKETS * 4) + packets, DST_PACKETS * 4);
  }
  if (srcPrivate && !dstPrivate && !response && (sf & NAT) == 0) {
    store<i32>(s, load<i32>(s, SRC_OUT_FLOWS * 4) + 1, SRC_OUT_FLOWS * 4);
    store<f64>(s, load<f64>(s, SRC_OUT_PACKETS * 4) + packets, SRC_OUT_PACKETS * 4);
  }
  if (response && !egress) return;

  const p = upsert(tables + T_PAIRS * D_BYTES, src, dst, win, PW_STRIDE);
  if (isNew) {
    store<i32>(p, eni, PW_IFACE * 4);
    if (!response && dr != 0) store<i32>(dr, load<i32>(dr, DST_SOURCES * 4) + 1, DST_SOURCES * 4);
  }
  if (egress) store<f64>(p, load<f64>(p, PW_EGRESS * 4) + bytes, PW_EGRESS * 4);
  if (response) return;
  const port = dport < 65536 ? dport : 65535;
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

  let beacon = false;
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
    } else if ((portFlags & PORT_WEB) != 0 && bytes <= c2SmallBytes && (sf & NAT) == 0) {
      const pf = load<i32>(p, PW_FLAGS * 4);
      if ((pf & C2_COUNTED) == 0) {
        store<i32>(p, pf | C2_COUNTED, PW_FLAGS * 4);
        store<i32>(s, load<i32>(s, SRC_C2_DESTINATIONS * 4) + 1, SRC_C2_DESTINATIONS * 4);
      }
      store<i32>(s, load<i32>(s, SRC_C2_FLOWS * 4) + 1, SRC_C2_FLOWS * 4);
      store<f64>(s, load<f64>(s, SRC_C2_BYTES * 4) + bytes, SRC_C2_BYTES * 4);
      beacon = rawStart >= 0;
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
    }
  }

  const g = upsert(tables + T_GROUPS * D_BYTES, src, dst, port, GROUP_STRIDE);
  if (isNew) {
    store<i32>(g, eni, GROUP_IFACE * 4);
    store<f64>(g, start, GROUP_FIRST_START * 4);
  }
  store<i32>(g, load<i32>(g, GROUP_FLOWS * 4) + 1, GROUP_FLOWS * 4);
  store<f64>(g, load<f64>(g, GROUP_BYTES * 4) + bytes, GROUP_BYTES * 4);
  store<f64>(g, load<f64>(g, GROUP_PACKETS * 4) + packets, GROUP_PACKETS * 4);
  if (srcport >= 0) {
    const bit = <i32>(<u32>(srcport * <i32>0x9e3779b1) >> 26);
    if (bit < 32) store<i32>(g, load<i32>(g, GROUP_SKETCH_LO * 4) | (1 << bit), GROUP_SKETCH_LO * 4);
    else store<i32>(g, load<i32>(g, GROUP_SKETCH_HI * 4) | (1 << (bit - 32)), GROUP_SKETCH_HI * 4);
  }
  if (beacon) {
    let b = load<i32>(g, GROUP_BEACON * 4);
    if (b == 0) {
      b = ++beaconSeries;
      store<i32>(g, b, GROUP_BEACON * 4);
    }
    // JavaScript keeps the series (src, dst, port and interface of a new one come from the record).
    const e = events + <usize>eventCount * 16;
    store<i32>(e, b);
    store<i32>(e, <i32>r, 4);
    store<f64>(e, start, 8);
    eventCount++;
  }
  let first: bool;
  if (win < 32) {
    const windows = load<i32>(g, GROUP_WINDOWS * 4);
    first = (windows & (1 << win)) == 0;
    if (first) store<i32>(g, windows | (1 << win), GROUP_WINDOWS * 4);
  } else {
    upsert(tables + T_LATER * D_BYTES, src, dst, (port << 14) | win, 4);
    first = isNew;
  }

  const w = upsert(tables + T_SWEEPS * D_BYTES, src, port, win, SWEEP_STRIDE);
  if (isNew) {
    store<i32>(w, eni, SWEEP_IFACE * 4);
    store<i32>(s, load<i32>(s, SRC_PORTS * 4) + 1, SRC_PORTS * 4);
    if ((portFlags & PORT_SENSITIVE) != 0) store<i32>(s, load<i32>(s, SRC_SENSITIVE * 4) + 1, SRC_SENSITIVE * 4);
  }
  store<i32>(w, load<i32>(w, SWEEP_FLOWS * 4) + 1, SWEEP_FLOWS * 4);
  if (rejected || packets <= 3) store<i32>(w, load<i32>(w, SWEEP_PROBES * 4) + 1, SWEEP_PROBES * 4);
  if (first) {
    if (dr != 0) {
      upsert(destinationPorts, dst, port, win, 4);
      if (isNew) store<i32>(dr, load<i32>(dr, DST_PORTS * 4) + 1, DST_PORTS * 4);
    }
    store<i32>(p, load<i32>(p, PW_PORTS * 4) + 1, PW_PORTS * 4);
    store<i32>(w, load<i32>(w, SWEEP_HOSTS * 4) + 1, SWEEP_HOSTS * 4);
  }
}
