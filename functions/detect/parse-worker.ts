/*
 * The parsing side of a parallel local run (parallel.ts): reads the files, scans their lines
 * (the WebAssembly loop, FlowScanner for the rest) and hands every record to the aggregating
 * thread in batches (Aggregator.ship). Runs in a worker thread; see parallel.ts for the protocol.
 */
import * as fs from "fs";
import { parentPort } from "worker_threads";
import type { RecordBatch } from "./aggregates";
import { DetectionEngine, DetectorError } from "./engine";
import { formatOfFields, HeaderLine } from "../flowlog/scanner";
import type { ParseWorkerInput, ParseWorkerMessage, WireHeader, WireSample } from "./parallel";
import { CONTROL_IN_FLIGHT, CONTROL_SATURATED, MAX_BATCHES_IN_FLIGHT } from "./parallel";

const port = parentPort!;
const post = (message: ParseWorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

function run(input: ParseWorkerInput): void {
  const control = new Int32Array(input.control);
  const headers: WireHeader[] = [];
  const onHeader = (h: HeaderLine) => headers.push({ text: h.text, format: h.format?.names, problems: h.problems });
  const engine = new DetectionEngine(input.thresholds, formatOfFields(input.format), { ...input.options, onHeader });
  let samplesSent = 0;
  engine.shipTo((batch: RecordBatch) => {
    // At most MAX_BATCHES_IN_FLIGHT batches wait for the aggregating thread: parsing is the faster side.
    for (;;) {
      const inFlight = Atomics.load(control, CONTROL_IN_FLIGHT);
      if (inFlight < MAX_BATCHES_IN_FLIGHT) break;
      Atomics.wait(control, CONTROL_IN_FLIGHT, inFlight);
    }
    Atomics.add(control, CONTROL_IN_FLIGHT, 1);
    const samples: WireSample[] = engine.skippedLines.slice(samplesSent).map((l) => ({ text: l.text, reason: l.reason, format: l.format.names }));
    samplesSent += samples.length;
    post({ type: "batch", batch, headers: headers.splice(0), samples }, [batch.records.buffer as ArrayBuffer]);
  });
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (const file of input.files) {
    post({ type: "file", file });
    const fd = fs.openSync(file, "r");
    try {
      for (let at = 0; ; ) {
        const n = fs.readSync(fd, chunk, 0, chunk.length, at);
        if (n === 0) break;
        if (Atomics.load(control, CONTROL_SATURATED) === 1) engine.saturateShipping();
        engine.addChunk(chunk.subarray(0, n));
        engine.flushBatch();
        at += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    engine.endStream();
    engine.flushBatch();
  }
  post({ type: "done" });
}

// The input comes as the first message (the worker may have been started before it was known: prestart.js).
port.once("message", (input: ParseWorkerInput) => {
  try {
    run(input);
  } catch (err) {
    const e = err as Error;
    post({ type: "error", message: e.message, detector: err instanceof DetectorError, stack: e.stack });
  }
});
