/**
 * The rules' aggregates in DuckDB with one thread (dev dependency only): every windowed rule's
 * SQL as functions/detect/sql.ts renders it (the same declarations the engine runs, default
 * thresholds and network), over every record of a space-separated flow-log file with its header
 * line, then the rows past thresholds turned into findings as the Athena path does.
 *
 *   node -r ./bin/register.js bench/duckdb-aggregates.ts <file> [load|scan]
 *
 * load (the default): the file is read once into a table, then each rule's query runs on it;
 * scan: each query reads the file itself (one scan per rule, as Athena would). Prints one JSON
 * line: records, milliseconds (reading, queries, total), findings per rule and the process's
 * peak resident memory.
 */
import { closeSync, openSync, readSync } from "fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { findingsFromRows, mergeHorizons, ruleQueries } from "../functions/detect/sql";
import type { Finding } from "../functions/detect/findings";
import { DEFAULT_THRESHOLDS } from "../functions/detect/thresholds";
import { athenaColumn } from "../functions/flowlog/athena";
import { fieldByName } from "../functions/flowlog/fields";

/** The field names of the file's header line (a usage error, exit 2, without one). */
export function headerOf(file: string): string[] {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(4096);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const first = buf.subarray(0, n).toString("latin1").split("\n")[0]!.trim();
  const names = first.split(" ");
  const unknown = names.filter((x) => fieldByName(x) === undefined);
  if (unknown.length > 0) {
    process.stderr.write(`bench: ${file} must start with a header line of flow-log field names (got ${unknown.slice(0, 3).join(", ")}). Write the file with its header.\n`);
    process.exit(2);
  }
  return names;
}

/** DuckDB's reader of a space-separated flow-log file with its header, as a table with Athena's column names and types. */
export function flowsReader(file: string, names: readonly string[]): string {
  const columns = names.map((n) => `'${athenaColumn(n)}': '${fieldByName(n)!.type === "string" ? "VARCHAR" : "BIGINT"}'`).join(", ");
  return `read_csv('${file.replace(/'/g, "''")}', delim=' ', header=true, nullstr='-', quote='', escape='', columns={${columns}})`;
}

async function main(file: string, plan: string): Promise<void> {
  const start = process.hrtime.bigint();
  const ms = (since: bigint) => Math.round(Number(process.hrtime.bigint() - since) / 1e6);
  const names = headerOf(file);
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await db.connect();
  const reader = flowsReader(file, names);
  const loadStart = process.hrtime.bigint();
  if (plan === "load") await c.run(`CREATE TEMP TABLE flows AS SELECT * FROM ${reader}`);
  const loadMs = ms(loadStart);
  const table = plan === "load" ? "flows" : reader;
  const records = Number((await c.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]![0]);
  const queryStart = process.hrtime.bigint();
  const all: Finding[] = [];
  const rows: Record<string, number> = {};
  for (const q of ruleQueries({ dialect: "duckdb", table, thresholds: DEFAULT_THRESHOLDS, fields: names })) {
    const r = await c.runAndReadAll(q.sql);
    const result = r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)])));
    rows[`${q.rule} ${q.horizon}`] = result.length;
    all.push(...findingsFromRows(q, result));
  }
  const findings: Record<string, number> = {};
  for (const f of mergeHorizons(all)) findings[f.rule] = (findings[f.rule] ?? 0) + 1;
  const queriesMs = ms(queryStart);
  const peakMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify({ engine: `duckdb rule SQL (${plan}, 1 thread)`, records, readMs: loadMs, queriesMs, ms: ms(start), rows, findings, peakMiB })}\n`);
}

if (require.main === module) {
  const [file, plan = "load"] = process.argv.slice(2);
  if (!file || (plan !== "load" && plan !== "scan")) {
    process.stderr.write("usage: node -r ./bin/register.js bench/duckdb-aggregates.ts <file> [load|scan]\n");
    process.exit(2);
  }
  void main(file, plan);
}
