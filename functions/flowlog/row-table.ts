/**
 * A hash table whose slots hold their rows. Each slot is `stride` 32-bit words of one
 * ArrayBuffer: three integer keys, then the row's counters, read as 32-bit integers (`i32`) or,
 * at even word offsets, as doubles (`f64[word / 2]`). Open addressing with linear probing, so a
 * lookup and the update that follows it touch one or two cache lines, and no object, boxed key
 * or per-row allocation exists. Aggregating millions of flow records is mostly waiting for
 * memory; this layout is what keeps that wait short. The table doubles when three quarters full
 * (faster than half full on 5M records: a smaller table misses the cache less often than the
 * longer probes cost).
 *
 * A row is addressed by the word offset of its slot (its "base"). Bases move when the table
 * grows, so a base is valid until the next `upsert` of the same table.
 */
export const EMPTY = -1;

/** What the rules read of a table: every row, and rows by key. */
export interface Rows {
  /** Rows held. */
  readonly size: number;
  /** Calls `fn` with every row: its base in `i32` / `f64`, the words of the table holding it. Deterministic order. */
  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void;
  /** Whether row (a, b, c) exists. */
  has(a: number, b: number, c: number): boolean;
  /** `read` applied to row (a, b, c), or undefined when it is absent. */
  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined;
}

/** The hash of key (a, b, c): functions/detect/assembly/aggregate.ts computes the same. */
export function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 15), 0x85ebca77) ^ Math.imul(c ^ (c >>> 13), 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

export class RowTable implements Rows {
  i32: Int32Array;
  f64: Float64Array;
  /** Rows held. */
  size = 0;
  /** Whether the last `upsert` created its row. */
  isNew = false;
  private mask: number;

  /**
   * @param stride words per slot: 3 keys plus the row's fields; even, so doubles stay aligned.
   * @param capacity slots to start with (a power of two).
   */
  constructor(
    readonly stride: number,
    capacity = 1 << 10,
  ) {
    if (stride < 4 || stride % 2 !== 0) throw new RangeError(`RowTable: stride must be even and at least 4 (got ${stride})`);
    this.mask = capacity - 1;
    const buffer = new ArrayBuffer(capacity * stride * 4);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    for (let b = 0; b < this.i32.length; b += stride) this.i32[b] = EMPTY;
  }

  /** The base of row (a, b, c), creating it (fields zero) when new; `isNew` tells which. Keys are non-negative. */
  upsert(a: number, b: number, c: number): number {
    const i32 = this.i32;
    const stride = this.stride;
    const mask = this.mask;
    for (let slot = hash(a, b, c) & mask; ; slot = (slot + 1) & mask) {
      const base = slot * stride;
      const k = i32[base]!;
      if (k === a && i32[base + 1] === b && i32[base + 2] === c) {
        this.isNew = false;
        return base;
      }
      if (k === EMPTY) return this.insert(base, a, b, c);
    }
  }

  /** Creates row (a, b, c) in the empty slot at `base` (kept apart so that `upsert` stays small enough to inline). */
  private insert(base: number, a: number, b: number, c: number): number {
    const i32 = this.i32;
    i32[base] = a;
    i32[base + 1] = b;
    i32[base + 2] = c;
    this.isNew = true;
    if (++this.size * 4 > (this.mask + 1) * 3) return this.grow(a, b, c);
    return base;
  }

  /** The base of row (a, b, c), or -1 when absent. */
  find(a: number, b: number, c: number): number {
    const i32 = this.i32;
    for (let slot = hash(a, b, c) & this.mask; ; slot = (slot + 1) & this.mask) {
      const base = slot * this.stride;
      const k = i32[base]!;
      if (k === EMPTY) return -1;
      if (k === a && i32[base + 1] === b && i32[base + 2] === c) return base;
    }
  }

  /** Calls `fn` with every row (in slot order: deterministic for the same inserts). */
  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    const i32 = this.i32;
    const f64 = this.f64;
    for (let base = 0; base < i32.length; base += this.stride) if (i32[base] !== EMPTY) fn(base, i32, f64);
  }

  has(a: number, b: number, c: number): boolean {
    return this.find(a, b, c) !== -1;
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    const base = this.find(a, b, c);
    return base === -1 ? undefined : read(base, this.i32, this.f64);
  }

  /** Doubles the slots; returns the new base of (a, b, c). */
  private grow(a: number, b: number, c: number): number {
    const old = this.i32;
    const stride = this.stride;
    const capacity = (this.mask + 1) * 2;
    const buffer = new ArrayBuffer(capacity * stride * 4);
    const i32 = new Int32Array(buffer);
    for (let b = 0; b < i32.length; b += stride) i32[b] = EMPTY;
    const mask = capacity - 1;
    for (let from = 0; from < old.length; from += stride) {
      if (old[from] === EMPTY) continue;
      let slot = hash(old[from]!, old[from + 1]!, old[from + 2]!) & mask;
      while (i32[slot * stride] !== EMPTY) slot = (slot + 1) & mask;
      const to = slot * stride;
      for (let w = 0; w < stride; w++) i32[to + w] = old[from + w]!;
    }
    this.i32 = i32;
    this.f64 = new Float64Array(buffer);
    this.mask = mask;
    return this.find(a, b, c);
  }
}

/**
 * Tables split by the first key (`a mod parts`) read as one: each row is visited in its own
 * part, and a lookup goes to the part its key belongs to. Nothing is copied.
 */
export class PartitionedRows implements Rows {
  readonly size: number;
  private readonly mask: number;

  constructor(private readonly parts: readonly Rows[]) {
    if (parts.length === 0 || (parts.length & (parts.length - 1)) !== 0) throw new RangeError(`PartitionedRows: parts must be a power of two (got ${parts.length})`);
    this.mask = parts.length - 1;
    this.size = parts.reduce((n, p) => n + p.size, 0);
  }

  each(fn: (base: number, i32: Int32Array, f64: Float64Array) => void): void {
    for (const part of this.parts) part.each(fn);
  }

  has(a: number, b: number, c: number): boolean {
    return this.parts[a & this.mask]!.has(a, b, c);
  }

  get<T>(a: number, b: number, c: number, read: (base: number, i32: Int32Array, f64: Float64Array) => T): T | undefined {
    return this.parts[a & this.mask]!.get(a, b, c, read);
  }
}
