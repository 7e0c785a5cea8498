/**
 * The deployed detector's query renderer: the rule declarations rendered by
 * functions/detect/sql.ts, the one place the rules become SQL.
 */
import { findingsFromRows, RuleQuery as SqlRuleQuery, ruleQueries } from "../detect/sql";
import type { QueryRenderer } from "./scheduled";

export const RENDERER: QueryRenderer = {
  athena: (o) => ruleQueries({ dialect: "athena", table: o.table, where: o.where, thresholds: o.thresholds, fields: o.fields }),
  // sql.ts renders each query with its thresholds; the orchestration hands the same object back.
  findings: (q, rows) => findingsFromRows(q as SqlRuleQuery, rows),
};
