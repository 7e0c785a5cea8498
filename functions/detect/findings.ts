import { createHash } from "crypto";

export type Severity = "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";
export const SEVERITIES: readonly Severity[] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

export type RuleId =
  | "port-scan"
  | "sensitive-port-scan"
  | "port-sweep"
  | "ssh-brute-force"
  | "rdp-brute-force"
  | "brute-force"
  | "distributed-scan"
  | "inbound-flood"
  | "outbound-flood"
  | "dns-unapproved-resolver"
  | "crypto-mining"
  | "threat-intel"
  | "log-skipped"
  | "exfiltration"
  | "c2-fan-out"
  | "c2-beaconing"
  | "lateral-movement"
  | "rejected-spike"
  | "unusual-protocol"
  | "anomaly"
  | "tgw-packet-loss"
  | "detector-saturated";

/** What each rule means, for people and for the ASFF taxonomy. */
export const RULES: Readonly<Record<RuleId, { readonly title: string; readonly asffType: string }>> = Object.freeze({
  "port-scan": { title: "Port scan", asffType: "TTPs/Discovery/Recon:PortScan" },
  "sensitive-port-scan": { title: "Probe of sensitive ports", asffType: "TTPs/Discovery/Recon:SensitivePortProbe" },
  "port-sweep": { title: "Port sweep", asffType: "TTPs/Discovery/Recon:PortSweep" },
  "ssh-brute-force": { title: "SSH brute force", asffType: "TTPs/Credential Access/BruteForce:SSH" },
  "rdp-brute-force": { title: "RDP brute force", asffType: "TTPs/Credential Access/BruteForce:RDP" },
  "brute-force": { title: "Brute force on a login port", asffType: "TTPs/Credential Access/BruteForce" },
  "distributed-scan": { title: "Distributed port scan", asffType: "TTPs/Discovery/Recon:DistributedPortScan" },
  "inbound-flood": { title: "Inbound flood", asffType: "Effects/Denial of Service/InboundFlood" },
  "outbound-flood": { title: "Outbound flood", asffType: "Effects/Denial of Service/OutboundFlood" },
  "dns-unapproved-resolver": { title: "DNS to an unapproved resolver", asffType: "Software and Configuration Checks/Policy/UnapprovedDnsResolver" },
  "crypto-mining": { title: "Connection to a mining-pool port", asffType: "Effects/Resource Consumption/CryptoMining" },
  "threat-intel": { title: "Traffic with an address on a threat list", asffType: "TTPs/Command and Control/ThreatIntelMatch" },
  "log-skipped": { title: "Flow-log records skipped by AWS", asffType: "Software and Configuration Checks/Log Health/SkippedRecords" },
  exfiltration: { title: "Possible data exfiltration", asffType: "Effects/Data Exfiltration/LargeEgress" },
  "c2-fan-out": { title: "Command-and-control fan-out", asffType: "TTPs/Command and Control/FanOut" },
  "c2-beaconing": { title: "Command-and-control beaconing", asffType: "TTPs/Command and Control/Beaconing" },
  "lateral-movement": { title: "Lateral movement on admin ports", asffType: "TTPs/Lateral Movement/AdminPorts" },
  "rejected-spike": { title: "Spike of rejected traffic", asffType: "Unusual Behaviors/Network Flow/RejectedSpike" },
  "unusual-protocol": { title: "Unusual IP protocol", asffType: "Unusual Behaviors/Network Flow/UnusualProtocol" },
  anomaly: { title: "Statistical anomaly (Isolation Forest)", asffType: "Unusual Behaviors/Network Flow/IsolationForest" },
  "tgw-packet-loss": { title: "Packets dropped by a transit gateway", asffType: "Unusual Behaviors/Network Flow/TransitGatewayPacketLoss" },
  "detector-saturated": { title: "Detection saturated by distinct flows", asffType: "Unusual Behaviors/Network Flow/DistinctFlowFlood" },
});

export interface Finding {
  /** Deterministic: the same rule, endpoints and window always give the same id. */
  readonly id: string;
  readonly rule: RuleId;
  readonly title: string;
  readonly severity: Severity;
  readonly src?: string;
  readonly dst?: string;
  readonly port?: number;
  readonly protocol?: number;
  readonly interfaceId?: string;
  /** Unix seconds, [start, end). */
  readonly window: { readonly start: number; readonly end: number };
  /** The counts that crossed the thresholds. */
  readonly evidence: Readonly<Record<string, number>>;
  readonly description: string;
}

export type FindingInput = Omit<Finding, "id" | "title"> & {
  /**
   * The time the id is keyed by, when not the window's start: a beacon series is keyed by the
   * long window its first start is in (declarations.ts beaconFinding). Not kept in the finding.
   * @default - window.start
   */
  readonly idStart?: number;
};

/** A finding with its title and deterministic id (sha-256 of rule, endpoints and window, or idStart). */
export function finding(given: FindingInput): Finding {
  const { idStart, ...input } = given;
  const fields: (string | number)[] = [input.rule, input.src ?? "", input.dst ?? "", input.port ?? "", input.protocol ?? "", idStart ?? input.window.start];
  // A long-horizon finding and the short window starting at the same time are two findings.
  if (input.evidence.horizonSeconds !== undefined) fields.push(`h${input.evidence.horizonSeconds}`);
  // A finding without a source (a transit gateway's drops) is told apart by where it was recorded.
  if (input.src === undefined && input.interfaceId !== undefined) fields.push(input.interfaceId);
  const key = fields.join("|");
  const id = createHash("sha256").update(key).digest("hex").slice(0, 32);
  return Object.freeze({ id, title: RULES[input.rule].title, ...input });
}

/** Findings in a stable order: most severe first, then by window, rule and id. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
      a.window.start - b.window.start ||
      a.rule.localeCompare(b.rule) ||
      a.id.localeCompare(b.id),
  );
}
