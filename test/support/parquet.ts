import * as fs from "fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { LogFormat } from "../../functions/flowlog/format";

const SQL_TYPES = { int32: "INTEGER", int64: "BIGINT", string: "VARCHAR" } as const;

/**
 * Writes flow-log text lines as AWS writes the same records in Parquet: one column per field
 * with underscores for hyphens, INT_32/INT_64/string as the catalog's Parquet types, "-" as
 * null, GZIP pages. DuckDB (a dev dependency) writes it, so the reader is checked against an
 * independent writer. Row groups hold `rowGroupSize` rows (DuckDB makes none smaller than 2048).
 */
export async function writeParquet(file: string, lines: readonly string[], format: LogFormat = LogFormat.DEFAULT, rowGroupSize = 2048): Promise<void> {
  const text = `${file}.txt`;
  fs.writeFileSync(text, `${lines.join("\n")}\n`);
  const tgw = format.family === "tgw";
  const columns = format.fields.map((f) => `'${f.name.replace(/-/g, "_")}':'${SQL_TYPES[tgw ? (f.tgwType ?? f.type) : f.type]}'`).join(",");
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  try {
    const c = await db.connect();
    const q = (p: string) => `'${p.replace(/'/g, "''")}'`;
    await c.run(
      `COPY (SELECT * FROM read_csv(${q(text)}, delim=' ', header=false, quote='', escape='', nullstr='-', auto_detect=false, columns={${columns}})) ` +
        `TO ${q(file)} (FORMAT PARQUET, COMPRESSION GZIP, ROW_GROUP_SIZE ${rowGroupSize})`,
    );
    c.closeSync();
  } finally {
    db.closeSync();
    fs.rmSync(text);
  }
}
