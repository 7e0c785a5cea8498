import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { generateFile, PLANTED } from "../../bench/generate";
import { runCli } from "../support/cli";
import { tempDir } from "../support/env";

describe("flowlog-kit detect (local files)", () => {
  const dir = tempDir("detect");
  const plain = path.join(dir, "flows.log");
  const gz = path.join(dir, "more", "flows.log.gz");
  beforeAll(() => {
    generateFile(plain, 60_000, 1);
    fs.mkdirSync(path.dirname(gz));
    generateFile(gz, 20_000, 2, true);
  });

  it("finds every planted attack; rule findings come only from the attackers, and they top the anomaly scores", async () => {
    const r = await runCli("detect", plain, "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { stats: { read: number; analysed: number; skipped: Record<string, number> }; findings: { rule: string; src: string }[] };
    for (const [rule, src] of Object.entries(PLANTED)) {
      expect(doc.findings).toContainEqual(expect.objectContaining({ rule, src }));
    }
    const planted = new Set<string>(Object.values(PLANTED));
    expect(doc.findings.filter((f) => f.rule !== "anomaly" && !planted.has(f.src))).toEqual([]);
    // The statistical rule may also flag ordinary tails (LOW severity), but never above the attackers.
    const anomalies = doc.findings.filter((f) => f.rule === "anomaly") as unknown as { src: string; evidence: { scorePercent: number } }[];
    const top = [...anomalies].sort((a, b) => b.evidence.scorePercent - a.evidence.scorePercent)[0]!;
    expect(planted.has(top.src)).toBe(true);
    expect(doc.stats).toEqual({ read: doc.stats.analysed, analysed: doc.stats.analysed, skipped: {} });
    expect(doc.stats.read).toBeGreaterThan(60_000);
  });

  it("prints a findings table and the read/skip counts", async () => {
    const r = await runCli("detect", plain);
    expect(r.out).toMatch(/^severity\s+rule\s+source\s+destination\s+port\s+interface\s+window \(UTC\)\s+evidence/);
    expect(r.out).toMatch(/HIGH\s+exfiltration\s+10\.0\.3\.30\s+192\.0\.2\.30\s+-\s+eni-0a77ac0000000000a\s+2026-11-01 00:20\s+egressBytes=2147483648/);
    expect(r.out).toMatch(/\d+ findings\. Records read \d+, analysed \d+, skipped: none\.\n$/);
  });

  it("reads a plain file (in 1 MiB reads, lines across them) and the same bytes gzipped alike", async () => {
    const zipped = path.join(dir, "same.log.gz");
    fs.writeFileSync(zipped, zlib.gzipSync(fs.readFileSync(plain)));
    expect(fs.statSync(plain).size).toBeGreaterThan(3 << 20);
    const a = await runCli("detect", plain, "--json");
    const b = await runCli("detect", zipped, "--json");
    expect(b.out).toBe(a.out);
  });

  it("reads gzip files and walks folders", async () => {
    const r = await runCli("detect", path.dirname(gz), "--json");
    expect(JSON.parse(r.out).stats.read).toBeGreaterThan(20_000);
  });

  it("counts the damage of a truncated gzip and a file that is not a flow log, instead of failing", async () => {
    const bad = path.join(dir, "bad");
    fs.mkdirSync(bad);
    const whole = fs.readFileSync(gz);
    fs.writeFileSync(path.join(bad, "cut.log.gz"), whole.subarray(0, Math.floor(whole.length / 2)));
    fs.writeFileSync(path.join(bad, "notes.txt"), "This is a shopping list.\nmilk eggs\n");
    fs.writeFileSync(path.join(bad, "counters.log"), "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 ten 1 1700000000 1700000060 ACCEPT OK\n");
    const doc = JSON.parse((await runCli("detect", bad, "--json")).out);
    expect(doc.stats.skipped["truncated-gzip"]).toBe(1);
    // Prose fails at its first word, where a number (the version) belongs; so do bad counters.
    expect(doc.stats.skipped["non-numeric"]).toBe(3);
    // The truncated stream is a skip of its own; the three bad lines were read and skipped.
    expect(doc.stats.read).toBe(doc.stats.analysed + 3);
  });

  it("takes the format from --format", async () => {
    const custom = path.join(dir, "custom.log");
    fs.writeFileSync(custom, range(30).map((i) => `203.0.113.9 10.0.1.5 ${1000 + i} REJECT 1700000100`).join("\n"));
    const doc = JSON.parse((await runCli("detect", custom, "--format", "srcaddr dstaddr dstport action start", "--json")).out);
    expect(doc.findings.map((f: { rule: string }) => f.rule)).toContain("port-scan");
  });

  it("rejects unknown format fields, naming them and the nearest valid names", async () => {
    const r = await runCli("detect", plain, "--format", "srcaddr dstadr");
    expect(r.code).toBe(1);
    expect(r.err).toContain('--format: unknown field "dstadr"; did you mean "dstaddr"? (got "srcaddr dstadr"). List flow-log fields from the catalog');
  });

  it("rejects a path that does not exist and a missing file list", async () => {
    const missing = await runCli("detect", path.join(dir, "nope"));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`${path.join(dir, "nope")}: cannot read (got ENOENT). Give flow-log files or folders that exist.`);
    const none = await runCli("detect");
    expect(none.code).toBe(1);
    expect(none.err).toContain("detect: no files given (got nothing). Name flow-log files or folders, e.g. flowlog-kit detect ./logs/, or use --env <env> --since 1h.");
    const emptyDir = path.join(dir, "empty");
    fs.mkdirSync(emptyDir);
    expect((await runCli("detect", emptyDir)).err).toContain("no files found (got empty folders).");
  });

  it("uses an environment's thresholds with --env", async () => {
    const lenient = await runCli("detect", plain, "--env", "dev", "--json");
    expect(lenient.code).toBe(0);
    expect((await runCli("detect", plain, "--env", "qa")).err).toContain('qa: unknown environment (got "qa")');
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

