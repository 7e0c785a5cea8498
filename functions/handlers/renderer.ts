/**
 * The deployed detector's query renderer: the rule declarations rendered by
 * functions/detect/sql.ts, the one place the rules become SQL (Athena's, and Logs Insights' OpenSearch SQL).
 */
import { C2_BEACONING, DECLARATIONS } from "../detect/declarations";
import { RULES } from "../detect/findings";
import { ANOMALY_RULE, cloudwatchRuleSet, findingsFromRows, ruleQueries, SKIPPED_RULE } from "../detect/sql";
import type { QueryRenderer, RuleQuery } from "./scheduled";

/** A rendered query as sql.ts gives it: findingsFromRows reads its thresholds (and horizon). */
type Rendered = RuleQuery & Parameters<typeof findingsFromRows>[0];

/** The finding rules each declaration reports (brute-force by port). */
const REPORTS: ReadonlyMap<string, readonly string[]> = new Map([
  ...DECLARATIONS.map((d) => [d.id, typeof d.rule === "string" ? [d.rule] : [...new Set([...Object.values(d.rule.byPort), d.rule.otherwise])]] as const),
  // c2-beaconing's query (sql.ts beaconQuery) reports its own rule, as do the run-wide rules' (anomalyQuery, skippedQuery).
  [C2_BEACONING.id, [C2_BEACONING.rule]] as const,
  [ANOMALY_RULE, [ANOMALY_RULE]] as const,
  [SKIPPED_RULE, [SKIPPED_RULE]] as const,
]);

export const RENDERER: QueryRenderer = {
  athena: (o) => ruleQueries({ dialect: "athena", table: o.table, where: o.where, thresholds: o.thresholds, fields: o.fields }),
  // A query too long for StartQuery (a threat list read from S3 grown past synth's margin) is left
  // out; the other rules still run, and the run reports it once (insightsLeftOut), not per render.
  insights: (o) => [...cloudwatchRuleSet({ logGroupName: o.logGroupName, fields: o.format.names, thresholds: o.thresholds, start: o.start, end: o.end }).queries],
  insightsLeftOut: (o) => cloudwatchRuleSet({ logGroupName: o.logGroupName, fields: o.format.names, thresholds: o.thresholds, start: o.start, end: o.end }).tooLong.map((q) => q.message),
  rules: [...DECLARATIONS.map((d) => d.id), C2_BEACONING.id, ANOMALY_RULE, SKIPPED_RULE],
  reports: (rule) => REPORTS.get(rule) ?? [rule],
  // The engine's rules without a query (detector-saturated: the engine's own row budget).
  engineOnly: Object.keys(RULES).filter((r) => ![...REPORTS.values()].some((reported) => reported.includes(r))),
  // sql.ts renders each query with its thresholds; the orchestration hands the same object back.
  findings: (q, rows) => findingsFromRows(q as Rendered, rows),
};

