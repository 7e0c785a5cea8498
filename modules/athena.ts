import { Construct } from "constructs";
import { AthenaNamedQuery } from "@cdktf/provider-aws/lib/athena-named-query";
import { AthenaWorkgroup } from "@cdktf/provider-aws/lib/athena-workgroup";
import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { archiveLayout, ArchiveOptions, athenaColumn, athenaColumns, RECENT_PARTITIONS } from "../functions/flowlog/athena";
import { PACKETS_LOST_FIELD_NAMES } from "../functions/flowlog/fields";
import { LogFormat } from "../functions/flowlog/format";
import { NOT_ARCHIVE_TAG } from "../policies/controls";
import { AccountContext, archiveFolder, bucketArn, denyInsecureTransport, doc } from "../policies/iam";
import { protectBucket } from "./bucket-protections";
import { literal } from "./literal";

/** The folder of the results bucket the workgroup writes query results to. */
export const ATHENA_RESULTS_FOLDER = "results/";
/** The folder of the results bucket the detector stores its findings in (functions/handlers/findings-store.ts). */
export const FINDINGS_FOLDER = "findings/";
/** The folder of the results bucket that holds the detector's ledger of findings published to SNS (functions/handlers/publish-ledger.ts). */
export const PUBLISHED_FOLDER = "published/";
/**
 * Days a ledger marker is kept. A finding's id carries its window, and a rule's range starts on
 * its horizon's boundary at most one horizon before the look-back (the long horizon is at most a
 * day): an id is raised again within 2 days of its first raise at the latest, so after 3 no run
 * raises it again.
 */
export const PUBLISHED_EXPIRY_DAYS = 3;
/** The Glue table over FINDINGS_FOLDER. */
export const FINDINGS_TABLE = "findings";
/**
 * The days of findings the table projects: the results bucket expires every object after 30
 * days (its lifecycle below), so older days hold nothing.
 */
export const FINDINGS_PROJECTED_DAYS = 30;

/** The columns of the findings table, as findings-store.ts FindingRow writes them. */
export const FINDINGS_COLUMNS: readonly { readonly name: string; readonly type: string; readonly comment: string }[] = Object.freeze([
  { name: "id", type: "string", comment: "deterministic finding id (Security Hub's)" },
  { name: "rule", type: "string", comment: "rule id, e.g. port-scan, anomaly" },
  { name: "severity", type: "string", comment: "INFORMATIONAL to CRITICAL" },
  { name: "src", type: "string", comment: "source address or host" },
  { name: "dst", type: "string", comment: "destination address" },
  { name: "port", type: "int", comment: "destination port" },
  { name: "protocol", type: "int", comment: "IANA protocol number" },
  { name: "interface_id", type: "string", comment: "network interface" },
  { name: "window_start", type: "bigint", comment: "window start, Unix seconds" },
  { name: "window_end", type: "bigint", comment: "window end, Unix seconds (exclusive)" },
  { name: "score", type: "double", comment: "Isolation Forest score in [0, 1] of an anomaly finding; null for other rules" },
  { name: "evidence", type: "string", comment: "the finding's evidence counts, a JSON object" },
  { name: "run_end", type: "bigint", comment: "end of the detector run that raised it, Unix seconds" },
]);

export interface AthenaTableSpec {
  /** Table name, e.g. flow_logs. */
  readonly name: string;
  readonly format: LogFormat;
  readonly options: ArchiveOptions;
  /**
   * The Regions whose flow logs the table reads (AWS writes each under its own
   * `vpcflowlogs/<region>/` prefix); more than one makes the Region a partition.
   * @default - [AthenaProps.region]
   */
  readonly regions?: readonly string[];
}

export interface AthenaProps extends AccountContext {
  /** Workgroup name. */
  readonly workgroup: string;
  /** Glue database name (lowercase, underscores). */
  readonly database: string;
  readonly archiveBucket: string;
  /** Bucket for query results; gets SSE-KMS, a 30-day expiry and the usual protections. */
  readonly resultsBucket: string;
  readonly kmsKeyArn: string;
  /** One table per distinct S3 layout and format of the environment's flow logs. */
  readonly tables: readonly AthenaTableSpec[];
  /**
   * Athena cancels a query that scans more than this.
   * @see https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html
   */
  readonly bytesScannedCutoffPerQuery: number;
  /**
   * Read objects restored from Glacier Flexible Retrieval or Deep Archive; without it Athena
   * skips them even after a restore. Set when the archive lifecycle may move objects there.
   * @default false
   * @see https://docs.aws.amazon.com/athena/latest/ug/querying-glacier.html
   */
  readonly readRestoredObjects?: boolean;
}

/**
 * Athena over the archive: a Glue database and tables with partition projection matching the
 * S3 layout, a workgroup that enforces its configuration (scan cutoff, encrypted results), a
 * results bucket, named queries that always filter on partitions, and the `findings` table over
 * the detector's findings in the results bucket's `findings/` folder.
 */
export class Athena extends Construct {
  readonly workgroup: AthenaWorkgroup;
  readonly tables: GlueCatalogTable[] = [];
  /** The detector's findings (FINDINGS_FOLDER of the results bucket). */
  readonly findingsTable: GlueCatalogTable;

  constructor(scope: Construct, id: string, props: AthenaProps) {
    super(scope, id);
    // Query results are working files, not evidence: the archive controls skip this bucket.
    const results = new S3Bucket(this, "ResultsBucket", { bucket: props.resultsBucket, tags: { [NOT_ARCHIVE_TAG.key]: NOT_ARCHIVE_TAG.value } });
    protectBucket(this, "Results", results.id, props.kmsKeyArn, doc(denyInsecureTransport(bucketArn(props.region, props.resultsBucket))));
    new S3BucketLifecycleConfiguration(this, "ResultsLifecycle", {
      bucket: results.id,
      rule: [
        {
          // Query results are working files: the archive is the evidence.
          id: "expire-query-results",
          status: "Enabled",
          filter: [{ prefix: "" }],
          expiration: [{ days: 30 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
        {
          // The detector's ledger of published findings; where two expirations overlap S3 applies the shorter.
          // @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html
          id: "expire-published-markers",
          status: "Enabled",
          filter: [{ prefix: PUBLISHED_FOLDER }],
          expiration: [{ days: PUBLISHED_EXPIRY_DAYS }],
        },
      ],
    });

    const database = new GlueCatalogDatabase(this, "Database", { name: props.database, description: "VPC flow logs of the archive (flowlog-kit)" });
    this.workgroup = new AthenaWorkgroup(this, "Workgroup", {
      name: props.workgroup,
      description: "Flow-log analysis; configuration enforced",
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        resultConfiguration: { outputLocation: `s3://${props.resultsBucket}/${ATHENA_RESULTS_FOLDER}`, encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: props.kmsKeyArn } },
      },
    });

    for (const spec of props.tables) {
      // Each family and format is delivered under its own folder (FlowLogs), so the table reads only its own files.
      const folder = archiveFolder(spec.format.family, spec.options.fileFormat).replace(/\/$/, "");
      const layout = archiveLayout(folder ? `${props.archiveBucket}/${folder}` : props.archiveBucket, props.account, spec.regions ?? props.region, spec.options);
      const parquet = spec.options.fileFormat === "parquet";
      const table = new GlueCatalogTable(this, `Table_${spec.name}`, {
        name: spec.name,
        databaseName: database.name,
        tableType: "EXTERNAL_TABLE",
        parameters: {
          EXTERNAL: "TRUE",
          ...layout.projection,
          "storage.location.template": literal(layout.locationTemplate),
          ...(parquet ? { classification: "parquet" } : { classification: "csv", "skip.header.line.count": "1" }),
          ...(props.readRestoredObjects ? { read_restored_glacier_objects: "true" } : {}),
        },
        partitionKeys: layout.partitionColumns.map((p) => ({ name: p.name, type: p.type })),
        storageDescriptor: {
          location: layout.location,
          inputFormat: parquet ? "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat" : "org.apache.hadoop.mapred.TextInputFormat",
          outputFormat: parquet ? "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat" : "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
          serDeInfo: parquet
            ? { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" }
            : { serializationLibrary: "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", parameters: { "field.delim": " ", "serialization.format": " " } },
          columns: athenaColumns(spec.format),
        },
      });
      this.tables.push(table);
      const t = `"${props.database}"."${spec.name}"`;
      const c = (f: string) => athenaColumn(f);
      const lost = PACKETS_LOST_FIELD_NAMES;
      // Each query with the catalog fields it reads: a table whose format lacks one (a transit
      // gateway has no `action`) does not get that query.
      const queries: [string, string, readonly string[], () => string][] = [
        ["hourly-traffic-summary", "Bytes, packets and flows per hour, today and yesterday", ["start", "bytes", "packets"],
          () => `SELECT from_unixtime(${c("start")} - ${c("start")} % 3600) AS hour, sum(${c("bytes")}) AS bytes, sum(${c("packets")}) AS packets, count(*) AS flows FROM ${t} WHERE ${RECENT_PARTITIONS} GROUP BY 1 ORDER BY 1`],
        ["top-sources-by-bytes", "Top 25 sources by bytes, today and yesterday", ["srcaddr", "bytes"],
          () => `SELECT ${c("srcaddr")}, sum(${c("bytes")}) AS bytes FROM ${t} WHERE ${RECENT_PARTITIONS} GROUP BY ${c("srcaddr")} ORDER BY bytes DESC LIMIT 25`],
        ["rejected-by-source-destination-port", "Rejected traffic by source, destination and port, today and yesterday", ["srcaddr", "dstaddr", "dstport", "action"],
          () => `SELECT ${c("srcaddr")}, ${c("dstaddr")}, ${c("dstport")}, count(*) AS flows FROM ${t} WHERE ${RECENT_PARTITIONS} AND ${c("action")} = 'REJECT' GROUP BY 1, 2, 3 ORDER BY flows DESC LIMIT 100`],
        ["packets-lost-by-attachment", "Packets the transit gateway dropped (no route, blackhole, MTU, TTL) by attachment, today and yesterday", ["tgw-attachment-id", ...lost],
          () => `SELECT ${c("tgw-attachment-id")}, ${lost.map((f) => `sum(${c(f)}) AS ${c(f)}`).join(", ")} FROM ${t} WHERE ${RECENT_PARTITIONS} GROUP BY 1 HAVING ${lost.map((f) => `sum(${c(f)}) > 0`).join(" OR ")} ORDER BY 2 DESC LIMIT 100`],
      ];
      for (const [name, description, needs, query] of queries) {
        if (!needs.every((f) => spec.format.has(f))) continue;
        new AthenaNamedQuery(this, `${spec.name}_${name}`, { name: `${spec.name}: ${name}`, description, database: database.name, workgroup: this.workgroup.name, query: query() });
      }
    }

    // The detector's findings, one JSON object a line, in day partitions that projection finds
    // without a crawler or MSCK REPAIR.
    // @see https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html
    // @see https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
    const findings = `s3://${props.resultsBucket}/${FINDINGS_FOLDER}`;
    this.findingsTable = new GlueCatalogTable(this, "FindingsTable", {
      name: FINDINGS_TABLE,
      databaseName: database.name,
      description: "Findings of the flowlog-kit detector, one row per finding and run",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        EXTERNAL: "TRUE",
        classification: "json",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": `NOW-${FINDINGS_PROJECTED_DAYS}DAYS,NOW`,
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": literal(`${findings}dt=\${dt}/`),
      },
      partitionKeys: [{ name: "dt", type: "string" }],
      storageDescriptor: {
        location: findings,
        inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
        outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        serDeInfo: { serializationLibrary: "org.openx.data.jsonserde.JsonSerDe", parameters: { "ignore.malformed.json": "FALSE" } },
        columns: FINDINGS_COLUMNS.map((c) => ({ ...c })),
      },
    });
  }
}
