/**
 * A distinct-count set that stops growing once it holds `cap` members: past a rule's threshold
 * the exact count no longer matters, and memory stays bounded however hostile the traffic.
 */
export class CappedSet<T> {
  private readonly members = new Set<T>();
  /** True once an insert was refused because the cap was reached. */
  saturated = false;

  constructor(private readonly cap: number) {}

  add(value: T): void {
    if (this.members.size < this.cap) this.members.add(value);
    else if (!this.members.has(value)) this.saturated = true;
  }

  /** Distinct members seen, up to the cap. */
  get size(): number {
    return this.members.size;
  }

  values(): IterableIterator<T> {
    return this.members.values();
  }
}
