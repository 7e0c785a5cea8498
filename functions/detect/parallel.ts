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
 * a shared flag tells the worker, which then counts every record it reads as `row-budget` and interns no more addresses, as a run on one thread does past that point. Which records are analysed then differs from one thread by at most the batches in flight (windows close at other moments); every record is still counted once.
 */
import * as path from "path";
import { Worker } from "worker_threads";
import type { RecordBatch } from "./aggregates";
import { DetectionEngine, DetectorError, EngineOptions } from "./engine";
import type { DetectorThresholds } from "./thresholds";
import type { LogFormat } from "../flowlog/format";
import { formatOfFields, HeaderLine, SkippedLine } from "../flowlog/scanner";
import type { SkipReason } from "../flowlog/stats";

/** Words of the shared control block: batches posted and not yet added up; 1 once the row budget has run out here (the worker then counts every record as row-budget and interns nothing). */
export const CONTROL_IN_FLIGHT = 0;
export const CONTROL_SATURATED = 1;
/**
 * Batches (about a megabyte of input each, 9,000 records of 64 bytes) that may wait for this
 * thread: enough for the worker to keep parsing while this thread adds up what it has gathered
 * (it adds up when a window may close, every few hundred thousand records); 8 left each thread
 * idle a third of the time.
 */
export const MAX_BATCHES_IN_FLIGHT = 64;
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

/** The key prestart.js keeps its worker under. */
const PRESTARTED = Symbol.for("flowlog-kit.parse-worker");

interface Prestarted {
  readonly worker: Worker;
  readonly early: { error?: Error; exit?: number }[];
}

/** The worker prestart.js started, taken (once). */
function takePrestarted(): Prestarted | undefined {
  const g = globalThis as unknown as Record<symbol, Prestarted | undefined>;
  const p = g[PRESTARTED];
  g[PRESTARTED] = undefined;
  return p;
}

/** Stops the worker prestart.js started when the run reads on one thread. */
export function stopPrestarted(): void {
  void takePrestarted()?.worker.terminate();
}

/** A parsing worker started early (its start-up overlaps the caller's), and how to read its records into an engine. */
export interface ParsingWorker {
  /**
   * Adds up every record the worker reads into `engine` (which closes windows and runs the rules
   * here); resolves once all are added up. `engine.finish()` is the caller's.
   * @throws DetectorError as the run on one thread would have thrown it
   */
  readInto(engine: DetectionEngine, events: ParallelEvents): Promise<void>;
  /** Stops the worker (a run abandoned before `readInto`). */
  stop(): void;
}

/** Starts a worker reading plain flow-log files (see the top of this file); its messages wait for `readInto`. */
export function startParsing(files: readonly string[], thresholds: DetectorThresholds, format: LogFormat, options: ParseWorkerInput["options"] = {}): ParsingWorker {
  const control = new SharedArrayBuffer(8);
  const words = new Int32Array(control);
  const input: ParseWorkerInput = { files, thresholds, format: format.names, options, control };
  // A worker the CLI started early (prestart.js), or a new one; it starts on its input.
  const prestarted = takePrestarted();
  const worker = prestarted?.worker ?? new Worker(path.join(__dirname, "parse-worker.js"));
  worker.ref();
  // Until readInto attaches its handlers, what the worker says waits here.
  const early: { message?: ParseWorkerMessage; error?: Error; exit?: number }[] = [...(prestarted?.early ?? [])];
  let handle = (e: (typeof early)[number]) => void early.push(e);
  worker.removeAllListeners();
  worker.on("message", (message: ParseWorkerMessage) => handle({ message }));
  worker.on("error", (error) => handle({ error }));
  worker.on("exit", (exit) => handle({ exit }));
  worker.postMessage(input);
  return {
    stop: () => void worker.terminate(),
    readInto: (engine, events) =>
      new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (err: Error) => {
          if (settled) return;
          settled = true;
          void worker.terminate();
          reject(err);
        };
        const onMessage = (m: ParseWorkerMessage) => {
          if (m.type === "file") events.file(m.file);
          else if (m.type === "batch") {
            for (const h of m.headers) events.header({ text: h.text, format: h.format ? formatOfFields(h.format) : undefined, problems: h.problems });
            engine.addSkippedLines(m.samples.map((x): SkippedLine => ({ text: x.text, reason: x.reason, format: formatOfFields(x.format) })));
            engine.receive(m.batch);
            if (engine.saturated) Atomics.store(words, CONTROL_SATURATED, 1);
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
        };
        handle = (e) => {
          if (settled) return;
          try {
            if (e.message) onMessage(e.message);
            else if (e.error) fail(e.error);
            else fail(new Error(`detect: the parsing worker exited (code ${e.exit}) before it finished`));
          } catch (err) {
            fail(err as Error);
          }
        };
        for (const e of early.splice(0)) handle(e);
      }),
  };
}
