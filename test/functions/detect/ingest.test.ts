import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateFile } from "../../../bench/generate";
import { Aggregator, BRUTE, DST, HOST, INTEL, LOSS, PROTO, PW, RunAggregates, SRC, SWEEP } from "../../../functions/detect/aggregates";
import { DetectionEngine, EngineOptions } from "../../../functions/detect/engine";
import { DetectorThresholds, resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import { FlowScanner } from "../../../functions/flowlog/scanner";
import { line, tgwLine } from "../../support/flows";

const WINDOWED = { pairWindows: PW.STRIDE, sources: SRC.STRIDE, sweeps: SWEEP.STRIDE, bruteForce: BRUTE.STRIDE, protocols: PROTO.STRIDE, intel: INTEL.STRIDE, destinations: DST.STRIDE } as const;
const WHOLE_RUN = { hosts: HOST.STRIDE, packetLoss: LOSS.STRIDE } as const;

/**
 * Runs the engine over bytes fed in chunks of `chunk` bytes; returns stats, findings and every
 * row of every table the rules read (each row's words, rows sorted), as plain data: the short
 * windows' rows as each window closes (before they are released), the run's at the end.
 */
function run(bytes: Buffer, overrides: Partial<DetectorThresholds>, options: EngineOptions, chunk = 1 << 16, format = LogFormat.DEFAULT, withTables = true) {
  const engine = new DetectionEngine(resolveThresholds(overrides), format, options);
  const aggregator = (engine as unknown as { aggregator: Aggregator }).aggregator;
  const tables: Record<string, string[]> = Object.fromEntries([...Object.keys(WINDOWED), ...Object.keys(WHOLE_RUN)].map((name) => [name, []]));
  const read = (from: RunAggregates, strides: Record<string, number>) => {
    for (const [name, stride] of Object.entries(strides)) {
      from[name as keyof typeof WINDOWED | keyof typeof WHOLE_RUN].each((b, i32) => tables[name]!.push(Array.from(i32.subarray(b, b + stride)).join(",")));
    }
  };
  const judge = aggregator.onClose!;
  aggregator.onClose = {
    long: (view) => judge.long(view),
    short: (view) => {
      if (withTables) read(view, WINDOWED);
      judge.short(view);
    },
  };
  for (let s = 0; s < bytes.length; s += chunk) engine.addChunk(bytes.subarray(s, s + chunk));
  engine.endStream();
  const result = JSON.parse(JSON.stringify(engine.finish()));
  read(aggregator, WHOLE_RUN);
  for (const rows of Object.values(tables)) rows.sort();
  return { ...result, tables };
}

/** The same run through the WebAssembly loop and through FlowScanner alone. */
function both(bytes: Buffer, overrides: Partial<DetectorThresholds> = {}, bufferRecords?: number, chunk?: number, format?: LogFormat, withTables = true, windowLimit?: number) {
  return {
    wasm: run(bytes, overrides, { bufferRecords, webAssembly: true, windowLimit }, chunk, format, withTables),
    scanner: run(bytes, overrides, { bufferRecords, webAssembly: false, windowLimit }, chunk, format, withTables),
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const V5 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction traffic-path";
const T = 1_700_000_000;
const v2 = (fields: (string | number)[]) => fields.join(" ");
const base = (src: string, dst: string, port: number | string, extra: Partial<Record<"bytes" | "start" | "end" | "action" | "packets" | "protocol" | "status", string | number>> = {}) =>
  v2([2, "123456789012", "eni-0123456789abcdef0", src, dst, 49152, port, extra.protocol ?? 6, extra.packets ?? 2, extra.bytes ?? 120, extra.start ?? T, extra.end ?? Number(extra.start ?? T) + 30, extra.action ?? "REJECT", extra.status ?? "OK"]);

/**
 * Records with a value no flow log holds (functions/flowlog/values.ts), each once past its
 * bound and, where it has one, at it: the loop must hand every invalid one back (FlowScanner
 * counts it as invalid-value) and read the valid ones itself.
 */
function impossibleValues(): { lines: string[]; invalid: number } {
  const at = (port: number, extra: Parameters<typeof base>[3]) => base("198.51.100.8", "10.0.0.6", port, extra);
  const invalid = [
    at(1, { bytes: "100000000000000000000000" }),
    at(2, { bytes: 2 ** 48 + 1 }),
    at(3, { packets: 2 ** 44 + 1 }),
    at(4, { packets: "-2" }),
    base("198.51.100.8", "10.0.0.6", 70000),
    base("198.51.100.8", "10.0.0.6", 65536),
    at(5, { protocol: 300 }),
    at(6, { protocol: 256 }),
    at(7, { action: "MAYBE" }),
    at(8, { action: "ACCEPTED" }),
    at(9, { action: "accept" }),
    at(10, { action: "REJECTS" }),
    at(11, { status: "OKAY" }),
    at(12, { status: "NODATA2" }),
    at(13, { end: T - 1 }),
    // Twice each: the second time the refusal comes from the loop's cache, or (past 24 bytes) from JavaScript again.
    base("999.999.999.999", "10.0.0.6", 14),
    base("999.999.999.999", "10.0.0.6", 15),
    base("198.51.100.8", "1234:5678:9abc:def0:1234:5678:9abc:def0:1", 16),
    base("198.51.100.8", "1234:5678:9abc:def0:1234:5678:9abc:def0:1", 17),
    base("198.51.100.8", "2001:db8::1::2", 18),
    base("fe80::1%eth0", "10.0.0.6", 19),
    // An allowed source is analysed without aggregation, but never with an impossible value.
    base("203.0.113.250", "10.0.0.6", 20, { protocol: 300 }),
    "2 123456789012 eni-0123456789abcdef0 - - - 70000 - - - 1700000000 1700000030 - NODATA",
    "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1700000000 1699999999 - SKIPDATA",
  ];
  const valid = [
    base("198.51.100.8", "10.0.0.6", 65535),
    base("198.51.100.8", "10.0.0.6", 0),
    at(21, { bytes: 2 ** 48, packets: 2 ** 44, protocol: 255 }),
    at(22, { end: T }),
    at(23, { action: "ACCEPT" }),
    base("::ffff:198.51.100.8", "10.0.0.6", 24),
    "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1700000000 1700000030 - NODATA",
  ];
  return { lines: [...invalid, ...valid], invalid: invalid.length };
}

/** Every kind of line the WebAssembly loop must hand back, between plain records that it reads. */
function edgeCases(): string {
  const lines: string[] = [];
  for (let p = 1; p <= 40; p++) lines.push(base("198.51.100.7", "10.0.0.5", p));
  lines.push(
    "",
    "   ",
    ` ${base("198.51.100.7", "10.0.0.5", 41)}`,
    base("198.51.100.7", "10.0.0.5", 42).replace(" 6 ", "  6 "),
    `${base("198.51.100.7", "10.0.0.5", 43)} `,
    `${base("198.51.100.7", "10.0.0.5", 44)}\r`,
    base("198.51.100.7", "10.0.0.5", 45).replace(/ /g, "\t"),
    base("198.51.100.7", "10.0.0.5", 46).replace("123456789012", "12345\u00016789012"),
    base("198.51.100.7", "10.0.0.5", 47).split(" ").slice(0, 10).join(" "),
    `${base("198.51.100.7", "10.0.0.5", 48)} extra`,
    base("198.51.100.7", "10.0.0.5", 49).replace(" 49152 ", " abc "),
    base("198.51.100.7", "10.0.0.5", 50).replace(" 49152 ", " -5 "),
    base("198.51.100.7", "10.0.0.5", 51, { bytes: "1234567890123456" }),
    base("198.51.100.7", "10.0.0.5", 52, { bytes: "123456789012345678901" }),
    base("198.51.100.7", "10.0.0.5", 4294967296),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "999999999999999" }),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "1234567a9" }),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "12345678a" }),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "a23456789" }),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "1234567/" }),
    base("198.51.100.7", "10.0.0.5", 53, { bytes: "123456789012:" }),
    base("2001:db8:1234:a100:8d6e:3477:df66:f105", "2001:db8:1234:a102:3304:8879:34cf:4071", 22),
    base("2001:db8::7", "2001:db8::5", 23),
    base("198.51.100.7", "010.0.0.5", 54),
    base("198.51.100.7", "10.0.0.5", 55).replace("eni-0123456789abcdef0", "eni-0ABCDEF0123456789"),
    base("198.51.100.7", "10.0.0.5", 56).replace("eni-0123456789abcdef0", "-"),
    base("-", "10.0.0.5", 57),
    base("198.51.100.7", "-", 58),
    "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1431280876 1431280934 - SKIPDATA",
    base("198.51.100.7", "10.0.0.5", 59, { action: "-" }),
    base("198.51.100.7", "10.0.0.5", 60).replace(/OK$/, "-"),
    base("198.51.100.7", "10.0.0.5", 61).replace("123456789012", "12345\u00e96789012"),
    "garbage that is not a flow log",
    base("203.0.113.250", "10.0.0.5", 62),
    base("198.51.100.7", "10.0.0.5", 63, { start: "-" }),
    base("198.51.100.7", "10.0.0.5", 64, { start: 0 }),
    ...impossibleValues().lines,
  );
  for (let p = 65; p <= 90; p++) lines.push(base("198.51.100.7", "10.0.0.5", p, { start: T + p * 7 }));
  // A header mid-stream: version 5 fields, packet-level addresses, direction and flags.
  lines.push(V5);
  for (let i = 0; i < 60; i++) {
    const pkt = i % 3 === 0 ? "-" : `203.0.113.${i}`;
    lines.push(v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 40000 + i, 443, 6, 3, 200, T + i, T + i + 5, "ACCEPT", "OK", i % 2 ? 2 : 18, "IPv4", pkt, "52.94.0.10", i % 2 ? "egress" : "ingress", i % 9]));
  }
  lines.push(v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 1, 22, 6, 3, 200, T, T + 5, "ACCEPT", "OK", 2, "IPv4", "-", "-", "sideways", "-"]));
  lines.push(v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 2, 22, 6, 3, 200, T, T + 5, "ACCEPT", "OK", 2, "IPv4", "-", "-", "Ingress", "-"]));
  lines.push(v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 3, 22, 6, 3, 200, T, T + 5, "ACCEPT", "OK", 256, "IPv4", "-", "-", "ingress", "-"]));
  lines.push(v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 4, 22, 6, 3, 200, T, T + 5, "ACCEPT", "OK", 2, "IPv4", "203.0.113.999", "-", "ingress", "-"]));
  return `${lines.join("\n")}\n`;
}

describe("the WebAssembly ingest loop", () => {
  const edge = Buffer.from(edgeCases(), "latin1");

  it("gives the same counts, rows and findings as FlowScanner on every kind of line it hands back", () => {
    const { wasm, scanner } = both(edge, { allowedSources: ["203.0.113.250"] });
    expect(wasm).toEqual(scanner);
    expect(wasm.stats.read).toBe(edge.toString("latin1").split("\n").filter((l) => l.trim() !== "").length - 1);
    // invalid-value: the impossible values, and from the lines above a negative port, three byte
    // counts past 2^48, port 4294967296, address 010.0.0.5 and the V5 lines' direction "sideways"
    // and "Ingress", tcp-flags 256 and packet-level source 203.0.113.999.
    expect(wasm.stats.skipped).toEqual({ nodata: 2, skipdata: 1, "too-few-fields": 1, "too-many-fields": 1, "non-numeric": 8, "control-character": 2, "invalid-value": impossibleValues().invalid + 10 });
    expect(wasm.findings.length).toBeGreaterThan(0);
  });

  it("does so on the same lines wrapped in JSON, one message per line, in subscription payloads, or mixed with plain lines: the same as the plain lines", () => {
    const lines = edge.toString("latin1").split("\n").slice(0, -1);
    const plain = both(edge, { allowedSources: ["203.0.113.250"] });
    const variants = [
      lines.map((message) => JSON.stringify({ message })),
      lines.map((message, i) => (i % 3 === 0 ? message : JSON.stringify({ message, timestamp: i }))),
      range(Math.ceil(lines.length / 7)).map((b) => JSON.stringify({ messageType: "DATA_MESSAGE", logEvents: lines.slice(b * 7, b * 7 + 7).map((message, i) => ({ id: String(i), message })) })),
    ];
    for (const variant of variants) {
      const bytes = Buffer.from(`${variant.join("\n")}\n`, "utf8");
      for (const chunk of [1 << 16, 97]) {
        const { wasm, scanner } = both(bytes, { allowedSources: ["203.0.113.250"] }, 64, chunk);
        expect(wasm).toEqual(scanner);
        expect(wasm).toEqual(plain.scanner);
      }
    }
  });

  it("does so whatever the chunk and buffer sizes (lines across chunks, buffers filling on every record)", () => {
    const reference = both(edge).scanner;
    for (const [chunk, buffer] of [
      [7, 1],
      [64, 3],
      [1000, 64],
    ] as const) {
      expect(both(edge, {}, buffer, chunk).wasm).toEqual(reference);
    }
  });

  it("does so on generated traffic with planted attacks, at the row budget's edge and past the window limit", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-ingest-"));
    try {
      const file = path.join(dir, "flows.log");
      generateFile(file, 30_000, 7);
      const bytes = fs.readFileSync(file);
      const plain = both(bytes);
      expect(plain.wasm).toEqual(plain.scanner);
      expect(plain.wasm.findings.length).toBeGreaterThan(3);
      const budget = both(bytes, { rowBudget: 10_000 }, 256);
      expect(budget.wasm).toEqual(budget.scanner);
      expect(budget.wasm.stats.skipped["row-budget"]).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Past the window limit (lowered from 16,384 to 1,000 here, so that it takes few records): both paths count the same records out.
    const windows = Buffer.from(`${Array.from({ length: 1_100 }, (_, i) => line({ src: "10.0.0.1", dst: "10.0.0.2", dstport: 443, start: T + i * 60 })).join("\n")}\n`);
    const past = both(windows, { windowSeconds: 60 }, undefined, undefined, undefined, true, 1_000);
    expect(past.wasm).toEqual(past.scanner);
    expect(past.wasm.stats.skipped["window-limit"]).toBe(100);
    expect(() => new DetectionEngine(resolveThresholds({}), LogFormat.DEFAULT, { windowLimit: 0 })).toThrow("Aggregator: windowLimit must be a whole number from 1 to 16384 (got 0)");
    expect(() => new DetectionEngine(resolveThresholds({}), LogFormat.DEFAULT, { windowLimit: 20_000 })).toThrow("Aggregator: windowLimit must be a whole number from 1 to 16384 (got 20000)");
  });

  it("does so on thousands of randomly damaged lines (seeded): bytes replaced, dropped, doubled", () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = "0123456789-. :abcdefABCDEF/\tz\u0001\u00ff";
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) {
      let text = base(`10.${random(3)}.${random(3)}.${random(200)}`, random(2) ? "10.0.0.5" : `203.0.113.${random(50)}`, 1 + random(30000), {
        bytes: random(4) === 0 ? String(random(2 ** 31)) + String(random(1e6)) : random(5000),
        packets: random(9),
        start: T + random(3600),
        action: random(2) ? "ACCEPT" : "REJECT",
      });
      const damage = random(6);
      const at = random(text.length);
      if (damage === 1) text = text.slice(0, at) + alphabet[random(alphabet.length)]! + text.slice(at + 1);
      else if (damage === 2) text = text.slice(0, at) + text.slice(at + 1);
      else if (damage === 3) text = text.slice(0, at) + text[at]! + text.slice(at);
      else if (damage >= 4) {
        // A value near or past its field's bound (values.ts), or a word that is not the field's.
        const fields = text.split(" ");
        const near = (limit: number) => String(limit - 2 + random(5));
        const field = 3 + random(11);
        fields[field] = [
          () => `${random(300)}.${random(300)}.0.${random(300)}`,
          () => `${random(300)}.${random(300)}.0.${random(300)}`,
          () => near(65535),
          () => near(65535),
          () => near(255),
          () => String(2 ** 44 - 2 + random(5)),
          () => String(2 ** 48 - 2 + random(5)),
          () => String(T - 40 + random(80)),
          () => String(T - 40 + random(80)),
          () => ["ACCEPT", "REJECT", "MAYBE", "ACCEPTX", "REJEC"][random(5)]!,
          () => ["OK", "NODATA", "SKIPDATA", "OKAY", "O"][random(5)]!,
        ][field - 3]!();
        text = fields.join(" ");
      }
      lines.push(text);
    }
    const bytes = Buffer.from(`${lines.join("\n")}\n`, "latin1");
    const { wasm, scanner } = both(bytes, {}, 512, 4096);
    expect(wasm).toEqual(scanner);
    expect(wasm.stats.analysed).toBeGreaterThan(3000);
    expect(wasm.stats.analysed).toBeLessThan(6000);
    expect(wasm.stats.skipped["invalid-value"]).toBeGreaterThan(500);
  });

  it("reads every valid record itself, whatever its words and however close its values are to their bounds: FlowScanner sees only the header line", () => {
    const lines = [
      base("198.51.100.7", "10.0.0.5", 65535, { action: "ACCEPT", bytes: 2 ** 48, packets: 2 ** 44, protocol: 255 }),
      base("198.51.100.7", "10.0.0.5", 0, { action: "REJECT", end: T }),
      base("2001:db8::7", "::ffff:10.0.0.5", 1, { action: "-" }),
      "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1700000000 1700000030 - NODATA",
      "2 123456789012 eni-0123456789abcdef0 - - - - - - - 1700000000 1700000030 - SKIPDATA",
      V5,
      v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 1, 443, 6, 3, 200, T, T + 5, "ACCEPT", "OK", 255, "IPv4", "-", "52.94.0.10", "ingress", 8]),
      v2([5, "123456789012", "eni-0fedcba9876543210", "10.0.1.9", "52.94.0.10", 2, 443, 6, 3, 200, T, T + 5, "REJECT", "OK", 0, "IPv4", "10.0.1.9", "-", "egress", "-"]),
    ];
    const spy = jest.spyOn(FlowScanner.prototype, "scanLines");
    try {
      const engine = new DetectionEngine(resolveThresholds({}), LogFormat.DEFAULT, { webAssembly: true });
      engine.addChunk(Buffer.from(`${lines.join("\n")}\n`));
      expect(engine.stats).toEqual({ read: 7, analysed: 5, skipped: { nodata: 1, skipdata: 1 } });
      expect(spy.mock.calls.map(([buf, s, e]) => (buf as Buffer).toString("latin1", s as number, e as number))).toEqual([`${V5}\n`]);
    } finally {
      spy.mockRestore();
    }
  });

  it("adds up a record that waited alone after an early flush (the last record of a run)", () => {
    // With a budget of 10,000 rows and up to 7 new rows per record, the 1,429th record finds
    // 1,428 waiting that might fill it: they are added up first, and it waits alone.
    const flows = Array.from({ length: 1429 }, (_, i) => line({ src: `10.1.${i >> 8}.${i & 255}`, dst: "10.0.0.2", dstport: 443 }));
    const bytes = Buffer.from(`${flows.join("\n")}\n`);
    for (const webAssembly of [true, false]) {
      const engine = new DetectionEngine(resolveThresholds({ rowBudget: 10_000 }), LogFormat.DEFAULT, { webAssembly });
      engine.addChunk(bytes);
      engine.endStream();
      const sources = (engine as unknown as { aggregator: RunAggregates }).aggregator.sources;
      let flowsCounted = 0;
      sources.each((b, i32) => (flowsCounted += i32[b + SRC.FLOWS]!));
      expect(engine.stats.analysed).toBe(1429);
      expect(flowsCounted).toBe(1429);
    }
  });
});

/**
 * Transit gateway records in the default format: ordinary traffic across two attachments, a
 * scan, records with packets lost (which the loop hands back), absent and impossible counts,
 * idle and damaged lines.
 */
function tgwCases(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    const start = T + (i % 40) * 30;
    lines.push(tgwLine({ src: `10.0.${i % 4}.${i % 50}`, dst: `10.1.2.${i % 7}`, srcport: 40000 + i, dstport: [443, 5432, 22][i % 3]!, start, direction: "ingress" }));
    lines.push(tgwLine({ src: `10.0.${i % 4}.${i % 50}`, dst: `10.1.2.${i % 7}`, srcport: 40000 + i, dstport: [443, 5432, 22][i % 3]!, start, direction: "egress", attachment: "tgw-attach-0cccc3333dddd4444" }));
  }
  for (let p = 1; p <= 60; p++) lines.push(tgwLine({ src: "192.168.50.9", dst: "10.1.2.7", dstport: p, packets: 1, bytes: 44, tcpFlags: 2, start: T + 5, attachment: "tgw-attach-0vpn00000000000000" }));
  for (let i = 0; i < 40; i++) {
    lines.push(tgwLine({ src: "10.0.1.5", dst: `10.9.0.${i}`, dstport: 443, start: T + i * 20, lost: { noRoute: 30 + i, blackhole: i % 3, mtuExceeded: i % 2 ? "-" : 1, ttlExpired: 0 } }));
  }
  lines.push(
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { noRoute: "-", blackhole: "-", mtuExceeded: "-", ttlExpired: "-" } }),
    tgwLine({ src: "2001:db8:1::5", dst: "2001:db8:2::7", dstport: 443, lost: { ttlExpired: 7 } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { noRoute: -3 } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { blackhole: 2 ** 44 + 1 } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { blackhole: 2 ** 44 } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { mtuExceeded: "12a" as never } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, status: "NODATA" }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { noRoute: 5 } }).split(" ").slice(0, 30).join(" "),
    tgwLine({ src: "203.0.113.250", dst: "10.1.2.7", dstport: 443, lost: { noRoute: 500 } }),
    tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { noRoute: 9 } }).replace("tgw-attach-0aaaa1111bbbb2222", "-"),
  );
  return lines;
}

describe("transit gateway records, through the WebAssembly loop and through FlowScanner", () => {
  const TGW = LogFormat.TRANSIT_GATEWAY_DEFAULT;
  const bytes = Buffer.from(`${tgwCases().join("\n")}\n`);

  it("give the same counts, rows, drops and findings, whatever the chunk and buffer sizes", () => {
    const reference = both(bytes, { allowedSources: ["203.0.113.250"], tgwPacketsLost: 100 }, undefined, undefined, TGW);
    expect(reference.wasm).toEqual(reference.scanner);
    expect(reference.wasm.stats).toEqual({ read: 710, analysed: 705, skipped: { "invalid-value": 2, "non-numeric": 1, nodata: 1, "too-few-fields": 1 } });
    expect(reference.wasm.tables.packetLoss.length).toBeGreaterThan(1);
    expect(reference.wasm.findings.map((f: { rule: string }) => f.rule)).toEqual(expect.arrayContaining(["port-scan", "tgw-packet-loss"]));
    for (const [chunk, buffer] of [[7, 1], [97, 3], [4096, 64]] as const) {
      expect(both(bytes, { allowedSources: ["203.0.113.250"], tgwPacketsLost: 100 }, buffer, chunk, TGW).wasm).toEqual(reference.scanner);
    }
  });

  it("the loop reads a record with no packet lost itself, and hands FlowScanner exactly those with one (it keeps no loss counts)", () => {
    const lossless = tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443 });
    const absent = tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { noRoute: "-", blackhole: "-", mtuExceeded: "-", ttlExpired: "-" } });
    const lossy = tgwLine({ src: "10.0.1.5", dst: "10.1.2.7", dstport: 443, lost: { mtuExceeded: 1 } });
    const spy = jest.spyOn(FlowScanner.prototype, "scanLines");
    try {
      const engine = new DetectionEngine(resolveThresholds({}), TGW, { webAssembly: true });
      engine.addChunk(Buffer.from(`${lossless}\n${absent}\n${lossy}\n${lossless}\n`));
      expect(engine.stats).toEqual({ read: 4, analysed: 4, skipped: {} });
      expect(spy.mock.calls.map(([buf, s, e]) => (buf as Buffer).toString("latin1", s as number, e as number))).toEqual([`${lossy}\n`]);
    } finally {
      spy.mockRestore();
    }
  });

  it("a transit gateway format without loss counts is read by the loop, attachments and all: the same as FlowScanner", () => {
    const fields = "version tgw-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status flow-direction".split(" ");
    const format = LogFormat.custom(fields, "transit-gateway");
    const TGW_NAMES = TGW.names;
    const lines = tgwCases().map((l) => {
      const values = l.split(" ");
      return fields.map((f) => values[TGW_NAMES.indexOf(f)] ?? "-").join(" ");
    });
    const custom = Buffer.from(`${lines.join("\n")}\n`);
    const { wasm, scanner } = both(custom, {}, 16, 1000, format);
    expect(wasm).toEqual(scanner);
    expect(wasm.stats.analysed).toBeGreaterThan(700);
    expect(wasm.findings.find((f: { rule: string }) => f.rule === "port-scan")).toMatchObject({ src: "192.168.50.9", interfaceId: "tgw-attach-0vpn00000000000000" });
  });

  it("drops count only for records the row budget lets in (a record past it adds no drop), and their rows count toward it", () => {
    // Every record from a source of its own, each losing one packet on an attachment of its own: the budget fills.
    const flood = Array.from({ length: 3000 }, (_, i) =>
      tgwLine({ src: `10.${(i >> 8) & 255}.${i & 255}.9`, dst: `10.200.${i & 255}.${(i >> 8) & 255}`, dstport: 1000 + (i % 5000), start: T, lost: { blackhole: 1 }, attachment: `tgw-attach-${i.toString(16).padStart(17, "0")}` }),
    );
    const flooded = Buffer.from(`${flood.join("\n")}\n`);
    for (const webAssembly of [true, false]) {
      const engine = new DetectionEngine(resolveThresholds({ rowBudget: 10_000 }), TGW, { webAssembly, bufferRecords: 64 });
      engine.addChunk(flooded);
      engine.endStream();
      let dropped = 0;
      const aggregator = (engine as unknown as { aggregator: RunAggregates & { rows: number } }).aggregator;
      aggregator.packetLoss.each((b, i32) => (dropped += i32[b + LOSS.FLOWS]!));
      expect(engine.stats.skipped["row-budget"]).toBeGreaterThan(0);
      expect(dropped).toBe(engine.stats.analysed);
      expect(aggregator.packetLoss.size).toBe(engine.stats.analysed);
      expect(aggregator.rows).toBeLessThanOrEqual(10_000);
    }
  });
});

describe("the committed WebAssembly module", () => {
  it("is what scripts/build-wasm.js builds from functions/detect/assembly/", () => {
    const { build, moduleText, target } = require("../../../scripts/build-wasm.js");
    expect(fs.readFileSync(target, "utf8")).toBe(moduleText(build()));
  });
});

describe("the WebAssembly module's memory", () => {
  it("a trap in the module (it traps only when its memory cannot grow) is a DetectorError that names the rows, the budget and the fix", () => {
    const engine = new DetectionEngine(resolveThresholds({}), LogFormat.DEFAULT);
    // A genuine 4 GiB overflow is too big for a test: make the module read past its memory instead.
    const wasm = (engine as unknown as { aggregator: { ingest: { aggregate(p: number, first: number, n: number, onBeacon: () => void): number } } }).aggregator.ingest;
    let thrown: unknown;
    try {
      wasm.aggregate(0, 1 << 25, 1, () => undefined);
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).name).toBe("DetectorError");
    expect((thrown as Error).message).toBe(
      "detector: the WebAssembly module stopped (memory access out of bounds) with 0 aggregate rows held (got rowBudget 6000000): " +
        "its memory, at most 4 GiB, could not grow. Lower detectors.thresholds.rowBudget, or run flowlog-kit detect on the files in parts.",
    );
    expect(((thrown as Error).cause as Error).name).toBe("RuntimeError");
  });
});
