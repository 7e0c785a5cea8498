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
  /** What the data sets wait for: the Glue tables. @default - nothing */
  readonly dependsOn?: ITerraformDependable[];
}

/** The columns of the `flows` data set, with their QuickSight types. */
const FLOW_COLUMNS = [
  ["flow_start", "DATETIME"], ["srcaddr", "STRING"], ["dstaddr", "STRING"], ["dstport", "INTEGER"],
  ["bytes", "INTEGER"], ["action", "STRING"], ["flow_direction", "STRING"], ["rejected", "INTEGER"],
] as const;
const FANOUT_COLUMNS = [["srcaddr", "STRING"], ["hour", "DATETIME"], ["destinations", "INTEGER"], ["ports", "INTEGER"], ["rejected", "INTEGER"], ["flows", "INTEGER"]] as const;

/**
 * QuickSight over the archive: an Athena data source on the environment's workgroup, two
 * direct-query data sets (the flows of today and yesterday, and each source's hourly fan-out)
 * and a dashboard with six visuals: flow volume over time, top talkers, fan-out per source (in
 * place of anomaly scores, which the detector does not store anywhere Athena reads), traffic
 * direction, port distribution and rejected flows.
 *
 * Direct query keeps no copy in SPICE: every dashboard view runs Athena queries bounded by the
 * partition filter and the workgroup's scan cutoff. QuickSight's account-level service role
 * must be allowed Athena, Glue, the archive and results buckets and the KMS key; the kit
 * cannot manage that role.
 */
export class QuickSight extends Construct {
  readonly dataSource: QuicksightDataSource;
  readonly flows: QuicksightDataSet;
  readonly fanOut: QuicksightDataSet;
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
    this.fanOut = dataSet(
      "FanOut",
      "fanout",
      `SELECT srcaddr, from_unixtime(start - start % 3600) AS hour, count(DISTINCT dstaddr) AS destinations, count(DISTINCT dstport) AS ports, ` +
        `sum(CASE WHEN action = 'REJECT' THEN 1 ELSE 0 END) AS rejected, count(*) AS flows FROM (${recent(`${c("srcaddr")} AS srcaddr, ${c("dstaddr")} AS dstaddr, ${c("dstport")} AS dstport, ${c("action")} AS action, ${c("start")} AS start`)}) GROUP BY 1, 2`,
      FANOUT_COLUMNS,
    );

    this.dashboard = new QuicksightDashboard(this, "Dashboard", {
      ...account,
      dashboardId: prefix,
      name: `${prefix} flow logs`,
      versionDescription: "flowlog-kit",
      definition: dashboardDefinition(this.flows.arn, this.fanOut.arn),
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
const line = (id: string, text: string, x: object, value: object) => ({
  line_chart_visual: { visual_id: id, title: title(text), chart_configuration: { type: "LINE", field_wells: { line_chart_aggregated_field_wells: { category: [x], values: [value] } } } },
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
export function dashboardDefinition(flowsArn: string, fanOutArn: string): object {
  const f = "flows";
  const visuals = [
    line("flow-volume", "Flow volume (bytes per hour)", hourly("flow-volume-hour", f, "flow_start"), measure("flow-volume-bytes", f, "bytes", "SUM")),
    bars("top-talkers", "Top talkers (bytes sent)", category("top-talkers-source", f, "srcaddr"), [measure("top-talkers-bytes", f, "bytes", "SUM")], "top-talkers-bytes", 10),
    bars(
      "fan-out",
      "Fan-out per source and hour (the detector stores no anomaly scores)",
      category("fan-out-source", "fanout", "srcaddr"),
      [measure("fan-out-ports", "fanout", "ports", "MAX"), measure("fan-out-destinations", "fanout", "destinations", "MAX")],
      "fan-out-ports",
      10,
    ),
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
      { identifier: "fanout", data_set_arn: fanOutArn },
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
