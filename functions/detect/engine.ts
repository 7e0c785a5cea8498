import type { LogFormat } from "../flowlog/format";
import { FlowRecord, newStats, ParseStats, RecordParser } from "../flowlog/parser";
import { Aggregator } from "./aggregates";
import { Finding, sortFindings } from "./findings";
import { anomalies, beaconing, WINDOW_RULES } from "./rules";
import { DetectorThresholds } from "./thresholds";

/** A detection run that cannot proceed (bad input the caller must fix); `cause` holds the original error. */
export class DetectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DetectorError";
  }
}

export interface DetectionResult {
  readonly stats: ParseStats;
  readonly findings: readonly Finding[];
}

/**
 * The detection engine: one pass over records into bounded aggregates, then every rule over
 * them. Feed lines (or records), then call `finish()`.
 */
export class DetectionEngine {
  readonly stats: ParseStats = newStats();
  private readonly aggregator: Aggregator;
  private readonly parser: RecordParser;

  constructor(
    private readonly thresholds: DetectorThresholds,
    format: LogFormat,
  ) {
    this.aggregator = new Aggregator(thresholds);
    this.parser = new RecordParser(format, this.stats);
  }

  /** Parses and aggregates one flow-log line; malformed lines are counted, never thrown. */
  addLine(line: string): void {
    const rec = this.parser.parse(line);
    if (rec) this.aggregator.add(rec);
  }

  addRecord(rec: FlowRecord): void {
    this.aggregator.add(rec);
  }

  /** Starts a new file: the next header line (if any) names its format. */
  resetFormat(format: LogFormat): void {
    this.parser.use(format);
  }

  finish(): DetectionResult {
    const t = this.thresholds;
    const findings: Finding[] = [];
    for (const w of this.aggregator.windows.values()) for (const rule of WINDOW_RULES) findings.push(...rule(w, t));
    findings.push(...beaconing(this.aggregator.beacons, t));
    findings.push(...anomalies(this.aggregator.groups, t));
    return { stats: this.stats, findings: sortFindings(findings) };
  }
}
