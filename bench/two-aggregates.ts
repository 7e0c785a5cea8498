/**
 * The two aggregates of the DuckDB comparison, computed by flowlog-kit's own scanner:
 * distinct destination ports per source over REJECT records, and bytes per
 * (source, destination) pair. Prints group counts and totals (so both engines can be checked
 * against each other) and the wall time, file reading included.
 *
 *   node -r ./bin/register.js bench/two-aggregates.ts <file>
 */
import * as fs from "fs";
import { LogFormat } from "../functions/flowlog/format";
import { ACTION_REJECT, FlowScanner, LineSplitter } from "../functions/flowlog/scanner";
import { newStats } from "../functions/flowlog/stats";
import { RowTable } from "../functions/flowlog/row-table";

async function main(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  const scanner = new FlowScanner(LogFormat.DEFAULT, newStats());
  // (source, port) of REJECT records; (source, destination) with its bytes at word 4.
  const rejectPorts = new RowTable(4);
  const pairs = new RowTable(6, 1 << 16);
  const onRecord = () => {
    const src = scanner.addr[0]!;
    const dst = scanner.addr[1]!;
    const port = scanner.num[1]!;
    if (scanner.action === ACTION_REJECT && port >= 0) rejectPorts.upsert(src, port, 0);
    const p = pairs.upsert(src, dst, 0);
    pairs.f64[(p + 4) >> 1] += Math.max(scanner.num[4]!, 0);
  };
  const splitter = new LineSplitter((buf, s, e) => scanner.scanLines(buf, s, e, onRecord));
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) splitter.push(chunk as Buffer);
  splitter.end();
  const sources = new Set<number>();
  rejectPorts.each((r) => sources.add(rejectPorts.i32[r]!));
  let totalBytes = 0;
  pairs.each((r) => (totalBytes += pairs.f64[(r + 4) >> 1]!));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ engine: "flowlog-kit", rejectingSources: sources.size, rejectSourcePorts: rejectPorts.size, pairs: pairs.size, totalBytes, ms: Math.round(ms) })}\n`);
}

void main(process.argv[2]!);
