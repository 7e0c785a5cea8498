import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { QuicksightDashboard } from "@cdktf/provider-aws/lib/quicksight-dashboard";
import { QuicksightDataSet } from "@cdktf/provider-aws/lib/quicksight-data-set";
import { QuicksightDataSource } from "@cdktf/provider-aws/lib/quicksight-data-source";
import { athenaColumn, RECENT_PARTITIONS } from "../functions/flowlog/athena";
import { LogFormat } from "../functions/flowlog/format";
import { AccountContext } from "../policies/iam";

/**
 * What the owner may do with each QuickSight asset: the full set the QuickSight console grants
 * an owner, so the principal can share the dashboard and edit the data sets.
 * @see https://docs.aws.amazon.com/quicksight/latest/developerguide/controlling-access.html
 */
export const QUICKSIGHT_OWNER_ACTIONS = Object.freeze({
  dataSource: ["quicksight:DeleteDataSource", "quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:UpdateDataSourcePermissions"],
  dataSet: [
    "quicksight:CancelIngestion", "quicksight:CreateIngestion", "quicksight:DeleteDataSet", "quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions",
    "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:PassDataSet", "quicksight:UpdateDataSet", "quicksight:UpdateDataSetPermissions",
  ],
  dashboard: [
    "quicksight:DeleteDashboard", "quicksight:DescribeDashboard", "quicksight:DescribeDashboardPermissions", "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:UpdateDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion",
  ],
});

/** A flow-log table of the environment's Glue database that the data sets read. */
export interface QuickSightTable {
  /** The Glue table name, e.g. flow_logs. */
  readonly name: string;
  /** Its log format; it must hold every field of QUICKSIGHT_FIELDS (environments/schema.ts checks). */
  readonly format: LogFormat;
}

export interface QuickSightProps extends AccountContext {
  /** Environment name; the assets are `flowlogs-<name>`, `flowlogs-<name>-athena`, ... */
  readonly name: string;
  /**
   * The QuickSight user or group given owner permissions on every asset.
   * @see https://docs.aws.amazon.com/quicksight/latest/APIReference/API_ResourcePermission.html
   */
  readonly principalArn: string;
  /** The environment's Athena workgroup (its scan cutoff and encrypted results apply to QuickSight's queries too). */
  readonly workgroup: string;
  /** The Glue database of the flow-log tables. */
  readonly database: string;
  /** The VPC flow-log tables, read together (UNION ALL), today's and yesterday's partitions only. */
  readonly tables: readonly QuickSightTable[];
  /** The Glue table of the detector's findings (modules/athena.ts FINDINGS_TABLE), in `database`. */
  readonly findingsTable: string;
  /** What the data sets wait for: the Glue tables. @default - nothing */
  readonly dependsOn?: ITerraformDependable[];
}

/** The columns of the `flows` data set, with their QuickSight types. */
const FLOW_COLUMNS = [
  ["flow_start", "DATETIME"], ["srcaddr", "STRING"], ["dstaddr", "STRING"], ["dstport", "INTEGER"],
  ["bytes", "INTEGER"], ["action", "STRING"], ["flow_direction", "STRING"], ["rejected", "INTEGER"],
] as const;
/** The columns of the `findings` data set; `score` is the Isolation Forest score of an anomaly finding, null for other rules. */
const FINDING_COLUMNS = [
  ["window_start", "DATETIME"], ["rule", "STRING"], ["severity", "STRING"], ["src", "STRING"], ["dst", "STRING"], ["port", "INTEGER"], ["score", "DECIMAL"],
] as const;

/** Today's and yesterday's day partitions of the findings table (`dt`, yyyy-MM-dd, projected). */
export const RECENT_FINDINGS_PARTITIONS = "dt IN (date_format(current_date, '%Y-%m-%d'), date_format(current_date - interval '1' day, '%Y-%m-%d'))";

/**
 * QuickSight over the archive: an Athena data source on the environment's workgroup, two
 * direct-query data sets (the flows of today and yesterday, and the detector's findings of the
 * same days, which it stores in the `findings` table) and a dashboard with six visuals: flow
 * volume over time, top talkers, anomaly scores (the highest Isolation Forest score per source
 * host and hour), traffic direction, port distribution and rejected flows.
 *
 * Direct query keeps no copy in SPICE: every dashboard view runs Athena queries bounded by the
 * partition filter and the workgroup's scan cutoff. QuickSight's account-level service role
 * must be allowed Athena, Glue (the flow-log tables and `findings`), the archive bucket, the
 * whole results bucket (query results under results/, findings under findings/) and the KMS
 * key; the kit cannot manage that role.
 */
export class QuickSight extends Construct {
  readonly dataSource: QuicksightDataSource;
  readonly flows: QuicksightDataSet;
  readonly findings: QuicksightDataSet;
  readonly dashboard: QuicksightDashboard;

  constructor(scope: Construct, id: string, props: QuickSightProps) {
    super(scope, id);
    const prefix = `flowlogs-${props.name}`;
    const account = { awsAccountId: props.account };
    const owner = (actions: readonly string[]) => [{ principal: props.principalArn, actions: [...actions] }];
    this.dataSource = new QuicksightDataSource(this, "DataSource", {
      ...account,
      dataSourceId: `${prefix}-athena`,
      name: `${prefix} flow logs (Athena)`,
      type: "ATHENA",
      parameters: { athena: { workGroup: props.workgroup } },
      permission: owner(QUICKSIGHT_OWNER_ACTIONS.dataSource),
    });

    const c = athenaColumn;
    // Each table filtered on its own partitions before the union, so no branch scans more than two days.
    const recent = (select: string) => props.tables.map((t) => `SELECT ${select} FROM "${props.database}"."${t.name}" WHERE ${RECENT_PARTITIONS}`).join(" UNION ALL ");
    const dataSet = (role: string, name: string, sql: string, columns: readonly (readonly [string, string])[]) =>
      new QuicksightDataSet(this, role, {
        ...account,
        dataSetId: `${prefix}-${name}`,
        name: `${prefix} ${name}`,
        importMode: "DIRECT_QUERY",
        physicalTableMap: [{ physicalTableMapId: name, customSql: { dataSourceArn: this.dataSource.arn, name, sqlQuery: sql, columns: columns.map(([n, type]) => ({ name: n, type })) } }],
        permissions: owner(QUICKSIGHT_OWNER_ACTIONS.dataSet),
        dependsOn: props.dependsOn,
      });
    this.flows = dataSet(
      "Flows",
      "flows",
      recent(
        `from_unixtime(${c("start")}) AS flow_start, ${c("srcaddr")}, ${c("dstaddr")}, ${c("dstport")}, ${c("bytes")}, ${c("action")}, ${c("flow-direction")}, ` +
          `CASE WHEN ${c("action")} = 'REJECT' THEN 1 ELSE 0 END AS rejected`,
      ),
      FLOW_COLUMNS,
    );
    this.findings = dataSet(
      "Findings",
      "findings",
      `SELECT from_unixtime(window_start) AS window_start, rule, severity, src, dst, port, score FROM "${props.database}"."${props.findingsTable}" WHERE ${RECENT_FINDINGS_PARTITIONS}`,
      FINDING_COLUMNS,
    );

    this.dashboard = new QuicksightDashboard(this, "Dashboard", {
      ...account,
      dashboardId: prefix,
      name: `${prefix} flow logs`,
      versionDescription: "flowlog-kit",
      definition: dashboardDefinition(this.flows.arn, this.findings.arn),
      permissions: owner(QUICKSIGHT_OWNER_ACTIONS.dashboard),
    });
  }
}

const col = (ds: string, name: string) => ({ data_set_identifier: ds, column_name: name });
const category = (fieldId: string, ds: string, name: string) => ({ categorical_dimension_field: { field_id: fieldId, column: col(ds, name) } });
const hourly = (fieldId: string, ds: string, name: string) => ({ date_dimension_field: { field_id: fieldId, column: col(ds, name), date_granularity: "HOUR" } });
const measure = (fieldId: string, ds: string, name: string, aggregation: "SUM" | "COUNT" | "MAX") => ({
  numerical_measure_field: { field_id: fieldId, column: col(ds, name), aggregation_function: { simple_numerical_aggregation: aggregation } },
});
const title = (text: string) => ({ visibility: "VISIBLE", format_text: { plain_text: text } });
const line = (id: string, text: string, x: object, value: object, colors?: object) => ({
  line_chart_visual: {
    visual_id: id,
    title: title(text),
    chart_configuration: { type: "LINE", field_wells: { line_chart_aggregated_field_wells: { category: [x], values: [value], ...(colors ? { colors: [colors] } : {}) } } },
  },
});
const bars = (id: string, text: string, by: object, values: object[], sortField: string, limit: number) => ({
  bar_chart_visual: {
    visual_id: id,
    title: title(text),
    chart_configuration: {
      orientation: "HORIZONTAL",
      field_wells: { bar_chart_aggregated_field_wells: { category: [by], values } },
      sort_configuration: { category_sort: [{ field_sort: { field_id: sortField, direction: "DESC" } }], category_items_limit: { items_limit: limit, other_categories: "EXCLUDE" } },
    },
  },
});

/** The dashboard's one sheet: six visuals on a two-column grid. Terraform JSON, as the provider's `definition` block takes it. */
export function dashboardDefinition(flowsArn: string, findingsArn: string): object {
  const f = "flows";
  const a = "findings";
  const visuals = [
    line("flow-volume", "Flow volume (bytes per hour)", hourly("flow-volume-hour", f, "flow_start"), measure("flow-volume-bytes", f, "bytes", "SUM")),
    bars("top-talkers", "Top talkers (bytes sent)", category("top-talkers-source", f, "srcaddr"), [measure("top-talkers-bytes", f, "bytes", "SUM")], "top-talkers-bytes", 10),
    // Only anomaly findings carry a score (other rules' rows are null, which MAX skips).
    line("anomaly-scores", "Anomaly scores (highest per source host and hour)", hourly("anomaly-hour", a, "window_start"), measure("anomaly-score", a, "score", "MAX"), category("anomaly-source", a, "src")),
    {
      pie_chart_visual: {
        visual_id: "traffic-direction",
        title: title("Traffic direction (bytes)"),
        chart_configuration: { field_wells: { pie_chart_aggregated_field_wells: { category: [category("direction", f, "flow_direction")], values: [measure("direction-bytes", f, "bytes", "SUM")] } } },
      },
    },
    bars("ports", "Destination ports (flows)", { numerical_dimension_field: { field_id: "ports-port", column: col(f, "dstport") } }, [measure("ports-flows", f, "bytes", "COUNT")], "ports-flows", 20),
    line("rejected", "Rejected flows per hour", hourly("rejected-hour", f, "flow_start"), measure("rejected-flows", f, "rejected", "SUM")),
  ];
  const ids = visuals.map((v) => (Object.values(v)[0] as { visual_id: string }).visual_id);
  return {
    data_set_identifiers_declarations: [
      { identifier: f, data_set_arn: flowsArn },
      { identifier: a, data_set_arn: findingsArn },
    ],
    sheets: [
      {
        sheet_id: "flow-logs",
        name: "Flow logs",
        visuals,
        layouts: {
          configuration: {
            grid_layout: { elements: ids.map((id, i) => ({ element_id: id, element_type: "VISUAL", column_index: String((i % 2) * 18), row_index: String(Math.floor(i / 2) * 12), column_span: 18, row_span: 12 })) },
          },
        },
      },
    ],
  };
}
