/**
 * The two aggregates of the DuckDB comparison, computed by flowlog-kit's own scanner:
 * distinct destination ports per source over REJECT records, and bytes per
 * (source, destination) pair. Prints group counts and totals (so both engines can be checked
 * against each other) and the wall time, file reading included.
 *
 *   node -r ./bin/register.js bench/two-aggregates.ts <file>
 */
import * as fs from "fs";
import { IntPairIndex } from "../functions/detect/int-table";
import { LogFormat } from "../functions/flowlog/format";
import { ACTION_REJECT, FlowScanner, LineSplitter } from "../functions/flowlog/scanner";
import { newStats } from "../functions/flowlog/stats";

async function main(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  const scanner = new FlowScanner(LogFormat.DEFAULT, newStats());
  const rejectPorts = new IntPairIndex();
  let portsPerSource = new Int32Array(1 << 12);
  const pairs = new IntPairIndex();
  let pairBytes = new Float64Array(1 << 16);
  const splitter = new LineSplitter((buf, s, e) => {
    if (!scanner.scan(buf, s, e)) return;
    const src = scanner.addr[0]!;
    const dst = scanner.addr[1]!;
    const port = scanner.num[1]!;
    if (scanner.action === ACTION_REJECT && port >= 0) {
      rejectPorts.intern(src, port);
      if (rejectPorts.isNew) {
        if (src >= portsPerSource.length) {
          const bigger = new Int32Array(Math.max(portsPerSource.length * 2, src + 1));
          bigger.set(portsPerSource);
          portsPerSource = bigger;
        }
        portsPerSource[src]++;
      }
    }
    const p = pairs.intern(src, dst);
    if (p >= pairBytes.length) {
      const bigger = new Float64Array(pairBytes.length * 2);
      bigger.set(pairBytes);
      pairBytes = bigger;
    }
    pairBytes[p] += Math.max(scanner.num[4]!, 0);
  });
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) splitter.push(chunk as Buffer);
  splitter.end();
  let rejectingSources = 0;
  for (const n of portsPerSource) if (n > 0) rejectingSources++;
  let totalBytes = 0;
  for (let i = 0; i < pairs.size; i++) totalBytes += pairBytes[i]!;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ engine: "flowlog-kit", rejectingSources, rejectSourcePorts: rejectPorts.size, pairs: pairs.size, totalBytes, ms: Math.round(ms) })}\n`);
}

void main(process.argv[2]!);
