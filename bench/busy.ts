/**
 * The detector on a busy hour: `flowlog-kit detect --json` on the output of
 * ../shared/bench/gen-busy.py (an internet-facing VPC, nearly every record a new pair), each run
 * in a fresh process. Reports the median wall time of the runs, records per second at that
 * median, the peak resident memory (GNU time's maximum RSS, the largest of the runs), and what
 * the runs analysed and skipped (every record must be analysed: no "row-budget").
 *
 *   python3 ../shared/bench/gen-busy.py 5000000 /tmp/busy5m.log
 *   node -r ./bin/register.js bench/busy.ts /tmp/busy5m.log [runs=3] [--hours N]
 *
 * With --hours N, the file is written N times into a temporary folder, the k-th copy's start
 * and end times moved k hours later, and the runs read the folder: N hours of streamed input
 * (gen-busy.py spreads any number of records over one hour), whose peak memory should stay that
 * of one hour.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..");

/** Writes `from` to `to` with the start and end fields (11 and 12, 1-based) of each record moved by `shift` seconds; the header line is kept. */
function shifted(from: string, to: string, shift: number): void {
  const input = fs.openSync(from, "r");
  const out = fs.openSync(to, "w");
  const chunk = Buffer.alloc(16 << 20);
  try {
    let carry = "";
    for (let at = 0; ; ) {
      const n = fs.readSync(input, chunk, 0, chunk.length, at);
      if (n === 0) break;
      at += n;
      const text = carry + chunk.toString("latin1", 0, n);
      const last = text.lastIndexOf("\n");
      carry = text.slice(last + 1);
      const lines = text.slice(0, last).split("\n").map((line) => {
        const f = line.split(" ");
        if (!/^\d+$/.test(f[10] ?? "") || !/^\d+$/.test(f[11] ?? "")) return line;
        f[10] = String(Number(f[10]) + shift);
        f[11] = String(Number(f[11]) + shift);
        return f.join(" ");
      });
      fs.writeSync(out, lines.join("\n") + "\n", null, "latin1");
    }
    if (carry.length > 0) fs.writeSync(out, carry + "\n", null, "latin1");
  } finally {
    fs.closeSync(input);
    fs.closeSync(out);
  }
}

interface Run {
  readonly seconds: number;
  readonly peakMiB: number;
  readonly stats: { read: number; analysed: number; skipped: Record<string, number> };
  readonly findings: number;
}

function run(target: string): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/env", ["time", "-f", "%M", process.execPath, path.join(root, "bin", "flowlog-kit.js"), "detect", "--json", target], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // detect exits 1 when it reports findings; anything else (or no JSON) is a failure.
  if (r.status !== 0 && r.status !== 1) throw new Error(`detect failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  const doc = JSON.parse(r.stdout) as { stats: Run["stats"]; findings: unknown[] };
  const kib = Number(r.stderr.trim().split("\n").pop());
  return { seconds, peakMiB: kib / 1024, stats: doc.stats, findings: doc.findings.length };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function main(argv: readonly string[]): void {
  const hoursAt = argv.indexOf("--hours");
  const hours = hoursAt >= 0 ? Number(argv[hoursAt + 1]) : 1;
  const rest = argv.filter((_, i) => hoursAt < 0 || (i !== hoursAt && i !== hoursAt + 1));
  const [file, runsText] = rest;
  const runs = Number(runsText ?? 3);
  if (!file || !fs.existsSync(file) || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(hours) || hours < 1) {
    process.stderr.write("usage: node -r ./bin/register.js bench/busy.ts <gen-busy file> [runs=3] [--hours N]\n");
    process.exitCode = 2;
    return;
  }
  let target = file;
  let dir: string | undefined;
  if (hours > 1) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-busy-"));
    for (let k = 0; k < hours; k++) shifted(file, path.join(dir, `hour-${String(k).padStart(2, "0")}.log`), k * 3600);
    target = dir;
  }
  try {
    const samples = Array.from({ length: runs }, () => run(target));
    const s = samples[0]!.stats;
    const wall = median(samples.map((x) => x.seconds));
    const peak = Math.max(...samples.map((x) => x.peakMiB));
    process.stdout.write(
      `| ${new Date().toISOString().slice(0, 10)} | detect busy ${path.basename(file)} x ${hours} h | ${runs} | ${wall.toFixed(2)} s | ${(s.read / wall / 1e6).toFixed(2)} M records/s | ${peak.toFixed(0)} MiB | ` +
        `read ${s.read}, analysed ${s.analysed}, skipped ${JSON.stringify(s.skipped)}, ${samples[0]!.findings} findings | ${samples.map((x) => x.seconds.toFixed(2)).join(", ")} |\n`,
    );
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2));
