import { gunzipSync } from "zlib";
import { LogFormat } from "./format";
import { FlowScanner } from "./scanner";
import { newStats, ParseStats } from "./stats";

export { countSkip, newStats } from "./stats";
export type { ParseStats, SkipReason } from "./stats";

/** One record as plain values; absent fields (`-` or not in the format) are undefined. */
export interface FlowRecord {
  /** Where the record was captured: a VPC record's interface-id, or a transit-gateway record's tgw-attachment-id. */
  interfaceId?: string;
  srcaddr?: string;
  dstaddr?: string;
  srcport?: number;
  dstport?: number;
  protocol?: number;
  packets?: number;
  bytes?: number;
  start?: number;
  end?: number;
  action?: "ACCEPT" | "REJECT";
  flowDirection?: "ingress" | "egress";
  tcpFlags?: number;
  trafficPath?: number;
  /** Transit-gateway records: packets the transit gateway dropped, by reason (packets-lost-*). */
  packetsLostNoRoute?: number;
  packetsLostBlackhole?: number;
  packetsLostMtuExceeded?: number;
  packetsLostTtlExpired?: number;
  pktSrcaddr?: string;
  pktDstaddr?: string;
  /** Every field of the record by catalog name (with `keepFields`). */
  fields?: Record<string, string | undefined>;
}

/** FlowScanner's `num`, in order. */
const NUMERIC = [
  "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcpFlags", "trafficPath",
  "packetsLostNoRoute", "packetsLostBlackhole", "packetsLostMtuExceeded", "packetsLostTtlExpired",
] as const;
const ADDRESSES = ["srcaddr", "dstaddr", "pktSrcaddr", "pktDstaddr"] as const;

/**
 * Parses flow-log lines held as strings (tests, Logs Insights rows, people) into records,
 * through the same FlowScanner the detection engine runs on bytes.
 */
export class RecordParser {
  private readonly scanner: FlowScanner;

  constructor(
    format: LogFormat,
    readonly stats: ParseStats = newStats(),
    private readonly keepFields = false,
  ) {
    this.scanner = new FlowScanner(format, stats, keepFields);
  }

  use(format: LogFormat): void {
    this.scanner.use(format);
  }

  /** Parses one line; undefined for a header, a blank line, or a counted skip. */
  parse(line: string): FlowRecord | undefined {
    const buf = Buffer.from(line, "latin1");
    const sc = this.scanner;
    if (!sc.scan(buf, 0, buf.length)) return undefined;
    const rec: FlowRecord = {};
    NUMERIC.forEach((key, i) => {
      if (sc.num[i]! >= 0) rec[key] = sc.num[i]!;
    });
    ADDRESSES.forEach((key, i) => {
      if (sc.addr[i]! >= 0) rec[key] = sc.addresses.get(sc.addr[i]!);
    });
    if (sc.interfaceId >= 0) rec.interfaceId = sc.interfaces.get(sc.interfaceId);
    if (sc.action) rec.action = sc.action === 1 ? "ACCEPT" : "REJECT";
    if (sc.direction) rec.flowDirection = sc.direction === 1 ? "ingress" : "egress";
    if (this.keepFields) {
      const fields: Record<string, string | undefined> = {};
      sc.currentFormat.names.forEach((name, i) => {
        const token = buf.toString("latin1", sc.tokens[2 * i], sc.tokens[2 * i + 1]);
        fields[name] = token === "-" ? undefined : token;
      });
      rec.fields = fields;
    }
    return rec;
  }
}

/** A CloudWatch Logs subscription payload, decoded: the messages of a DATA_MESSAGE. */
export function subscriptionMessages(payload: { messageType?: string; logEvents?: { message: string }[] }): string[] {
  if (payload.messageType === "CONTROL_MESSAGE") return [];
  return (payload.logEvents ?? []).map((e) => e.message);
}

/**
 * The messages of a subscription delivery as it arrives (`awslogs.data`: base64 of gzip of
 * JSON). A payload that is not one throws a DetectorError-style message naming what was wrong.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
 */
export function decodeSubscriptionData(data: string): string[] {
  let json: string;
  try {
    json = gunzipSync(Buffer.from(data, "base64")).toString("utf8");
  } catch (err) {
    throw new Error(`awslogs.data: not base64-encoded gzip (got ${(err as Error).message}). Pass the subscription event's awslogs.data unchanged.`);
  }
  try {
    return subscriptionMessages(JSON.parse(json));
  } catch {
    throw new Error(`awslogs.data: gzip content is not JSON (got ${JSON.stringify(json.slice(0, 40))}). Pass the subscription event's awslogs.data unchanged.`);
  }
}

/**
 * Logs Insights result rows (`[{ field, value }]`) as flow-log lines: `@message` when the query
 * returned it, otherwise the format's fields in order (absent ones as `-`).
 */
export function insightsRowToLine(row: readonly { field?: string; value?: string }[], format: LogFormat): string {
  const byName = new Map(row.map((c) => [c.field ?? "", c.value ?? ""]));
  const message = byName.get("@message");
  if (message !== undefined) return message;
  return format.names.map((name) => byName.get(name) ?? "-").join(" ");
}
