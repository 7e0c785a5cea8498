import type { ParseStats } from "../flowlog/parser";
import type { Finding } from "./findings";

const time = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/** One line per skip reason, e.g. "too-few-fields 3, nodata 12"; "none" when nothing was skipped. */
export function skippedSummary(stats: ParseStats): string {
  const entries = Object.entries(stats.skipped).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(", ") : "none";
}

/**
 * The SNS message: a subject and a body a person on call can act on without opening a console.
 * SNS limits subjects to 100 characters.
 */
export function snsMessage(environment: string, findings: readonly Finding[], stats: ParseStats): { subject: string; message: string } {
  const worst = findings[0];
  const subject = `[flowlog-kit ${environment}] ${findings.length} finding${findings.length === 1 ? "" : "s"}${worst ? `, worst ${worst.severity}: ${worst.title}` : ""}`.slice(0, 100);
  const lines = [
    `flowlog-kit found ${findings.length} finding${findings.length === 1 ? "" : "s"} in ${environment}.`,
    `Records read ${stats.read}, analysed ${stats.analysed}, skipped: ${skippedSummary(stats)}.`,
    "",
    ...findings.map((f) =>
      [
        `${f.severity}  ${f.title}`,
        `  ${f.description}`,
        `  window ${time(f.window.start)} - ${time(f.window.end)}${f.interfaceId ? `, ${f.interfaceId.startsWith("tgw-attach-") ? "attachment" : "interface"} ${f.interfaceId}` : ""}`,
        `  evidence ${Object.entries(f.evidence).map(([k, v]) => `${k}=${v}`).join(" ")}`,
        `  id ${f.id}`,
      ].join("\n"),
    ),
  ];
  return { subject, message: lines.join("\n") };
}
