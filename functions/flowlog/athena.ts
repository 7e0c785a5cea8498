/**
 * Athena over the S3 archive: table columns from the field catalog and partition projection
 * from the flow log's S3 options, so the table always reads the layout AWS actually writes.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 * @see https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
 */
import type { FieldType } from "./fields";
import { LogFormat } from "./format";

export interface ArchiveOptions {
  readonly fileFormat: "plain-text" | "parquet";
  readonly hiveCompatiblePartitions: boolean;
  readonly perHourPartition: boolean;
}

const HIVE_TYPE: Record<FieldType, string> = { int32: "int", int64: "bigint", string: "string" };

/** Column name of a catalog field in Athena (no hyphens). */
export const athenaColumn = (field: string) => field.replace(/-/g, "_");

/**
 * Table columns, in record order. In plain text every field is read as written; Parquet has
 * typed columns, and a Parquet INT_64 column read as `int` fails the query. Transit gateways
 * write `protocol` as INT_64; for VPC flow logs the VPC guide lists INT_32, but Athena's own DDL
 * for VPC flow logs in Parquet declares `protocol bigint`, and `bigint` reads either width, so
 * `protocol` is `bigint` in every table.
 * @see https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html
 */
export function athenaColumns(format: LogFormat): { name: string; type: string }[] {
  return format.fields.map((f) => ({ name: athenaColumn(f.name), type: f.name === "protocol" ? "bigint" : HIVE_TYPE[(format.family === "tgw" ? f.tgwType : undefined) ?? f.type] }));
}

/**
 * The partition column of the Region when one table reads flow logs of several Regions. Not
 * `region`: that is a flow-log field (version 4), and Glue refuses a partition key that is
 * also a column.
 */
export const REGION_PARTITION = "aws_region";

export interface ArchiveLayout {
  /** `s3://bucket/AWSLogs/...` with `${year}` etc. for partition projection. */
  readonly locationTemplate: string;
  /** Where the table's data lives (the template up to the first partition). */
  readonly location: string;
  readonly partitionKeys: readonly string[];
  /** The partition keys with their Glue types: the date parts are integers, the Region a string. */
  readonly partitionColumns: readonly { readonly name: string; readonly type: "int" | "string" }[];
  /** Glue table parameters for projection. */
  readonly projection: Readonly<Record<string, string>>;
}

/**
 * The S3 layout flow logs are written in for these options, as Athena partition projection.
 * `region` is the Region whose flow logs the table reads; given several (an environment with
 * scopes in more than one Region, all delivering to one bucket), the Region becomes a projected
 * partition (REGION_PARTITION) with exactly those values.
 */
export function archiveLayout(bucket: string, account: string, region: string | readonly string[], o: ArchiveOptions, firstYear = 2024): ArchiveLayout {
  const regions = typeof region === "string" ? [region] : [...region];
  const one = regions.length === 1 ? regions[0]! : undefined;
  const regionPart = one ?? `\${${REGION_PARTITION}}`;
  const accountBase = o.hiveCompatiblePartitions
    ? `s3://${bucket}/AWSLogs/aws-account-id=${account}/aws-service=vpcflowlogs/`
    : `s3://${bucket}/AWSLogs/${account}/vpcflowlogs/`;
  const regionDir = o.hiveCompatiblePartitions ? `aws-region=${regionPart}/` : `${regionPart}/`;
  const base = `${accountBase}${regionDir}`;
  const parts = o.perHourPartition ? ["year", "month", "day", "hour"] : ["year", "month", "day"];
  const path = parts.map((p) => (o.hiveCompatiblePartitions ? `${p}=\${${p}}` : `\${${p}}`)).join("/");
  const projection: Record<string, string> = {
    "projection.enabled": "true",
    "storage.location.template": `${base}${path}/`,
    "projection.year.type": "integer",
    "projection.year.range": `${firstYear},2099`,
    "projection.month.type": "integer",
    "projection.month.range": "1,12",
    "projection.month.digits": "2",
    "projection.day.type": "integer",
    "projection.day.range": "1,31",
    "projection.day.digits": "2",
  };
  if (o.perHourPartition) Object.assign(projection, { "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2" });
  const dateColumns = parts.map((name) => ({ name, type: "int" as const }));
  if (one !== undefined) return { locationTemplate: `${base}${path}/`, location: base, partitionKeys: parts, partitionColumns: dateColumns, projection };
  Object.assign(projection, { [`projection.${REGION_PARTITION}.type`]: "enum", [`projection.${REGION_PARTITION}.values`]: regions.join(",") });
  return {
    locationTemplate: `${base}${path}/`,
    // The table's data starts where the Regions branch.
    location: accountBase,
    partitionKeys: [REGION_PARTITION, ...parts],
    partitionColumns: [{ name: REGION_PARTITION, type: "string" }, ...dateColumns],
    projection,
  };
}

/** Partition filter for "today" and "yesterday" in the named queries (always on partitions). */
export const RECENT_PARTITIONS =
  "(year, month, day) IN ((year(current_date), month(current_date), day(current_date)), " +
  "(year(current_date - interval '1' day), month(current_date - interval '1' day), day(current_date - interval '1' day)))";

/** A table's partitioning as the detector's queries need it: its keys and the Regions it reads. */
export interface PartitionScheme {
  /** The table's partition keys, as ArchiveLayout.partitionKeys gives them. */
  readonly partitionKeys: readonly string[];
  /** The Regions the table reads: the values of REGION_PARTITION when it is a key. */
  readonly regions: readonly string[];
}

/** The partitions (UTC year, month, day and hour when hourly) a time range touches, oldest first. */
export function partitionsOf(keys: readonly string[], startSeconds: number, endSeconds: number): Record<string, number>[] {
  const hourly = keys.includes("hour");
  const step = hourly ? 3600 : 86400;
  const out: Record<string, number>[] = [];
  // Whole partitions: from the one holding the start to the one holding the end (inclusive).
  for (let t = Math.floor(startSeconds / step) * step; t <= endSeconds; t += step) {
    const d = new Date(t * 1000);
    out.push({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), ...(hourly ? { hour: d.getUTCHours() } : {}) });
  }
  return out;
}

/**
 * A WHERE condition naming exactly the partitions of [startSeconds, endSeconds] (UTC, as AWS
 * names the folders) and, for a multi-Region table, its Regions: Athena's partition projection
 * then lists only those S3 prefixes, so a query reads the look-back's objects and no others.
 * Each partition is an explicit conjunction of equalities, which projection prunes on in Athena
 * and which DuckDB reads the same way.
 * @see https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
 */
export function partitionFilter(scheme: PartitionScheme, startSeconds: number, endSeconds: number): string {
  const dateKeys = scheme.partitionKeys.filter((k) => k !== REGION_PARTITION);
  const parts = partitionsOf(dateKeys, startSeconds, endSeconds).map((p) => `(${dateKeys.map((k) => `${k} = ${p[k]}`).join(" AND ")})`);
  const dates = parts.length === 1 ? parts[0]! : `(${parts.join(" OR ")})`;
  if (!scheme.partitionKeys.includes(REGION_PARTITION)) return dates;
  return `${REGION_PARTITION} IN (${scheme.regions.map((r) => `'${r.replace(/'/g, "''")}'`).join(", ")}) AND ${dates}`;
}
