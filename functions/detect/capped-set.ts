/**
 * A distinct-count set of numbers that stops growing once it holds `cap` members: past a rule's
 * threshold the exact count no longer matters, and memory stays bounded however hostile the
 * traffic. Most sets in flow data hold one member, so no Set is allocated until a second one.
 */
export class CappedSet {
  private first = -1;
  private members: Set<number> | undefined;
  /** True once an insert was refused because the cap was reached. */
  saturated = false;

  constructor(private readonly cap: number) {}

  add(value: number): void {
    if (this.members === undefined) {
      if (this.first === -1 || this.first === value) {
        this.first = value;
        return;
      }
      if (this.cap < 2) {
        this.saturated = true;
        return;
      }
      this.members = new Set([this.first, value]);
      return;
    }
    if (this.members.size < this.cap) this.members.add(value);
    else if (!this.members.has(value)) this.saturated = true;
  }

  /** Distinct members seen, up to the cap. */
  get size(): number {
    return this.members ? this.members.size : this.first === -1 ? 0 : 1;
  }

  values(): number[] {
    return this.members ? [...this.members] : this.first === -1 ? [] : [this.first];
  }
}
