/**
 * Benchmarks for flowlog-kit. Each runs a whole command in a fresh process several times and
 * reports the median wall time and the peak resident memory (GNU time's maximum RSS).
 *
 *   npm run bench -- start      npm start on the three examples (5 runs)
 *   npm run bench -- fleet      synth of 100 environments x 50 ENI scopes (5 runs)
 *   npm run bench -- test       npm test in total (3 runs)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeFleet } from "./fleet";

const root = path.join(__dirname, "..");

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
}

function timed(cmd: string[], env: NodeJS.ProcessEnv = {}): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/env", ["time", "-f", "%M", ...cmd], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed:\n${r.stderr.slice(-4000)}`);
  const kib = Number(r.stderr.trim().split("\n").pop());
  return { seconds, peakMiB: kib / 1024 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function report(what: string, samples: Sample[], target: string): void {
  const row = [
    new Date().toISOString().slice(0, 10),
    what,
    String(samples.length),
    `${median(samples.map((s) => s.seconds)).toFixed(2)} s`,
    `${Math.max(...samples.map((s) => s.peakMiB)).toFixed(0)} MiB`,
    target,
    samples.map((s) => s.seconds.toFixed(2)).join(", "),
  ];
  process.stdout.write(`| ${row.join(" | ")} |\n`);
}

const benches: Record<string, () => void> = {
  start() {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-start-"));
    const samples = Array.from({ length: 5 }, () => timed(["npm", "start", "--silent", "--", "--out", path.join(out, "cdktf.out")]));
    fs.rmSync(out, { recursive: true, force: true });
    report("`npm start` (synth 3 example environments)", samples, "<= 2 s");
  },
  fleet() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-fleet-"));
    writeFleet(path.join(dir, "envs"), 100, 50);
    const samples = Array.from({ length: 5 }, () =>
      timed(["node", "bin/flowlog-kit.js", "synth", "--out", path.join(dir, "cdktf.out")], { FLOWLOG_KIT_ENVIRONMENTS: path.join(dir, "envs") }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    report("synth 100 environments x 50 ENI scopes (10,000 flow logs)", samples, "<= 15 s, <= 1.5 GB");
  },
  test() {
    const samples = Array.from({ length: 3 }, () => timed(["npm", "test", "--silent"]));
    report("`npm test` in total (incl. tsc and the terraform suite)", samples, "<= 90 s");
  },
};

const names = process.argv.slice(2);
for (const name of names.length ? names : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${name}"; use one of ${Object.keys(benches).join(", ")}\n`);
    process.exit(2);
  }
  bench();
}
