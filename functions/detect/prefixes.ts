/*
 * IP addresses and CIDR prefixes, IPv4 and IPv6, as bits: the network context (inside, NAT
 * gateways, load balancers, resolvers), suppressions and threat-intelligence lists all ask "is
 * this address in one of these prefixes?". A binary trie answers in at most 32 (IPv4) or 128
 * (IPv6) steps whatever the number of prefixes, so a threat list of 100,000 entries costs what a
 * list of ten does; a linear scan would not.
 */

/** An address as 16 bytes (IPv4 as ::ffff:a.b.c.d is not used: the two families have separate tries) and its family. */
export interface ParsedAddress {
  readonly v6: boolean;
  readonly bytes: Uint8Array;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The bytes of an IPv4 or IPv6 address in text, or undefined when it is none. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = IPV4.exec(text);
  if (v4) {
    const bytes = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const part = v4[i + 1]!;
      const n = Number(part);
      // A leading zero reads as octal to some tools and decimal to others: refused, never guessed.
      if (n > 255 || (part.length > 1 && part[0] === "0")) return undefined;
      bytes[i] = n;
    }
    return { v6: false, bytes };
  }
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tail4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const embedded = parseAddress(text.slice(lastColon + 1));
    if (!embedded || embedded.v6) return undefined;
    tail4 = embedded.bytes;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 255;
  }
  if (tail4) bytes.set(tail4, 12);
  return { v6: true, bytes };
}

/** A prefix: its address bytes and length in bits. */
export interface ParsedPrefix extends ParsedAddress {
  readonly length: number;
}

/**
 * An address ("10.0.0.1", a /32 or /128) or a CIDR ("10.0.0.0/16", "2600:1f18::/56"), or a
 * reason it is neither. Host bits set past the prefix ("10.0.0.1/16") are refused: that is
 * usually a typo for another prefix, and guessing which would widen or narrow what matches.
 */
export function parsePrefix(text: string): ParsedPrefix | string {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (!address) return "is not an IPv4 or IPv6 address or CIDR";
  const max = address.v6 ? 128 : 32;
  if (slash < 0) return { ...address, length: max };
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) return `has a prefix length outside 0 to ${max}`;
  const length = Number(lengthText);
  for (let bit = length; bit < max; bit++) {
    if ((address.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return `has host bits set past /${length}`;
  }
  return { ...address, length };
}

/**
 * A set of prefixes, each carrying a value (the index of the list it came from, for a threat
 * list's name): `lookup` gives the value of the longest prefix holding an address, or -1.
 * Nodes are two children and a value in flat integer arrays.
 */
export class PrefixSet {
  private readonly tries = [new Trie(), new Trie()];
  private count = 0;

  /** Adds a prefix (parsed, or text that must parse) with its value. */
  add(prefix: ParsedPrefix | string, value = 0): void {
    const p = typeof prefix === "string" ? parsePrefix(prefix) : prefix;
    if (typeof p === "string") throw new RangeError(`PrefixSet: ${JSON.stringify(prefix)} ${p}`);
    this.tries[p.v6 ? 1 : 0]!.add(p.bytes, p.length, value);
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The value of the longest prefix that holds the address (text or parsed), or -1 (also for text that is no address). */
  lookup(address: string | ParsedAddress): number {
    const a = typeof address === "string" ? parseAddress(address) : address;
    if (!a) return -1;
    return this.tries[a.v6 ? 1 : 0]!.lookup(a.bytes);
  }

  has(address: string | ParsedAddress): boolean {
    return this.lookup(address) >= 0;
  }

  static of(prefixes: readonly string[]): PrefixSet {
    const set = new PrefixSet();
    for (const p of prefixes) set.add(p);
    return set;
  }
}

class Trie {
  private zero = new Int32Array(64);
  private one = new Int32Array(64);
  private value = new Int32Array(64).fill(-1);
  private nodes = 1;

  add(bytes: Uint8Array, length: number, value: number): void {
    let node = 0;
    for (let bit = 0; bit < length; bit++) {
      const b = (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
      const children = b ? this.one : this.zero;
      let next = children[node]!;
      if (next === 0) {
        next = this.newNode();
        (b ? this.one : this.zero)[node] = next;
      }
      node = next;
    }
    // The first list to name a prefix keeps it (lists are read in configuration order).
    if (this.value[node] === -1) this.value[node] = value;
  }

  lookup(bytes: Uint8Array): number {
    let node = 0;
    let found = this.value[0]!;
    const bits = bytes.length * 8;
    for (let bit = 0; bit < bits; bit++) {
      const b = (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
      node = (b ? this.one : this.zero)[node]!;
      if (node === 0) break;
      const v = this.value[node]!;
      if (v !== -1) found = v;
    }
    return found;
  }

  private newNode(): number {
    if (this.nodes === this.zero.length) {
      const grow = (a: Int32Array, fill: number) => {
        const b = new Int32Array(a.length * 2).fill(fill);
        b.set(a);
        return b;
      };
      this.zero = grow(this.zero, 0);
      this.one = grow(this.one, 0);
      this.value = grow(this.value, -1);
    }
    return this.nodes++;
  }
}

/** The address `offset` past a prefix's first address (the VPC resolver is the base + 2), as text; IPv4 only. */
export function ipv4Plus(prefix: ParsedPrefix, offset: number): string | undefined {
  if (prefix.v6) return undefined;
  const b = prefix.bytes;
  const n = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]! + offset;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
