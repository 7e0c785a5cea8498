import { ASFF_BATCH_SIZE, batches, toAsff } from "../../../functions/detect/asff";
import { finding, RULES } from "../../../functions/detect/findings";
import { snsMessage } from "../../../functions/detect/report";

const f = finding({
  rule: "ssh-brute-force", severity: "HIGH", src: "10.0.9.9", dst: "10.0.1.20", port: 22, protocol: 6, interfaceId: "eni-0c4d6e8f0a2b4c6d8",
  window: { start: 1793494800, end: 1793495100 }, evidence: { attempts: 48, synOnly: 40 }, description: "48 short SSH connections from 10.0.9.9 to 10.0.1.20 within 300s.",
});
const source = { account: "410987654323", region: "eu-central-1", environment: "prod" };
const NOW = new Date("2026-11-22T08:00:00Z");

describe("Security Hub findings (ASFF)", () => {
  const a = toAsff(f, source, NOW);

  it("carries every required field", () => {
    for (const key of ["SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"]) {
      expect(a).toHaveProperty(key);
    }
    expect(a.SchemaVersion).toBe("2018-10-08");
    expect(a.ProductArn).toBe("arn:aws:securityhub:eu-central-1:410987654323:product/410987654323/default");
    expect(a.AwsAccountId).toBe("410987654323");
  });

  it("has a stable id and creation time from the window, so re-runs update instead of duplicating", () => {
    const later = toAsff(f, source, new Date("2026-11-23T00:00:00Z"));
    expect(later.Id).toBe(a.Id);
    expect(later.CreatedAt).toBe(a.CreatedAt);
    expect(later.UpdatedAt).not.toBe(a.UpdatedAt);
    expect(a.Id).toBe(`flowlog-kit/prod/${f.id}`);
    expect(a.CreatedAt).toBe("2026-11-01T01:00:00.000Z");
  });

  it("uses the ASFF type taxonomy and FindingProviderFields", () => {
    expect(a.Types).toEqual(["TTPs/Credential Access/BruteForce:SSH"]);
    expect(a.FindingProviderFields).toEqual({ Severity: { Label: "HIGH" }, Types: ["TTPs/Credential Access/BruteForce:SSH"] });
    const namespaces = ["Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications"];
    for (const rule of Object.values(RULES)) expect(namespaces).toContain(rule.asffType.split("/")[0]);
  });

  it("names the interface as the resource and fills the network section", () => {
    expect(a.Resources).toEqual([{ Type: "AwsEc2NetworkInterface", Id: "arn:aws:ec2:eu-central-1:410987654323:network-interface/eni-0c4d6e8f0a2b4c6d8", Partition: "aws", Region: "eu-central-1" }]);
    expect(a.Network).toEqual({ SourceIpV4: "10.0.9.9", DestinationIpV4: "10.0.1.20", DestinationPort: 22, Protocol: "TCP" });
    const v6 = toAsff({ ...f, src: "2001:db8::1", dst: "2001:db8::2" }, source, NOW);
    expect(v6.Network).toMatchObject({ SourceIpV6: "2001:db8::1", DestinationIpV6: "2001:db8::2" });
    expect(a.ProductFields).toMatchObject({ "flowlog-kit/rule": "ssh-brute-force", "flowlog-kit/evidence/attempts": "48" });
  });

  it("names the detector itself as the resource of a finding without endpoints (a saturated run)", () => {
    const saturated = finding({ rule: "detector-saturated", severity: "MEDIUM", window: { start: 1793494800, end: 1793498400 }, evidence: { rows: 2499995, rowBudget: 2500000, recordsNotAnalysed: 12 }, description: "Detection stopped." });
    const s = toAsff(saturated, source, NOW);
    expect(s.Resources).toEqual([{ Type: "Other", Id: "flowlog-kit/prod/detector", Partition: "aws", Region: "eu-central-1" }]);
    expect(s.Types).toEqual(["Unusual Behaviors/Network Flow/DistinctFlowFlood"]);
    expect(s.Title).toBe("Detection saturated by distinct flows");
  });

  it("names a transit gateway attachment by its ARN (ASFF has no type for one), and the SNS message calls it an attachment", () => {
    const loss = finding({
      rule: "tgw-packet-loss", severity: "LOW", interfaceId: "tgw-attach-0aaaa1111bbbb2222", window: { start: 1793494800, end: 1793495100 },
      evidence: { packetsLost: 1500, noRoute: 1500, blackhole: 0, mtuExceeded: 0, ttlExpired: 0, flows: 40 }, description: "The transit gateway dropped 1500 packets.",
    });
    const t = toAsff(loss, source, NOW);
    expect(t.Resources).toEqual([{ Type: "Other", Id: "arn:aws:ec2:eu-central-1:410987654323:transit-gateway-attachment/tgw-attach-0aaaa1111bbbb2222", Partition: "aws", Region: "eu-central-1" }]);
    expect(t.Types).toEqual(["Unusual Behaviors/Network Flow/TransitGatewayPacketLoss"]);
    expect(t.Network).toBeUndefined();
    expect(snsMessage("prod", [loss], { read: 40, analysed: 40, skipped: {} }).message).toContain("window 2026-11-01T01:00:00Z - 2026-11-01T01:05:00Z, attachment tgw-attach-0aaaa1111bbbb2222");
  });

  it("batches at most 100 per call", () => {
    expect(ASFF_BATCH_SIZE).toBe(100);
    expect(batches(Array.from({ length: 250 }, (_, i) => i)).map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches([])).toEqual([]);
  });
});

describe("SNS message", () => {
  it("reads as a summary a person can act on", () => {
    const { subject, message } = snsMessage("prod", [f], { read: 5120, analysed: 5100, skipped: { nodata: 20 } });
    expect(subject).toBe("[flowlog-kit prod] 1 finding, worst HIGH: SSH brute force");
    expect(message).toContain("flowlog-kit found 1 finding in prod.");
    expect(message).toContain("Records read 5120, analysed 5100, skipped: nodata 20.");
    expect(message).toContain("HIGH  SSH brute force\n  48 short SSH connections from 10.0.9.9 to 10.0.1.20 within 300s.");
    expect(message).toContain("window 2026-11-01T01:00:00Z - 2026-11-01T01:05:00Z, interface eni-0c4d6e8f0a2b4c6d8");
    expect(message).toContain("evidence attempts=48 synOnly=40");
  });

  it("keeps the subject within SNS's 100 characters", () => {
    expect(snsMessage("a-very-long-environment-name", [f, f, f], { read: 0, analysed: 0, skipped: {} }).subject.length).toBeLessThanOrEqual(100);
  });
});
