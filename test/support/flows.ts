import { LogFormat } from "../../functions/flowlog/format";
import { DetectionEngine } from "../../functions/detect/engine";
import { resolveThresholds } from "../../functions/detect/thresholds";

/** Threshold and context overrides, as resolveThresholds takes them. */
export type Overrides = NonNullable<Parameters<typeof resolveThresholds>[0]>;

export interface Flow {
  src: string;
  dst: string;
  srcport?: number;
  dstport: number;
  protocol?: number;
  packets?: number;
  bytes?: number;
  start?: number;
  action?: "ACCEPT" | "REJECT";
  eni?: string;
}

/** A default-format (version 2) line. */
export function line(f: Flow): string {
  const start = f.start ?? 1_700_000_000;
  return [2, "123456789012", f.eni ?? "eni-0123456789abcdef0", f.src, f.dst, f.srcport ?? 49152, f.dstport, f.protocol ?? 6, f.packets ?? 10, f.bytes ?? 840, start, start + 30, f.action ?? "ACCEPT", "OK"].join(" ");
}

/** Runs the engine over flows (default format), as one stream of lines, and returns its result. */
export function detect(flows: readonly Flow[], overrides: Overrides = {}, bufferRecords?: number) {
  const engine = new DetectionEngine(resolveThresholds(overrides), LogFormat.DEFAULT, { bufferRecords });
  engine.addChunk(Buffer.from(flows.map((f) => `${line(f)}\n`).join(""), "latin1"));
  engine.endStream();
  return engine.finish();
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const rulesOf = (flows: readonly Flow[], overrides: Overrides = {}) => detect(flows, overrides).findings.map((f) => f.rule);

/** A transit-gateway flow: where it crossed (attachment and direction) and what the transit gateway dropped. */
export interface TgwFlow extends Flow {
  /** The attachment the record was captured at. @default "tgw-attach-0aaaa1111bbbb2222" */
  attachment?: string;
  direction?: "ingress" | "egress";
  tcpFlags?: number;
  lost?: Partial<Record<"noRoute" | "blackhole" | "mtuExceeded" | "ttlExpired", number | "-">>;
  status?: "OK" | "NODATA" | "SKIPDATA";
}

/**
 * A record in the transit-gateway default format (LogFormat.TRANSIT_GATEWAY_DEFAULT: the 36
 * fields of versions 2 to 6 in the order of the AWS "Available fields" table), values as the
 * table describes them.
 */
export function tgwLine(f: TgwFlow): string {
  const start = f.start ?? 1_700_000_000;
  const attachment = f.attachment ?? "tgw-attach-0aaaa1111bbbb2222";
  const lost = f.lost ?? {};
  return [
    6, "TransitGateway", "123456789012", "tgw-0a1b2c3d4e5f60718", attachment, "123456789012", "210987654321",
    "vpc-0aaaa1111bbbb2222", "vpc-0cccc3333dddd4444", "subnet-0aaaa1111bbbb2222", "subnet-0cccc3333dddd4444",
    "eni-0aaaa1111bbbb2222", "eni-0cccc3333dddd4444", "use1-az1", "use1-az2", "tgw-attach-0cccc3333dddd4444",
    f.src, f.dst, f.srcport ?? 49152, f.dstport, f.protocol ?? 6, f.packets ?? 10, f.bytes ?? 840, start, start + 60, f.status ?? "OK", "IPv4",
    lost.noRoute ?? 0, lost.blackhole ?? 0, lost.mtuExceeded ?? 0, lost.ttlExpired ?? 0, f.tcpFlags ?? 3, "us-east-1", f.direction ?? "ingress", "-", "-",
  ].join(" ");
}
