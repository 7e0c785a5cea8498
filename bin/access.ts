import * as fs from "fs";
import * as path from "path";
import type { Environment } from "../environments/schema";
import { accessJson, environmentAccess, EvaluatedRow, rowProblem } from "../policies/access";
import { readStack } from "./compliance";
import type { AccessFormat } from "./options";
import { renderTable } from "./table";

export { ACCESS_FORMATS } from "./options";
export type { AccessFormat } from "./options";

/**
 * Every row of each environment: its stack's tasks, then each of its incident stacks' (read
 * with the environment stack as companion), from the synthesized stacks in `outdir`.
 */
export function accessReport(envs: readonly Environment[], outdir: string): EvaluatedRow[] {
  const stacksDir = path.join(outdir, "stacks");
  const synthesized = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : [];
  return envs.flatMap((env) => {
    const incidents = synthesized.filter((n) => n.startsWith(`${env.stackName}-incident-`)).sort().map((name) => ({ name, json: readStack(outdir, name) }));
    // A central archive's stack is synthesized with the environments that deliver to it.
    const central = env.archive.central ? { name: env.archive.central.stackName, json: readStack(outdir, env.archive.central.stackName) } : undefined;
    return environmentAccess(env.name, { name: env.stackName, json: readStack(outdir, env.stackName) }, incidents, central);
  });
}

/** Rows that say the stacks would not work as required: a required step denied, or a forbidden one allowed. */
export const accessFailures = (rows: readonly EvaluatedRow[]) => rows.filter((r) => r.outcome === "fail").map((r) => `${r.environment}: ${rowProblem(r)}`);

const expected = (r: EvaluatedRow) => (r.required ? "allow" : "deny");

function byEnvironment(rows: readonly EvaluatedRow[]): [string, EvaluatedRow[]][] {
  const groups = new Map<string, EvaluatedRow[]>();
  for (const r of rows) groups.set(r.environment, [...(groups.get(r.environment) ?? []), r]);
  return [...groups];
}

/** "182 rows: 182 as required, 0 unverified, 0 not as required". */
function summary(rows: readonly EvaluatedRow[]): string {
  const count = (o: EvaluatedRow["outcome"]) => rows.filter((r) => r.outcome === o).length;
  return `${rows.length} rows: ${count("ok")} as required, ${count("review")} unverified, ${count("fail")} not as required`;
}

/** What to check for each unverified row, once per distinct check. */
const checks = (rows: readonly EvaluatedRow[]) => [...new Set(rows.filter((r) => r.outcome === "review").map((r) => r.why ?? r.note ?? r.fix))];

function renderText(rows: readonly EvaluatedRow[]): string {
  return byEnvironment(rows)
    .map(([env, mine]) => {
      const review = checks(mine);
      const failed = mine.filter((r) => r.outcome === "fail");
      return [
        `${env}: ${summary(mine)}`,
        "",
        renderTable(
          ["principal", "task", "action", "resource", "expected", "decision", "statement"],
          mine.map((r) => [r.principal, r.task, r.action, r.resource, expected(r), r.decision, r.statement]),
        ),
        ...(review.length ? ["", "unverified: a policy outside the stack decides; check:", ...review.map((c) => `  - ${c}`)] : []),
        ...(failed.length ? ["", "not as required:", ...failed.map((r) => `  - ${rowProblem(r)}`)] : []),
      ].join("\n");
    })
    .join("\n\n");
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

function renderMarkdown(rows: readonly EvaluatedRow[]): string {
  const lines = ["# Access matrix", "", "Each role's tasks and every delivery request, decided by the policies of the synthesized stacks (cdktf.out).", ""];
  for (const [env, mine] of byEnvironment(rows)) {
    lines.push(`## ${env}`, "", `${summary(mine)}.`, "", "| principal | task | action | resource | expected | decision | statement | note |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of mine) lines.push(`| ${[r.principal, r.task, `\`${r.action}\``, `\`${r.resource}\``, expected(r), r.outcome === "ok" ? r.decision : `**${r.decision}**`, r.statement, r.note ?? ""].map(mdCell).join(" | ")} |`);
    lines.push("");
  }
  return lines.join("\n");
}

/** The matrix as a table, a JSON list of rows ({ environment, principal, task, action, resource, decision, statement, required, note? }), or Markdown. */
export function renderAccess(rows: readonly EvaluatedRow[], format: AccessFormat): string {
  switch (format) {
    case "table":
      return renderText(rows);
    case "json":
      return JSON.stringify(rows.map(accessJson), null, 2);
    case "md":
      return renderMarkdown(rows);
  }
}
