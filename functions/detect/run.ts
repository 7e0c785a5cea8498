import * as fs from "fs";
import type { Readable } from "stream";
import type { LogFormat } from "../flowlog/format";
import type { HeaderLine, SkippedLine } from "../flowlog/scanner";
import { fileSource, isParquet, isParquetName, ParquetFileError, parquetLines, ParquetSource } from "../flowlog/parquet";
import { expandPaths, isGzip, streamChunks } from "../flowlog/sources";
import { DetectionEngine, DetectionResult, DetectorError } from "./engine";
import { PARALLEL_MIN_BYTES, ParsingWorker, startParsing, stopPrestarted } from "./parallel";
import type { DetectorThresholds } from "./thresholds";

/** A run over local files: what it found, and what the person running it needs to know about how the files were read. */
export interface FileDetection extends DetectionResult {
  /** Header lines that name another format than the one given, or none (each distinct one once per file). */
  readonly headers: readonly { readonly file: string; readonly header: HeaderLine }[];
  /** The first few lines skipped (NODATA and SKIPDATA records aside), with their file. */
  readonly skippedLines: readonly (SkippedLine & { readonly file: string })[];
  /** Threads the run read on: 2 when a worker parsed the plain files (parallel.ts), else 1. */
  readonly threads: 1 | 2;
}

/** Feeds one stream (plain or gzip) into the engine. */
export async function feedStream(engine: DetectionEngine, stream: Readable): Promise<void> {
  let damaged = false;
  for await (const chunk of streamChunks(stream, engine.stats, () => (damaged = true))) engine.addChunk(chunk);
  if (damaged) engine.abortStream();
  else engine.endStream();
}

/**
 * Feeds one Parquet file into the engine, a row group at a time. Its columns name its format
 * for it alone; the next stream starts in the configured format again.
 * @throws DetectorError for a file that cannot be read as Parquet flow logs (ParquetFileError as cause)
 */
export async function feedParquet(engine: DetectionEngine, source: ParquetSource): Promise<void> {
  try {
    for await (const lines of parquetLines(source)) engine.addChunk(lines);
  } catch (err) {
    engine.abortStream();
    if (err instanceof ParquetFileError) throw new DetectorError(err.message, { cause: err });
    throw err;
  }
  engine.endStream();
}

/** Reads up to buffer's length of bytes of fd at `at`, off the main thread. */
function readAt(fd: number, buffer: Buffer, at: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, at, (err, n) => (err ? reject(err) : resolve(n))));
}

/** How `detectFiles` reads. */
export interface DetectFilesOptions {
  /**
   * Plain files read on a second thread while this one adds up (parallel.ts): true always (when
   * every file is plain text), false never; by default when every file is plain text and they
   * hold PARALLEL_MIN_BYTES or more, unless FLOWLOG_KIT_DETECT_THREADS=1. Findings, counts and
   * skipped lines never depend on it.
   */
  readonly parallel?: boolean;
}

/**
 * What an open file holds, from its first bytes (read into `head`): Parquet (by its `.parquet`
 * name too: such a file that is not Parquet is an error, not text), gzip, or plain text.
 */
function kindOf(fd: number, file: string, head: Buffer): "parquet" | "gzip" | "plain" {
  const n = fs.readSync(fd, head, 0, 4, 0);
  const bytes = head.subarray(0, n);
  return isParquetName(file) || isParquet(bytes) ? "parquet" : isGzip(bytes) ? "gzip" : "plain";
}

/** Whether every file is plain text (not gzip, not Parquet), and their bytes in all. */
function plainFiles(files: readonly string[]): { readonly plain: boolean; readonly bytes: number } {
  const head = Buffer.alloc(4);
  let bytes = 0;
  for (const file of files) {
    const fd = fs.openSync(file, "r");
    try {
      if (kindOf(fd, file, head) !== "plain") return { plain: false, bytes };
      bytes += fs.fstatSync(fd).size;
    } finally {
      fs.closeSync(fd);
    }
  }
  return { plain: true, bytes };
}

/** Runs the engine over local files and folders of them (plain, gzip or Parquet). */
export async function detectFiles(paths: readonly string[], thresholds: DetectorThresholds, format: LogFormat, options: DetectFilesOptions = {}): Promise<FileDetection> {
  let files: string[];
  try {
    files = expandPaths(paths);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new DetectorError(`${e.path ?? paths.join(", ")}: cannot read (got ${e.code ?? e.message}). Give flow-log files or folders that exist.`, { cause: err });
  }
  if (files.length === 0) throw new DetectorError(`${paths.join(", ")}: no files found (got empty folders). Give flow-log files or folders that hold them.`);
  const headers: { file: string; header: HeaderLine }[] = [];
  let current = "";
  const given = format.names.join(" ");
  const seen = new Set<string>();
  let parquet = false;
  const onHeader = (header: HeaderLine) => {
    // A Parquet file's columns are its format, not a header line that overrides the given one.
    if (parquet || header.format?.names.join(" ") === given || seen.has(`${current}\n${header.text}`)) return;
    seen.add(`${current}\n${header.text}`);
    headers.push({ file: current, header });
  };
  // Large plain input: a worker starts parsing before this thread has built its engine.
  let worker: ParsingWorker | undefined;
  if (options.parallel !== false) {
    const { plain, bytes } = plainFiles(files);
    const auto = bytes >= PARALLEL_MIN_BYTES && process.env["FLOWLOG_KIT_DETECT_THREADS"] !== "1";
    if (plain && (options.parallel === true || auto)) worker = startParsing(files, thresholds, format);
  }
  if (!worker) stopPrestarted();
  let engine: DetectionEngine;
  try {
    engine = new DetectionEngine(thresholds, format, { onHeader });
  } catch (err) {
    worker?.stop();
    throw err;
  }
  const skippedLines: (SkippedLine & { file: string })[] = [];
  const takeSkipped = (file: string) => {
    for (const line of engine.skippedLines.slice(skippedLines.length)) skippedLines.push({ ...line, file });
  };
  if (worker) {
    let started = false;
    await worker.readInto(engine, {
      file: (file) => {
        if (started) takeSkipped(current);
        started = true;
        current = file;
      },
      header: onHeader,
    });
    if (started) takeSkipped(current);
    return { ...engine.finish(), headers, skippedLines, threads: 2 };
  }
  const chunk = Buffer.allocUnsafe(1 << 20);
  const spare = Buffer.allocUnsafe(1 << 20);
  for (const file of files) {
    current = file;
    const fd = fs.openSync(file, "r");
    try {
      const kind = kindOf(fd, file, chunk);
      parquet = kind === "parquet";
      if (parquet) {
        await feedParquet(engine, fileSource(fd, file));
        continue;
      }
      if (kind === "gzip") {
        await feedStream(engine, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
        continue;
      }
      // Plain text: two buffers used over and over (the engine keeps nothing of a chunk, which
      // spares a fresh megabyte and its page faults per chunk); the next chunk is read (on
      // libuv's thread pool) while the engine works on this one.
      const buffers = [chunk, spare];
      let next = readAt(fd, buffers[0]!, 0);
      try {
        for (let at = 0, i = 0; ; i ^= 1) {
          const n = await next;
          if (n === 0) break;
          at += n;
          next = readAt(fd, buffers[i ^ 1]!, at);
          engine.addChunk(buffers[i]!.subarray(0, n));
        }
      } finally {
        // A read still under way ends before the file is closed (its error, if any, is the loop's to report).
        await next.catch(() => 0);
      }
      engine.endStream();
    } finally {
      fs.closeSync(fd);
      takeSkipped(file);
    }
  }
  return { ...engine.finish(), headers, skippedLines, threads: 1 };
}
