import * as fs from "fs";
import { FlowScanner, LineSplitter } from "../functions/flowlog/scanner";
import { newStats } from "../functions/flowlog/stats";
import { LogFormat } from "../functions/flowlog/format";
const file = process.argv[2]!;
const t0 = process.hrtime.bigint();
const stats = newStats();
const sc = new FlowScanner(LogFormat.DEFAULT, stats);
let n = 0;
const onRecord = () => { n++; };
const sp = new LineSplitter((buf, s, e) => sc.scanLines(buf, s, e, onRecord));
const fd = fs.openSync(file, "r");
let readNs = 0n;
for (;;) {
  const chunk = Buffer.allocUnsafe(1 << 20);
  const a = process.hrtime.bigint();
  const k = fs.readSync(fd, chunk, 0, chunk.length, null);
  readNs += process.hrtime.bigint() - a;
  if (k === 0) break;
  sp.push(chunk.subarray(0, k));
}
sp.end();
const t1 = process.hrtime.bigint();
console.log(JSON.stringify({ n, ms: Number(t1 - t0) / 1e6, readMs: Number(readNs) / 1e6 }));
