import { Testing, TerraformStack } from "cdktf";
import { RECENT_PARTITIONS } from "../../functions/flowlog/athena";
import { LogFormat } from "../../functions/flowlog/format";
import { QuickSight, QUICKSIGHT_OWNER_ACTIONS, RECENT_FINDINGS_PARTITIONS } from "../../modules/quicksight";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { baseInput, env, validate } from "../support/env";

type R = Record<string, Record<string, Record<string, any>>>;
const V5 = ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "flow-direction"];
const PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:group/default/SecOps";
const only = <T>(o: Record<string, T> | undefined): T => {
  expect(Object.keys(o ?? {})).toHaveLength(1);
  return Object.values(o!)[0]!;
};

describe("QuickSight over the archive", () => {
  let r: R;
  beforeAll(() => {
    const stack = new TerraformStack(Testing.app(), "qs");
    const format = LogFormat.custom(V5, "vpc");
    new QuickSight(stack, "QuickSight", {
      account: "123456789012",
      region: "eu-west-1",
      name: "test",
      principalArn: PRINCIPAL,
      workgroup: "flowlogs-test",
      database: "flowlogs_test",
      tables: [{ name: "flow_logs", format }, { name: "flow_logs_2", format }],
      findingsTable: "findings",
    });
    r = JSON.parse(Testing.synth(stack)).resource;
  });

  it("reads through the environment's Athena workgroup, owned by the principal", () => {
    const source = only(r.aws_quicksight_data_source);
    expect(source).toMatchObject({ data_source_id: "flowlogs-test-athena", type: "ATHENA", aws_account_id: "123456789012", parameters: { athena: { work_group: "flowlogs-test" } } });
    expect(source.permission).toEqual([{ principal: PRINCIPAL, actions: QUICKSIGHT_OWNER_ACTIONS.dataSource }]);
  });

  const dataSet = (id: string) => Object.values(r.aws_quicksight_data_set!).find((s) => s.data_set_id === id)!;

  it("queries every flow-log table and the findings directly, each filtered to today's and yesterday's partitions", () => {
    const sets = Object.values(r.aws_quicksight_data_set!);
    expect(sets.map((s) => s.data_set_id).sort()).toEqual(["flowlogs-test-findings", "flowlogs-test-flows"]);
    for (const s of sets) {
      expect(s.import_mode).toBe("DIRECT_QUERY");
      expect(s.permissions).toEqual([{ principal: PRINCIPAL, actions: QUICKSIGHT_OWNER_ACTIONS.dataSet }]);
    }
    const flows: string = dataSet("flowlogs-test-flows").physical_table_map[0].custom_sql.sql_query;
    for (const table of ['"flowlogs_test"."flow_logs" WHERE', '"flowlogs_test"."flow_logs_2" WHERE']) expect(flows).toContain(`${table} ${RECENT_PARTITIONS}`);
    expect(flows.split(" FROM ").length - 1).toBe(2);
    const findings: string = dataSet("flowlogs-test-findings").physical_table_map[0].custom_sql.sql_query;
    expect(findings).toBe(`SELECT from_unixtime(window_start) AS window_start, rule, severity, src, dst, port, score FROM "flowlogs_test"."findings" WHERE ${RECENT_FINDINGS_PARTITIONS}`);
  });

  it("types the findings' score as a decimal and their window start as a time", () => {
    const columns = dataSet("flowlogs-test-findings").physical_table_map[0].custom_sql.columns;
    expect(columns).toContainEqual({ name: "score", type: "DECIMAL" });
    expect(columns).toContainEqual({ name: "window_start", type: "DATETIME" });
    expect(columns.map((c: { name: string }) => c.name)).not.toContain("destinations");
  });

  it("draws the anomaly scores as the highest score per source host and hour, from the findings", () => {
    const sheet = only(r.aws_quicksight_dashboard).definition.sheets[0];
    const visual = sheet.visuals.map((v: Record<string, any>) => Object.values(v)[0]).find((v: { visual_id: string }) => v.visual_id === "anomaly-scores");
    const wells = visual.chart_configuration.field_wells.line_chart_aggregated_field_wells;
    expect(wells.values).toEqual([{ numerical_measure_field: { field_id: "anomaly-score", column: { data_set_identifier: "findings", column_name: "score" }, aggregation_function: { simple_numerical_aggregation: "MAX" } } }]);
    expect(wells.category[0].date_dimension_field).toMatchObject({ column: { data_set_identifier: "findings", column_name: "window_start" }, date_granularity: "HOUR" });
    expect(wells.colors).toEqual([{ categorical_dimension_field: { field_id: "anomaly-source", column: { data_set_identifier: "findings", column_name: "src" } } }]);
  });

  it("shows the six visuals, the third the detector's anomaly scores, shared with the principal", () => {
    const dashboard = only(r.aws_quicksight_dashboard);
    expect(dashboard.permissions).toEqual([{ principal: PRINCIPAL, actions: QUICKSIGHT_OWNER_ACTIONS.dashboard }]);
    const sheet = dashboard.definition.sheets[0];
    const titles = sheet.visuals.map((v: Record<string, { title: { format_text: { plain_text: string } } }>) => Object.values(v)[0]!.title.format_text.plain_text);
    expect(titles).toEqual([
      "Flow volume (bytes per hour)",
      "Top talkers (bytes sent)",
      "Anomaly scores (highest per source host and hour)",
      "Traffic direction (bytes)",
      "Destination ports (flows)",
      "Rejected flows per hour",
    ]);
    expect(sheet.layouts.configuration.grid_layout.elements).toHaveLength(6);
    expect(dashboard.definition.data_set_identifiers_declarations.map((d: { identifier: string }) => d.identifier)).toEqual(["flows", "findings"]);
  });
});

describe("QuickSight in the environment stack", () => {
  const s3 = { flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"], logFormat: V5 }], detectors: { enabled: false } };
  const synth = (overrides: Record<string, unknown>) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), env(overrides)))).resource as R;

  it("is provisioned on the stack's workgroup when analytics.quicksight is set", () => {
    const r = synth({ ...s3, analytics: { quicksight: { principalArn: PRINCIPAL } } });
    expect(only(r.aws_quicksight_data_source).parameters.athena.work_group).toMatch(/^\$\{aws_athena_workgroup\.Athena_Workgroup_\w+\.name\}$/);
    expect(Object.keys(r.aws_quicksight_data_set!)).toHaveLength(2);
    expect(Object.keys(r.aws_quicksight_dashboard!)).toHaveLength(1);
  });

  it("is absent when analytics.quicksight is not set", () => {
    const r = synth(s3);
    expect(r.aws_athena_workgroup).toBeDefined();
    for (const type of ["aws_quicksight_data_source", "aws_quicksight_data_set", "aws_quicksight_dashboard"]) expect(r[type]).toBeUndefined();
  });
});

describe("analytics.quicksight is refused, naming the field, the value and the fix", () => {
  const problems = (overrides: Record<string, unknown>) => validate(baseInput(overrides)).problems.join("\n");
  const withFormat = (logFormat: unknown, destinations = ["s3"]) => ({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations, logFormat }] });

  it.each<[string, Record<string, unknown>, string]>([
    ["an IAM role instead of a QuickSight principal", { ...withFormat(V5), analytics: { quicksight: { principalArn: "arn:aws:iam::123456789012:role/SecOps" } } },
      'test.analytics.quicksight.principalArn: is not a QuickSight user or group ARN (got "arn:aws:iam::123456789012:role/SecOps"). Write arn:aws:quicksight:<identity region>:<account>:user/<namespace>/<name> or .../group/<namespace>/<name>, e.g. arn:aws:quicksight:us-east-1:123456789012:group/default/SecOps.'],
    ["a principal without a namespace", { ...withFormat(V5), analytics: { quicksight: { principalArn: "arn:aws:quicksight:us-east-1:123456789012:user/alice" } } },
      'test.analytics.quicksight.principalArn: is not a QuickSight user or group ARN (got "arn:aws:quicksight:us-east-1:123456789012:user/alice").'],
    ["QuickSight with Athena turned off", { ...withFormat(V5), analytics: { athena: { enabled: false }, quicksight: { principalArn: PRINCIPAL } } },
      'test.analytics.quicksight: reads the archive through Athena, which this environment does not provision (got athena.enabled false). Set analytics.athena.enabled to true and give a VPC scope the "s3" destination, or remove quicksight.'],
    ["QuickSight without an archive", { ...withFormat(V5, ["cloudwatch"]), analytics: { quicksight: { principalArn: PRINCIPAL } } },
      "test.analytics.quicksight: reads the archive through Athena, which this environment does not provision (got no VPC scope with an S3 destination)."],
    ["QuickSight over the default format, which has no flow-direction", { ...withFormat(undefined), analytics: { quicksight: { principalArn: PRINCIPAL } } },
      'test.flowLogs[0].logFormat: lacks fields the QuickSight dashboard reads (got a format without flow-direction). Add "flow-direction" to the log format (flow-direction needs version 5), or remove analytics.quicksight.'],
  ])("%s", (_title, overrides, expected) => {
    expect(problems(overrides)).toContain(expected);
  });

  it("accepts a federated user, whose name holds a slash", () => {
    expect(validate(baseInput({ ...withFormat(V5), analytics: { quicksight: { principalArn: "arn:aws:quicksight:us-east-1:123456789012:user/default/SecOpsRole/alice" } } })).problems).toEqual([]);
  });
});
