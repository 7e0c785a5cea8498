import { LogFormat } from "./format";

/**
 * Logs Insights names for flow-log fields. For the AWS default format Insights discovers the
 * fields itself (camelCase: interfaceId, srcAddr, ...); for a custom format a `parse` command
 * extracts them, and field names there cannot contain "-", so they become snake_case.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
 */
const DISCOVERED: Readonly<Record<string, string>> = Object.freeze({
  version: "version", "account-id": "accountId", "interface-id": "interfaceId", srcaddr: "srcAddr", dstaddr: "dstAddr",
  srcport: "srcPort", dstport: "dstPort", protocol: "protocol", packets: "packets", bytes: "bytes", start: "start",
  end: "end", action: "action", "log-status": "logStatus",
});

/** The Insights name of a catalog field in a log group of this format. */
export function insightsField(format: LogFormat, field: string): string {
  return format.isDefault ? DISCOVERED[field]! : field.replace(/-/g, "_");
}

/** The `parse` command for a custom format (empty for the default format, which needs none). */
export function insightsParse(format: LogFormat): string {
  if (format.isDefault) return "";
  return `parse @message "${format.names.map(() => "*").join(" ")}" as ${format.names.map((n) => insightsField(format, n)).join(", ")}`;
}

/** A query over records of `format`: `fields`, the parse command when needed, then `body` lines. */
export function insightsQuery(format: LogFormat, body: readonly string[]): string {
  const parse = insightsParse(format);
  return ["fields @timestamp, @message", ...(parse ? [parse] : []), ...body].join("\n| ");
}

/**
 * A space-delimited metric-filter pattern for records of `format`, with conditions on some
 * fields, e.g. `[version, account_id, ..., dstport=22, ..., action="REJECT", log_status]`.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#metric-filters-extract-spacedelimited
 */
export function metricFilterPattern(format: LogFormat, conditions: Readonly<Record<string, string>>): string {
  return `[${format.names.map((n) => (conditions[n] !== undefined ? `${n.replace(/-/g, "_")}=${conditions[n]}` : n.replace(/-/g, "_"))).join(", ")}]`;
}
