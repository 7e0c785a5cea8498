import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import * as zlib from "zlib";
import { countSkip, ParseStats } from "./parser";

/** Whether the first bytes are a gzip member header. */
const isGzip = (head: Buffer) => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/**
 * Lines of a flow-log stream, plain or gzip (detected from the magic bytes, not the name).
 * A truncated or corrupt gzip ends the stream: the lines read so far are kept and the damage is
 * counted as `truncated-gzip`, never thrown away silently.
 */
export async function* streamLines(input: Readable, stats: ParseStats): AsyncGenerator<string> {
  let source: AsyncIterable<Buffer> = input;
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = first.value as Buffer;
  const replay = Readable.from(
    (async function* () {
      yield head;
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value as Buffer;
    })(),
  );
  source = isGzip(head) ? replay.pipe(zlib.createGunzip()) : replay;
  let rest = "";
  try {
    for await (const chunk of source) {
      const text = rest + (chunk as Buffer).toString("latin1");
      let start = 0;
      for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
        yield text.substring(start, nl);
        start = nl + 1;
      }
      rest = text.substring(start);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "Z_BUF_ERROR" || code === "Z_DATA_ERROR" || /unexpected end of file/i.test((err as Error).message)) {
      countSkip(stats, "truncated-gzip");
      rest = ""; // a partial last line of a damaged stream is not a record
    } else {
      throw err;
    }
  }
  if (rest.length > 0) yield rest;
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
