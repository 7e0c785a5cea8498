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
 *                               with taskset), the declared rules' SQL in DuckDB on the same file (3 runs),
 *                               Isolation Forest on 100,000 rows (5 runs)
 *   npm run bench -- busy       detect on gen-busy 5M (3 runs), the rules' SQL in DuckDB on it (3 runs),
 *                               4 busy hours streamed (2 runs)
 *   npm run bench -- athena     the scheduled Athena path, DuckDB standing in, at 1M and 5M busy records
 *   npm run bench -- flood      detect on 1 and 3 million distinct flows: memory bounded by the row budget (3 runs each)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeFleet } from "./fleet";
import { generateFile, generateFlood } from "./generate";
import { RENDERER } from "../functions/handlers/renderer";

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

/** gen-busy.py's output for `records` records (generated once, kept in bench/out). */
function busyFile(records: number): string {
  const file = path.join(root, "bench", "out", `busy-${records / 1e6}m.log`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) {
    const gen = path.join(root, "..", "shared", "bench", "gen-busy.py");
    const r = spawnSync("python3", [process.env.GEN_BUSY ?? gen, String(records), file], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`gen-busy.py failed: set GEN_BUSY to the generator's path (tried ${process.env.GEN_BUSY ?? gen})`);
  }
  return file;
}

/**
 * The same rules in DuckDB with one thread (bench/duckdb-aggregates.ts: every declaration's SQL
 * over every record of the file), against the engine's runs on the same file: the same findings
 * per rule, and the engine's speed-up at the medians (issue 14: at least 5 times).
 */
function rulesInDuckDb(file: string, engineRuns: (Sample & { stdout: string })[]): void {
  const duck = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/duckdb-aggregates.ts", file, "load"]));
  const perRule = (findings: { rule: string }[]) => {
    const n: Record<string, number> = {};
    for (const f of findings) n[f.rule] = (n[f.rule] ?? 0) + 1;
    return n;
  };
  // DuckDB runs the declared (windowed) rules; the engine also runs beaconing and the anomaly forest.
  const declared = new Set((RENDERER.rules ?? []).flatMap((r) => RENDERER.reports?.(r) ?? [r]));
  const engine = perRule((JSON.parse(engineRuns[0]!.stdout) as { findings: { rule: string }[] }).findings);
  const duckFindings = (JSON.parse(duck[0]!.stdout) as { findings: Record<string, number> }).findings;
  const engineWindowed = Object.fromEntries(Object.entries(engine).filter(([rule]) => declared.has(rule)));
  const agree = JSON.stringify(Object.entries(duckFindings).sort()) === JSON.stringify(Object.entries(engineWindowed).sort());
  const speedUp = median(duck.map((d) => d.seconds)) / median(engineRuns.map((r) => r.seconds));
  report(
    `the declared rules' SQL in DuckDB, 1 thread, load then 22 queries, same file: findings per rule ${agree ? "equal to the engine's" : `DIFFER (duckdb ${JSON.stringify(duckFindings)}, engine ${JSON.stringify(engineWindowed)})`}; engine ${speedUp.toFixed(1)}x faster`,
    duck,
    "engine >= 5x faster (#14)",
  );
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
    // One thread and two (a parsing worker: the default for plain input of 64 MiB or more), interleaved.
    const runs: (Sample & { stdout: string })[] = [];
    const two: (Sample & { stdout: string })[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push(timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"], { FLOWLOG_KIT_DETECT_THREADS: "1" }));
      two.push(timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"]));
    }
    const read = JSON.parse(runs[0]!.stdout).stats.read as number;
    if (read !== records) throw new Error(`expected ${records} records, read ${read}`);
    if (two[0]!.stdout !== runs[0]!.stdout) throw new Error("detect on two threads reported something else than on one");
    const perSecond = records / median(runs.map((r) => r.seconds));
    report(`detect: parse + all rules, ${records.toLocaleString("en")} records (${mib.toFixed(0)} MiB), one thread; ${(perSecond / 1e6).toFixed(2)} M records/s`, runs, ">= 2 M records/s, <= 1 GB (#3)");
    report(`same, two threads (the default: a worker parses); the same output; ${(records / median(two.map((r) => r.seconds)) / 1e6).toFixed(2)} M records/s`, two, ">= 2 M records/s, <= 1 GB (#3)");
    // The engine is one thread, but V8 compiles and collects garbage on helper threads: pinned to
    // one core, the whole process gets no second core at all.
    if (spawnSync("taskset", ["-c", "0", "true"]).status === 0) {
      const pinned = Array.from({ length: 3 }, () => timed(["taskset", "-c", "0", "node", "bin/flowlog-kit.js", "detect", file, "--json"], { FLOWLOG_KIT_DETECT_THREADS: "1" }));
      report(`same, the whole process pinned to one core (taskset -c 0); ${(records / median(pinned.map((r) => r.seconds)) / 1e6).toFixed(2)} M records/s`, pinned, ">= 2 M records/s on one core (#3)");
    } else process.stderr.write("taskset is not available: the pinned run is left out\n");
    const phases = Array.from({ length: 3 }, () => timed(["node", "-r", "./bin/register.js", "bench/detect-phases.ts", file]));
    const phase = (key: string) => median(phases.map((x) => JSON.parse(x.stdout)[key] as number)) / 1000;
    report(
      `same, in-process: read + scan + aggregate ${phase("scanAggregateMs").toFixed(2)} s, rules (Isolation Forest included) ${phase("rulesMs").toFixed(2)} s; ${(records / phase("ms") / 1e6).toFixed(2)} M records/s`,
      phases,
      ">= 2 M records/s (#3)",
    );
    rulesInDuckDb(file, runs);
    const inner = (xs: { stdout: string }[]) => median(xs.map((x) => JSON.parse(x.stdout).ms as number)) / 1000;
    const forest = Array.from({ length: 5 }, () => timed(["node", "-r", "./bin/register.js", "bench/iforest.ts"]));
    report(`Isolation Forest fit + score, 100,000 x 4, 100 trees, psi 256: ${inner(forest).toFixed(2)} s in-process`, forest, "<= 1 s (#3; scikit-learn ~0.7 s)");
  },
  busy() {
    // ../shared/bench/gen-busy.py: an internet-facing VPC's busy hour, nearly every record a new pair (issue 14).
    const file = busyFile(5_000_000);
    // Two threads (the default for plain input this large) and one, interleaved.
    const runs: (Sample & { stdout: string })[] = [];
    const one: (Sample & { stdout: string })[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push(timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"]));
      one.push(timed(["node", "bin/flowlog-kit.js", "detect", file, "--json"], { FLOWLOG_KIT_DETECT_THREADS: "1" }));
    }
    if (one[0]!.stdout !== runs[0]!.stdout) throw new Error("detect on one thread reported something else than on two");
    const { stats } = JSON.parse(runs[0]!.stdout) as { stats: { read: number; analysed: number; skipped: Record<string, number> } };
    const perSecond = stats.read / median(runs.map((r) => r.seconds));
    report(
      `detect on gen-busy 5M (busy hour), two threads (the default): ${stats.analysed.toLocaleString("en")} of ${stats.read.toLocaleString("en")} analysed, skipped ${JSON.stringify(stats.skipped)}; ${(perSecond / 1e6).toFixed(2)} M records/s`,
      runs,
      ">= 1.5 M records/s (goal 2), <= 1 GB, every record analysed (#14)",
    );
    report(`same, one thread (FLOWLOG_KIT_DETECT_THREADS=1), the same output; ${(stats.read / median(one.map((r) => r.seconds)) / 1e6).toFixed(2)} M records/s`, one, "(comparison)");
    rulesInDuckDb(file, runs);
    const hours = Array.from({ length: 2 }, () => timed(["node", "-r", "./bin/register.js", "bench/busy.ts", file, "1", "--hours", "4"]));
    report("detect on 4 busy hours streamed (20M records: gen-busy 5M written 4 times, k hours later; bench/busy.ts --hours 4); peak RSS of the detect run in the script's output", hours, "peak within 10% of the 5M run (#14)");
    process.stdout.write(`busy.ts --hours 4 said: ${hours.map((h) => h.stdout.trim().split("\n").pop()).join(" / ")}\n`);
  },
  athena() {
    // The scheduled Athena path with DuckDB standing in for Athena: the Lambda's part must not grow with the records (issue 15).
    for (const records of [1_000_000, 5_000_000]) {
      const file = busyFile(records);
      const r = timed(["node", "-r", "./bin/register.js", "bench/athena-standin.ts", file, "3"]);
      const out = JSON.parse(r.stdout) as { records: number; duckdbMs: number; rowsPastThresholds: number; lambda: { ms: number; peakMiB: number; findings: number; queries: number }[] };
      const lambda = out.lambda.map((l) => ({ seconds: l.ms / 1000, peakMiB: l.peakMiB }));
      report(
        `scheduled run on Athena, DuckDB standing in (${(out.duckdbMs / 1000).toFixed(1)} s for the ${out.lambda[0]!.queries} queries over ${out.records.toLocaleString("en")} records, ${out.rowsPastThresholds} rows past thresholds): the Lambda's part, ${out.lambda[0]!.findings} findings`,
        lambda,
        "memory and time independent of the record count (#15)",
      );
    }
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
