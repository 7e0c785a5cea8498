/**
 * A hash index from a pair of non-negative 32-bit integers to dense ids 0, 1, 2, ... in order
 * of first insertion. Open addressing over typed arrays: no boxed keys, no per-entry objects,
 * a few nanoseconds per lookup. Per-key state lives in columns indexed by the id.
 */
export class IntPairIndex {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private ids: Int32Array;
  private mask: number;
  /** Ids handed out so far. */
  size = 0;

  constructor(capacity = 1 << 12) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keysA = new Int32Array(cap);
    this.keysB = new Int32Array(cap);
    this.ids = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  private static hash(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (b >>> 15), 0x85ebca77);
    h ^= h >>> 13;
    return Math.imul(h, 0xc2b2ae35) ^ (h >>> 16);
  }

  /** The id of (a, b), or -1 when absent. */
  get(a: number, b: number): number {
    for (let slot = IntPairIndex.hash(a, b) & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.ids[slot]!;
      if (id === -1) return -1;
      if (this.keysA[slot] === a && this.keysB[slot] === b) return id;
    }
  }

  /** The id of (a, b), assigning the next id when new; `isNew` tells which happened. */
  intern(a: number, b: number): number {
    for (let slot = IntPairIndex.hash(a, b) & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.ids[slot]!;
      if (id === -1) {
        const fresh = this.size++;
        this.keysA[slot] = a;
        this.keysB[slot] = b;
        this.ids[slot] = fresh;
        this.isNew = true;
        if (this.size * 2 > this.ids.length) this.rehash();
        return fresh;
      }
      if (this.keysA[slot] === a && this.keysB[slot] === b) {
        this.isNew = false;
        return id;
      }
    }
  }

  /** Whether the last `intern` call assigned a new id. */
  isNew = false;

  private rehash(): void {
    const oldA = this.keysA;
    const oldB = this.keysB;
    const oldIds = this.ids;
    const cap = oldIds.length * 2;
    this.keysA = new Int32Array(cap);
    this.keysB = new Int32Array(cap);
    this.ids = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let i = 0; i < oldIds.length; i++) {
      const id = oldIds[i]!;
      if (id === -1) continue;
      let slot = IntPairIndex.hash(oldA[i]!, oldB[i]!) & this.mask;
      while (this.ids[slot] !== -1) slot = (slot + 1) & this.mask;
      this.keysA[slot] = oldA[i]!;
      this.keysB[slot] = oldB[i]!;
      this.ids[slot] = id;
    }
  }
}

/** A growable column of numbers indexed by id. */
export class Column<T extends Int32Array | Float64Array> {
  data: T;

  constructor(
    make: (n: number) => T,
    private readonly fill = 0,
  ) {
    this.data = make(1 << 12);
    if (fill !== 0) this.data.fill(fill);
  }

  /** Makes room for index `i`. */
  ensure(i: number): void {
    if (i < this.data.length) return;
    let n = this.data.length * 2;
    while (n <= i) n *= 2;
    const bigger = new (this.data.constructor as { new (n: number): T })(n);
    if (this.fill !== 0) bigger.fill(this.fill);
    bigger.set(this.data);
    this.data = bigger;
  }
}
