import { LogFormat } from "../../functions/flowlog/format";
import { DetectionEngine } from "../../functions/detect/engine";
import { DetectorThresholds, resolveThresholds } from "../../functions/detect/thresholds";

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

/** Runs the engine over flows (default format) and returns its result. */
export function detect(flows: readonly Flow[], overrides: Partial<DetectorThresholds> = {}, bufferRecords?: number) {
  const engine = new DetectionEngine(resolveThresholds(overrides), LogFormat.DEFAULT, { bufferRecords });
  for (const f of flows) engine.addLine(line(f));
  return engine.finish();
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const rulesOf = (flows: readonly Flow[], overrides: Partial<DetectorThresholds> = {}) => detect(flows, overrides).findings.map((f) => f.rule);
