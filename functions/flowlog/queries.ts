/**
 * The saved Logs Insights queries, written against field names from the catalog so the parse
 * pattern and every field a query uses always match the log group's format. A query needs
 * certain fields; an environment whose format lacks one of them does not get that query.
 */
import { LogFormat } from "./format";
import { insightsField, insightsQuery } from "./insights";

export interface SavedQuery {
  /** Short name; the saved query is `flowlog-kit/<env>/<name>`. */
  readonly name: string;
  readonly description: string;
  /** Catalog fields the query reads. */
  readonly needs: readonly string[];
  /** Query lines after `fields` and `parse`, with `{field}` placeholders for catalog fields. */
  readonly body: readonly string[];
}

const PRIVATE = "not isIpv4InSubnet({dstaddr}, \"10.0.0.0/8\") and not isIpv4InSubnet({dstaddr}, \"172.16.0.0/12\") and not isIpv4InSubnet({dstaddr}, \"192.168.0.0/16\")";

export const SAVED_QUERIES: readonly SavedQuery[] = Object.freeze([
  { name: "latest-records", description: "The newest records", needs: [], body: ["sort @timestamp desc", "limit 200"] },
  {
    name: "bytes-by-source-destination-direction",
    description: "Bytes by source, destination and direction",
    needs: ["srcaddr", "dstaddr", "flow-direction", "bytes"],
    body: ["stats sum({bytes}) as bytesTransferred by {srcaddr}, {dstaddr}, {flow-direction}", "sort bytesTransferred desc", "limit 50"],
  },
  {
    name: "bytes-by-instance",
    description: "Bytes by instance",
    needs: ["instance-id", "bytes"],
    body: ["filter ispresent({instance-id}) and {instance-id} != \"-\"", "stats sum({bytes}) as bytesTransferred by {instance-id}", "sort bytesTransferred desc", "limit 50"],
  },
  {
    name: "rejected-ssh-by-source",
    description: "Rejected SSH attempts by source",
    needs: ["srcaddr", "dstport", "action"],
    body: ["filter {dstport} = 22 and {action} = \"REJECT\"", "stats count(*) as attempts by {srcaddr}", "sort attempts desc", "limit 50"],
  },
  {
    name: "http-stream-between-two-addresses",
    description: "HTTP(S) records between two addresses (edit the two addresses)",
    needs: ["srcaddr", "dstaddr", "srcport", "dstport"],
    body: [
      "filter ({srcaddr} = \"10.0.0.1\" and {dstaddr} = \"10.0.0.2\") or ({srcaddr} = \"10.0.0.2\" and {dstaddr} = \"10.0.0.1\")",
      "filter {dstport} in [80, 443, 8080] or {srcport} in [80, 443, 8080]",
      "sort @timestamp desc",
      "limit 200",
    ],
  },
  { name: "bytes-per-minute", description: "Bytes per minute", needs: ["bytes"], body: ["stats sum({bytes}) as bytesTransferred by bin(1m)", "sort bin(1m) desc"] },
  {
    name: "detect-port-scan",
    description: "Port scan: distinct destination ports per source over rejected traffic",
    needs: ["srcaddr", "dstport", "action"],
    // The filter comes before the aggregation, so only rejected records are counted.
    body: ["filter {action} = \"REJECT\"", "stats count_distinct({dstport}) as distinctPorts by {srcaddr}", "filter distinctPorts >= 25", "sort distinctPorts desc"],
  },
  {
    name: "detect-exfiltration",
    description: "Exfiltration: bytes to non-RFC 1918 destinations",
    needs: ["srcaddr", "dstaddr", "bytes", "action"],
    body: [`filter {action} = "ACCEPT" and ${PRIVATE}`, "stats sum({bytes}) as egressBytes by {srcaddr}, {dstaddr}", "filter egressBytes > 524288000", "sort egressBytes desc"],
  },
  {
    name: "detect-c2-fan-out",
    description: "C2 fan-out: many external web destinations with small flows from one source",
    needs: ["srcaddr", "dstaddr", "dstport", "bytes"],
    body: [`filter {dstport} in [80, 443, 8080] and ${PRIVATE}`, "stats count_distinct({dstaddr}) as destinations, avg({bytes}) as averageBytes by {srcaddr}", "filter destinations >= 50 and averageBytes <= 2000", "sort destinations desc"],
  },
  {
    name: "detect-rdp-brute-force",
    description: "RDP brute force: SYN-only connections to 3389 per source and target",
    needs: ["srcaddr", "dstaddr", "dstport", "tcp-flags"],
    body: ["filter {dstport} = 3389 and {tcp-flags} = 2", "stats count(*) as attempts by {srcaddr}, {dstaddr}", "filter attempts >= 20", "sort attempts desc"],
  },
  {
    name: "detect-lateral-movement",
    description: "Lateral movement: internal sources reaching many internal hosts on admin ports",
    needs: ["srcaddr", "dstaddr", "dstport", "action"],
    body: [
      "filter {action} = \"ACCEPT\" and {dstport} in [22, 3389, 445, 135, 139, 5985, 5986]",
      "filter isIpv4InSubnet({srcaddr}, \"10.0.0.0/8\") or isIpv4InSubnet({srcaddr}, \"172.16.0.0/12\") or isIpv4InSubnet({srcaddr}, \"192.168.0.0/16\")",
      "filter isIpv4InSubnet({dstaddr}, \"10.0.0.0/8\") or isIpv4InSubnet({dstaddr}, \"172.16.0.0/12\") or isIpv4InSubnet({dstaddr}, \"192.168.0.0/16\")",
      "stats count_distinct({dstaddr}) as internalHosts by {srcaddr}",
      "filter internalHosts >= 10",
      "sort internalHosts desc",
    ],
  },
]);

/** The queries an environment's format can answer, rendered for that format. */
export function savedQueries(format: LogFormat): { name: string; description: string; query: string; fields: string[] }[] {
  return SAVED_QUERIES.filter((q) => q.needs.every((f) => format.has(f))).map((q) => {
    const fields: string[] = [];
    const body = q.body.map((line) =>
      line.replace(/\{([a-z0-9-]+)\}/g, (_, name: string) => {
        const field = insightsField(format, name);
        fields.push(field);
        return field;
      }),
    );
    return { name: q.name, description: q.description, query: insightsQuery(format, body), fields: [...new Set(fields)] };
  });
}
