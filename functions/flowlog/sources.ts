import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import * as zlib from "zlib";
import { countSkip, ParseStats } from "./stats";

/** Whether the first bytes are a gzip member header. */
export const isGzip = (head: Buffer) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * The bytes of a flow-log stream, plain or gzip (detected from the magic bytes, not the name).
 * A truncated or corrupt gzip ends the stream: what was read so far is kept, the damage is
 * counted as `truncated-gzip`, and `onTruncated` lets the caller drop a partial last line.
 */
export async function* streamChunks(input: Readable, stats: ParseStats, onTruncated: () => void = () => undefined): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = Buffer.from(first.value as Buffer);
  const rest = (async function* () {
    yield head;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value as Buffer;
  })();
  const source: AsyncIterable<Buffer> = isGzip(head) ? Readable.from(rest).pipe(zlib.createGunzip({ chunkSize: 1 << 20 })) : rest;
  try {
    for await (const chunk of source) yield chunk as Buffer;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "Z_BUF_ERROR" || code === "Z_DATA_ERROR" || /unexpected end of file/i.test((err as Error).message)) {
      countSkip(stats, "truncated-gzip");
      onTruncated();
    } else {
      throw err;
    }
  }
}

/** Every regular file under the given paths (folders are walked, in name order). */
export function expandPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  const visit = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
    } else if (st.isFile()) {
      files.push(p);
    }
  };
  for (const p of paths) visit(p);
  return files;
}
