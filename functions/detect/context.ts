import { ipv4Plus, parseAddress, parsePrefix, PrefixSet } from "./prefixes";
import { AMAZON_RESOLVERS, DEFAULT_INSIDE, DetectorThresholds, NetworkContext, Suppression } from "./thresholds";
import type { Finding } from "./findings";

/** Address flags the aggregation reads (assembly/aggregate.ts has the same bits). */
export const INSIDE = 2;
export const NAT = 8;
export const LOAD_BALANCER = 16;
export const THREAT = 32;
export const RESOLVER = 64;

/**
 * What the environment's network says about an address: inside the VPC or not, a NAT gateway, a
 * load-balancer node, an approved resolver, on a threat list. Worked out once per distinct
 * address (the aggregator caches the flags by address id), so its cost follows the addresses,
 * not the records.
 */
export class AddressContext {
  private readonly inside: PrefixSet;
  private readonly nat: PrefixSet;
  private readonly loadBalancers: PrefixSet;
  private readonly resolvers: PrefixSet;
  private readonly threats = new PrefixSet();
  private readonly threatNames: string[] = [];

  constructor(t: DetectorThresholds) {
    const n = t.network;
    this.inside = PrefixSet.of(n.cidrs);
    this.nat = PrefixSet.of(n.natGateways);
    this.loadBalancers = PrefixSet.of(n.loadBalancers);
    this.resolvers = PrefixSet.of(approvedResolvers(n));
    t.threatIntel.forEach((list, i) => {
      this.threatNames.push(list.name);
      for (const entry of list.entries) this.threats.add(entry, i);
    });
  }

  /** INSIDE | NAT | LOAD_BALANCER | THREAT | RESOLVER bits of an address. */
  flags(address: string): number {
    const a = parseAddress(address);
    if (!a) return 0;
    return (
      (this.inside.has(a) ? INSIDE : 0) |
      (this.nat.has(a) ? NAT : 0) |
      (this.loadBalancers.has(a) ? LOAD_BALANCER : 0) |
      (this.threats.has(a) ? THREAT : 0) |
      (this.resolvers.has(a) ? RESOLVER : 0)
    );
  }

  isInside(address: string): boolean {
    return this.inside.has(address);
  }

  /** The name of the first threat list that holds the address, or undefined. */
  threatList(address: string): string | undefined {
    const i = this.threats.lookup(address);
    return i < 0 ? undefined : this.threatNames[i];
  }
}

/**
 * Approved resolvers: the configured ones, the Route 53 Resolver's link-local addresses, and the
 * VPC resolver at each IPv4 VPC CIDR's base + 2, when the CIDRs are the VPC's own (the default
 * private ranges are not: 10.0.0.2 is no resolver of a VPC that is not 10.0.0.0/x).
 */
export function approvedResolvers(n: NetworkContext): string[] {
  const approved = [...n.resolvers, ...AMAZON_RESOLVERS];
  const defaults = n.cidrs.length === DEFAULT_INSIDE.length && n.cidrs.every((c, i) => c === DEFAULT_INSIDE[i]);
  if (!defaults) {
    for (const c of n.cidrs) {
      const p = parsePrefix(c);
      if (typeof p !== "string" && !p.v6 && p.length <= 30) approved.push(ipv4Plus(p, 2)!);
    }
  }
  return approved;
}

/** Suppressions compiled once: `matches(finding)` says whether one of them drops it, and `reason` which. */
export class Suppressions {
  private readonly entries: readonly { readonly s: Suppression; readonly sources?: PrefixSet; readonly destinations?: PrefixSet; readonly ports?: ReadonlySet<number> }[];

  constructor(list: readonly Suppression[]) {
    this.entries = list.map((s) => ({
      s,
      sources: s.sources ? PrefixSet.of(s.sources) : undefined,
      destinations: s.destinations ? PrefixSet.of(s.destinations) : undefined,
      ports: s.ports ? new Set(s.ports) : undefined,
    }));
  }

  /** The suppression that drops a finding: every part it gives must match, and a finding without the endpoint a part asks for does not. */
  match(f: Finding): Suppression | undefined {
    for (const e of this.entries) {
      if (e.s.rule !== undefined && e.s.rule !== f.rule) continue;
      if (e.sources && (f.src === undefined || !e.sources.has(f.src))) continue;
      if (e.destinations && (f.dst === undefined || !e.destinations.has(f.dst))) continue;
      if (e.ports && (f.port === undefined || !e.ports.has(f.port))) continue;
      return e.s;
    }
    return undefined;
  }
}
