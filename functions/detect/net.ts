/**
 * Whether an address is private: RFC 1918, carrier-grade NAT (RFC 6598), loopback and
 * link-local for IPv4; unique-local (fc00::/7), link-local and loopback for IPv6. Flow logs
 * inside a VPC see these as "inside".
 */
export function isPrivate(ip: string): boolean {
  if (ip.includes(":")) {
    const lower = ip.toLowerCase();
    return lower === "::1" || lower.startsWith("fc") || lower.startsWith("fd") || /^fe[89ab]/.test(lower);
  }
  const dot = ip.indexOf(".");
  const a = Number(ip.substring(0, dot));
  if (a === 10 || a === 127) return true;
  const dot2 = ip.indexOf(".", dot + 1);
  const b = Number(ip.substring(dot + 1, dot2));
  if (a === 172) return b >= 16 && b <= 31;
  if (a === 192) return b === 168;
  if (a === 100) return b >= 64 && b <= 127;
  if (a === 169) return b === 254;
  return false;
}

/** Services commonly listening above 1023; a flow from one of them to a high port is a response. */
export const HIGH_SERVICE_PORTS: readonly number[] = Object.freeze([1433, 1521, 2049, 3306, 3389, 5432, 5439, 6379, 8080, 8443, 9092, 9200, 11211, 27017]);
const HIGH_SERVICE = new Uint8Array(65536);
for (const p of HIGH_SERVICE_PORTS) HIGH_SERVICE[p] = 1;

/**
 * Whether a flow is the server's side of a connection (a response to a client's ephemeral
 * port). Responses fan out to many ports and hosts by nature and are never probe evidence.
 * Absent values are -1 (as the scanner holds them).
 */
export function isResponse(srcport: number, dstport: number, tcpFlags: number): boolean {
  // Flow logs report SYN-ACK as 18: only the answering side of a connection sends it.
  if (tcpFlags >= 0 && (tcpFlags & 16) === 16) return true;
  if (srcport < 0 || dstport < 0) return false;
  if (srcport < 1024 && dstport >= 1024) return true;
  return dstport >= 32768 && srcport < 65536 && HIGH_SERVICE[srcport] === 1;
}
