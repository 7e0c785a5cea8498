import { fieldByName } from "./fields";
import { LogFormat } from "./format";

/** The parts of a flow-log record the detectors use; absent fields (`-` or not in the format) are undefined. */
export interface FlowRecord {
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
  action?: string;
  logStatus?: string;
  vpcId?: string;
  tcpFlags?: number;
  flowDirection?: string;
  pktSrcaddr?: string;
  pktDstaddr?: string;
  trafficPath?: number;
  /** Every field of the record by catalog name, for output that shows the whole record. */
  fields?: Record<string, string | undefined>;
}

/** Why a line was not analysed. Every line read is either analysed or counted under one of these. */
export type SkipReason =
  | "nodata"
  | "skipdata"
  | "too-few-fields"
  | "too-many-fields"
  | "non-numeric"
  | "truncated-gzip"
  | "unreadable";

export interface ParseStats {
  read: number;
  analysed: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export const newStats = (): ParseStats => ({ read: 0, analysed: 0, skipped: {} });

export function countSkip(stats: ParseStats, reason: SkipReason, n = 1): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + n;
}

/** Adds `from` into `into`. */
export function mergeStats(into: ParseStats, from: ParseStats): void {
  into.read += from.read;
  into.analysed += from.analysed;
  for (const [k, v] of Object.entries(from.skipped)) countSkip(into, k as SkipReason, v);
}

const KEYS: Record<string, keyof FlowRecord> = {
  "interface-id": "interfaceId",
  srcaddr: "srcaddr",
  dstaddr: "dstaddr",
  srcport: "srcport",
  dstport: "dstport",
  protocol: "protocol",
  packets: "packets",
  bytes: "bytes",
  start: "start",
  end: "end",
  action: "action",
  "log-status": "logStatus",
  "vpc-id": "vpcId",
  "tcp-flags": "tcpFlags",
  "flow-direction": "flowDirection",
  "pkt-srcaddr": "pktSrcaddr",
  "pkt-dstaddr": "pktDstaddr",
  "traffic-path": "trafficPath",
};

/** Whether a line is a header: every token a catalog field name (S3 plain-text files start with one). */
export function headerFormat(line: string): LogFormat | undefined {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length === 0 || !tokens.every((t) => fieldByName(t) !== undefined)) return undefined;
  const resource = tokens.some((t) => fieldByName(t)!.family === "tgw") ? "transit-gateway" : "vpc";
  try {
    return LogFormat.custom(tokens, resource);
  } catch {
    return undefined;
  }
}

/**
 * Parses flow-log lines of one format into records, counting every line as analysed or
 * skipped by reason. A header line switches the parser to the format it names.
 */
export class RecordParser {
  private slots!: { key: keyof FlowRecord | undefined; numeric: boolean; name: string }[];
  private width!: number;

  constructor(
    format: LogFormat,
    readonly stats: ParseStats = newStats(),
    /** Keep every field by name in `record.fields`. @default false */
    private readonly keepFields = false,
  ) {
    this.use(format);
  }

  /** Switches to another format (e.g. the one a file's header names). */
  use(format: LogFormat): void {
    this.width = format.fields.length;
    this.slots = format.fields.map((f) => ({ key: KEYS[f.name], numeric: f.type !== "string", name: f.name }));
  }

  /** Parses one line; returns undefined for a header, a blank line, or a counted skip. */
  parse(line: string): FlowRecord | undefined {
    if (line.length === 0 || line.trim().length === 0) return undefined;
    const firstChar = line.charCodeAt(0);
    // Digits start every record (version, account-id, ...) except a header or a custom order.
    const firstSpace = line.indexOf(" ");
    if ((firstChar < 48 || firstChar > 57) && fieldByName(firstSpace === -1 ? line : line.substring(0, firstSpace))) {
      const header = headerFormat(line);
      if (header) {
        this.use(header);
        return undefined;
      }
    }
    this.stats.read++;
    const rec: FlowRecord = {};
    const fields: Record<string, string | undefined> | undefined = this.keepFields ? {} : undefined;
    const n = line.charCodeAt(line.length - 1) === 13 ? line.length - 1 : line.length;
    let pos = 0;
    let i = 0;
    while (pos < n && i <= this.width) {
      let next = line.indexOf(" ", pos);
      if (next === -1 || next > n) next = n;
      if (next > pos) {
        if (i < this.width) {
          const slot = this.slots[i]!;
          const token = line.substring(pos, next);
          if (fields) fields[slot.name] = token === "-" ? undefined : token;
          if (slot.key !== undefined && token !== "-") {
            if (slot.numeric) {
              const v = Number(token);
              if (!Number.isFinite(v)) {
                countSkip(this.stats, "non-numeric");
                return undefined;
              }
              (rec as Record<string, unknown>)[slot.key] = v;
            } else {
              (rec as Record<string, unknown>)[slot.key] = token;
            }
          }
        }
        i++;
      }
      pos = next + 1;
    }
    if (i < this.width) {
      countSkip(this.stats, "too-few-fields");
      return undefined;
    }
    if (i > this.width) {
      countSkip(this.stats, "too-many-fields");
      return undefined;
    }
    if (rec.logStatus === "NODATA") {
      countSkip(this.stats, "nodata");
      return undefined;
    }
    if (rec.logStatus === "SKIPDATA") {
      countSkip(this.stats, "skipdata");
      return undefined;
    }
    if (fields) rec.fields = fields;
    this.stats.analysed++;
    return rec;
  }
}

/** A CloudWatch Logs subscription payload, decoded: the messages of a DATA_MESSAGE. */
export function subscriptionMessages(payload: { messageType?: string; logEvents?: { message: string }[] }): string[] {
  if (payload.messageType === "CONTROL_MESSAGE") return [];
  return (payload.logEvents ?? []).map((e) => e.message);
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
