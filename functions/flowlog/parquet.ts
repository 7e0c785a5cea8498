/**
 * Parquet flow-log files as AWS delivers them to S3: one column per field of the flow log's
 * format, named as the field with underscores for hyphens (`account_id`, `log_status`),
 * version and ports INT_32, bytes, packets, start and end INT_64, GZIP pages. The columns
 * define the format, as a header line does in a text file. Each row group becomes text lines
 * under a header line, read by the one record scanner, so a Parquet file and the same records
 * in text give the same findings and counts.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 * @see https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html
 */
import * as fs from "fs";
import * as zlib from "zlib";
import { parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import type { AsyncBuffer, Compressors, FileMetaData } from "hyparquet";
import { LogFormat, LogFormatError } from "./format";
import { formatOfFields } from "./scanner";

/** A Parquet file starts and ends with these bytes. */
const MAGIC = Buffer.from("PAR1", "latin1");
/** The smallest file that can hold the magic at both ends and the footer length. */
const SMALLEST = 12;

/** A Parquet file that cannot be read; the message names the file and what to do. */
export class ParquetFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ParquetFileError";
  }
}

/** Whether a name is one AWS gives Parquet objects (`.log.parquet`), or any `.parquet` file. */
export const isParquetName = (name: string) => name.endsWith(".parquet");

/** Whether the first bytes are the Parquet magic. */
export const isParquet = (head: Uint8Array) => head.length >= 4 && Buffer.from(head.buffer, head.byteOffset, 4).equals(MAGIC);

/**
 * Random access to a file's bytes: `read(start, end)` gives bytes [start, end). A local file
 * reads with pread, an S3 object with ranged GETs: only the footer and the column chunks of one
 * row group at a time are ever held, never the whole object.
 */
export interface ParquetSource {
  /** The file's name in messages: a path, or s3://bucket/key. */
  readonly name: string;
  readonly byteLength: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

// AWS writes GZIP; hyparquet reads SNAPPY itself and leaves other codecs to the caller.
const COMPRESSORS: Compressors = { GZIP: (input) => zlib.gunzipSync(input) };

const printable = (bytes: Uint8Array) => JSON.stringify(Buffer.from(bytes).toString("latin1").replace(/[^\x20-\x7e]/g, "."));

/** Checks the magic at both ends: a text file named .parquet, and a file cut short, each get their own message. */
async function checkMagic(source: ParquetSource): Promise<void> {
  const head = await source.read(0, Math.min(4, source.byteLength));
  if (!isParquet(head)) {
    throw new ParquetFileError(
      `${source.name}: not a Parquet file (got first bytes ${printable(head)}, not "PAR1"). Give Parquet flow-log files as AWS delivers them, or give a text flow-log file a name that does not end in .parquet.`,
    );
  }
  const tail = source.byteLength >= SMALLEST ? await source.read(source.byteLength - 4, source.byteLength) : new Uint8Array();
  if (!Buffer.from(tail).equals(MAGIC)) {
    throw new ParquetFileError(
      `${source.name}: Parquet file is truncated: it lacks the footer a Parquet file ends with (got ${source.byteLength} bytes ending in ${printable(tail)}, not "PAR1"). AWS writes the footer last, so the file was cut short in a download or copy: get it again.`,
    );
  }
}

/** A problem of LogFormat.custom with the field names in it written as Parquet columns. */
const asColumns = (problem: string) => problem.replace(/"([a-z0-9-]+)"/g, (_, n: string) => `"${n.replace(/-/g, "_")}"`);

/**
 * The log format the file's columns name: each column is a catalog field with underscores for
 * hyphens. A column the catalog lacks names no format: AWS writes none, so the file is not a
 * flow-log file.
 */
export function parquetFormat(columns: readonly string[], name: string): LogFormat {
  try {
    return formatOfFields(columns.map((c) => c.replace(/_/g, "-")));
  } catch (err) {
    if (!(err instanceof LogFormatError)) throw err;
    throw new ParquetFileError(
      `${name}: Parquet columns name no flow-log format: ${err.problems.map(asColumns).join("; ")} (got columns ${columns.join(", ")}). Give Parquet flow-log files as AWS writes them: one column per flow-log field, with underscores for hyphens (account_id, log_status).`,
      { cause: err },
    );
  }
}

/** The source as hyparquet reads it (an ArrayBuffer per slice). */
const asyncBuffer = (source: ParquetSource): AsyncBuffer => ({
  byteLength: source.byteLength,
  slice: async (start, end = source.byteLength) => {
    const bytes = await source.read(start, end);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  },
});

async function readMetadata(source: ParquetSource, file: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file);
  } catch (err) {
    throw new ParquetFileError(`${source.name}: Parquet footer cannot be read (got ${(err as Error).message}). The file is damaged: get it again.`, { cause: err });
  }
}

/**
 * A value as the scanner reads it: null as "-", as AWS writes an absent field in text. A line
 * break inside a string becomes a space, so that one row stays one line and the scanner skips it
 * (too-many-fields) as it would the same value in text, instead of reading two lines.
 */
function text(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "string") return String(value);
  return LINE_BREAK.test(value) ? value.replace(/[\r\n]/g, " ") : value;
}

const LINE_BREAK = /[\r\n]/;

/**
 * The file as text: a header line naming its format, then one buffer of lines per row group.
 * Memory follows one row group (its column chunks and its lines), not the file.
 * @throws ParquetFileError for a file that is not Parquet, is truncated or damaged, has columns
 * that name no flow-log format, or uses a compression codec other than GZIP, SNAPPY or none.
 */
export async function* parquetLines(source: ParquetSource): AsyncGenerator<Buffer> {
  await checkMagic(source);
  const file = asyncBuffer(source);
  const metadata = await readMetadata(source, file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  const format = parquetFormat(columns, source.name);
  yield Buffer.from(`${format.names.join(" ")}\n`, "latin1");
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: unknown[][] = [];
    try {
      await parquetRead({ file, metadata, columns, rowStart, rowEnd, compressors: COMPRESSORS, onComplete: (r) => (rows = r) });
    } catch (err) {
      throw new ParquetFileError(`${source.name}: Parquet rows ${rowStart} to ${rowEnd - 1} cannot be read (got ${(err as Error).message}). The file is damaged or uses a codec other than GZIP or SNAPPY: get it again as AWS delivers it.`, { cause: err });
    }
    const lines = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) lines[i] = rows[i]!.map(text).join(" ");
    rowStart = rowEnd;
    if (lines.length > 0) yield Buffer.from(`${lines.join("\n")}\n`, "latin1");
  }
}

/** A local file as a ParquetSource, read with pread on an open descriptor. */
export function fileSource(fd: number, name: string): ParquetSource {
  const byteLength = fs.fstatSync(fd).size;
  return {
    name,
    byteLength,
    read: async (start, end) => {
      const buf = Buffer.allocUnsafe(Math.max(0, end - start));
      const n = fs.readSync(fd, buf, 0, buf.length, start);
      return buf.subarray(0, n);
    },
  };
}
