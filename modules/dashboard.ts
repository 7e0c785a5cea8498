import { Construct } from "constructs";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { LogFormat } from "../functions/flowlog/format";
import { insightsField, insightsQuery } from "../functions/flowlog/insights";

export interface DashboardProps {
  readonly name: string;
  readonly region: string;
  readonly logGroupName: string;
  readonly format: LogFormat;
  /** The detector function, for the health widget. @default - no detector widget */
  readonly detectorFunctionName?: string;
}

/** One CloudWatch dashboard per environment: Logs Insights widgets and detector health. */
export class Dashboard extends Construct {
  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const f = props.format;
    const q = (name: string) => insightsField(f, name);
    const logWidget = (title: string, body: string[], view: "timeSeries" | "table" | "pie" | "bar", x: number, y: number) => ({
      type: "log",
      x, y, width: 12, height: 6,
      properties: { title, region: props.region, view, query: `SOURCE '${props.logGroupName}' | ${insightsQuery(f, body)}` },
    });
    const widgets: object[] = [
      logWidget("Flow volume (bytes per 5 minutes)", [`stats sum(${q("bytes")}) as bytes by bin(5m)`], "timeSeries", 0, 0),
      logWidget("Top talkers (bytes)", [`stats sum(${q("bytes")}) as bytes by ${q("srcaddr")}, ${q("dstaddr")}`, "sort bytes desc", "limit 10"], "table", 12, 0),
      logWidget("Rejected flows", [`filter ${q("action")} = "REJECT"`, "stats count(*) as rejected by bin(5m)"], "timeSeries", 0, 6),
      logWidget("Destination ports", [`stats count(*) as flows by ${q("dstport")}`, "sort flows desc", "limit 10"], "bar", 12, 6),
    ];
    if (f.has("flow-direction")) widgets.push(logWidget("Direction split", [`stats sum(${q("bytes")}) as bytes by ${q("flow-direction")}`], "pie", 0, 12));
    if (props.detectorFunctionName) {
      widgets.push({
        type: "metric",
        x: 12, y: 12, width: 12, height: 6,
        properties: {
          title: "Detector health",
          region: props.region,
          stat: "Sum",
          period: 300,
          metrics: [
            ["AWS/Lambda", "Invocations", "FunctionName", props.detectorFunctionName],
            ["AWS/Lambda", "Errors", "FunctionName", props.detectorFunctionName],
            ["AWS/Lambda", "Throttles", "FunctionName", props.detectorFunctionName],
          ],
        },
      });
    }
    new CloudwatchDashboard(this, "Dashboard", { dashboardName: `flowlogs-${props.name}`, dashboardBody: JSON.stringify({ widgets }) });
  }
}
