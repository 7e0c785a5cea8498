import { LogFormat, LogFormatError } from "../functions/flowlog/format";
import { DetectionResult, DetectorError } from "../functions/detect/engine";
import type { Finding } from "../functions/detect/findings";
import { skippedSummary } from "../functions/detect/report";
import { detectFiles } from "../functions/detect/run";
import { DEFAULT_THRESHOLDS, DetectorThresholds } from "../functions/detect/thresholds";
import type { Environment } from "../environments/schema";
import { renderTable } from "./table";

/** The log format named by --format (space- or comma-separated catalog fields). */
export function parseFormatOption(value: string): LogFormat {
  const names = value.split(/[\s,]+/).filter((n) => n.length > 0);
  try {
    return LogFormat.custom(names, "vpc");
  } catch (err) {
    if (!(err instanceof LogFormatError)) throw err;
    throw new DetectorError(
      err.problems.map((p) => `--format: ${p} (got "${value}"). List flow-log fields from the catalog, e.g. --format "version srcaddr dstaddr dstport action".`).join("\n"),
      { cause: err },
    );
  }
}

/** The format and thresholds a local run uses: --format, else the environment's CloudWatch format, else the AWS default. */
export function localSettings(env: Environment | undefined, format: string | undefined): { format: LogFormat; thresholds: DetectorThresholds } {
  const cwFormat = env?.flowLogs.find((s) => s.destinations.includes("cloudwatch"))?.logFormat;
  return {
    format: format !== undefined ? parseFormatOption(format) : (cwFormat ?? LogFormat.DEFAULT),
    thresholds: env?.detectors.thresholds ?? DEFAULT_THRESHOLDS,
  };
}

export async function detectLocal(paths: readonly string[], env: Environment | undefined, format: string | undefined): Promise<DetectionResult> {
  const settings = localSettings(env, format);
  return detectFiles(paths, settings.thresholds, settings.format);
}

const time = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
const evidence = (f: Finding) => Object.entries(f.evidence).map(([k, v]) => `${k}=${v}`).join(" ");

/** The findings table and the read/skip counts, as the CLI prints them. */
export function findingsReport(result: DetectionResult & { truncated?: readonly unknown[] }): string {
  const { stats, findings } = result;
  const capped = result.truncated?.length
    ? ` Warning: ${result.truncated.length} one-minute range${result.truncated.length === 1 ? "" : "s"} hit the Logs Insights 10,000-row cap; records in ${result.truncated.length === 1 ? "it" : "them"} were left out.`
    : "";
  const counts = `Records read ${stats.read}, analysed ${stats.analysed}, skipped: ${skippedSummary(stats)}.${capped}`;
  if (findings.length === 0) return `No findings.\n${counts}`;
  const table = renderTable(
    ["severity", "rule", "source", "destination", "port", "interface", "window (UTC)", "evidence"],
    findings.map((f) => [f.severity, f.rule, f.src ?? "-", f.dst ?? "-", f.port === undefined ? "-" : String(f.port), f.interfaceId ?? "-", time(f.window.start), evidence(f)]),
  );
  return `${table}\n\n${findings.length} finding${findings.length === 1 ? "" : "s"}. ${counts}`;
}

/** The --json document: { stats: { read, analysed, skipped }, findings }. */
export function findingsJson(result: DetectionResult): string {
  return JSON.stringify({ stats: result.stats, findings: result.findings }, null, 2);
}
