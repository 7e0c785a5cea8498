import * as fs from "fs";
import * as path from "path";
import { LogFormat } from "../../../functions/flowlog/format";
import { fileSource, ParquetFileError, parquetLines, ParquetSource } from "../../../functions/flowlog/parquet";
import { tempDir } from "../../support/env";
import { line, range } from "../../support/flows";
import { writeParquet } from "../../support/parquet";

const dir = tempDir("parquet");
const inMemory = (bytes: Buffer, name = "mem.log.parquet"): ParquetSource => ({ name, byteLength: bytes.length, read: async (s, e) => bytes.subarray(s, e) });
const text = async (source: ParquetSource) => {
  let out = "";
  for await (const chunk of parquetLines(source)) out += chunk.toString("latin1");
  return out;
};

describe("Parquet flow-log files", () => {
  const nodata = "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1700000000 1700000060 - NODATA";
  const lines = [...range(3).map((i) => line({ src: "10.0.0.1", dst: "10.0.0.2", dstport: 22 + i })), nodata];
  const file = path.join(dir, "a.log.parquet");
  beforeAll(() => writeParquet(file, lines));

  it("read as a header line naming the format of their columns, then the records as AWS writes them in text (null as -)", async () => {
    const fd = fs.openSync(file, "r");
    try {
      expect(await text(fileSource(fd, file))).toBe(`${LogFormat.DEFAULT.names.join(" ")}\n${lines.join("\n")}\n`);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("a file too short to hold a footer is truncated", async () => {
    await expect(text(inMemory(Buffer.from("PAR1\x00\x00")))).rejects.toThrow(
      'mem.log.parquet: Parquet file is truncated: it lacks the footer a Parquet file ends with (got 6 bytes ending in "", not "PAR1"). AWS writes the footer last, so the file was cut short in a download or copy: get it again.',
    );
  });

  it("a damaged footer says so", async () => {
    const bytes = Buffer.from(fs.readFileSync(file));
    const footer = bytes.readUInt32LE(bytes.length - 8);
    bytes.fill(0xff, bytes.length - 8 - footer, bytes.length - 8);
    await expect(text(inMemory(bytes))).rejects.toThrow(/^mem\.log\.parquet: Parquet footer cannot be read \(got .+\)\. The file is damaged: get it again\.$/s);
  });

  it("a damaged row group names the rows it could not read and what to do", async () => {
    const bytes = Buffer.from(fs.readFileSync(file));
    bytes.fill(0xff, 4, 64);
    const err = await text(inMemory(bytes)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParquetFileError);
    expect((err as Error).message).toMatch(/^mem\.log\.parquet: Parquet rows 0 to 3 cannot be read \(got .+\)\. The file is damaged or uses a codec other than GZIP or SNAPPY: get it again as AWS delivers it\.$/s);
  });
});
