import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { detectFiles, FileDetection } from "../../../functions/detect/run";
import { resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import { Flow, line, range, tgwLine } from "../../support/flows";

/** An hour boundary. */
const H0 = 1_700_002_800;

/**
 * Two hours of ordinary traffic (enough to fill several batches of a megabyte and to close
 * windows while the file is read) with attacks in both: a port scan, a slow scan, an SSH brute
 * force and a sweep.
 */
function busy(): Flow[] {
  const flows: Flow[] = [];
  for (let i = 0; i < 24_000; i++) {
    const h = i % 60;
    flows.push({ src: `10.0.1.${h + 10}`, dst: `198.51.${(i >> 8) % 40}.${i % 250}`, srcport: 40000 + (i % 20000), dstport: 443, packets: 30, bytes: 40_000, start: H0 + Math.floor((i * 7200) / 24_000), eni: `eni-0host${String(h).padStart(13, "0")}` });
  }
  for (let p = 0; p < 300; p++) flows.push({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + p, packets: 1, bytes: 44, action: "REJECT", start: H0 + 900 + (p % 60), eni: "eni-0victim000000000" });
  for (let p = 0; p < 120; p++) flows.push({ src: "203.0.113.10", dst: "10.0.1.7", dstport: 2000 + p, packets: 1, bytes: 44, action: "REJECT", start: H0 + 3600 + p * 30, eni: "eni-0victim000000003" });
  for (let a = 0; a < 72; a++) flows.push({ src: "203.0.113.20", dst: "10.0.1.6", srcport: 50000 + a, dstport: 22, packets: 12, bytes: 2100, start: H0 + a * 50, eni: "eni-0victim000000001" });
  for (let h = 0; h < 40; h++) flows.push({ src: "10.0.1.90", dst: `10.0.3.${h}`, dstport: 3389, packets: 2, bytes: 120, start: H0 + 4000 + h, eni: "eni-0victim000000002" });
  return flows.sort((x, y) => x.start! - y.start!);
}

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-parallel-"));
  const flows = busy();
  // The first hour, then lines of every kind the scanner handles: a header switching to a
  // version-5 format (tcp-flags and flow-direction), records in it, a header naming a field the
  // catalog lacks (its lines skipped as bad-header), a JSON-wrapped record, malformed lines,
  // NODATA and SKIPDATA; then the second hour in another file, and a transit-gateway file with drops.
  const half = flows.findIndex((f) => f.start! >= H0 + 3600);
  fs.writeFileSync(path.join(dir, "a.log"), flows.slice(0, half).map((f) => `${line(f)}\n`).join(""));
  const v5 = "version srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction";
  const odd = [
    v5,
    ...range(30).map((i) => `5 203.0.113.77 10.0.2.${i} 40000 ${8000 + i} 6 1 44 ${H0 + 100 + i} ${H0 + 110 + i} REJECT OK 2 ingress`),
    "version srcaddr dstadr dstport",
    "5 10.0.0.1 10.0.0.2 22",
    LogFormat.DEFAULT.names.join(" "),
    JSON.stringify({ message: line({ src: "10.0.1.11", dst: "198.51.100.9", dstport: 443, start: H0 + 200 }) }),
    "2 123456789012 eni-0123456789abcdef0 10.0.0.1 10.0.0.2 443",
    "2 123456789012 eni-0123456789abcdef0 10.0.0.1 999.0.0.2 40000 443 6 1 40 1700003000 1700003010 ACCEPT OK",
    `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${H0 + 300} ${H0 + 360} - NODATA`,
    `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${H0 + 300} ${H0 + 360} - SKIPDATA`,
    "not a flow log line",
  ];
  fs.writeFileSync(path.join(dir, "b.log"), `${odd.join("\n")}\n`);
  fs.writeFileSync(path.join(dir, "c.log"), flows.slice(half).map((f) => `${line(f)}\n`).join(""));
  const tgw = [LogFormat.TRANSIT_GATEWAY_DEFAULT.names.join(" "), ...range(40).map((i) => tgwLine({ src: `10.1.0.${i}`, dst: "10.2.0.9", dstport: 443, start: H0 + 60 * (i % 10), lost: { noRoute: 400, blackhole: "-" } }))];
  fs.writeFileSync(path.join(dir, "d.log"), `${tgw.join("\n")}\n`);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Everything a run reports, as comparable data (formats by their field names). */
function comparable(r: FileDetection) {
  return {
    stats: r.stats,
    suppressed: r.suppressed,
    findings: r.findings.map((f) => JSON.stringify(f)),
    headers: r.headers.map((h) => ({ file: h.file, text: h.header.text, format: h.header.format?.names, problems: h.header.problems })),
    skippedLines: r.skippedLines.map((l) => ({ file: l.file, text: l.text, reason: l.reason, format: l.format.names })),
  };
}

describe("detect on two threads (a parsing worker, parallel.ts)", () => {
  it("reports exactly what one thread does: findings, counts, header lines and skipped lines, file by file", async () => {
    const files = ["a.log", "b.log", "c.log", "d.log"].map((f) => path.join(dir, f));
    const t = resolveThresholds({ threatIntel: [{ name: "test", entries: ["203.0.113.20"] }] });
    const one = await detectFiles(files, t, LogFormat.DEFAULT, { parallel: false });
    const two = await detectFiles(files, t, LogFormat.DEFAULT, { parallel: true });
    expect(one.findings.length).toBeGreaterThan(5);
    expect(new Set(one.findings.map((f) => f.rule)).size).toBeGreaterThan(3);
    expect(one.stats.skipped["bad-header"]).toBeGreaterThan(0);
    expect(one.headers.length).toBeGreaterThan(1);
    expect(one.findings.some((f) => f.rule === "tgw-packet-loss")).toBe(true);
    expect([one.threads, two.threads]).toEqual([1, 2]);
    expect(comparable(two)).toEqual(comparable(one));
  }, 30_000);

  it("reads gzip or Parquet input on one thread, even when asked for two", async () => {
    const gz = path.join(dir, "e.log.gz");
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(path.join(dir, "a.log"))));
    const t = resolveThresholds();
    const one = await detectFiles([path.join(dir, "c.log"), gz], t, LogFormat.DEFAULT, { parallel: false });
    const two = await detectFiles([path.join(dir, "c.log"), gz], t, LogFormat.DEFAULT, { parallel: true });
    expect([one.threads, two.threads]).toEqual([1, 1]);
    expect(comparable(two)).toEqual(comparable(one));
    expect(one.stats.analysed).toBeGreaterThan(20_000);
  });

  it("counts every record once when the row budget runs out on the aggregating side", async () => {
    const files = ["a.log", "c.log"].map((f) => path.join(dir, f));
    const t = resolveThresholds({ rowBudget: 2_000 });
    const one = await detectFiles(files, t, LogFormat.DEFAULT, { parallel: false });
    const two = await detectFiles(files, t, LogFormat.DEFAULT, { parallel: true });
    for (const r of [one, two]) {
      expect(r.stats.skipped["row-budget"]).toBeGreaterThan(0);
      expect(r.stats.analysed + (r.stats.skipped["row-budget"] ?? 0)).toBe(r.stats.read);
    }
    expect(two.threads).toBe(2);
    // The worker, told the budget ran out, counts what it reads as row-budget: the same counts
    // and the same detector-saturated finding (its window spans the windows seen before).
    expect(one.findings.map((f) => f.rule)).toContain("detector-saturated");
    expect(comparable(two)).toEqual(comparable(one));
  }, 30_000);
});
