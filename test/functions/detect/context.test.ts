import { DetectionEngine } from "../../../functions/detect/engine";
import { resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import { detect, Flow, line, Overrides, range, rulesOf } from "../../support/flows";

const T0 = 1_700_000_100;

/** Default fields, then tcp-flags and flow-direction (version 3 and 5 fields). */
const FLAGGED = LogFormat.custom([...LogFormat.DEFAULT.names, "tcp-flags", "flow-direction"], "vpc");
interface FlaggedFlow extends Flow {
  tcpFlags: number;
  direction?: "ingress" | "egress";
}
function detectFlagged(flows: readonly FlaggedFlow[], overrides: Overrides = {}) {
  const engine = new DetectionEngine(resolveThresholds(overrides), FLAGGED);
  for (const f of flows) engine.addLine(`${line(f)} ${f.tcpFlags} ${f.direction ?? "ingress"}`);
  return engine.finish();
}
const rules = (r: { findings: readonly { rule: string }[] }) => r.findings.map((f) => f.rule);

/** A connection as flow logs record it: the client's request and the server's answer. */
const connection = (client: string, clientPort: number, server: string, serverPort: number, start = T0, packets = 12): Flow[] => [
  { src: client, dst: server, srcport: clientPort, dstport: serverPort, packets, start },
  { src: server, dst: client, srcport: serverPort, dstport: clientPort, packets, start },
];

describe("direction from evidence (no tcp-flags: listeners learned from the traffic)", () => {
  it("a 2,000-port scan from source port 53, rejected, is a port scan: a source port alone never exempts a flow", () => {
    const scan = range(2000).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", srcport: 53, dstport: 1024 + i, packets: 1, bytes: 44, action: "REJECT" as const, start: T0 }));
    expect(rulesOf(scan)).toContain("port-scan");
  });

  it("an RDP brute force from privileged source ports is a brute force", () => {
    const flows = range(40).flatMap((i) => connection("203.0.113.7", 100 + i, "10.0.1.5", 3389, T0 + i, 8));
    expect(detect(flows).findings.find((f) => f.rule === "rdp-brute-force")).toMatchObject({ src: "203.0.113.7", dst: "10.0.1.5", evidence: { attempts: 40 } });
  });

  it("an SSH brute force against port 2222 raises no port scan against the victim, whose port answered many peer ports", () => {
    const flows = range(60).flatMap((i) => connection("203.0.113.7", 40000 + i, "10.0.1.5", 2222, T0 + i, 8));
    const found = detect(flows, { bruteForcePorts: [2222] }).findings;
    expect(found.filter((f) => f.src === "10.0.1.5")).toEqual([]);
    expect(found.find((f) => f.rule === "brute-force")).toMatchObject({ src: "203.0.113.7", dst: "10.0.1.5", port: 2222, evidence: { attempts: 60 } });
  });

  it("a busy web server on a high port outside any list answers many clients without being a scanner", () => {
    const flows = range(300).flatMap((i) => connection(`198.51.100.${i % 200}`, 30000 + i, "10.0.1.8", 9443));
    expect(rulesOf(flows)).toEqual([]);
  });

  it("answers from an external API on 443 to one busy client are no scan of the client", () => {
    const flows = range(200).flatMap((i) => connection("10.0.1.9", 40000 + i, "198.51.100.80", 443));
    expect(rulesOf(flows)).toEqual([]);
  });
});

describe("direction from tcp-flags and flow-direction", () => {
  it("SYN without ACK opens a connection: a scan from source port 53 with accepted probes is a port scan", () => {
    const scan = range(300).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", srcport: 53, dstport: 1024 + i, packets: 1, bytes: 44, tcpFlags: 2, start: T0 }));
    expect(rules(detectFlagged(scan))).toContain("port-scan");
  });

  it("SYN-ACK answers: a server's answers to 300 clients' ports are no probes", () => {
    const answers = range(300).map((i) => ({ src: "10.0.1.5", dst: "203.0.113.9", srcport: 5000, dstport: 30000 + i, tcpFlags: 19, direction: "egress" as const, start: T0 }));
    expect(rules(detectFlagged(answers))).toEqual([]);
  });

  it("a rejected inbound flow is never an answer, even with SYN-ACK set", () => {
    const probes = range(300).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", srcport: 80, dstport: 1024 + i, tcpFlags: 18, action: "REJECT" as const, start: T0 }));
    expect(rules(detectFlagged(probes))).toContain("port-scan");
  });
});

describe("network context", () => {
  const network = { cidrs: ["10.0.0.0/16", "2600:1f18:6a3:e100::/56"], natGateways: ["10.0.0.200"], loadBalancers: ["10.0.0.10", "10.0.0.20/30"], resolvers: ["10.0.0.53"] };

  it("a VPC host's IPv6 exfiltration is seen once its IPv6 range is inside, and not by default", () => {
    const flows = range(4).map(() => ({ src: "2600:1f18:6a3:e100::10", dst: "2001:db8::99", dstport: 443, bytes: 600 * 1024 * 1024, start: T0 }));
    expect(rulesOf(flows, { network })).toContain("exfiltration");
    expect(rulesOf(flows)).not.toContain("exfiltration");
  });

  it("a VPC host's SSH sweep of 15 IPv6 neighbours is lateral movement", () => {
    const flows = range(15).map((i) => ({ src: "2600:1f18:6a3:e100::10", dst: `2600:1f18:6a3:e100::${(i + 32).toString(16)}`, dstport: 22, start: T0 }));
    expect(rulesOf(flows, { network })).toContain("lateral-movement");
  });

  it("NLB health checks (3 packets) of 40 targets are no port sweep; the same from an unknown host are", () => {
    const checks = range(40).map((i) => ({ src: "10.0.0.21", dst: `10.0.5.${i}`, srcport: 20000 + i, dstport: 8080, packets: 3, start: T0 }));
    expect(rulesOf(checks, { network })).toEqual([]);
    expect(rulesOf(checks.map((f) => ({ ...f, src: "10.0.7.7" })), { network })).toContain("port-sweep");
  });

  it("NLB targets' answers to the nodes' ports are no port scan", () => {
    const answers = range(200).map((i) => ({ src: "10.0.5.1", dst: "10.0.0.10", srcport: 8080, dstport: 10000 + i, start: T0 }));
    expect(rulesOf(answers, { network })).toEqual([]);
  });

  it("a NAT gateway reaching many web destinations with small flows is no C2 fan-out; a host doing it is", () => {
    const fanOut = (src: string) => range(80).map((i) => ({ src, dst: `198.51.100.${i}`, dstport: 443, bytes: 400, start: T0 }));
    expect(rulesOf(fanOut("10.0.0.200"), { network })).not.toContain("c2-fan-out");
    expect(rulesOf(fanOut("10.0.3.40"), { network })).toContain("c2-fan-out");
  });

  it("return traffic from the internet to a NAT gateway is no probe", () => {
    const back = range(300).map((i) => ({ src: "198.51.100.80", dst: "10.0.0.200", srcport: 443, dstport: 1024 + i, start: T0 }));
    expect(rulesOf(back, { network })).toEqual([]);
  });
});

describe("new rules", () => {
  it("distributed-scan: 250 sources probing 4 ports each on one host; a busy web server's 250 clients on 80 and 443 are not", () => {
    const scan = range(250).flatMap((s) => range(4).map((p) => ({ src: `203.0.${113 + (s >> 8)}.${s & 255}`, dst: "10.0.1.5", dstport: 1 + s * 4 + p, packets: 1, action: "REJECT" as const, start: T0 })));
    expect(detect(scan).findings.find((f) => f.rule === "distributed-scan")).toMatchObject({ dst: "10.0.1.5", severity: "MEDIUM", evidence: { sources: 250, distinctPorts: 1000 } });
    const web = range(250).flatMap((s) => [80, 443].map((port) => ({ src: `198.51.100.${s}`, dst: "10.0.1.6", srcport: 40000 + s, dstport: port, start: T0 })));
    expect(rulesOf(web)).not.toContain("distributed-scan");
  });

  it("inbound-flood: 120,000 flows to one host from spoofed sources; a busy server's 5,000 are not", () => {
    const flood = range(120_000).map((i) => ({ src: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, dst: "10.0.1.5", srcport: 1024 + (i % 60000), dstport: 443, packets: 1, start: T0 }));
    expect(detect(flood).findings.find((f) => f.rule === "inbound-flood")).toMatchObject({ dst: "10.0.1.5", severity: "HIGH", evidence: { flows: 120_000 } });
    expect(rulesOf(flood.slice(0, 5000))).not.toContain("inbound-flood");
  });

  it("outbound-flood: a SYN flood of 20,000 flows and 800,000 packets from one host; a NAT gateway's traffic is not its own", () => {
    const flood = range(20_000).map((i) => ({ src: "10.0.1.5", dst: "192.0.2.10", srcport: 1024 + i, dstport: 80, packets: 40, bytes: 1600, start: T0 }));
    expect(detect(flood).findings.find((f) => f.rule === "outbound-flood")).toMatchObject({ src: "10.0.1.5", severity: "HIGH", evidence: { flows: 20_000, packets: 800_000 } });
    expect(rulesOf(flood.map((f) => ({ ...f, src: "10.0.0.200" })), { network: { natGateways: ["10.0.0.200"] } })).not.toContain("outbound-flood");
  });

  it("dns-unapproved-resolver: an hour-long query a second to an external resolver; the VPC's own resolvers are approved", () => {
    const dns = (dst: string) => range(300).map((i) => ({ src: "10.0.1.5", dst, srcport: 30000 + i, dstport: 53, protocol: 17, packets: 2, bytes: 150, start: T0 + i }));
    expect(detect(dns("8.8.8.8")).findings.find((f) => f.rule === "dns-unapproved-resolver")).toMatchObject({ src: "10.0.1.5", dst: "8.8.8.8", evidence: { flows: 300, resolvers: 1 } });
    const network = { cidrs: ["10.0.0.0/16"], resolvers: ["10.0.0.53"] };
    expect(rulesOf(dns("10.0.0.53"), { network })).toEqual([]);
    expect(rulesOf(dns("10.0.0.2"), { network })).toEqual([]);
    expect(rulesOf(dns("169.254.169.253"), { network })).toEqual([]);
    expect(rulesOf(dns("10.0.0.2"))).toContain("dns-unapproved-resolver");
    const dot = range(40).map((i) => ({ src: "10.0.1.5", dst: "1.1.1.1", srcport: 30000 + i, dstport: 853, start: T0 + i }));
    expect(rulesOf(dot)).toContain("dns-unapproved-resolver");
  });

  it("crypto-mining: an accepted connection to a pool port outside; a rejected one, or one between internal hosts, is not", () => {
    const pool = { src: "10.0.1.5", dst: "198.51.100.9", srcport: 40000, dstport: 14444, start: T0 };
    expect(detect([pool]).findings.find((f) => f.rule === "crypto-mining")).toMatchObject({ src: "10.0.1.5", dst: "198.51.100.9", port: 14444, severity: "MEDIUM" });
    expect(rulesOf([{ ...pool, action: "REJECT" }])).not.toContain("crypto-mining");
    expect(rulesOf([{ ...pool, dst: "10.0.2.9" }])).not.toContain("crypto-mining");
  });

  it("brute force on WinRM (5985, 5986) by default, and on any configured port", () => {
    const winrm = range(30).map((i) => ({ src: "203.0.113.7", dst: "10.0.1.5", srcport: 40000 + i, dstport: 5986, packets: 8, start: T0 + i }));
    expect(detect(winrm).findings.find((f) => f.rule === "brute-force")).toMatchObject({ port: 5986, description: expect.stringContaining("WinRM (HTTPS)") });
    const admin = range(5).map((i) => ({ src: "10.0.0.4", dst: "10.0.1.5", srcport: 40000 + i, dstport: 5985, packets: 8, start: T0 + i }));
    expect(rulesOf(admin)).toEqual([]);
  });

  it("threat-intel: a flow to or from a listed address or CIDR, IPv4 and IPv6, is HIGH; rejected-only contact is LOW; unlisted addresses are not", () => {
    const threatIntel = [{ name: "abuse", entries: ["198.51.100.0/24", "2001:db8:bad::/48"] }, { name: "mine", entries: ["192.0.2.66"] }];
    const found = detect([
      { src: "10.0.1.5", dst: "198.51.100.77", dstport: 443, start: T0 },
      { src: "2001:db8:bad::1", dst: "10.0.1.6", dstport: 22, start: T0, action: "REJECT" },
      { src: "192.0.2.66", dst: "10.0.1.7", dstport: 443, start: T0 },
      { src: "10.0.1.8", dst: "192.0.2.67", dstport: 443, start: T0 },
    ], { threatIntel }).findings.filter((f) => f.rule === "threat-intel");
    expect(found.map((f) => [f.src, f.dst, f.severity])).toEqual(
      expect.arrayContaining([["10.0.1.5", "198.51.100.77", "HIGH"], ["2001:db8:bad::1", "10.0.1.6", "LOW"], ["192.0.2.66", "10.0.1.7", "HIGH"]]),
    );
    expect(found).toHaveLength(3);
    expect(found.find((f) => f.src === "192.0.2.66")!.description).toContain("list mine");
  });

  it("log-skipped: SKIPDATA records are a log-health finding; NODATA records are not", () => {
    const engine = new DetectionEngine(resolveThresholds(), LogFormat.DEFAULT);
    engine.addLine(line({ src: "10.0.1.5", dst: "10.0.1.6", dstport: 443, start: T0 }));
    engine.addLine(`2 123456789012 eni-0123456789abcdef0 - - - - - - - ${T0} ${T0 + 60} - SKIPDATA`);
    engine.addLine(`2 123456789012 eni-0123456789abcdef0 - - - - - - - ${T0} ${T0 + 60} - NODATA`);
    const found = engine.finish().findings;
    expect(found.map((f) => f.rule)).toEqual(["log-skipped"]);
    expect(found[0]).toMatchObject({ severity: "LOW", evidence: { skipdataRecords: 1 } });
  });
});

describe("suppression", () => {
  const scan = range(200).map((i) => ({ src: "10.0.9.9", dst: "10.0.1.5", dstport: 1 + i, packets: 1, action: "REJECT" as const, start: T0 }));

  it("drops a rule's findings from the given sources and counts them; other rules and sources stay", () => {
    const suppress = [{ rule: "port-scan", sources: ["10.0.9.0/24"], reason: "our vulnerability scanner" }];
    const result = detect(scan, { suppress });
    expect(result.findings.map((f) => f.rule)).not.toContain("port-scan");
    expect(result.suppressed).toEqual({ "port-scan": 2 });
    expect(rulesOf(scan.map((f) => ({ ...f, src: "10.0.8.9" })), { suppress })).toContain("port-scan");
    expect(detect(scan, { suppress: [{ rule: "port-sweep", sources: ["10.0.9.0/24"], reason: "x" }] }).findings.map((f) => f.rule)).toContain("port-scan");
  });

  it("matches destinations and ports only on findings that have them", () => {
    const byDestination = detect(scan, { suppress: [{ destinations: ["10.0.1.5"], reason: "honeypot" }] });
    // The per-host scan names 10.0.1.5 and is dropped; the scan across hosts names no destination and stays.
    expect(byDestination.suppressed).toEqual({ "port-scan": 1 });
    expect(byDestination.findings.filter((f) => f.rule === "port-scan").map((f) => f.dst)).toEqual([undefined]);
    const sweepSuppressed = rulesOf(range(40).map((i) => ({ src: "10.0.7.7", dst: `10.0.5.${i}`, dstport: 8080, packets: 1, action: "REJECT" as const, start: T0 })), { suppress: [{ ports: [8080], reason: "health checks" }] });
    expect(sweepSuppressed).not.toContain("port-sweep");
  });

  it("allowedSources keeps dropping a source's records entirely", () => {
    expect(rulesOf(scan, { allowedSources: ["10.0.9.9"] })).toEqual([]);
  });
});
