import { LogFormat, LogFormatError } from "../functions/flowlog/format";
import { RecordParser } from "../functions/flowlog/parser";
import { formatOfFields } from "../functions/flowlog/scanner";
import { DetectionResult, DetectorError } from "../functions/detect/engine";
import type { Finding } from "../functions/detect/findings";
import { skippedSummary } from "../functions/detect/report";
import { detectFiles, FileDetection } from "../functions/detect/run";
import { DEFAULT_THRESHOLDS, DetectorThresholds } from "../functions/detect/thresholds";
import type { Environment } from "../environments/schema";
import { renderTable } from "./table";

/** The AWS default formats by the names --format takes for them (as an environment's logFormat takes "default"). */
const NAMED_FORMATS: Readonly<Record<string, LogFormat>> = { default: LogFormat.DEFAULT, "transit-gateway-default": LogFormat.TRANSIT_GATEWAY_DEFAULT };

/**
 * The log format named by --format: space- or comma-separated catalog fields, of VPC flow logs
 * or of transit-gateway flow logs (a transit-gateway-only field makes it the latter), or
 * `default` or `transit-gateway-default` for the AWS default formats.
 */
export function parseFormatOption(value: string): LogFormat {
  const names = value.split(/[\s,]+/).filter((n) => n.length > 0);
  const named = names.length === 1 ? NAMED_FORMATS[names[0]!] : undefined;
  if (named) return named;
  try {
    return formatOfFields(names);
  } catch (err) {
    if (!(err instanceof LogFormatError)) throw err;
    throw new DetectorError(
      err.problems
        .map((p) => `--format: ${p} (got "${value}"). List flow-log fields from the catalog, all of VPC or all of transit-gateway flow logs, e.g. --format "version srcaddr dstaddr dstport action" or --format transit-gateway-default.`)
        .join("\n"),
      { cause: err },
    );
  }
}

/** What a local run reads files in (until a header line names another format) and the thresholds it applies. */
export interface LocalSettings {
  readonly format: LogFormat;
  /** Where the format came from, named for messages: `--format`, `the format of environment dev (--env)`, or undefined for the AWS default. */
  readonly source: string | undefined;
  readonly thresholds: DetectorThresholds;
}

/** The format and thresholds a local run uses: --format, else the environment's CloudWatch format, else the AWS default. */
export function localSettings(env: Environment | undefined, format: string | undefined): LocalSettings {
  const cwFormat = env?.flowLogs.find((s) => s.destinations.includes("cloudwatch"))?.logFormat;
  return {
    format: format !== undefined ? parseFormatOption(format) : (cwFormat ?? LogFormat.DEFAULT),
    source: format !== undefined ? "--format" : cwFormat !== undefined ? `the format of environment ${env!.name} (--env)` : undefined,
    thresholds: env?.detectors.thresholds ?? DEFAULT_THRESHOLDS,
  };
}

/** A local run, and the notices and the error message the CLI prints for it. */
export interface LocalDetection extends FileDetection {
  /** One line per header line that named another format than the one given, or none: said on stderr. */
  readonly notices: readonly string[];
  /** Why the run analysed nothing, with a hint; undefined when it analysed records. */
  readonly nothingAnalysed: string | undefined;
}

export async function detectLocal(paths: readonly string[], env: Environment | undefined, format: string | undefined): Promise<LocalDetection> {
  const settings = localSettings(env, format);
  const result = await detectFiles(paths, settings.thresholds, settings.format);
  const notices = [...(env ? s3ListNotices(env) : []), ...headerNotices(result, settings)];
  return { ...result, notices, nothingAnalysed: result.stats.analysed > 0 ? undefined : nothingAnalysed(result, settings) };
}

/**
 * One line per threat list the environment keeps in S3: the deployed detector reads it on every
 * run, a local run does not (it would need AWS credentials), so its matches go unchecked here —
 * said, never silent.
 */
export function s3ListNotices(env: Pick<Environment, "name" | "detectors">): string[] {
  return env.detectors.threatIntel.flatMap((l, i) =>
    l.s3 === undefined
      ? []
      : [`${env.name}.detectors.threatIntel[${i}] (${l.name}): ${l.s3} is read by the deployed detector only; this run does not check matches against it. To check them here, download the list and run with an environment that names it by path.`],
  );
}

/** "a.log", "a.log and b.log", "a.log, b.log, c.log and 4 more files". */
function fileList(files: readonly string[]): string {
  if (files.length <= 3) return files.length === 1 ? files[0]! : `${files.slice(0, -1).join(", ")} and ${files[files.length - 1]}`;
  return `${files.slice(0, 3).join(", ")} and ${files.length - 3} more files`;
}

/**
 * What the header lines changed: a header that names no format (its lines were skipped), and,
 * when the format was given (--format or --env), a header that overrides it. One line per
 * distinct header, naming its files.
 */
export function headerNotices(result: FileDetection, settings: LocalSettings): string[] {
  const byText = new Map<string, { files: string[]; problems?: readonly string[] }>();
  for (const { file, header } of result.headers) {
    if (header.format && settings.source === undefined) continue;
    const entry = byText.get(header.text) ?? { files: [], problems: header.problems };
    if (!entry.files.includes(file)) entry.files.push(file);
    byText.set(header.text, entry);
  }
  return [...byText].map(([text, { files, problems }]) =>
    problems
      ? `${fileList(files)}: header line names no format: ${problems.join("; ")} (got "${text}"). The lines under it were skipped (bad-header); correct the header line, or delete it and give the fields with --format.`
      : `${fileList(files)}: header line overrides ${settings.source} (got "${text}" instead of "${settings.format.names.join(" ")}"). The lines under a header line are read in the format it names; ${settings.source} applies to files without one.`,
  );
}

const names = (format: LogFormat) => format.names.join(" ");

/** Bytes no text file holds (NUL, other C0 controls but tab, CR, LF; DEL). */
const BINARY = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** A line as it can be quoted in a message: a JSON string (control characters escaped), of 100 characters at most. */
const quote = (text: string) => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);

/**
 * Why a run read records but analysed none, and what to do: the skip reasons with their counts,
 * then what the first skipped line looks like (binary, JSON, how many fields, the AWS default
 * format or not) against the format it was read in.
 */
export function nothingAnalysed(result: FileDetection, settings: LocalSettings): string {
  const { stats } = result;
  const got = `got ${stats.read} line${stats.read === 1 ? "" : "s"} read, skipped: ${skippedSummary(stats)}`;
  const problem = `detect: no records analysed (${got}).`;
  const sample = result.skippedLines[0];
  const others = Object.keys(stats.skipped).filter((r) => r !== "nodata" && r !== "skipdata" && r !== "truncated-gzip");
  if (stats.read === 0) {
    return stats.skipped["truncated-gzip"]
      ? `${problem} A gzip file ends before its first record: download it again.`
      : `${problem} The files hold no flow-log records (they are empty, or hold only header lines): give files with records.`;
  }
  if (others.length === 0) {
    return `${problem} Every record is NODATA (no traffic on the interface in its interval) or SKIPDATA (AWS skipped records in it): these files hold no traffic to analyse.`;
  }
  if (!sample) return `${problem} Give files of flow-log records, with --format or --env when they are not in the AWS default format.`;
  if (stats.skipped["bad-header"]) {
    return `${problem} A header line names a field the catalog lacks (said above): correct the header line, or delete it and give the fields with --format.`;
  }
  if (BINARY.test(sample.text)) return `${problem} ${sample.file} is not text (it holds control bytes, as a binary file does): give flow-log files, plain or gzip.`;
  if (sample.text.trimStart().startsWith("{")) {
    return `${problem} ${sample.file} holds JSON lines with no "message" string field, e.g. ${quote(sample.text)}: give the flow-log records, or JSON lines that carry each record in "message".`;
  }
  const fields = sample.text.trim().split(/\s+/);
  const expected = sample.format.fields.length;
  const given = names(sample.format) !== names(settings.format) ? "the format of the header line above it" : settings.source ?? "the AWS default format (version 2)";
  const version = /^[2-8]$/.test(fields[0]!) ? `, and its first field reads as record version ${fields[0]}` : "";
  const line = `The first skipped line (${sample.file}, ${sample.reason}) has ${fields.length} field${fields.length === 1 ? "" : "s"}${version}; ${given} has ${expected}: ${quote(sample.text)}.`;
  const fix = `Give the lines' fields in order with --format "<fields>", use --env <env> for an environment's format, or put the files' header line first.`;
  if (names(sample.format) !== names(LogFormat.DEFAULT) && new RecordParser(LogFormat.DEFAULT).parse(sample.text) !== undefined) {
    return `${problem} ${line} It reads as the AWS default format (version 2): run without --format and --env, or give --format "${LogFormat.DEFAULT.names.join(" ")}".`;
  }
  // CloudWatch Logs delivers transit-gateway records without a header line, so they are read in the VPC default format unless told.
  if (names(sample.format) !== names(LogFormat.TRANSIT_GATEWAY_DEFAULT) && new RecordParser(LogFormat.TRANSIT_GATEWAY_DEFAULT).parse(sample.text) !== undefined) {
    return `${problem} ${line} It reads as the AWS default format of transit-gateway flow logs: give --format transit-gateway-default.`;
  }
  if (fields.length === expected) {
    return `${problem} ${line} The count matches but the values do not fit: check that the fields of ${given} are in the files' order. ${fix}`;
  }
  return `${problem} ${line} ${fix}`;
}

/** An on-demand run's findings table and its counts line (remote.ts remoteCounts). */
export function remoteReport(result: { readonly findings: readonly Finding[] }, counts: string): string {
  const { findings } = result;
  if (findings.length === 0) return `No findings.\n${counts}`;
  return `${findingsTable(findings)}\n\n${findings.length} finding${findings.length === 1 ? "" : "s"}. ${counts}`;
}

const findingsTable = (findings: readonly Finding[]) =>
  renderTable(
    ["severity", "rule", "source", "destination", "port", "interface", "window (UTC)", "evidence"],
    findings.map((f) => [f.severity, f.rule, f.src ?? "-", f.dst ?? "-", f.port === undefined ? "-" : String(f.port), f.interfaceId ?? "-", time(f.window.start), evidence(f)]),
  );

const time = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
const evidence = (f: Finding) => Object.entries(f.evidence).map(([k, v]) => `${k}=${v}`).join(" ");

/** The findings table and the read/skip counts, as the CLI prints them. */
export function findingsReport(result: DetectionResult & { truncated?: readonly unknown[] }): string {
  const { stats, findings } = result;
  const capped = result.truncated?.length
    ? ` Warning: ${result.truncated.length} one-minute range${result.truncated.length === 1 ? "" : "s"} hit the Logs Insights 10,000-row cap; records in ${result.truncated.length === 1 ? "it" : "them"} were left out.`
    : "";
  const counts = `Records read ${stats.read}, analysed ${stats.analysed}, skipped: ${skippedSummary(stats)}.${capped}`;
  // The all-clear only for records that were analysed: nothing read is not nothing found.
  if (findings.length === 0) return stats.analysed > 0 ? `No findings.\n${counts}` : `No records analysed: no findings can be reported.\n${counts}`;
  const table = findingsTable(findings);
  return `${table}\n\n${findings.length} finding${findings.length === 1 ? "" : "s"}. ${counts}`;
}

/** The --json document: { stats: { read, analysed, skipped }, findings }. */
export function findingsJson(result: DetectionResult): string {
  return JSON.stringify({ stats: result.stats, findings: result.findings }, null, 2);
}
