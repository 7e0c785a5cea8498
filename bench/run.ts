/**
 * Benchmarks for flowlog-kit. Each runs a whole command in a fresh process several times and
 * reports the median wall time and the peak resident memory (GNU time's maximum RSS).
 *
 *   npm run bench -- start      npm start on the three examples (5 runs)
 *   npm run bench -- fleet      synth of 100 environments x 50 ENI scopes (5 runs)
 *   npm run bench -- test       npm test in total (3 runs)
 *   npm run bench -- compliance compliance report on the examples and on the fleet, against synth alone
 *   npm run bench -- incident   incident open + offline plan (5 runs)
 *   npm run bench -- access     access on the three examples (5 runs) and on the fleet (3 runs)
 *   npm run bench -- detect     detect on 5,000,000 generated records (3 runs, then 3 pinned to one core
 *                               with taskset), the two-aggregate comparison with DuckDB (3 runs each),
 *                               Isolation Forest on 100,000 rows (5 runs)
 *   npm run bench -- flood      detect on 1 and 3 million distinct flows: memory bounded by the row budget (3 runs each)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeFleet } from "./fleet";
import { generateFile, generateFlood } from "./generate";

const root = path.join(__dirname, "..");

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
}

function timed(cmd: string[], env: NodeJS.ProcessEnv = {}): Sample & { stdout: string } {
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
  return { seconds, peakMiB: kib / 1024, stdout: r.stdout };
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

/** The 5M-record file, generated once (seeded, so every run measures the same bytes). */
function flowFile(): { file: string; records: number } {
  const dir = path.join(root, "bench", "out");
  const file = path.join(dir, "flows-5m.log");
  const count = `${file}.records`;
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(file) || !fs.existsSync(count)) fs.writeFileSync(count, String(generateFile(file, 5_000_000, 1)));
  return { file, records: Number(fs.readFileSync(count, "utf8")) };
}

/** The distinct-flow flood file (generated once, kept in bench/out). */
function floodFile(records: number): string {
  const file = path.join(root, "bench", "out", `flood-${records / 1e6}m.log`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) generateFlood(file, records, 1);
  return file;
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
    report("synth 100 environments x (1 VPC + 50 ENI scopes) (10,200 flow logs, detectors on)", samples, "<= 15 s, <= 1.5 GB (#2)");
  },
  detect() {
    const { file, records } = flowFile();
    const mib = fs.statSync(file).size / 2 ** 20;
    const runs = Array.from({ length: 3 }, () => timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"]));
    const read = JSON.parse(runs[0]!.stdout).stats.read as number;
    if (read !== records) throw new Error(`expected ${records} records, read ${read}`);
    const perSecond = records / median(runs.map((r) => r.seconds));
    report(`detect: parse + all rules, ${records.toLocaleString("en")} records (${mib.toFixed(0)} MiB), one thread; ${(perSecond / 1e6).toFixed(2)} M records/s`, runs, ">= 2 M records/s, <= 1 GB (#3)");
    // The engine is one thread, but V8 compiles and collects garbage on helper threads: pinned to
    // one core, the whole process gets no second core at all.
    if (spawnSync("taskset", ["-c", "0", "true"]).status === 0) {
      const pinned = Array.from({ length: 3 }, () => timed(["taskset", "-c", "0", "node", "bin/flowlog-kit.js", "detect", file, "--json"]));
      report(`same, the whole process pinned to one core (taskset -c 0); ${(records / median(pinned.map((r) => r.seconds)) / 1e6).toFixed(2)} M records/s`, pinned, ">= 2 M records/s on one core (#3)");
    } else process.stderr.write("taskset is not available: the pinned run is left out\n");
    const phases = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/detect-phases.ts", file]));
    const phase = (key: string) => median(phases.map((x) => JSON.parse(x.stdout)[key] as number)) / 1000;
    report(
      `same, in-process: read + scan + aggregate ${phase("scanAggregateMs").toFixed(2)} s, rules (Isolation Forest included) ${phase("rulesMs").toFixed(2)} s; ${(records / phase("ms") / 1e6).toFixed(2)} M records/s`,
      phases,
      ">= 2 M records/s (#3)",
    );
    const ours = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/two-aggregates.ts", file]));
    const duckLoad = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/duckdb-aggregates.ts", file, "load"]));
    const duckScan = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/duckdb-aggregates.ts", file, "scan"]));
    const inner = (xs: { stdout: string }[]) => median(xs.map((x) => JSON.parse(x.stdout).ms as number)) / 1000;
    const agree = [ours, duckLoad, duckScan].map((xs) => JSON.stringify({ ...JSON.parse(xs[0]!.stdout), engine: undefined, ms: undefined }));
    if (new Set(agree).size !== 1) throw new Error(`engines disagree: ${agree.join(" / ")}`);
    report(`two aggregates (REJECT ports per source, bytes per pair), flowlog-kit scanner: ${inner(ours).toFixed(2)} s in-process`, ours, "<= DuckDB (#3)");
    report(`same two aggregates, DuckDB 1 thread, load-then-aggregate: ${inner(duckLoad).toFixed(2)} s in-process`, duckLoad, "comparison");
    report(`same two aggregates, DuckDB 1 thread, scan per aggregate: ${inner(duckScan).toFixed(2)} s in-process`, duckScan, "comparison");
    const forest = Array.from({ length: 5 }, () => timed(["node", "-r", "./bin/register.js", "bench/iforest.ts"]));
    report(`Isolation Forest fit + score, 100,000 x 4, 100 trees, psi 256: ${inner(forest).toFixed(2)} s in-process`, forest, "<= 1 s (#3; scikit-learn ~0.7 s)");
  },
  flood() {
    // Memory stays bounded by the row budget however many distinct flows come: 1 and 3 million.
    for (const records of [1_000_000, 3_000_000]) {
      const file = floodFile(records);
      const runs = Array.from({ length: 3 }, () => timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"]));
      const { stats } = JSON.parse(runs[0]!.stdout) as { stats: { read: number; analysed: number; skipped: Record<string, number> } };
      if (stats.read !== records) throw new Error(`expected ${records} records, read ${stats.read}`);
      report(
        `detect on a flood of ${records.toLocaleString("en")} distinct flows: ${stats.analysed.toLocaleString("en")} analysed, ${(stats.skipped["row-budget"] ?? 0).toLocaleString("en")} past the row budget (2,500,000 rows)`,
        runs,
        "bounded memory (#3: never a crash)",
      );
    }
  },
  compliance() {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-compliance-"));
    const synth = Array.from({ length: 5 }, () => timed(["node", "bin/flowlog-kit.js", "synth", "--out", path.join(out, "cdktf.out")]));
    const comp = Array.from({ length: 5 }, () => timed(["node", "bin/flowlog-kit.js", "compliance", "--format", "json", "--synth-out", path.join(out, "cdktf.out")]));
    const beyond = median(comp.map((s) => s.seconds)) - median(synth.map((s) => s.seconds));
    report("`flowlog-kit synth` on the three examples (baseline for the next row)", synth, "comparison");
    report(`\`flowlog-kit compliance\` on the three examples (synth + every control): ${beyond.toFixed(2)} s beyond synth`, comp, "<= 1 s beyond synth (#4)");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-fleet-compliance-"));
    writeFleet(path.join(dir, "envs"), 100, 50);
    const env = { FLOWLOG_KIT_ENVIRONMENTS: path.join(dir, "envs") };
    const fleetSynth = Array.from({ length: 3 }, () => timed(["node", "bin/flowlog-kit.js", "synth", "--out", path.join(dir, "cdktf.out")], env));
    const fleet = Array.from({ length: 3 }, () => timed(["node", "bin/flowlog-kit.js", "compliance", "--format", "json", "--synth-out", path.join(dir, "cdktf.out")], env));
    report("`flowlog-kit synth` on the 100 x 50 fleet (baseline for the next row)", fleetSynth, "comparison");
    report(`\`flowlog-kit compliance\` on the 100 x 50 fleet: ${(median(fleet.map((s) => s.seconds)) - median(fleetSynth.map((s) => s.seconds))).toFixed(2)} s beyond synth`, fleet, "<= 10 s (#4)");
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  },
  access() {
    // `access` synthesizes first (as every command does), then decides every row: measured whole.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-access-"));
    const examples = Array.from({ length: 5 }, () => timed(["node", "bin/flowlog-kit.js", "access", "--format", "json", "--synth-out", path.join(out, "cdktf.out")]));
    const exampleRows = (JSON.parse(examples[0]!.stdout) as unknown[]).length;
    report(`\`flowlog-kit access --format json\` on the three examples (synth + ${exampleRows.toLocaleString("en")} rows)`, examples, "<= 3 s (#13)");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-fleet-access-"));
    writeFleet(path.join(dir, "envs"), 100, 50);
    const env = { FLOWLOG_KIT_ENVIRONMENTS: path.join(dir, "envs") };
    const fleet = Array.from({ length: 3 }, () => timed(["node", "bin/flowlog-kit.js", "access", "--format", "json", "--synth-out", path.join(dir, "cdktf.out")], env));
    const fleetRows = (JSON.parse(fleet[0]!.stdout) as unknown[]).length;
    report(`\`flowlog-kit access --format json\` on the 100 x 50 fleet (synth + ${fleetRows.toLocaleString("en")} rows)`, fleet, "<= 30 s (#13)");
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  },
  incident() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-bench-incident-"));
    const envs = path.join(dir, "envs");
    fs.mkdirSync(envs);
    for (const f of fs.readdirSync(path.join(root, "environments"))) {
      if (/^[a-z].*\.ts$/.test(f) && f !== "index.ts" && f !== "schema.ts") fs.copyFileSync(path.join(root, "environments", f), path.join(envs, f));
    }
    const env = { FLOWLOG_KIT_ENVIRONMENTS: envs };
    const samples = Array.from({ length: 5 }, (_, i) => {
      const open = timed(["node", "bin/flowlog-kit.js", "incident", "open", "--env", "prod", "--eni", "eni-0c4d6e8f0a2b4c6d8", "--reason", "benchmark", "--ticket", `BENCH-${i}`], env);
      const plan = timed(["node", "bin/flowlog-kit.js", "incident", "plan", `bench-${i}`, "--offline", "--out", path.join(dir, "cdktf.out")], env);
      return { seconds: open.seconds + plan.seconds, peakMiB: Math.max(open.peakMiB, plan.peakMiB) };
    });
    fs.rmSync(dir, { recursive: true, force: true });
    report("`incident open` then `incident plan <id> --offline` (synth, terraform init from the local provider copy, plan)", samples, "<= 10 s (#5)");
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
