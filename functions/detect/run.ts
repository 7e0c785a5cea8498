import * as fs from "fs";
import type { Readable } from "stream";
import type { LogFormat } from "../flowlog/format";
import { expandPaths, isGzip, streamChunks } from "../flowlog/sources";
import { DetectionEngine, DetectionResult, DetectorError } from "./engine";
import type { DetectorThresholds } from "./thresholds";

/** Feeds one stream (plain or gzip) into the engine. */
export async function feedStream(engine: DetectionEngine, stream: Readable): Promise<void> {
  let damaged = false;
  for await (const chunk of streamChunks(stream, engine.stats, () => (damaged = true))) engine.addChunk(chunk);
  if (damaged) engine.abortStream();
  else engine.endStream();
}

/** Runs the engine over local files and folders of them (plain or gzip). */
export async function detectFiles(paths: readonly string[], thresholds: DetectorThresholds, format: LogFormat): Promise<DetectionResult> {
  let files: string[];
  try {
    files = expandPaths(paths);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DetectorError(`${e.path ?? paths.join(", ")}: cannot read (got ${e.code ?? e.message}). Give flow-log files or folders that exist.`, { cause: err });
  }
  if (files.length === 0) throw new DetectorError(`${paths.join(", ")}: no files found (got empty folders). Give flow-log files or folders that hold them.`);
  const engine = new DetectionEngine(thresholds, format);
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (const file of files) {
    const fd = fs.openSync(file, "r");
    try {
      const head = fs.readSync(fd, chunk, 0, 2, 0);
      if (isGzip(chunk.subarray(0, head))) {
        await feedStream(engine, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
        continue;
      }
      // Plain text: read into one buffer over and over (the engine keeps nothing of a chunk),
      // which spares a fresh megabyte (and its page faults) per chunk.
      for (let at = 0; ; ) {
        const n = fs.readSync(fd, chunk, 0, chunk.length, at);
        if (n === 0) break;
        engine.addChunk(chunk.subarray(0, n));
        at += n;
      }
      engine.endStream();
    } finally {
      fs.closeSync(fd);
    }
  }
  return engine.finish();
}
