import { Construct } from "constructs";
import { CloudwatchQueryDefinition } from "@cdktf/provider-aws/lib/cloudwatch-query-definition";
import { LogFormat } from "../functions/flowlog/format";
import { savedQueries } from "../functions/flowlog/queries";

export interface InsightsQueriesProps {
  /** Folder in the Logs Insights console: queries are `<folder>/<name>`. */
  readonly folder: string;
  readonly logGroupName: string;
  /** The log group's format: parse pattern and field names come from it. */
  readonly format: LogFormat;
}

/** The saved Logs Insights queries an environment's log format can answer. */
export class InsightsQueries extends Construct {
  readonly queries: CloudwatchQueryDefinition[];

  constructor(scope: Construct, id: string, props: InsightsQueriesProps) {
    super(scope, id);
    this.queries = savedQueries(props.format).map(
      (q) => new CloudwatchQueryDefinition(this, q.name, { name: `${props.folder}/${q.name}`, logGroupNames: [props.logGroupName], queryString: q.query }),
    );
  }
}
