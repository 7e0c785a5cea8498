import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { parquetMetadata } from "hyparquet";
import { generateFile, PLANTED } from "../../bench/generate";
import { findingsReport } from "../../bin/detect";
import { LogFormat } from "../../functions/flowlog/format";
import { line, TgwFlow, tgwLine } from "../support/flows";
import { writeParquet } from "../support/parquet";
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

  it("finds every planted attack; rule findings come only from the attackers, and the hosts they involve top the anomaly scores", async () => {
    const r = await runCli("detect", plain, "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { stats: { read: number; analysed: number; skipped: Record<string, number> }; findings: { rule: string; src: string }[] };
    for (const [rule, src] of Object.entries(PLANTED)) {
      expect(doc.findings).toContainEqual(expect.objectContaining({ rule, src }));
    }
    const planted = new Set<string>(Object.values(PLANTED));
    expect(doc.findings.filter((f) => f.rule !== "anomaly" && !planted.has(f.src))).toEqual([]);
    // The statistical rule judges internal hosts: the attackers inside, and the victims of those outside (the scan's, the brute force's,
    // the rejected spike's). It may also flag ordinary tails (LOW severity), but never above them.
    const involved = new Set<string>([...planted, "10.0.1.10", "10.0.1.20", "10.0.1.70"]);
    const anomalies = doc.findings.filter((f) => f.rule === "anomaly") as unknown as { src: string; evidence: { scorePercent: number } }[];
    const top = [...anomalies].sort((a, b) => b.evidence.scorePercent - a.evidence.scorePercent)[0]!;
    expect(involved.has(top.src)).toBe(true);
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

  it("takes --format default as the AWS default format, as an environment's logFormat does", async () => {
    const custom = path.join(dir, "default-named.log");
    fs.writeFileSync(custom, `${range(30).map((i) => `2 123456789012 eni-0a77ac0000000000a 203.0.113.9 10.0.1.5 40000 ${1000 + i} 6 1 44 1700000100 1700000130 REJECT OK`).join("\n")}\n`);
    const named = await runCli("detect", custom, "--format", "default", "--json");
    expect(named.code).toBe(0);
    expect(named.out).toBe((await runCli("detect", custom, "--json")).out);
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


/** A default-format (version 2) record; every field can be given as written. */
const rec = (f: Partial<Record<"src" | "dst" | "srcport" | "dstport" | "protocol" | "packets" | "bytes" | "start" | "end" | "action" | "status", string | number>> = {}) =>
  [2, "123456789012", "eni-0a77ac0000000000a", f.src ?? "10.0.1.7", f.dst ?? "10.0.1.20", f.srcport ?? 40000, f.dstport ?? 443, f.protocol ?? 6, f.packets ?? 14, f.bytes ?? 2600, f.start ?? 1793491200, f.end ?? Number(f.start ?? 1793491200) + 2, f.action ?? "ACCEPT", f.status ?? "OK"].join(" ");

type Doc = { stats: { read: number; analysed: number; skipped: Record<string, number> }; findings: { rule: string; src?: string; severity: string }[] };

describe("flowlog-kit detect tells the truth", () => {
  const dir = tempDir("detect-truth");
  const write = (name: string, lines: readonly string[] | Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, Buffer.isBuffer(lines) ? lines : `${lines.join("\n")}\n`);
    return file;
  };
  const json = async (...args: string[]) => {
    const r = await runCli("detect", ...args, "--json");
    return { ...r, doc: JSON.parse(r.out) as Doc };
  };
  const ordinary = range(20).map((i) => rec({ srcport: 40000 + i }));

  it("impossible values are skipped as invalid-value and raise no finding: bytes 1e23, source 999.999.999.999, port 70000, action MAYBE, protocol 300, end before start", async () => {
    const attempts = (src: string) => range(60).map((i) => rec({ src, dst: "10.0.1.20", srcport: 40000 + i, dstport: 22, start: 1793491200 + i, action: "REJECT" }));
    const exfiltration = (bytes: string) => rec({ src: "10.0.3.30", dst: "192.0.2.30", bytes });
    // The same lines with possible values raise the findings: the skips are what prevents them.
    const control = await json(write("possible.log", [...ordinary, exfiltration("2147483648"), ...attempts("198.51.100.20")]));
    expect(control.doc.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(["exfiltration", "ssh-brute-force"]));
    const impossible = [
      exfiltration("100000000000000000000000"),
      ...attempts("999.999.999.999"),
      rec({ dstport: 70000 }),
      rec({ action: "MAYBE" }),
      rec({ protocol: 300 }),
      rec({ start: 1793491200, end: 1793491100 }),
    ];
    const r = await json(write("impossible.log", [...ordinary, ...impossible]));
    expect(r.code).toBe(0);
    expect(r.doc.findings.filter((f) => f.rule !== "anomaly")).toEqual([]);
    expect(r.doc.stats).toEqual({ read: 20 + impossible.length, analysed: 20, skipped: { "invalid-value": impossible.length } });
  });

  it.each([
    [
      "headerless version 5 records read as the default format",
      () => write("v5.log", range(3).map((i) => `5 vpc-0abc 10.0.1.7 52.94.0.10 ${40000 + i} 443 6 1793491200 1793491260 IPv4 3 200 123456789012 eni-0a77ac0000000000a ACCEPT 2 egress OK`)),
      [],
      (f: string) =>
        `detect: no records analysed (got 3 lines read, skipped: invalid-value 3). The first skipped line (${f}, invalid-value) has 18 fields, and its first field reads as record version 5; the AWS default format (version 2) has 14: "5 vpc-0abc 10.0.1.7 52.94.0.10 40000 443 6 1793491200 1793491260 IPv4 3 200 123456789012 eni-0a77ac0...". ` +
        `Give the lines' fields in order with --format "<fields>", use --env <env> for an environment's format, or put the files' header line first.`,
    ],
    [
      "default-format records read with a --format that does not fit them",
      () => write("default.log", ordinary),
      ["--format", "srcaddr dstaddr dstport action start"],
      (f: string) =>
        `detect: no records analysed (got 20 lines read, skipped: invalid-value 20). The first skipped line (${f}, invalid-value) has 14 fields, and its first field reads as record version 2; --format has 5: "2 123456789012 eni-0a77ac0000000000a 10.0.1.7 10.0.1.20 40000 443 6 14 2600 1793491200 1793491202 AC...". ` +
        `It reads as the AWS default format (version 2): run without --format and --env, or give --format "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".`,
    ],
    [
      "records with as many fields as the format, in another order",
      () => write("swapped.log", ordinary.map((l) => l.replace(/ACCEPT OK$/, "OK ACCEPT"))),
      [],
      (f: string) =>
        `detect: no records analysed (got 20 lines read, skipped: invalid-value 20). The first skipped line (${f}, invalid-value) has 14 fields, and its first field reads as record version 2; the AWS default format (version 2) has 14: "2 123456789012 eni-0a77ac0000000000a 10.0.1.7 10.0.1.20 40000 443 6 14 2600 1793491200 1793491202 OK...". ` +
        `The count matches but the values do not fit: check that the fields of the AWS default format (version 2) are in the files' order. Give the lines' fields in order with --format "<fields>", use --env <env> for an environment's format, or put the files' header line first.`,
    ],
    [
      "a binary file",
      () => write("program.bin", Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 10]), Buffer.from("2 x\n\x01\x02\x03 4 5\n")])),
      [],
      (f: string) => `detect: no records analysed (got 3 lines read, skipped: non-numeric 2, too-few-fields 1). ${f} is not text (it holds control bytes, as a binary file does): give flow-log files, plain or gzip.`,
    ],
    [
      "JSON lines without a message field",
      () => write("shipper.json", [JSON.stringify({ log: ordinary[0] })]),
      [],
      (f: string) =>
        `detect: no records analysed (got 1 line read, skipped: non-numeric 1). ${f} holds JSON lines with no "message" string field, e.g. ${JSON.stringify(JSON.stringify({ log: ordinary[0] }).slice(0, 100) + "...")}: give the flow-log records, or JSON lines that carry each record in "message".`,
    ],
    [
      "only NODATA and SKIPDATA records",
      () => write("idle.log", ["2 123456789012 eni-0a77ac0000000000a - - - - - - - 1793491200 1793491260 - NODATA", "2 123456789012 eni-0a77ac0000000000a - - - - - - - 1793491200 1793491260 - SKIPDATA"]),
      [],
      () => `detect: no records analysed (got 2 lines read, skipped: nodata 1, skipdata 1). Every record is NODATA (no traffic on the interface in its interval) or SKIPDATA (AWS skipped records in it): these files hold no traffic to analyse.`,
    ],
    [
      "an empty file",
      () => write("empty.log", Buffer.alloc(0)),
      [],
      () => `detect: no records analysed (got 0 lines read, skipped: none). The files hold no flow-log records (they are empty, or hold only header lines): give files with records.`,
    ],
    [
      "a gzip file cut before its first record",
      () => write("cut.log.gz", zlib.gzipSync(Buffer.from(ordinary.join("\n").repeat(50))).subarray(0, 20)),
      [],
      () => `detect: no records analysed (got 0 lines read, skipped: truncated-gzip 1). A gzip file ends before its first record: download it again.`,
    ],
  ])("when no record is analysed it exits 1 with the skip reasons and a hint, never \"No findings.\": %s", async (_what, make, args, message) => {
    const file = make();
    const r = await runCli("detect", file, ...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe(`${message(file)}\n`);
  });

  it("detect /bin/ls (a binary file) exits 1 and says it is not text", async () => {
    const r = await runCli("detect", "/bin/ls");
    expect(r.code).toBe(1);
    expect(r.out).not.toContain("No findings.");
    expect(r.err).toMatch(/^detect: no records analysed \(got \d+ lines read, skipped: [a-z-]+ \d+.*\)\. \/bin\/ls is not text \(it holds control bytes, as a binary file does\): give flow-log files, plain or gzip\.\n$/);
  });

  it("with --json, stdout stays one JSON document (analysed 0) while the reasons go to stderr and the exit is 1", async () => {
    const r = await json(write("v5-again.log", ["5 vpc-0abc 10.0.1.7 52.94.0.10 40000 443 6 1793491200 1793491260 IPv4 3 200 123456789012 eni-0a77ac0000000000a ACCEPT 2 egress OK"]));
    expect(r.code).toBe(1);
    expect(r.doc).toEqual({ stats: { read: 1, analysed: 0, skipped: { "invalid-value": 1 } }, findings: [] });
    expect(r.err).toMatch(/^detect: no records analysed \(got 1 line read, skipped: invalid-value 1\)\. /);
  });

  it("says on stderr when a header line overrides --format or --env's format, and reads the lines under it in the header's format", async () => {
    const header = "srcaddr dstaddr dstport action start";
    const withHeader = write("with-header.log", [header, ...range(30).map((i) => `203.0.113.9 10.0.1.5 ${1000 + i} REJECT 1793491200`)]);
    const r = await json(withHeader, "--format", "srcaddr dstaddr srcport dstport protocol");
    expect(r.code).toBe(0);
    expect(r.err).toBe(`${withHeader}: header line overrides --format (got "${header}" instead of "srcaddr dstaddr srcport dstport protocol"). The lines under a header line are read in the format it names; --format applies to files without one.\n`);
    expect(r.doc.stats.analysed).toBe(30);
    expect(r.doc.findings.map((f) => f.rule)).toContain("port-scan");
    const env = await json(withHeader, "--env", "prod");
    expect(env.err).toMatch(new RegExp(`^${withHeader.replace(/[.\\/]/g, "\\$&")}: header line overrides the format of environment prod \\(--env\\) \\(got "${header}" instead of "version `));
    expect(env.err).toMatch(/The lines under a header line are read in the format it names; the format of environment prod \(--env\) applies to files without one\.\n$/);
    // A header that repeats the given format, or a header with no format given, needs no notice.
    expect((await json(withHeader, "--format", header)).err).toBe("");
    expect((await json(withHeader)).err).toBe("");
  });

  it("names the files that share an overriding header line, three at most", async () => {
    const files = range(5).map((i) => write(`part-${i}.log`, ["srcaddr dstaddr dstport", "10.0.0.1 10.0.0.2 443"]));
    const r = await json(...files, "--format", "srcaddr dstaddr");
    expect(r.err).toBe(`${files[0]}, ${files[1]}, ${files[2]} and 2 more files: header line overrides --format (got "srcaddr dstaddr dstport" instead of "srcaddr dstaddr"). The lines under a header line are read in the format it names; --format applies to files without one.\n`);
  });

  it("a header line naming an unknown field is no data: it is reported with the nearest names, its lines skipped (bad-header), and alone it exits 1", async () => {
    const header = "version account-id interface-id srcaddr dstadr srcport dstport protocol packets bytes start end action log-status";
    const bad = write("bad-header.log", [header, ...ordinary]);
    const notice = `${bad}: header line names no format: unknown field "dstadr"; did you mean "dstaddr"? (got "${header}"). The lines under it were skipped (bad-header); correct the header line, or delete it and give the fields with --format.`;
    const alone = await runCli("detect", bad);
    expect(alone.code).toBe(1);
    expect(alone.err).toBe(`${notice}\ndetect: no records analysed (got 20 lines read, skipped: bad-header 20). A header line names a field the catalog lacks (said above): correct the header line, or delete it and give the fields with --format.\n`);
    const good = write("good.log", ordinary);
    const both = await json(bad, good);
    expect(both.code).toBe(0);
    expect(both.err).toBe(`${notice}\n`);
    expect(both.doc.stats).toEqual({ read: 40, analysed: 20, skipped: { "bad-header": 20 } });
  });

  it("records wrapped in JSON ({\"message\": ...} per line, or CloudWatch Logs subscription payloads) are unwrapped: the same findings as the plain file", async () => {
    const plain = path.join(dir, "plain.log");
    generateFile(plain, 20_000, 3);
    const lines = fs.readFileSync(plain, "utf8").split("\n").filter((l) => l !== "");
    const wrapped = write("wrapped.json", lines.map((message, i) => JSON.stringify({ timestamp: i, message, host: "collector-1" })));
    const batches = write("firehose.json", range(Math.ceil(lines.length / 100)).map((b) =>
      JSON.stringify({ messageType: "DATA_MESSAGE", owner: "123456789012", logGroup: "/flowlog-kit/dev/vpc-flow-logs", logStream: "eni-0a77ac0000000000a-all", subscriptionFilters: ["detector"], logEvents: lines.slice(b * 100, b * 100 + 100).map((message, i) => ({ id: String(i), timestamp: 0, message })) }),
    ));
    const expected = (await runCli("detect", plain, "--json")).out;
    expect(JSON.parse(expected).findings.length).toBeGreaterThan(3);
    expect((await runCli("detect", wrapped, "--json")).out).toBe(expected);
    expect((await runCli("detect", batches, "--json")).out).toBe(expected);
  });

  it("the table prints the all-clear only for records analysed", async () => {
    const quiet = await runCli("detect", write("quiet.log", ordinary.slice(0, 3)));
    expect(quiet.out).toBe("No findings.\nRecords read 3, analysed 3, skipped: none.\n");
    expect(findingsReport({ stats: { read: 2, analysed: 0, skipped: { "invalid-value": 2 } }, findings: [] })).toBe("No records analysed: no findings can be reported.\nRecords read 2, analysed 0, skipped: invalid-value 2.");
  });
});

describe("flowlog-kit detect on transit gateway flow logs", () => {
  const dir = tempDir("detect-tgw");
  const TGW_FIELDS = LogFormat.TRANSIT_GATEWAY_DEFAULT.names.join(" ");
  const T = 1793491200;
  const A = "tgw-attach-0aaaa1111bbbb2222";
  const B = "tgw-attach-0cccc3333dddd4444";
  const EGRESS = "tgw-attach-0eeee5555ffff6666";
  const VPN = "tgw-attach-0dddd7777aaaa8888";
  /** Ordinary traffic between spoke VPCs, each flow recorded where it enters and where it leaves, plus a scan from on premises and an exfiltration through the central egress VPC. */
  const records = (): string[] => {
    const lines: string[] = [];
    const both = (f: TgwFlow, from: string, to: string) => lines.push(tgwLine({ ...f, attachment: from, direction: "ingress" }), tgwLine({ ...f, attachment: to, direction: "egress" }));
    for (let i = 0; i < 400; i++) {
      both({ src: `10.0.${i % 4}.${10 + (i % 40)}`, dst: `10.1.${i % 3}.${20 + (i % 9)}`, srcport: 40000 + i, dstport: [443, 5432, 6379][i % 3]!, packets: 10 + (i % 5), bytes: 4000 + ((i * 37) % 900), start: T + (i % 50) * 6 }, A, B);
    }
    for (let p = 1; p <= 200; p++) both({ src: "192.168.50.9", dst: "10.1.2.7", srcport: 51000, dstport: p, packets: 1, bytes: 44, tcpFlags: 2, start: T + 60 }, VPN, B);
    both({ src: "10.0.3.30", dst: "192.0.2.30", srcport: 50100, dstport: 443, packets: 1_500_000, bytes: 2 ** 31, start: T + 120 }, A, EGRESS);
    return lines;
  };
  const write = (name: string, text: string | Buffer) => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  type TgwDoc = { stats: { read: number; analysed: number; skipped: Record<string, number> }; findings: { rule: string; src?: string; interfaceId?: string; evidence: Record<string, number> }[] };
  const attacks = (doc: TgwDoc) => doc.findings.filter((f) => f.rule !== "anomaly").map((f) => `${f.rule} ${f.src}`).sort();

  it("reads headerless records (as CloudWatch Logs delivers them) with --format and their fields, and finds the planted port scan and exfiltration, and nothing from ordinary traffic", async () => {
    const file = write("cloudwatch.log", `${records().join("\n")}\n`);
    const r = await runCli("detect", file, "--format", TGW_FIELDS, "--json");
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    const doc = JSON.parse(r.out) as TgwDoc;
    expect(doc.stats).toEqual({ read: 1202, analysed: 1202, skipped: {} });
    expect(attacks(doc)).toEqual(["exfiltration 10.0.3.30", "port-scan 192.168.50.9", "port-scan 192.168.50.9"]);
    // Counted once, where the flow leaves the transit gateway, though it was recorded twice.
    expect(doc.findings.find((f) => f.rule === "exfiltration")!.evidence.egressBytes).toBe(2 ** 31);
    expect(doc.findings.find((f) => f.rule === "port-scan" && f.interfaceId !== undefined)!.interfaceId).toBe(VPN);
    // The same, by the format's name; and comma-separated fields.
    expect((await runCli("detect", file, "--format", "transit-gateway-default", "--json")).out).toBe(r.out);
    expect((await runCli("detect", file, "--format", TGW_FIELDS.replace(/ /g, ","), "--json")).out).toBe(r.out);
  });

  it("reads an S3 file (gzip, starting with its header line) without --format, and a folder mixing it with VPC records: each file in its own format", async () => {
    const s3 = write("mixed/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261101T0000Z_0a1b2c3d.log.gz", zlib.gzipSync(`${TGW_FIELDS}\n${records().join("\n")}\n`));
    const alone = JSON.parse((await runCli("detect", s3, "--json")).out) as TgwDoc;
    expect(alone.stats).toEqual({ read: 1202, analysed: 1202, skipped: {} });
    expect(attacks(alone)).toContain("exfiltration 10.0.3.30");
    // A VPC flow log in the AWS default format, headerless, with a scan of its own.
    write("mixed/vpc.log", `${range(30).map((i) => rec({ src: "203.0.113.9", dst: "10.0.1.5", srcport: 40000, dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT" })).join("\n")}\n`);
    const mixed = await runCli("detect", path.join(dir, "mixed"), "--json");
    expect(mixed.code).toBe(0);
    expect(mixed.err).toBe("");
    const doc = JSON.parse(mixed.out) as TgwDoc;
    expect(doc.stats).toEqual({ read: 1232, analysed: 1232, skipped: {} });
    expect(attacks(doc)).toEqual(expect.arrayContaining(["exfiltration 10.0.3.30", "port-scan 192.168.50.9", "port-scan 203.0.113.9"]));
  });

  it("reports packets a transit gateway dropped, by attachment, in the findings table", async () => {
    const lossy = range(40).map((i) => tgwLine({ src: `10.0.1.${i}`, dst: "10.9.0.1", srcport: 40000 + i, dstport: 443, start: T, attachment: A, lost: { noRoute: 60 } }));
    const r = await runCli("detect", write("lossy.log", `${[...records(), ...lossy].join("\n")}\n`), "--format", "transit-gateway-default");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`LOW\\s+tgw-packet-loss\\s+-\\s+-\\s+-\\s+${A}\\s+2026-11-01 00:00\\s+packetsLost=2400 noRoute=2400 blackhole=0 mtuExceeded=0 ttlExpired=0 flows=40`));
  });

  it("refuses a --format that mixes transit gateway and VPC fields, naming both", async () => {
    const r = await runCli("detect", path.join(dir, "cloudwatch.log"), "--format", "version tgw-attachment-id srcaddr dstaddr dstport action packets-lost-blackhole");
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      '--format: fields "tgw-attachment-id" and "packets-lost-blackhole" exist only in transit gateway flow logs and field "action" only in VPC flow logs: no flow log has both ' +
        '(got "version tgw-attachment-id srcaddr dstaddr dstport action packets-lost-blackhole"). List flow-log fields from the catalog, all of VPC or all of transit-gateway flow logs, ' +
        'e.g. --format "version srcaddr dstaddr dstport action" or --format transit-gateway-default.\n',
    );
  });

  it("headerless transit gateway records read without --format exit 1, with the hint to give --format transit-gateway-default", async () => {
    const file = write("forgot.log", `${records().slice(0, 3).join("\n")}\n`);
    const r = await runCli("detect", file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `detect: no records analysed (got 3 lines read, skipped: invalid-value 3). The first skipped line (${file}, invalid-value) has 36 fields, and its first field reads as record version 6; the AWS default format (version 2) has 14: ` +
        `${JSON.stringify(`${records()[0]!.slice(0, 100)}...`)}. It reads as the AWS default format of transit-gateway flow logs: give --format transit-gateway-default.\n`,
    );
  });
});

describe("flowlog-kit detect --env <env> --since <duration>, when the deployed detector analysed nothing", () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());
  const answer = (stats: unknown) => lambda.on(InvokeCommand).resolves({ Payload: Buffer.from(JSON.stringify({ stats, findings: [], truncated: [] })) as never });

  it("exits 1: no records in the window", async () => {
    answer({ read: 0, analysed: 0, skipped: {} });
    const r = await runCli("detect", "--env", "prod", "--since", "30m");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/\ndetect: the deployed detector of prod found no flow-log data in the last 30m \(got 0 queries, 0 bytes scanned, 0 records read\)\. Check that the environment's flow logs deliver \(to the archive for Athena, to CloudWatch Logs otherwise\), or give a longer --since\.\n$/);
  });

  it("exits 1: records read, none analysed", async () => {
    answer({ read: 40, analysed: 0, skipped: { "too-few-fields": 40 } });
    const r = await runCli("detect", "--env", "prod", "--since", "1h", "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).stats.analysed).toBe(0);
    expect(r.err).toMatch(/\ndetect: the deployed detector of prod analysed no records \(got 40 records read, skipped: too-few-fields 40\)\. Check that the environment's logFormat matches its flow logs, or run detect on downloaded files to see why\.\n$/);
  });
});

describe("flowlog-kit detect on Parquet flow logs (as AWS writes them: underscored columns, GZIP)", () => {
  const dir = tempDir("detect-parquet");
  const T0 = 1_700_000_000;
  // The default fields and two of version 3 and 5: the file's columns name its format, as a header line does.
  const format = LogFormat.custom([...LogFormat.DEFAULT.names, "tcp-flags", "flow-direction"], "vpc");
  const withDirection = (l: string, i: number) => `${l} ${i % 2 ? 2 : 19} ${i % 2 ? "egress" : "ingress"}`;
  const records = [
    ...range(30).map((i) => line({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT", start: T0 })),
    ...range(12).map((i) => line({ src: `10.0.0.${i + 1}`, dst: "203.0.113.80", dstport: 0, protocol: 47, start: T0 + 60 })),
    // Ordinary traffic, enough for three row groups of 2048 rows (DuckDB's smallest).
    ...range(4200).map((i) => line({ src: "10.0.2.7", dst: "10.0.1.5", srcport: 32768 + (i % 20000), dstport: 443, start: T0 + (i % 240) })),
  ].map(withDirection);
  // What AWS writes for an interval without traffic (null columns in Parquet), and a value no flow log holds.
  const nodata = `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${T0} ${T0 + 60} - NODATA - -`;
  const negative = `2 123456789012 eni-0123456789abcdef0 10.0.2.7 10.0.1.5 -1 443 6 1 40 ${T0} ${T0 + 30} ACCEPT OK 2 ingress`;
  const lines = [...records, nodata, negative];
  const text = path.join(dir, "flows.log");
  const parquet = path.join(dir, "123456789012_vpcflowlogs_eu-west-1_fl-1234abcd_20231114T2210Z_0a1b2c3d.log.parquet");
  const write = (name: string, bytes: Buffer | string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  beforeAll(async () => {
    fs.writeFileSync(text, `${format.names.join(" ")}\n${lines.join("\n")}\n`);
    await writeParquet(parquet, lines, format, 2048);
  });

  it("gives the same findings and counts as the same records in text, over several row groups", async () => {
    const fromText = await runCli("detect", text, "--json");
    const fromParquet = await runCli("detect", parquet, "--json");
    expect(fromParquet.err).toBe("");
    expect(fromParquet.code).toBe(0);
    const doc = JSON.parse(fromParquet.out) as { stats: unknown; findings: { rule: string }[] };
    expect(doc).toEqual(JSON.parse(fromText.out));
    expect(doc.stats).toEqual({ read: 4244, analysed: 4242, skipped: { nodata: 1, "invalid-value": 1 } });
    expect(new Set(doc.findings.map((f) => f.rule))).toEqual(new Set(["port-scan", "unusual-protocol"]));
    expect(parquetMetadata(fs.readFileSync(parquet)).row_groups.map((g) => Number(g.num_rows))).toEqual([2048, 2048, 148]);
  });

  it("reads a Parquet file by its columns whatever --format says, with no header notice", async () => {
    const r = await runCli("detect", parquet, "--format", "version srcaddr dstaddr dstport action", "--json");
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out).stats.analysed).toBe(4242);
  });

  it("refuses a truncated Parquet file, naming it and what to do, instead of reporting 0 records", async () => {
    const cut = write("cut.log.parquet", fs.readFileSync(parquet).subarray(0, 900));
    const r = await runCli("detect", cut);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    const tail = JSON.stringify(fs.readFileSync(cut).subarray(896).toString("latin1").replace(/[^\x20-\x7e]/g, "."));
    expect(r.err).toBe(`${cut}: Parquet file is truncated: it lacks the footer a Parquet file ends with (got 900 bytes ending in ${tail}, not "PAR1"). AWS writes the footer last, so the file was cut short in a download or copy: get it again.\n`);
  });

  it("refuses a file named .parquet that is not Parquet", async () => {
    const fake = write("flows.log.parquet", `${lines.join("\n")}\n`);
    const r = await runCli("detect", fake);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${fake}: not a Parquet file (got first bytes "2 12", not "PAR1"). Give Parquet flow-log files as AWS delivers them, or give a text flow-log file a name that does not end in .parquet.\n`);
  });

  it("refuses a Parquet file whose columns are not flow-log fields", async () => {
    const other = path.join(dir, "other.parquet");
    await writeParquet(other, ["1 x"], { fields: [{ name: "id", type: "int32" }, { name: "dst-adr", type: "string" }] } as unknown as LogFormat);
    const r = await runCli("detect", other);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${other}: Parquet columns name no flow-log format: unknown field "id"; did you mean "end", "az_id", "tgw_id"?; unknown field "dst_adr"; did you mean "dstaddr"? (got columns id, dst_adr). Give Parquet flow-log files as AWS writes them: one column per flow-log field, with underscores for hyphens (account_id, log_status).\n`);
  });
});
