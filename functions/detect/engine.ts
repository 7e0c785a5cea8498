import type { LogFormat } from "../flowlog/format";
import { FlowScanner, HeaderLine, LineSplitter, SkippedLine } from "../flowlog/scanner";
import { newStats, ParseStats } from "../flowlog/stats";
import { Aggregator } from "./aggregates";
import { Suppressions } from "./context";
import { Finding, sortFindings } from "./findings";
import { RULE_SET } from "./rules";
import { DetectorThresholds } from "./thresholds";

export { DetectorError } from "./errors";

export interface DetectionResult {
  readonly stats: ParseStats;
  readonly findings: readonly Finding[];
  /** Findings dropped by detectors.suppress, by rule. */
  readonly suppressed?: Readonly<Record<string, number>>;
}

export interface EngineOptions {
  /**
   * Records buffered per part of the aggregates before they are added up (see Aggregator);
   * findings never depend on it.
   * @default 16384
   */
  readonly bufferRecords?: number;
  /**
   * Whether plain records are read by the WebAssembly ingest loop (functions/detect/assembly);
   * without it FlowScanner reads every line. Findings and counts never depend on it.
   * @default true
   */
  readonly webAssembly?: boolean;
  /**
   * Called for every header line read, with the format it names or why it names none.
   * @default - nothing is called
   */
  readonly onHeader?: (header: HeaderLine) => void;
}

/**
 * The detection engine: one pass over records into bounded aggregates, then every rule over
 * them. Feed bytes (`addChunk`, then `endStream` per stream) or lines, then call `finish()`.
 */
export class DetectionEngine {
  readonly stats: ParseStats = newStats();
  private readonly scanner: FlowScanner;
  private readonly aggregator: Aggregator;
  private readonly splitter: LineSplitter;

  constructor(
    private readonly thresholds: DetectorThresholds,
    private readonly format: LogFormat,
    options: EngineOptions = {},
  ) {
    this.scanner = new FlowScanner(format, this.stats);
    this.scanner.onHeader = options.onHeader;
    this.aggregator = new Aggregator(thresholds, this.scanner, this.stats, options.bufferRecords, options.webAssembly);
    this.splitter = new LineSplitter((buf, s, e) => this.aggregator.ingestLines(buf, s, e));
  }

  /** Parses and aggregates one flow-log line; malformed lines are counted, never thrown. */
  addLine(line: string): void {
    const buf = Buffer.from(line, "latin1");
    if (this.scanner.scan(buf, 0, buf.length)) this.aggregator.add();
  }

  /** Bytes of the current stream; lines may span chunks. */
  addChunk(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  /** Ends the current stream (its last line may lack a newline); the next starts in the configured format. */
  endStream(): void {
    this.splitter.end();
    this.scanner.use(this.format);
  }

  /** Ends a damaged stream: its partial last line is dropped, not parsed. */
  abortStream(): void {
    this.splitter.discard();
    this.scanner.use(this.format);
  }

  /** The first few lines read and skipped (NODATA and SKIPDATA records aside): what explains a run that analysed nothing. */
  get skippedLines(): readonly SkippedLine[] {
    return this.scanner.samples;
  }

  finish(): DetectionResult {
    const t = this.thresholds;
    const findings: Finding[] = [];
    const suppressions = new Suppressions(t.suppress);
    const suppressed: Record<string, number> = {};
    for (const rule of RULE_SET) {
      for (const f of rule(this.aggregator, t)) {
        if (suppressions.match(f)) suppressed[f.rule] = (suppressed[f.rule] ?? 0) + 1;
        else findings.push(f);
      }
    }
    return { stats: this.stats, findings: sortFindings(findings), suppressed };
  }
}
