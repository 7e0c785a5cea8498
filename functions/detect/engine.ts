import type { LogFormat } from "../flowlog/format";
import { FlowScanner, HeaderLine, LineSplitter, SAMPLES_KEPT, SkippedLine } from "../flowlog/scanner";
import { newStats, ParseStats } from "../flowlog/stats";
import { Aggregator, RecordBatch, RunAggregates } from "./aggregates";
import { Suppressions } from "./context";
import { Finding, SEVERITIES, sortFindings } from "./findings";
import { LONG_RULES, Rule, RUN_RULES, SHORT_RULES } from "./rules";
import { DetectorThresholds, longHorizon } from "./thresholds";

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
   * Distinct short windows one run holds (records of later windows are counted as
   * `window-limit`): tests lower it to reach the limit with few records.
   * @default 16384 (56 days of 5-minute windows)
   */
  readonly windowLimit?: number;
  /**
   * Called for every header line read, with the format it names or why it names none.
   * @default - nothing is called
   */
  readonly onHeader?: (header: HeaderLine) => void;
}

/**
 * The detection engine: one pass over records into aggregates per window; as the input's time
 * passes a window, the rules of its horizon run on it and its state is released (see
 * aggregates.ts), and at the end the rest of the windows and the run-wide rules. Feed bytes
 * (`addChunk`, then `endStream` per stream) or lines, then call `finish()`.
 */
export class DetectionEngine {
  readonly stats: ParseStats = newStats();
  private readonly scanner: FlowScanner;
  private readonly aggregator: Aggregator;
  private readonly splitter: LineSplitter;
  /**
   * Findings so far by id. A window reopened by late records is judged again; a finding of the
   * same rule, key and window (the same id) keeps the more severe of the two, the first on a tie.
   */
  private readonly found = new Map<string, Finding>();
  private readonly longThresholds: DetectorThresholds;

  constructor(
    private readonly thresholds: DetectorThresholds,
    private readonly format: LogFormat,
    options: EngineOptions = {},
  ) {
    this.scanner = new FlowScanner(format, this.stats);
    this.scanner.onHeader = options.onHeader;
    this.aggregator = new Aggregator(thresholds, this.scanner, this.stats, options.bufferRecords, options.webAssembly, options.windowLimit);
    this.longThresholds = longHorizon(thresholds);
    this.aggregator.onClose = {
      // Long findings wait for the short windows closed in the same check (see shortFound).
      long: (view) => (this.pendingLong = LONG_RULES.flatMap((rule) => rule(view, this.longThresholds))),
      short: (view) => {
        this.keep(SHORT_RULES, view, this.thresholds);
        this.keepFound(this.pendingLong.filter((f) => !this.shortFound(f)), false);
        this.pendingLong = [];
      },
    };
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

  /**
   * Parsing worker (parallel.ts): from now on the records read are handed to `sink` in batches
   * (see Aggregator.ship), never added up here; `flushBatch` hands on what waits.
   */
  shipTo(sink: (batch: RecordBatch) => void): void {
    this.aggregator.sink = sink;
  }

  /** Hands the records waiting to the sink set by `shipTo`. */
  flushBatch(): void {
    this.aggregator.flush();
  }

  /** A parsing worker, once the aggregating side's row budget ran out: every later record is counted as `row-budget`, and no address is interned (Aggregator.saturateShipping). */
  saturateShipping(): void {
    this.aggregator.saturateShipping();
  }

  /** Adds up a batch a parsing worker read (Aggregator.receive); its skipped lines and headers are the caller's. */
  receive(batch: RecordBatch): void {
    this.aggregator.receive(batch);
  }

  /** Adds skipped lines a parsing worker kept (up to the few a run keeps). */
  addSkippedLines(lines: readonly SkippedLine[]): void {
    const samples = this.scanner.samples;
    for (const line of lines) if (samples.length < SAMPLES_KEPT) samples.push(line);
  }

  /** Whether the row budget has run out (a parsing worker may then stop interning addresses). */
  get saturated(): boolean {
    return this.aggregator.saturatedRows >= 0;
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

  /** Aggregate rows held now (records waiting are added up first): what the engine's memory follows. */
  liveRows(): number {
    return this.aggregator.liveRows();
  }

  /** The most aggregate rows held at once so far. */
  get peakRows(): number {
    return this.aggregator.peakRows;
  }

  /** Windows judged more than once because records reached them after they closed. */
  get reopenedWindows(): number {
    return this.aggregator.reopened;
  }

  /** Long-horizon findings of the check under way. */
  private pendingLong: Finding[] = [];

  /**
   * Short-window findings by rule and endpoints, with their window starts: a long-horizon
   * finding is only news when no short window within it found the same (a fast scan is not
   * reported again as a slow one). Short windows close before the long window holding them.
   */
  private readonly shortStarts = new Map<string, number[]>();

  private shortFound(f: Finding): boolean {
    const starts = this.shortStarts.get(`${f.rule}|${f.src ?? ""}|${f.dst ?? ""}|${f.port ?? ""}`);
    return starts !== undefined && starts.some((s) => s >= f.window.start && s < f.window.end);
  }

  private keep(rules: readonly Rule[], run: RunAggregates, t: DetectorThresholds): void {
    this.keepFound(rules.flatMap((rule) => rule(run, t)), run.horizon.name === "short" && run !== this.aggregator);
  }

  private keepFound(findings: readonly Finding[], short: boolean): void {
    for (const f of findings) {
      if (short) {
        const key = `${f.rule}|${f.src ?? ""}|${f.dst ?? ""}|${f.port ?? ""}`;
        const starts = this.shortStarts.get(key);
        if (starts) starts.push(f.window.start);
        else this.shortStarts.set(key, [f.window.start]);
      }
      const prev = this.found.get(f.id);
      if (!prev || SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(prev.severity)) this.found.set(f.id, f);
    }
  }

  /** Closes every window still open, runs the run-wide rules, and returns every finding (suppressions applied). */
  finish(): DetectionResult {
    const t = this.thresholds;
    this.aggregator.closeAll();
    this.keep(RUN_RULES, this.aggregator, t);
    const suppressions = new Suppressions(t.suppress);
    const suppressed: Record<string, number> = {};
    const findings: Finding[] = [];
    for (const f of this.found.values()) {
      if (suppressions.match(f)) suppressed[f.rule] = (suppressed[f.rule] ?? 0) + 1;
      else findings.push(f);
    }
    return { stats: this.stats, findings: sortFindings(findings), suppressed };
  }
}
