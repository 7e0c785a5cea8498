/*
 * A local run over large plain files on two threads: a worker thread reads and scans the lines
 * (parse-worker.ts: the WebAssembly loop and FlowScanner, as a run on one thread does) and hands
 * the records on in batches of about a megabyte of input; this thread adds them up, closes
 * windows and runs the rules (Aggregator.receive). The worker gives out the address, interface
 * and window ids, and each batch carries the names behind the new ones, so both sides hold the
 * same ids and the findings, counts and skipped lines are those of a run on one thread.
 *
 * Parsing is the faster side: at most MAX_BATCHES_IN_FLIGHT batches wait (the worker blocks on
 * a shared counter), so memory does not grow with the input. When the row budget runs out here,
 * a shared flag tells the worker to stop interning addresses, as FlowScanner does on one thread.
 */
import * as path from "path";
import { Worker } from "worker_threads";
import type { RecordBatch } from "./aggregates";
import { DetectionEngine, DetectorError, EngineOptions } from "./engine";
import type { DetectorThresholds } from "./thresholds";
import type { LogFormat } from "../flowlog/format";
import { formatOfFields, HeaderLine, SkippedLine } from "../flowlog/scanner";
import type { SkipReason } from "../flowlog/stats";

/** Words of the shared control block: batches posted and not yet added up; 1 once the worker should stop interning. */
export const CONTROL_IN_FLIGHT = 0;
export const CONTROL_STOP_INTERNING = 1;
/** Batches (about a megabyte of input each) that may wait for this thread. */
export const MAX_BATCHES_IN_FLIGHT = 8;
/**
 * Plain input this large (bytes, all files) is read on two threads: below it the worker's
 * start-up (a second Node isolate loading the kit, about a third of a second) costs more than
 * the parsing it takes over saves.
 */
export const PARALLEL_MIN_BYTES = 64 << 20;

/** What the worker is given. */
export interface ParseWorkerInput {
  readonly files: readonly string[];
  readonly thresholds: DetectorThresholds;
  /** The format's field names (formatOfFields rebuilds it). */
  readonly format: readonly string[];
  readonly options: Pick<EngineOptions, "bufferRecords" | "webAssembly" | "windowLimit">;
  readonly control: SharedArrayBuffer;
}

/** A header line as posted: its format as field names. */
export interface WireHeader {
  readonly text: string;
  readonly format?: readonly string[];
  readonly problems?: readonly string[];
}

/** A skipped line as posted: its format as field names. */
export interface WireSample {
  readonly text: string;
  readonly reason: SkipReason;
  readonly format: readonly string[];
}

/** What the worker posts: a file begins, a batch (with the header lines and skipped lines read since the last), the end, or why it stopped. */
export type ParseWorkerMessage =
  | { readonly type: "file"; readonly file: string }
  | { readonly type: "batch"; readonly batch: RecordBatch; readonly headers: readonly WireHeader[]; readonly samples: readonly WireSample[] }
  | { readonly type: "done" }
  | { readonly type: "error"; readonly message: string; readonly detector: boolean; readonly stack?: string };

/** What the caller learns as the worker reads: which file it is in, its header lines and its skipped lines (in order). */
export interface ParallelEvents {
  file(file: string): void;
  header(header: HeaderLine): void;
}

/**
 * Reads plain flow-log files on a worker thread into `engine` (which adds up, closes windows and
 * runs the rules here); resolves once every record has been added up. `engine.finish()` is the
 * caller's.
 * @throws DetectorError as the worker's run would have thrown it on one thread
 */
export function readInParallel(
  engine: DetectionEngine,
  files: readonly string[],
  thresholds: DetectorThresholds,
  format: LogFormat,
  events: ParallelEvents,
  options: ParseWorkerInput["options"] = {},
): Promise<void> {
  const control = new SharedArrayBuffer(8);
  const words = new Int32Array(control);
  const input: ParseWorkerInput = { files, thresholds, format: format.names, options, control };
  const worker = new Worker(path.join(__dirname, "parse-worker.js"), { workerData: input });
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(err);
    };
    worker.on("message", (m: ParseWorkerMessage) => {
      if (settled) return;
      try {
        if (m.type === "file") events.file(m.file);
        else if (m.type === "batch") {
          for (const h of m.headers) events.header({ text: h.text, format: h.format ? formatOfFields(h.format) : undefined, problems: h.problems });
          engine.addSkippedLines(m.samples.map((s): SkippedLine => ({ text: s.text, reason: s.reason, format: formatOfFields(s.format) })));
          engine.receive(m.batch);
          if (engine.saturated) Atomics.store(words, CONTROL_STOP_INTERNING, 1);
          Atomics.sub(words, CONTROL_IN_FLIGHT, 1);
          Atomics.notify(words, CONTROL_IN_FLIGHT);
        } else if (m.type === "done") {
          settled = true;
          resolve();
        } else {
          const err = m.detector ? new DetectorError(m.message) : new Error(`detect: the parsing worker stopped: ${m.message}`);
          if (!m.detector && m.stack) err.stack = m.stack;
          fail(err);
        }
      } catch (err) {
        fail(err as Error);
      }
    });
    worker.on("error", (err) => fail(err));
    worker.on("exit", (code) => fail(new Error(`detect: the parsing worker exited (code ${code}) before it finished`)));
  });
}
