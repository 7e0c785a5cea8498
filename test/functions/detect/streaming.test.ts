import { DetectionEngine } from "../../../functions/detect/engine";
import type { Finding } from "../../../functions/detect/findings";
import { resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import { detect, Flow, line, Overrides, range, rulesOf } from "../../support/flows";

/** An hour boundary, so that a long window (1 h) holds the hour. */
const H0 = 1_700_002_800;

/** Feeds streams (each a list of flows, like one file) into one engine; returns it unfinished. */
function engineOver(streams: readonly (readonly Flow[])[], overrides: Overrides = {}, bufferRecords?: number): DetectionEngine {
  const engine = new DetectionEngine(resolveThresholds(overrides), LogFormat.DEFAULT, { bufferRecords });
  for (const flows of streams) {
    engine.addChunk(Buffer.from(flows.map((f) => `${line(f)}\n`).join(""), "latin1"));
    engine.endStream();
  }
  return engine;
}

/** A seeded shuffle (Fisher-Yates with a linear congruential generator). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = (s >>> 8) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Findings as comparable data, in their stable order. */
const plain = (findings: readonly Finding[]) => findings.map((f) => JSON.stringify(f));

/**
 * An hour of traffic from `start`: 40 internal hosts (one interface each) fetching from the
 * internet with real payloads, and attacks that only a long horizon sees: a slow scan of 120
 * ports on one host (10 per 5 minutes), a slow SSH brute force (72 attempts, 6 per 5 minutes),
 * a slow sweep of 3306 over 72 hosts, and a beacon every 4 minutes for 40 minutes.
 */
function hour(start: number, ordinary = 2400): Flow[] {
  const flows: Flow[] = [];
  for (let i = 0; i < ordinary; i++) {
    const h = i % 40;
    flows.push({ src: `10.0.1.${h + 10}`, dst: `198.51.100.${(i * 7) % 200}`, srcport: 40000 + (i % 20000), dstport: 443, packets: 30, bytes: 40_000, start: start + Math.floor((i * 3600) / ordinary), eni: `eni-0host${String(h).padStart(13, "0")}` });
  }
  for (let p = 0; p < 120; p++) flows.push({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + p, packets: 1, bytes: 44, action: "REJECT", start: start + p * 30, eni: "eni-0victim000000000" });
  for (let a = 0; a < 72; a++) flows.push({ src: "203.0.113.20", dst: "10.0.1.6", srcport: 50000 + a, dstport: 22, packets: 12, bytes: 2100, start: start + a * 50, eni: "eni-0victim000000001" });
  for (let h = 0; h < 72; h++) flows.push({ src: "203.0.113.30", dst: `10.0.3.${h}`, dstport: 3306, packets: 1, bytes: 44, action: "REJECT", start: start + h * 50, eni: "eni-0victim000000002" });
  for (let b = 0; b < 11; b++) flows.push({ src: "10.0.1.50", dst: "198.18.0.66", srcport: 45000 + b, dstport: 443, packets: 5, bytes: 320, start: start + 600 + b * 240, eni: "eni-0beacon000000000" });
  return flows.sort((x, y) => x.start! - y.start!);
}

describe("streaming state", () => {
  it("releases a window's rows once the input's time has passed its end and 15 minutes more: live rows follow the open windows, not the input", () => {
    // Two hours, sorted: each 5-minute window holds 1,500 new (source, destination) pairs.
    const engine = new DetectionEngine(resolveThresholds(), LogFormat.DEFAULT, { bufferRecords: 64 });
    const live: number[] = [];
    for (let w = 0; w < 24; w++) {
      const flows = range(1500).map((i) => ({ src: `10.0.0.${i % 25}`, dst: `198.${51 + (w >> 3)}.${(w & 7) * 8 + (i >> 8)}.${i & 255}`, dstport: 443, packets: 20, bytes: 9000, start: H0 + w * 300 + (i % 300) }));
      engine.addChunk(Buffer.from(flows.map((f) => `${line(f)}\n`).join(""), "latin1"));
      live.push(engine.liveRows());
    }
    const oneWindow = live[0]!;
    // After the first half hour the rows held stop growing: about five windows (the one filling,
    // three of lateness, the one being passed), not 24.
    expect(Math.max(...live)).toBeLessThan(6 * oneWindow);
    expect(live[23]).toBeLessThanOrEqual(live[11]! + oneWindow / 10);
    expect(engine.peakRows).toBeGreaterThanOrEqual(Math.max(...live));
    expect(engine.reopenedWindows).toBe(0);
    const { stats } = engine.finish();
    expect(stats).toEqual({ read: 24 * 1500, analysed: 24 * 1500, skipped: {} });
  });

  it("finds the same as sorted input when an hour's records are shuffled, and when files come in reverse order", () => {
    // Enough records that windows close while the files are read (not only at the end).
    const first = hour(H0, 9600);
    const second = hour(H0 + 3600, 9600);
    const sorted = engineOver([first, second], {}, 32).finish().findings;
    expect(sorted.length).toBeGreaterThan(4);
    const shuffledHours = engineOver([shuffled(first, 7), shuffled(second, 11)], {}, 32);
    expect(plain(shuffledHours.finish().findings)).toEqual(plain(sorted));
    const reversed = engineOver([second, first], {}, 32);
    expect(reversed.liveRows()).toBeLessThan(reversed.peakRows);
    expect(plain(reversed.finish().findings)).toEqual(plain(sorted));
    // Every record analysed, none skipped, whatever the order.
    expect(reversed.stats.skipped).toEqual({});
  });

  it("judges a window again when records reach it after it closed, and keeps one finding per rule, key and window", () => {
    // A scan of 30 ports at H0, then 33 minutes of other traffic (the window closes), then the
    // same 30 ports again, late: the window reopens, is judged again, and the finding stays one.
    const scan = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: H0 }));
    const later = range(8000).map((i) => ({ src: `10.0.0.${i % 50}`, dst: `198.51.100.${i % 200}`, dstport: 443, packets: 20, bytes: 9000, start: H0 + 300 + Math.floor(i / 4) }));
    const engine = engineOver([scan, later, scan], {}, 16);
    const found = engine.finish().findings.filter((f) => f.rule === "port-scan" && f.dst === "10.0.1.5");
    expect(engine.reopenedWindows).toBeGreaterThan(0);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ window: { start: H0 - (H0 % 300), end: H0 - (H0 % 300) + 300 }, evidence: { distinctPorts: 30 } });
  });
});

describe("the long horizon (1 hour)", () => {
  const findings = detect(hour(H0)).findings;
  const long = (rule: string, src: string) => findings.find((f) => f.rule === rule && f.src === src && f.evidence.horizonSeconds === 3600);

  it("finds a slow scan of 120 ports on one host (10 per 5 minutes), which no 5-minute window does", () => {
    expect(long("port-scan", "203.0.113.9")).toMatchObject({ dst: "10.0.1.5", window: { start: H0, end: H0 + 3600 }, evidence: { distinctPorts: 120 } });
    expect(long("port-scan", "203.0.113.9")!.description).toContain("within 3600s");
    expect(findings.filter((f) => f.rule === "port-scan" && f.evidence.horizonSeconds === undefined)).toEqual([]);
  });

  it("finds a slow SSH brute force and a slow sweep", () => {
    expect(long("ssh-brute-force", "203.0.113.20")).toMatchObject({ dst: "10.0.1.6", port: 22, evidence: { attempts: 72 } });
    expect(long("port-sweep", "203.0.113.30")).toMatchObject({ port: 3306, evidence: { distinctHosts: 72 } });
  });

  it("finds a beacon every 4 minutes over 40 minutes", () => {
    expect(findings.find((f) => f.rule === "c2-beaconing")).toMatchObject({ src: "10.0.1.50", dst: "198.18.0.66", evidence: { flows: 11, intervalSeconds: 240 } });
  });

  it("does not report again, on the long horizon, what a short window found", () => {
    // 80 ports in one window: past the short threshold (25) and the long one (60) alike.
    const fast = range(80).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: H0 + 60 }));
    const scans = detect(fast).findings.filter((f) => f.rule === "port-scan");
    expect(scans).toHaveLength(1);
    expect(scans.filter((f) => f.evidence.horizonSeconds !== undefined)).toEqual([]);
  });

  it("has its own thresholds", () => {
    expect(detect(hour(H0), { long: { portScanPortsPerHost: 121 } }).findings.filter((f) => f.rule === "port-scan" && f.src === "203.0.113.9")).toEqual([]);
    const longer = detect(hour(H0), { windowSeconds: 600, long: { windowSeconds: 7200 } }).findings.find((f) => f.rule === "port-scan" && f.src === "203.0.113.9")!;
    expect(longer.evidence.horizonSeconds).toBe(7200);
  });
});

describe("benign look-alikes over an hour", () => {
  it("a busy web server's clients: hundreds of clients, many connections each, on one port", () => {
    const flows = range(3000).flatMap((i) => {
      const client = `198.51.${i % 3}.${i % 250}`;
      const start = H0 + Math.floor((i * 3600) / 3000);
      return [
        { src: client, dst: "10.0.1.5", srcport: 30000 + i, dstport: 443, packets: 25, bytes: 12_000, start },
        { src: "10.0.1.5", dst: client, srcport: 443, dstport: 30000 + i, packets: 30, bytes: 90_000, start },
      ];
    });
    expect(rulesOf(flows)).toEqual([]);
  });

  it("NLB health checks every 10-30 s from three nodes to 40 targets, with the nodes in network.loadBalancers", () => {
    const flows: Flow[] = [];
    for (let node = 0; node < 3; node++) {
      for (let target = 0; target < 40; target++) {
        for (let t = 0, k = 0; t < 3600; t += 10 + ((node + target + k) % 21), k++) {
          const nodeIp = `10.0.0.${10 + node}`;
          const start = H0 + t;
          flows.push({ src: nodeIp, dst: `10.0.4.${target}`, srcport: 20000 + k, dstport: 8080, packets: 3, bytes: 180, start });
          flows.push({ src: `10.0.4.${target}`, dst: nodeIp, srcport: 8080, dstport: 20000 + k, packets: 3, bytes: 200, start });
        }
      }
    }
    expect(rulesOf(flows, { network: { loadBalancers: ["10.0.0.8/29"] } })).toEqual([]);
  });

  it("a metrics agent every 60 s to an internal collector", () => {
    const flows = range(60).map((i) => ({ src: "10.0.1.7", dst: "10.0.2.50", srcport: 41000 + i, dstport: 443, packets: 6, bytes: 900, start: H0 + i * 60 }));
    expect(rulesOf(flows)).toEqual([]);
  });

  it("a NAT gateway carrying many clients' small requests to the internet", () => {
    const flows = range(2000).map((i) => ({ src: "10.0.0.200", dst: `${34 + (i % 4)}.${(i >> 2) & 255}.1.${i % 200}`, srcport: 1024 + i, dstport: 443, packets: 4, bytes: 600, start: H0 + Math.floor((i * 3600) / 2000) }));
    expect(rulesOf(flows, { network: { natGateways: ["10.0.0.200"] } })).toEqual([]);
  });
});
