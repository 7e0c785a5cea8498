import { DetectionEngine } from "../../../functions/detect/engine";
import { resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import type { FlowScanner } from "../../../functions/flowlog/scanner";
import { detect, Flow, line, range, rulesOf, TgwFlow, tgwLine } from "../../support/flows";

const T0 = 1_700_000_100;

describe("port scan", () => {
  it("fires when one source probes many ports on one host", () => {
    const flows = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT" as const, start: T0 }));
    const f = detect(flows).findings.find((x) => x.rule === "port-scan")!;
    expect(f).toMatchObject({ src: "203.0.113.9", dst: "10.0.1.5", severity: "MEDIUM", evidence: { distinctPorts: 30 } });
  });

  it("counts each distinct port once, exactly, in early and in late windows (past the 32 a group row remembers)", () => {
    // 40 windows of one ordinary flow each, then the same scan (every port twice) in window 0 and window 39.
    const background = range(40).map((w) => ({ src: "10.0.9.9", dst: "10.0.9.8", dstport: 443, start: T0 + w * 300 }));
    const scan = (start: number) => range(60).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 2000 + (i % 30), packets: 1, action: "REJECT" as const, start }));
    const found = detect([...background, ...scan(T0), ...scan(T0 + 39 * 300)]).findings.filter((x) => x.rule === "port-scan" && x.dst === "10.0.1.5");
    expect(found.map((f) => [f.window.start, f.evidence.distinctPorts])).toEqual([
      [T0 - (T0 % 300), 30],
      [T0 + 39 * 300 - (T0 % 300), 30],
    ]);
  });

  it("stays silent for a busy server answering many clients on their ephemeral ports", () => {
    const flows = range(500).map((i) => ({ src: "10.0.1.5", srcport: 443, dst: `198.51.100.${i % 250}`, dstport: 32768 + i, start: T0 }));
    expect(rulesOf(flows)).not.toContain("port-scan");
  });

  it("stays silent for a client using a handful of services on one host", () => {
    const flows = [22, 80, 443, 5432, 6379, 8080, 9090, 9100, 3000, 8443].map((p) => ({ src: "10.0.2.7", dst: "10.0.1.5", dstport: p, start: T0 }));
    expect(rulesOf(flows)).toEqual([]);
  });

  it("flags probes of several sensitive ports", () => {
    const flows = [22, 23, 3389, 445, 5900].map((p) => ({ src: "198.51.100.7", dst: "10.0.1.5", dstport: p, action: "REJECT" as const, packets: 1, start: T0 }));
    expect(rulesOf(flows)).toContain("sensitive-port-scan");
    expect(rulesOf(flows.slice(0, 2))).not.toContain("sensitive-port-scan");
  });
});

describe("port sweep", () => {
  it("fires when one source probes one port across many hosts", () => {
    const flows = range(40).map((i) => ({ src: "198.51.100.7", dst: `10.0.3.${i}`, dstport: 3306, packets: 1, action: "REJECT" as const, start: T0 }));
    expect(detect(flows).findings.find((f) => f.rule === "port-sweep")).toMatchObject({ port: 3306, evidence: { distinctHosts: 40 } });
  });

  it("stays silent for a load balancer health-checking many targets with full connections", () => {
    const flows = range(60).map((i) => ({ src: "10.0.0.10", dst: `10.0.3.${i}`, dstport: 8080, packets: 8, bytes: 900, start: T0 }));
    expect(rulesOf(flows)).not.toContain("port-sweep");
  });
});

describe("brute force", () => {
  const attempts = (src: string, port: number, n: number): Flow[] => range(n).map((i) => ({ src, dst: "10.0.1.5", srcport: 40000 + i, dstport: port, packets: 12, bytes: 2100, start: T0 + i }));

  it("fires on many short SSH connections, HIGH when the source is inside the VPC", () => {
    const outside = detect(attempts("203.0.113.50", 22, 40)).findings.find((f) => f.rule === "ssh-brute-force")!;
    expect(outside).toMatchObject({ severity: "MEDIUM", port: 22, evidence: { attempts: 40 } });
    const inside = detect(attempts("10.0.9.9", 22, 40)).findings.find((f) => f.rule === "ssh-brute-force")!;
    expect(inside.severity).toBe("HIGH");
  });

  it("fires on RDP too", () => {
    expect(rulesOf(attempts("203.0.113.50", 3389, 25))).toContain("rdp-brute-force");
  });

  it("stays silent for an admin opening a few sessions and for long sessions", () => {
    expect(rulesOf(attempts("203.0.113.50", 22, 5))).not.toContain("ssh-brute-force");
    const long = attempts("203.0.113.50", 22, 40).map((f) => ({ ...f, packets: 4000, bytes: 4_000_000 }));
    expect(rulesOf(long)).not.toContain("ssh-brute-force");
  });
});

describe("exfiltration", () => {
  it("fires when an internal host sends more than the threshold to one external address", () => {
    const flows = range(6).map((i) => ({ src: "10.0.1.5", dst: "203.0.113.80", dstport: 443, bytes: 100 * 1024 * 1024, packets: 70000, start: T0 + i }));
    expect(detect(flows).findings.find((f) => f.rule === "exfiltration")).toMatchObject({ severity: "HIGH", evidence: { egressBytes: 600 * 1024 * 1024 } });
  });

  it("stays silent for the same volume between internal hosts or below the threshold", () => {
    const internal = range(6).map((i) => ({ src: "10.0.1.5", dst: "10.0.2.80", dstport: 443, bytes: 100 * 1024 * 1024, start: T0 + i }));
    expect(rulesOf(internal)).not.toContain("exfiltration");
    const small = range(4).map((i) => ({ src: "10.0.1.5", dst: "203.0.113.80", dstport: 443, bytes: 100 * 1024 * 1024, start: T0 + i }));
    expect(rulesOf(small)).not.toContain("exfiltration");
  });
});

describe("command and control", () => {
  it("flags fan-out: many external web destinations with small flows", () => {
    const flows = range(60).map((i) => ({ src: "10.0.1.5", dst: `203.0.113.${i}`, dstport: 443, bytes: 600, packets: 5, start: T0 }));
    expect(rulesOf(flows)).toContain("c2-fan-out");
  });

  it("stays silent for ordinary browsing with real payloads", () => {
    const flows = range(60).map((i) => ({ src: "10.0.1.5", dst: `203.0.113.${i}`, dstport: 443, bytes: 250_000, packets: 200, start: T0 }));
    expect(rulesOf(flows)).not.toContain("c2-fan-out");
  });

  it("flags regular beacons to one destination and not irregular traffic", () => {
    const beacon = range(12).map((i) => ({ src: "10.0.1.5", dst: "198.51.100.66", dstport: 443, bytes: 320, start: T0 + i * 60 + (i % 2) }));
    const found = detect(beacon).findings.find((f) => f.rule === "c2-beaconing")!;
    expect(found).toMatchObject({ dst: "198.51.100.66", port: 443, evidence: { flows: 12, intervalSeconds: 60 } });
    const irregular = [0, 5, 70, 71, 300, 420, 430, 900, 1400, 1405, 2000, 3600].map((s) => ({ src: "10.0.1.5", dst: "198.51.100.66", dstport: 443, bytes: 320, start: T0 + s }));
    expect(rulesOf(irregular)).not.toContain("c2-beaconing");
  });
});

describe("lateral movement", () => {
  it("fires when an internal host reaches many internal hosts on admin ports", () => {
    const flows = range(15).map((i) => ({ src: "10.0.1.5", dst: `10.0.4.${i}`, dstport: i % 2 ? 445 : 5985, start: T0 }));
    expect(detect(flows).findings.find((f) => f.rule === "lateral-movement")).toMatchObject({ severity: "HIGH", evidence: { internalHosts: 15, adminPorts: 2 } });
  });

  it("stays silent for a few admin connections, and for a bastion on the allow-list", () => {
    const few = range(5).map((i) => ({ src: "10.0.1.5", dst: `10.0.4.${i}`, dstport: 22, start: T0 }));
    expect(rulesOf(few)).not.toContain("lateral-movement");
    const bastion = range(15).map((i) => ({ src: "10.0.0.4", dst: `10.0.4.${i}`, dstport: 22, start: T0 }));
    expect(rulesOf(bastion, { allowedSources: ["10.0.0.4"] })).toEqual([]);
  });
});

describe("rejected traffic and unusual protocols", () => {
  it("flags a spike of rejected flows from one source, not a trickle", () => {
    const spike = range(250).map((i) => ({ src: "198.51.100.9", dst: "10.0.1.5", dstport: 443, srcport: 30000 + i, action: "REJECT" as const, start: T0 }));
    expect(rulesOf(spike)).toContain("rejected-spike");
    expect(rulesOf(spike.slice(0, 50))).not.toContain("rejected-spike");
  });

  it("flags GRE, ESP and IPv6-in-IPv4, not TCP, UDP or ICMP", () => {
    const unusual = [41, 47, 50].map((p) => ({ src: "10.0.1.5", dst: "203.0.113.1", dstport: 0, protocol: p, start: T0 }));
    expect(detect(unusual).findings.filter((f) => f.rule === "unusual-protocol").map((f) => f.protocol).sort()).toEqual([41, 47, 50]);
    const usual = [1, 6, 17].map((p) => ({ src: "10.0.1.5", dst: "203.0.113.1", dstport: 53, protocol: p, start: T0 }));
    expect(rulesOf(usual)).toEqual([]);
  });
});

describe("findings", () => {
  it("do not depend on how many records wait before they are aggregated", () => {
    // Every rule's attack plus ordinary traffic, aggregated after each record and after 16,384.
    const ordinary = range(3000).map((i) => ({ src: `10.0.${i % 7}.${i % 50}`, dst: `10.0.9.${i % 40}`, srcport: 40000 + (i % 900), dstport: [443, 5432, 6379][i % 3]!, packets: 5 + (i % 9), bytes: 500 + 37 * (i % 101), start: T0 + (i % 1200) }));
    const scan = range(40).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT" as const, start: T0 }));
    const sweep = range(40).map((i) => ({ src: "198.51.100.7", dst: `10.0.3.${i}`, dstport: 3306, packets: 1, action: "REJECT" as const, start: T0 }));
    const brute = range(40).map((i) => ({ src: "10.0.8.8", dst: "10.0.1.5", srcport: 40000 + i, dstport: 22, packets: 12, bytes: 2100, start: T0 + i }));
    const lateral = range(20).map((h) => ({ src: "10.0.3.60", dst: `10.0.4.${h}`, dstport: 445, packets: 20, bytes: 4000, start: T0 }));
    const flows = [...ordinary, ...scan, ...sweep, ...brute, ...lateral, { src: "10.0.3.80", dst: "203.0.113.80", srcport: 0, dstport: 0, protocol: 47, start: T0 }];
    const one = detect(flows, {}, 1);
    const many = detect(flows);
    expect(one.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(["port-scan", "port-sweep", "ssh-brute-force", "lateral-movement", "unusual-protocol"]));
    expect(one).toEqual(many);
  });

  it("stop analysing when the row budget runs out, count what was left out, keep what was found, and say so", () => {
    // A port scan, then a flood of distinct sources (each flow adds four rows). The scan's
    // source is the first address, so its part is aggregated first and fits in the budget.
    const scan = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: T0 }));
    const flood = range(6000).map((i) => ({ src: `198.18.${i >> 8}.${i & 255}`, dst: `10.0.${i & 7}.${(i >> 3) & 255}`, dstport: 1 + i, packets: 1, action: "REJECT" as const, start: T0 + (i % 600) }));
    // Small part buffers, so that the budget is checked often (it is checked as buffers are added up).
    const engine = new DetectionEngine(resolveThresholds({ rowBudget: 10_000 }), LogFormat.DEFAULT, { bufferRecords: 64 });
    const flows = [...scan, ...flood];
    let addressesAtSaturation = -1;
    const scanner = (engine as unknown as { scanner: FlowScanner }).scanner;
    for (const f of flows) {
      engine.addLine(line(f));
      if (addressesAtSaturation < 0 && engine.stats.skipped["row-budget"]) addressesAtSaturation = scanner.addresses.size;
    }
    const { stats, findings } = engine.finish();
    const skipped = stats.skipped["row-budget"]!;
    expect(stats.read).toBe(flows.length);
    expect(stats.analysed + skipped).toBe(flows.length);
    expect(skipped).toBeGreaterThan(3000);
    // Nothing is interned once the run stops analysing: a flood cannot grow memory.
    expect(scanner.addresses.size).toBe(addressesAtSaturation);
    expect(findings.find((f) => f.rule === "port-scan" && f.dst === "10.0.1.5")).toBeDefined();
    const saturated = findings.find((f) => f.rule === "detector-saturated")!;
    expect(saturated).toMatchObject({ severity: "MEDIUM", evidence: { rowBudget: 10_000, recordsNotAnalysed: skipped } });
    expect(saturated.evidence.rows).toBeLessThanOrEqual(10_000);
    expect(saturated.evidence.rows).toBeGreaterThan(10_000 - 11);
    expect(saturated.description).toContain(`${skipped} records were read but not analysed`);
    expect(rulesOf(scan)).not.toContain("detector-saturated");
  });

  it("never count ports past 65535 (never valid, however large): their records are skipped as invalid-value", () => {
    const flows = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1e12 + i, packets: 1, action: "REJECT" as const, start: T0 }));
    const run = detect([...flows, ...range(30).map((i) => ({ ...flows[0]!, dstport: 70000 + i }))]);
    expect(run.stats).toEqual({ read: 60, analysed: 0, skipped: { "invalid-value": 60 } });
    expect(run.findings.filter((f) => f.rule === "port-scan")).toEqual([]);
  });

  it("refuses a buffer of no records, or of more than the WebAssembly memory holds", () => {
    expect(() => detect([], {}, 0)).toThrow("Aggregator: partRecords must be a whole number from 1 to 131072 (got 0)");
    expect(() => detect([], {}, 1 << 20)).toThrow("Aggregator: partRecords must be a whole number from 1 to 131072 (got 1048576)");
  });

  it("have deterministic ids: the same input gives the same ids", () => {
    const flows = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: T0 }));
    const a = detect(flows).findings.map((f) => f.id);
    const b = detect([...flows].reverse()).findings.map((f) => f.id);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(a[0]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("carry rule, severity, endpoints, interface, window and evidence", () => {
    const flows = range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: T0, eni: "eni-0aaaaaaaaaaaaaaaa" }));
    const f = detect(flows).findings[0]!;
    expect(Object.keys(f).sort()).toEqual(["description", "dst", "evidence", "id", "interfaceId", "rule", "severity", "src", "title", "window"].sort());
    expect(f.interfaceId).toBe("eni-0aaaaaaaaaaaaaaaa");
    expect(f.window).toEqual({ start: 1_700_000_100, end: 1_700_000_400 });
  });
});

describe("statistical anomaly (Isolation Forest on internal hosts' behaviour)", () => {
  const ordinary = (n: number): Flow[] =>
    range(n).flatMap((i) => [
      { src: `10.0.${i % 7}.${(i * 13) % 250}`, dst: `10.1.${i % 5}.${(i * 7) % 250}`, dstport: [443, 5432, 6379][i % 3]!, srcport: 40000 + i, packets: 10 + (i % 5), bytes: 4000 + ((i * 37) % 900), start: T0 },
    ]);

  it("stays silent on homogeneous traffic", () => {
    expect(rulesOf(ordinary(600))).not.toContain("anomaly");
  });

  it("reports a host far from the rest, with its score and behaviour", () => {
    // 10.1.0.1 takes 3.6 GB in 40 flows from one peer on a port nobody else uses; its peer only sends.
    const odd: Flow[] = range(40).map((i) => ({ src: "10.9.9.9", dst: "10.1.0.1", dstport: 8443, srcport: 50000 + i, packets: 4000, bytes: 90_000_000, start: T0 }));
    const found = detect([...ordinary(600), ...odd]).findings.filter((f) => f.rule === "anomaly");
    expect(found.map((f) => f.src)).toEqual(["10.1.0.1"]);
    expect(found[0]!.evidence).toMatchObject({ flowsIn: 40, bytesIn: 40 * 90_000_000, peers: 1, portsProbedOn: 1 });
    expect(found[0]!.evidence.scorePercent).toBeGreaterThanOrEqual(72.5);
    expect(found[0]!.description).toContain("behaves unlike the other");
  });

  it("scores the same traffic the same, in whatever order it is read", () => {
    const odd: Flow[] = range(40).map((i) => ({ src: "10.9.9.9", dst: "10.1.0.1", dstport: 8443, srcport: 50000 + i, packets: 4000, bytes: 90_000_000, start: T0 }));
    const flows = [...ordinary(600), ...odd];
    const scores = (fs: Flow[]) => detect(fs, { anomalyScore: 0.5, anomalyMaxFindings: 1000 }).findings.filter((f) => f.rule === "anomaly").map((f) => [f.src, f.evidence.scorePercent]);
    expect(scores([...flows].reverse())).toEqual(scores(flows));
  });

  it("needs enough internal hosts before it judges", () => {
    expect(rulesOf([{ src: "10.9.9.9", dst: "10.1.0.1", dstport: 8443, bytes: 90_000_000, start: T0 }])).not.toContain("anomaly");
  });
});

describe("transit gateway records (no action field; drops as packets-lost-*)", () => {
  const tgw = (flows: readonly TgwFlow[], overrides: Parameters<typeof resolveThresholds>[0] = {}) => {
    const engine = new DetectionEngine(resolveThresholds(overrides), LogFormat.TRANSIT_GATEWAY_DEFAULT);
    for (const f of flows) engine.addLine(tgwLine(f));
    return engine.finish().findings;
  };
  const A = "tgw-attach-0aaaa1111bbbb2222";
  const B = "tgw-attach-0cccc3333dddd4444";
  const drops = (attachment: string, n: number, lost: TgwFlow["lost"], start = T0) =>
    range(n).map((i) => ({ src: `10.0.1.${i % 200}`, dst: "10.9.0.1", srcport: 40000 + i, dstport: 443, attachment, start, lost }));

  it("tgw-packet-loss: one finding per attachment and window past the threshold, LOW, with the loss by reason; MEDIUM at ten times the threshold", () => {
    const found = tgw([...drops(A, 50, { noRoute: 20, mtuExceeded: 2 }), ...drops(B, 100, { blackhole: 100 }), ...drops(A, 10, { ttlExpired: 1 }, T0 + 300)]);
    const loss = found.filter((f) => f.rule === "tgw-packet-loss");
    expect(loss.map((f) => [f.interfaceId, f.severity, f.window.start, f.evidence])).toEqual([
      [B, "MEDIUM", T0 - (T0 % 300), { packetsLost: 10_000, noRoute: 0, blackhole: 10_000, mtuExceeded: 0, ttlExpired: 0, flows: 100 }],
      [A, "LOW", T0 - (T0 % 300), { packetsLost: 1100, noRoute: 1000, blackhole: 0, mtuExceeded: 100, ttlExpired: 0, flows: 50 }],
    ]);
    expect(loss[1]!.description).toBe(`The transit gateway dropped 1100 packets of 50 flows on attachment ${A} within 300s (no route 1000, MTU exceeded 100).`);
    expect(loss[1]!.title).toBe("Packets dropped by a transit gateway");
    expect(loss[0]!.id).not.toBe(loss[1]!.id);
    // The same drops in another run give the same ids (Security Hub updates, never duplicates).
    expect(tgw(drops(A, 50, { noRoute: 20, mtuExceeded: 2 })).find((f) => f.rule === "tgw-packet-loss")!.id).toBe(loss[1]!.id);
  });

  it("tgw-packet-loss stays silent for a few stray drops (a packet to an unrouted address now and then)", () => {
    expect(tgw(drops(A, 30, { noRoute: 1 })).map((f) => f.rule)).not.toContain("tgw-packet-loss");
    expect(tgw(drops(A, 30, { noRoute: 1 }), { tgwPacketsLost: 30 }).map((f) => f.rule)).toContain("tgw-packet-loss");
  });

  it("tgw-packet-loss names no attachment when the format leaves tgw-attachment-id out", () => {
    const engine = new DetectionEngine(resolveThresholds({}), LogFormat.custom(["srcaddr", "dstaddr", "dstport", "start", "packets-lost-blackhole"], "transit-gateway"));
    engine.addLine(`10.0.1.5 10.9.0.1 443 ${T0} 5000`);
    const f = engine.finish().findings.find((x) => x.rule === "tgw-packet-loss")!;
    expect(f.interfaceId).toBeUndefined();
    expect(f.description).toBe("The transit gateway dropped 5000 packets of 1 flow on an attachment the records do not name within 300s (blackhole route 5000).");
  });

  it("are never rejected: hundreds of flows from one source raise no rejected-spike, though the same flows as REJECT records do", () => {
    const flows = range(400).map((i) => ({ src: "198.51.100.7", dst: `10.1.2.${i % 250}`, srcport: 40000 + i, dstport: 8080 + (i % 3), packets: 8, bytes: 900, start: T0 }));
    expect(tgw(flows).map((f) => f.rule)).not.toContain("rejected-spike");
    expect(rulesOf(flows.map((f) => ({ ...f, action: "REJECT" as const })))).toContain("rejected-spike");
  });

  it("count as traffic that got through: admin connections across VPCs raise lateral-movement, small flows to many hosts a port-sweep", () => {
    const lateral = range(15).map((h) => ({ src: "10.0.3.60", dst: `10.1.4.${h}`, dstport: 445, packets: 20, bytes: 4000, start: T0 }));
    expect(tgw(lateral).find((f) => f.rule === "lateral-movement")).toMatchObject({ src: "10.0.3.60", interfaceId: A, evidence: { internalHosts: 15 } });
    const sweep = range(40).map((h) => ({ src: "192.168.50.9", dst: `10.1.3.${h}`, dstport: 3306, packets: 1, bytes: 44, tcpFlags: 2, start: T0 }));
    expect(tgw(sweep).find((f) => f.rule === "port-sweep")).toMatchObject({ port: 3306, evidence: { distinctHosts: 40, probes: 40 } });
  });

  it("a flow leaving through a central egress VPC counts its bytes once: where it leaves the transit gateway (egress), not again where it entered (ingress)", () => {
    const bytes = 600 * 1024 * 1024;
    const crossing: TgwFlow[] = [
      { src: "10.0.3.30", dst: "192.0.2.30", dstport: 443, bytes, start: T0, attachment: A, direction: "ingress" },
      { src: "10.0.3.30", dst: "192.0.2.30", dstport: 443, bytes, start: T0, attachment: B, direction: "egress" },
    ];
    expect(tgw(crossing).find((f) => f.rule === "exfiltration")).toMatchObject({ src: "10.0.3.30", dst: "192.0.2.30", evidence: { egressBytes: bytes } });
    expect(tgw(crossing.slice(0, 1)).map((f) => f.rule)).not.toContain("exfiltration");
  });
});
