/**
 * A distinct-count set of non-negative integers that stops growing once it holds `cap`
 * members: past a rule's threshold the exact count no longer matters, and memory stays bounded
 * however hostile the traffic. Most sets in flow data hold one member and many hold a few, so
 * members live in a field, then a small array scanned linearly, and only past eight in a Set.
 */
export class CappedSet {
  private first = -1;
  private small: Int32Array | undefined;
  private count = 0;
  private members: Set<number> | undefined;

  constructor(private readonly cap: number) {}

  add(value: number): void {
    if (this.members !== undefined) {
      if (this.members.size < this.cap) this.members.add(value);
      return;
    }
    if (this.first === -1) {
      this.first = value;
      this.count = 1;
      return;
    }
    if (this.first === value) return;
    const small = this.small;
    if (small === undefined) {
      if (this.cap < 2) return;
      this.small = new Int32Array(8);
      this.small[0] = value;
      this.count = 2;
      return;
    }
    const n = this.count - 1;
    for (let i = 0; i < n; i++) if (small[i] === value) return;
    if (this.count >= this.cap) return;
    if (n < 8) {
      small[n] = value;
      this.count++;
      return;
    }
    this.members = new Set([this.first, ...small, value]);
    this.small = undefined;
  }

  /** Distinct members seen, up to the cap. */
  get size(): number {
    return this.members ? this.members.size : this.count;
  }

  values(): number[] {
    if (this.members) return [...this.members];
    if (this.first === -1) return [];
    return [this.first, ...(this.small ? Array.from(this.small.subarray(0, this.count - 1)) : [])];
  }
}
