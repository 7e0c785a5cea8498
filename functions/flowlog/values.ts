/**
 * What a flow-log value can be. A record holding a value outside these bounds was not written
 * by AWS as it stands — a damaged file, another format read as this one, a hand-made line — so
 * it is skipped as `invalid-value`, never analysed: one absurd byte count would otherwise raise
 * a CRITICAL exfiltration finding. FlowScanner and the WebAssembly ingest loop
 * (functions/detect/assembly/ingest.ts) apply exactly these bounds; the loop hands any line
 * outside them back to FlowScanner, which counts it.
 *
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html#flow-logs-fields
 */

/** Ports are 16-bit numbers. */
export const MAX_PORT = 65535;

/** IANA protocol numbers are one byte. */
export const MAX_PROTOCOL = 255;

/** tcp-flags is a bitmask of flags from one byte of the TCP header. */
export const MAX_TCP_FLAGS = 255;

/**
 * The most bytes one record can count: 2^48, about 281 TB. A record covers one flow within one
 * aggregation interval, at most 10 minutes. One flow at 100 Gbps (EC2 allows 5 to 25 Gbps per
 * flow) moves 7.5e12 bytes in 10 minutes: 2^48 is 37 times that, and more than the whole
 * bandwidth of the largest EC2 instance (3,200 Gbps) moves in 10 minutes (2.4e14 bytes). So no
 * real record comes near it, while 1e23 is far past it. It is exact as a double and has 15
 * digits, as many as the WebAssembly loop reads exactly.
 * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-network-bandwidth.html
 */
export const MAX_FLOW_BYTES = 2 ** 48;

/** The most packets one record can count: one per 16 bytes of MAX_FLOW_BYTES (no IP packet is shorter than 20 bytes). */
export const MAX_FLOW_PACKETS = 2 ** 44;

/** The largest value of each numeric field that has a bound, by catalog name (start and end are checked as a pair: end never before start). */
export const VALUE_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  srcport: MAX_PORT,
  dstport: MAX_PORT,
  protocol: MAX_PROTOCOL,
  "tcp-flags": MAX_TCP_FLAGS,
  packets: MAX_FLOW_PACKETS,
  bytes: MAX_FLOW_BYTES,
  // A transit gateway cannot drop more packets in one record than one flow can carry in one
  // interval: the same bound as `packets` (its interval is 60 seconds, so the bound is loose).
  "packets-lost-no-route": MAX_FLOW_PACKETS,
  "packets-lost-blackhole": MAX_FLOW_PACKETS,
  "packets-lost-mtu-exceeded": MAX_FLOW_PACKETS,
  "packets-lost-ttl-expired": MAX_FLOW_PACKETS,
});

/** The words of the enumerated fields, exactly as AWS writes them (a record with any other word is skipped). */
export const ACTIONS = ["ACCEPT", "REJECT"] as const;
export const LOG_STATUSES = ["OK", "NODATA", "SKIPDATA"] as const;
export const FLOW_DIRECTIONS = ["ingress", "egress"] as const;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/** Whether buf[s, e) is an IPv4 address in dotted decimal: four numbers 0 to 255 without leading zeros (as AWS writes them). */
export function isIPv4(buf: Uint8Array, s: number, e: number): boolean {
  let dots = 0;
  let i = s;
  for (;;) {
    const from = i;
    let octet = 0;
    while (i < e && isDigit(buf[i]!) && i - from < 3) octet = octet * 10 + (buf[i++]! - 48);
    const len = i - from;
    if (len === 0 || octet > 255 || (len > 1 && buf[from] === 48)) return false;
    if (i === e) return dots === 3;
    if (buf[i] !== 46 || dots === 3) return false;
    dots++;
    i++;
  }
}

/**
 * Whether buf[s, e) is an IPv6 address in text form (RFC 4291 section 2.2): eight groups of one
 * to four hex digits, or fewer with one `::`, the last 32 bits optionally as an IPv4 address.
 * No zone index (`%eth0`): flow logs write none.
 */
export function isIPv6(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s < 2 || e - s > 45) return false;
  let groups = 0;
  let compressed = false;
  let i = s;
  if (buf[i] === 58) {
    if (buf[i + 1] !== 58) return false;
    compressed = true;
    i += 2;
    if (i === e) return true;
  }
  for (;;) {
    const from = i;
    while (i < e && isHex(buf[i]!) && i - from < 5) i++;
    if (i < e && buf[i] === 46) {
      // An IPv4 tail ends the address and counts as two groups.
      if (!isIPv4(buf, from, e)) return false;
      groups += 2;
      break;
    }
    if (i === from || i - from > 4) return false;
    groups++;
    if (i === e) break;
    if (buf[i] !== 58) return false;
    i++;
    if (i < e && buf[i] === 58) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === e) break;
    } else if (i === e) return false;
  }
  return compressed ? groups <= 7 : groups === 8;
}

/** Whether buf[s, e) is an IPv4 or IPv6 address (see isIPv4, isIPv6). */
export const isIPAddress = (buf: Uint8Array, s: number, e: number): boolean => isIPv4(buf, s, e) || isIPv6(buf, s, e);
