/**
 * Where `detect`'s time goes, in-process (Node start-up excluded): reading, scanning and
 * aggregating every record, then every rule (the Isolation Forest included). Prints JSON.
 *
 *   node -r ./bin/register.js bench/detect-phases.ts <file>
 */
import * as fs from "fs";
import { DetectionEngine } from "../functions/detect/engine";
import { DEFAULT_THRESHOLDS } from "../functions/detect/thresholds";
import { LogFormat } from "../functions/flowlog/format";

const file = process.argv[2]!;
const t0 = process.hrtime.bigint();
const engine = new DetectionEngine(DEFAULT_THRESHOLDS, LogFormat.DEFAULT);
const fd = fs.openSync(file, "r");
for (;;) {
  const chunk = Buffer.allocUnsafe(1 << 20);
  const n = fs.readSync(fd, chunk, 0, chunk.length, null);
  if (n === 0) break;
  engine.addChunk(chunk.subarray(0, n));
}
fs.closeSync(fd);
engine.endStream();
const t1 = process.hrtime.bigint();
const result = engine.finish();
const t2 = process.hrtime.bigint();
const ms = (a: bigint, b: bigint) => Math.round(Number(b - a) / 1e6);
process.stdout.write(`${JSON.stringify({ read: result.stats.read, findings: result.findings.length, scanAggregateMs: ms(t0, t1), rulesMs: ms(t1, t2), ms: ms(t0, t2) })}\n`);
