import { DetectionEngine } from "../../../functions/detect/engine";
import { Finding } from "../../../functions/detect/findings";
import { resolveThresholds } from "../../../functions/detect/thresholds";
import { LogFormat } from "../../../functions/flowlog/format";
import { FlowScanner } from "../../../functions/flowlog/scanner";
import { newStats } from "../../../functions/flowlog/stats";
import { range } from "../../support/flows";

/*
 * pkt-src-aws-service / pkt-dst-aws-service (version 5): traffic to and from AWS services is the
 * network's own. Each behaviour on its benign case and on the twin that must still raise, through
 * the WebAssembly ingest loop and through FlowScanner alone.
 */

const NAMES = [
  "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status",
  "tcp-flags", "flow-direction", "pkt-srcaddr", "pkt-dstaddr", "pkt-src-aws-service", "pkt-dst-aws-service",
];
const V5 = LogFormat.custom(NAMES, "vpc");
/** The version-5 format without the service fields. */
const V5_WITHOUT = LogFormat.custom(NAMES.filter((n) => !n.endsWith("aws-service")), "vpc");

const T0 = 1_700_000_100 - (1_700_000_100 % 300) + 5;
const GiB = 1024 ** 3;

interface Flow {
  src: string;
  dst: string;
  srcport?: number;
  dstport: number;
  packets?: number;
  bytes?: number;
  start: number;
  action?: "ACCEPT" | "REJECT";
  direction?: "ingress" | "egress";
  srcService?: string;
  dstService?: string;
}

function v5(f: Flow, format: LogFormat): string {
  const values: Record<string, string | number> = {
    version: 5, "account-id": "123456789012", "interface-id": "eni-0123456789abcdef0", srcaddr: f.src, dstaddr: f.dst, srcport: f.srcport ?? 49152, dstport: f.dstport,
    protocol: 6, packets: f.packets ?? 10, bytes: f.bytes ?? 840, start: f.start, end: f.start + 30, action: f.action ?? "ACCEPT", "log-status": "OK",
    // tcp-flags 0: no flag decides, as for a long-lived connection's later records.
    "tcp-flags": 0, "flow-direction": f.direction ?? "egress", "pkt-srcaddr": f.src, "pkt-dstaddr": f.dst,
    "pkt-src-aws-service": f.srcService ?? "-", "pkt-dst-aws-service": f.dstService ?? "-",
  };
  return format.names.map((n) => values[n]).join(" ");
}

/** Findings of the flows (in start order) read through the WebAssembly loop and through FlowScanner alone, which must agree. */
function findings(flows: readonly Flow[], format = V5): readonly Finding[] {
  const bytes = Buffer.from(`${[...flows].sort((a, b) => a.start - b.start).map((f) => v5(f, format)).join("\n")}\n`);
  const [wasm, scanner] = [true, false].map((webAssembly) => {
    const engine = new DetectionEngine(resolveThresholds({ network: { cidrs: ["10.0.0.0/16"] } }), format, { webAssembly });
    engine.addChunk(bytes);
    engine.endStream();
    const result = engine.finish();
    expect(result.stats.analysed).toBe(flows.length);
    return result.findings;
  });
  expect(scanner).toEqual(wasm);
  return wasm!;
}

const rules = (fs: readonly Finding[]) => fs.map((f) => `${f.rule} ${f.src} ${f.dst ?? ""}`.trim());

/** A 1.5 GiB nightly backup from an internal host to one address in six flows of one window. */
const backup = (dstService?: string): Flow[] => range(6).map((i) => ({ src: "10.0.1.5", dst: "52.216.8.21", dstport: 443, bytes: GiB / 4, packets: 180_000, start: T0 + i * 40, dstService }));

describe("AWS service traffic (pkt-src-aws-service, pkt-dst-aws-service)", () => {
  it("a 1.5 GiB backup from an internal host to S3 raises nothing", () => {
    expect(findings(backup("S3"))).toEqual([]);
  });

  it("the same backup raises exfiltration when the destination is no service: '-', EC2 (a customer's instance), or a format without the field", () => {
    for (const [service, format] of [["-", V5], ["EC2", V5], [undefined, V5_WITHOUT]] as const) {
      const found = findings(backup(service), format);
      expect([service, rules(found)]).toEqual([service, ["exfiltration 10.0.1.5 52.216.8.21"]]);
      expect(found[0]!.severity).toBe("HIGH");
    }
  });

  /** Small HTTPS requests from one host to 60 addresses, each every 60 s for ten minutes. */
  const apiCalls = (dstService: string): Flow[] =>
    range(60).flatMap((d) => range(10).map((k) => ({ src: "10.0.2.9", dst: `52.94.${d}.10`, dstport: 443, bytes: 900, packets: 6, start: T0 + k * 60 + (d % 50), dstService })));

  it("small web flows to 60 AWS-service addresses, every 60 s, raise neither c2-fan-out nor c2-beaconing", () => {
    expect(findings(apiCalls("AMAZON"))).toEqual([]);
  });

  it("the same flows to 60 addresses that are no service raise c2-fan-out and c2-beaconing", () => {
    const found = rules(findings(apiCalls("EC2")));
    expect(found).toContain("c2-fan-out 10.0.2.9");
    expect(found.filter((f) => f.startsWith("c2-beaconing 10.0.2.9 ")).length).toBe(60);
  });

  /** Route 53 health checks from one address to 40 ports of one public host (probe-sized flows). */
  const healthChecks = (srcService: string): Flow[] =>
    range(40).map((i) => ({ src: "15.177.2.10", dst: "10.0.3.7", dstport: 8000 + i, packets: 2, bytes: 120, start: T0 + i, direction: "ingress", srcService }));

  it("flows from an AWS service are not probes: Route 53 health checks on 40 ports of a host raise no port-scan", () => {
    expect(findings(healthChecks("ROUTE53_HEALTHCHECKS"))).toEqual([]);
  });

  it("the same flows from an address that is no service's raise a port-scan", () => {
    expect(rules(findings(healthChecks("-")))).toEqual(["port-scan 15.177.2.10 10.0.3.7"]);
  });
});

describe("FlowScanner's awsService bits", () => {
  it("mark a source or destination of any value but '-' and EC2, and clear them on the next record", () => {
    const sc = new FlowScanner(V5, newStats());
    const bits = (srcService: string, dstService: string) => {
      const text = v5({ src: "10.0.0.1", dst: "10.0.0.2", dstport: 443, start: T0, srcService, dstService }, V5);
      expect(sc.scan(Buffer.from(text), 0, text.length)).toBe(true);
      return sc.awsService;
    };
    expect([bits("S3", "-"), bits("-", "ROUTE53_HEALTHCHECKS_PUBLISHING"), bits("EC2", "EC2"), bits("AMAZON", "DYNAMODB"), bits("-", "-"), bits("EC2X", "EC")]).toEqual([1, 2, 0, 3, 0, 3]);
  });
});
