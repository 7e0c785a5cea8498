import { Construct } from "constructs";
import { TerraformProvider } from "cdktf";
import { CloudwatchQueryDefinition } from "@cdktf/provider-aws/lib/cloudwatch-query-definition";
import { PACKETS_LOST_FIELD_NAMES as PACKETS_LOST } from "../functions/flowlog/fields";
import { LogFormat } from "../functions/flowlog/format";
import { insightsField, insightsQuery } from "../functions/flowlog/insights";
import { savedQueries } from "../functions/flowlog/queries";

export interface InsightsQueriesProps {
  /** Folder in the Logs Insights console: queries are `<folder>/<name>`. */
  readonly folder: string;
  readonly logGroupName: string;
  /** The log group's format: parse pattern and field names come from it. */
  readonly format: LogFormat;
  /**
   * The provider of the log group's Region: a saved query lives in its group's Region.
   * @default - the stack's default provider
   */
  readonly provider?: TerraformProvider;
}

/**
 * Packets a transit gateway dropped, by attachment and reason: the question transit-gateway
 * records answer that VPC records cannot. Only for a format with those fields.
 */
function packetsLostQuery(format: LogFormat): { name: string; query: string } | undefined {
  if (![...PACKETS_LOST, "tgw-attachment-id"].every((f) => format.has(f))) return undefined;
  const q = (f: string) => insightsField(format, f);
  const sums = PACKETS_LOST.map((f) => `sum(${q(f)}) as ${q(f)}`).join(", ");
  return {
    name: "packets-lost-by-attachment",
    query: insightsQuery(format, [`filter ${PACKETS_LOST.map((f) => `${q(f)} > 0`).join(" or ")}`, `stats ${sums} by ${q("tgw-attachment-id")}`, `sort ${q("packets-lost-no-route")} desc`, "limit 100"]),
  };
}

/** The saved Logs Insights queries an environment's log format can answer. */
export class InsightsQueries extends Construct {
  readonly queries: CloudwatchQueryDefinition[];

  constructor(scope: Construct, id: string, props: InsightsQueriesProps) {
    super(scope, id);
    const lost = packetsLostQuery(props.format);
    this.queries = [...savedQueries(props.format), ...(lost ? [lost] : [])].map(
      (q) => new CloudwatchQueryDefinition(this, q.name, { provider: props.provider, name: `${props.folder}/${q.name}`, logGroupNames: [props.logGroupName], queryString: q.query }),
    );
  }
}
