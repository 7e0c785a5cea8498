/**
 * The deployed detector's query renderer: the rule declarations rendered by
 * functions/detect/sql.ts, the one place the rules become SQL and Logs Insights queries.
 */
import { DECLARATIONS } from "../detect/declarations";
import { findingsFromRows, insightsRuleQueries, ruleQueries } from "../detect/sql";
import type { QueryRenderer, RuleQuery } from "./scheduled";

/** A rendered query as sql.ts gives it: findingsFromRows reads its thresholds (and horizon). */
type Rendered = RuleQuery & Parameters<typeof findingsFromRows>[0];

export const RENDERER: QueryRenderer = {
  athena: (o) => ruleQueries({ dialect: "athena", table: o.table, where: o.where, thresholds: o.thresholds, fields: o.fields }),
  insights: (o) => insightsRuleQueries({ format: o.format, thresholds: o.thresholds }).map(({ query, ...q }) => ({ ...q, sql: query })),
  rules: DECLARATIONS.map((d) => d.id),
  // sql.ts renders each query with its thresholds; the orchestration hands the same object back.
  findings: (q, rows) => findingsFromRows(q as Rendered, rows),
};
