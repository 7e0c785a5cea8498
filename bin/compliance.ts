import * as fs from "fs";
import * as path from "path";
import type { Archive } from "../environments/archives/schema";
import type { BrokenIncident } from "../environments/incidents";
import type { Environment } from "../environments/schema";
import { ARCHIVE_STACK_CONTROLS, ControlOutcome, evaluateControls, evaluateIncidentControl, retentionFacts, RetentionFacts } from "../policies/controls";
import type { Evidence, StackJson } from "../policies/controls/stack";
import { environmentAccess, evaluateAccessControls, rowProblem } from "../policies/access";
import { stackDir } from "./synth";
import { checkOutputFile, writeOutputFile } from "./output";
import { renderTable } from "./table";

import type { ReportFormat } from "./options";
export { REPORT_FORMATS } from "./options";
export type { ReportFormat } from "./options";

export interface EnvironmentReport {
  /** An environment's stack, or a central archive's (`flowlogs-archive-<name>`), reported on its own. */
  readonly kind: "environment" | "archive";
  /** The environment's name, or the archive's. */
  readonly environment: string;
  readonly stack: string;
  readonly account: string;
  readonly region: string;
  readonly retention: RetentionFacts;
  readonly controls: readonly ControlOutcome[];
  readonly summary: { readonly passed: number; readonly failed: number; readonly excepted: number; readonly total: number };
  /**
   * Each required task the stack makes impossible (or forbidden task it allows), with the
   * deciding statement and the fix: `synth` prints them and fails. Absent when there are none.
   */
  readonly accessProblems?: readonly string[];
}

export interface ComplianceReport {
  /** The day exceptions were judged against (YYYY-MM-DD, UTC). */
  readonly date: string;
  readonly environments: readonly EnvironmentReport[];
}

/** Broken incident records that concern an environment: those naming it, and those that name none. */
const unreadableIncidents = (env: string, broken: readonly BrokenIncident[]) =>
  broken.filter((b) => b.environment === undefined || b.environment === env).map((b) => `${b.file} cannot be loaded (${b.problems[0]})`);

/** Reads a synthesized stack; its JSON is the evidence. */
export function readStack(outdir: string, stackName: string): StackJson {
  return JSON.parse(fs.readFileSync(path.join(stackDir(outdir, stackName), "cdk.tf.json"), "utf8")) as StackJson;
}

const summaryOf = (controls: readonly ControlOutcome[]) => {
  const count = (r: string) => controls.filter((c) => c.result === r).length;
  return { passed: count("PASS"), failed: count("FAIL"), excepted: count("EXCEPTION"), total: controls.length };
};

/**
 * Evaluates every control on each environment's synthesized stack in `outdir`, and INC-1 on the
 * environment's synthesized incident stacks. For an environment with a central archive, the
 * archive controls are evaluated on the archive's stack and say so. Each archive in `archives`
 * gets a section of its own: ARCHIVE_STACK_CONTROLS on its stack, with its own exceptions.
 */
export function complianceReport(envs: readonly Environment[], outdir: string, now = new Date(), broken: readonly BrokenIncident[] = [], archives: readonly Archive[] = []): ComplianceReport {
  const date = now.toISOString().slice(0, 10);
  const stacksDir = path.join(outdir, "stacks");
  const synthesized = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : [];
  const environments: EnvironmentReport[] = envs.map((env) => {
    const stack = readStack(outdir, env.stackName);
    const central = env.archive.central && { name: env.archive.central.stackName, json: readStack(outdir, env.archive.central.stackName) };
    const incidentStacks = synthesized.filter((n) => n.startsWith(`${env.stackName}-incident-`)).sort().map((name) => ({ name, json: readStack(outdir, name) }));
    const access = environmentAccess(env.name, { name: env.stackName, json: stack }, incidentStacks, central || undefined);
    const accessProblems = access.filter((r) => r.outcome === "fail").map(rowProblem);
    const controls = [
      ...evaluateControls(stack, { vpcs: env.vpcs, centralArchive: central }, env.exceptions, date),
      ...evaluateAccessControls(access, env.exceptions, date),
      evaluateIncidentControl(incidentStacks, now, env.exceptions, date, unreadableIncidents(env.name, broken)),
    ];
    return {
      kind: "environment",
      environment: env.name,
      stack: env.stackName,
      account: env.account,
      region: env.region,
      retention: retentionFacts(stack, central),
      controls,
      summary: summaryOf(controls),
      ...(accessProblems.length ? { accessProblems } : {}),
    };
  });
  const archiveReports: EnvironmentReport[] = archives.map((a) => {
    const stack = readStack(outdir, a.stackName);
    const controls = evaluateControls(stack, { vpcs: [] }, a.exceptions, date, ARCHIVE_STACK_CONTROLS);
    return { kind: "archive", environment: a.name, stack: a.stackName, account: a.account, region: a.region, retention: retentionFacts(stack), controls, summary: summaryOf(controls) };
  });
  return { date, environments: [...environments, ...archiveReports] };
}

/** How a section is named: an environment by its name, an archive as `archive <name>`. */
export const sectionName = (r: Pick<EnvironmentReport, "kind" | "environment">) => (r.kind === "archive" ? `archive ${r.environment}` : r.environment);

export const hasFailures = (r: ComplianceReport) => r.environments.some((e) => e.summary.failed > 0);

const days = (xs: readonly number[]) => (xs.length ? [...new Set(xs)].join(", ") : "-");
const mappings = (c: ControlOutcome) => [c.mappings.cis, c.mappings.securityHub && `Security Hub ${c.mappings.securityHub}`, c.mappings.checkov].filter(Boolean).join("; ") || "-";
const evidenceText = (e: Evidence) => `${e.address}.${e.attribute} = ${JSON.stringify(e.value)}`;

function retentionRows(r: EnvironmentReport): string[][] {
  return [[days(r.retention.cloudWatchDays), days(r.retention.archiveDays), r.retention.transitions.join(" ") || "-", days(r.retention.archiveDays), days(r.retention.noncurrentDays), r.retention.notQueryable.join(", ") || "none", r.retention.objectLock.join(", ") || "none"]];
}
const RETENTION_HEADERS = ["cloudwatch days", "s3 days", "transitions", "expiration", "noncurrent expiry", "not queryable by Athena", "object lock"];

/** One line per environment for `npm start`: "11/13 pass, 2 excepted" or "... 1 FAIL". */
export function controlsSummary(r: EnvironmentReport): string {
  const { passed, failed, excepted, total } = r.summary;
  return `${passed}/${total} pass${excepted ? `, ${excepted} excepted` : ""}${failed ? `, ${failed} FAIL` : ""}`;
}

export function renderTableReport(report: ComplianceReport): string {
  return report.environments
    .map((r) =>
      [
        `${sectionName(r)} (${r.stack}, ${r.account} ${r.region}): ${controlsSummary(r)}`,
        "",
        renderTable(RETENTION_HEADERS, retentionRows(r)),
        "",
        renderTable(
          ["control", "result", "severity", "title", "evidence"],
          r.controls.map((c) => [c.id, c.result, c.severity, c.title, c.evidence[0] ? `${evidenceText(c.evidence[0])}${c.evidence.length > 1 ? ` (+${c.evidence.length - 1})` : ""}` : c.result === "PASS" ? c.message : "-"]),
        ),
        ...r.controls.filter((c) => c.result !== "PASS").map((c) => `  ${c.id} ${c.result}: ${c.message}`),
      ].join("\n"),
    )
    .join("\n\n");
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(report: ComplianceReport): string {
  const lines = [`# Flow-log compliance report`, "", `Evaluated ${report.date} on the synthesized Terraform (cdktf.out).`, ""];
  for (const r of report.environments) {
    lines.push(`## ${sectionName(r)}`, "", `Stack \`${r.stack}\`, account ${r.account}, ${r.region}: **${controlsSummary(r)}**.`, "");
    lines.push(`| ${RETENTION_HEADERS.join(" | ")} |`, `| ${RETENTION_HEADERS.map(() => "---").join(" | ")} |`);
    for (const row of retentionRows(r)) lines.push(`| ${row.map(mdCell).join(" | ")} |`);
    lines.push("", "| control | result | severity | title | mappings | detail | evidence |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const c of r.controls) {
      lines.push(`| ${[c.id, `**${c.result}**`, c.severity, c.title, mappings(c), c.message, c.evidence.map((e) => `\`${evidenceText(e)}\``).join("<br>") || "-"].map(mdCell).join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One self-contained HTML file (inline CSS, no scripts, no external resources). */
export function renderHtml(report: ComplianceReport): string {
  const sections = report.environments.map((r) => {
    const rows = r.controls
      .map(
        (c) => `<tr class="${c.result.toLowerCase()}"><td>${esc(c.id)}</td><td class="result">${c.result}</td><td>${c.severity}</td><td>${esc(c.title)}<div class="map">${esc(mappings(c))}</div></td>` +
          `<td>${esc(c.message)}</td><td><ul>${c.evidence.map((e) => `<li><code>${esc(evidenceText(e))}</code></li>`).join("")}</ul></td></tr>`,
      )
      .join("\n");
    return `<section id="${esc(r.kind === "archive" ? `archive-${r.environment}` : r.environment)}"><h2>${esc(sectionName(r))} <span class="summary">${esc(controlsSummary(r))}</span></h2>
<p>Stack <code>${esc(r.stack)}</code>, account ${esc(r.account)}, ${esc(r.region)}.</p>
<table class="retention"><thead><tr>${RETENTION_HEADERS.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${retentionRows(r).map((row) => `<tr>${row.map((v) => `<td>${esc(v)}</td>`).join("")}</tr>`).join("")}</tbody></table>
<table class="controls"><thead><tr><th>control</th><th>result</th><th>severity</th><th>title</th><th>detail</th><th>evidence</th></tr></thead><tbody>
${rows}
</tbody></table></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flow-log compliance report ${esc(report.date)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}.summary{font-weight:normal;color:#555;font-size:.95rem}
table{border-collapse:collapse;width:100%;margin:.75rem 0}th,td{border:1px solid #d0d0d0;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3}code{font-size:12px;word-break:break-all}table.controls td:last-child{width:40%}ul{margin:0;padding-left:1rem}.map{color:#666;font-size:12px}
tr.pass .result{background:#e3f6e5;color:#0a6b1d;font-weight:600}tr.fail .result{background:#fde4e4;color:#a00;font-weight:600}
tr.exception .result{background:#fff4d6;color:#8a5a00;font-weight:600}
</style></head><body>
<h1>Flow-log compliance report</h1>
<p>Evaluated ${esc(report.date)} on the synthesized Terraform (cdktf.out): every result's evidence is a resource attribute Terraform will apply.</p>
${sections.join("\n")}
</body></html>
`;
}

export function renderReport(report: ComplianceReport, format: ReportFormat): string {
  switch (format) {
    case "table":
      return renderTableReport(report);
    case "md":
      return renderMarkdown(report);
    case "json":
      return JSON.stringify(report, null, 2);
    case "html":
      return renderHtml(report);
  }
}

/** Writes a report file atomically (temp file, then rename). */
export function writeReport(file: string, text: string): void {
  writeOutputFile(file, text, "--out", isComplianceReport);
}

/** Refuses a report path before any work: a folder, or an existing file that is not an earlier report. */
export function checkReportPath(file: string): void {
  checkOutputFile(file, "--out", isComplianceReport);
}

/** Whether a file is an earlier report of `compliance`, in any of its formats: only such a file is replaced. */
export function isComplianceReport(text: string): boolean {
  if (text.startsWith("# Flow-log compliance report\n")) return true;
  if (/^<!doctype html>[\s\S]{0,200}<title>Flow-log compliance report /i.test(text)) return true;
  if (/^\S+ \(flowlogs-[^\n]*\n\ncloudwatch days/.test(text)) return true;
  try {
    const doc = JSON.parse(text) as { date?: unknown; environments?: unknown };
    return typeof doc.date === "string" && Array.isArray(doc.environments);
  } catch {
    return false;
  }
}
