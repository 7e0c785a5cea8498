import { Testing } from "cdktf";
import { CONTROL_IDS, ControlException, evaluateControls, retentionFacts } from "../../policies/controls";
import type { StackJson } from "../../policies/controls/stack";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { env } from "../support/env";

type Mutable = { resource: Record<string, Record<string, Record<string, unknown>>> };
const VPC = "vpc-0123456789abcdef0";
const baseline = (overrides: Record<string, unknown> = {}) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), env(overrides)))) as Mutable;
/** The archive's resource of a type (the Athena results bucket has its own). */
const only = (s: Mutable, type: string) => Object.entries(s.resource[type]!).find(([name]) => name.startsWith("Archive") || !name.startsWith("Athena"))![1];
const outcome = (stack: StackJson, id: string, opts: { vpcs?: string[]; exceptions?: ControlException[]; today?: string } = {}) =>
  evaluateControls(stack, { vpcs: opts.vpcs ?? [VPC] }, opts.exceptions ?? [], opts.today ?? "2026-11-22").find((c) => c.id === id)!;

/** Each control: how to break the compliant baseline, and what the failure must say. */
const failing: [string, (s: Mutable) => void, string][] = [
  ["FLOW-1", (s) => Object.values(s.resource.aws_flow_log!).forEach((l) => ((l as Record<string, unknown>).traffic_type = "ACCEPT")), `no VPC-level flow log capturing REJECT for ${VPC}`],
  ["RET-1", (s) => (only(s, "aws_cloudwatch_log_group").retention_in_days = 0), "retention not one of 7, 14, 30 days"],
  ["RET-2", (s) => delete s.resource.aws_s3_bucket_lifecycle_configuration, "no lifecycle configuration"],
  ["RET-3", (s) => ((only(s, "aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[])[0]!.transition = [{ days: 30, storage_class: "GLACIER_IR" }]), "GLACIER_IR at day 30 keeps objects 90 days but they expire at day 90"],
  ["RET-4", (s) => ((only(s, "aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[])[0]!.transition = [{ days: 30, storage_class: "GLACIER" }]), "days 30-90 of 90 are not queryable by Athena (GLACIER from day 30)"],
  ["S3-1", (s) => ((only(s, "aws_s3_bucket_server_side_encryption_configuration").rule as Record<string, { sse_algorithm: string }>[])[0]!.apply_server_side_encryption_by_default!.sse_algorithm = "AES256"), "not SSE-KMS"],
  ["S3-2", (s) => (only(s, "aws_s3_bucket_policy").policy = JSON.stringify({ Statement: [] })), "no Deny on aws:SecureTransport = false"],
  ["S3-3", (s) => (only(s, "aws_s3_bucket_public_access_block").restrict_public_buckets = false), "public access not fully blocked"],
  ["S3-4", (s) => (only(s, "aws_s3_bucket_versioning").versioning_configuration = { status: "Suspended" }), "versioning not Enabled"],
  ["CWL-1", (s) => delete only(s, "aws_cloudwatch_log_group").kms_key_id, "no kms_key_id"],
  ["KMS-1", (s) => (only(s, "aws_kms_key").enable_key_rotation = false), "rotation off"],
  ["IAM-1", (s) => {
    const role = Object.values(s.resource.aws_iam_role!).find((r) => String(r.assume_role_policy).includes("vpc-flow-logs"))!;
    role.assume_role_policy = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }] });
  }, "trust lacks aws:SourceAccount and aws:SourceArn"],
  ["IAM-2", (s) => (only(s, "aws_iam_role_policy").policy = JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] })), '1 statement(s) allow "*" on "*"'],
];

describe("compliance controls on the synthesized stack", () => {
  it("covers every control with a failing fixture (and CWL-365 below; ACC-* in access.test.ts)", () => {
    expect([...failing.map(([id]) => id), "CWL-365", "INC-1", "ACC-1", "ACC-2", "ACC-3"].sort()).toEqual([...CONTROL_IDS].sort());
  });

  it.each(failing.map(([id]) => id))("%s passes on the kit's own stack, with evidence", (id) => {
    const o = outcome(baseline({ detectors: { enabled: false } }), id);
    expect(o.result).toBe("PASS");
    if (id !== "IAM-2") expect(o.evidence.length).toBeGreaterThan(0);
    for (const e of o.evidence) expect(e.address).toMatch(/^aws_[a-z0-9_]+\.[A-Za-z0-9_]+$/);
  });

  it.each(failing)("%s fails when the stack breaks it", (id, breakIt, message) => {
    const s = baseline({ detectors: { enabled: false } });
    breakIt(s);
    const o = outcome(s, id);
    expect(o.result).toBe("FAIL");
    expect(o.message).toContain(message);
  });

  it("FLOW-1: subnet- or ENI-level logging does not satisfy a VPC-level control", () => {
    const s = baseline({ flowLogs: [{ resource: "subnet", id: "subnet-0123456789abcdef0", destinations: ["cloudwatch"] }] });
    expect(outcome(s, "FLOW-1").message).toContain("subnet- or ENI-level logs do not satisfy a VPC-level control");
    expect(outcome(s, "FLOW-1", { vpcs: [] }).message).toContain("the environment lists no VPC");
  });

  it("FLOW-1: every VPC of the inventory needs its own flow log", () => {
    const o = outcome(baseline(), "FLOW-1", { vpcs: [VPC, "vpc-0fedcba9876543210"] });
    expect(o.result).toBe("FAIL");
    expect(o.message).toContain("vpc-0fedcba9876543210");
  });

  it("keeps checking an archive whose protections were stripped (fail-closed), and skips only the Athena results bucket", () => {
    const s = baseline();
    only(s, "aws_s3_bucket_policy").policy = JSON.stringify({ Statement: [] });
    expect(outcome(s, "S3-2").result).toBe("FAIL");
    expect(outcome(baseline(), "RET-2").result).toBe("PASS");
  });

  it("KMS-1 cannot pass for a key the stack does not manage", () => {
    const s = baseline({ kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } });
    expect(outcome(s, "KMS-1").message).toContain("no key is managed by this stack");
  });

  describe("CWL-365 (Security Hub CloudWatch.16, checkov CKV_AWS_338)", () => {
    const exception: ControlException = {
      control: "CWL-365", justification: "CloudWatch is for recent incidents.", compensatingControl: "The S3 archive keeps a year.",
      approver: "ciso@example.com", approved: "2026-10-01", expires: "2027-09-30",
    };
    it("fails honestly at the policy's retention when no exception covers it", () => {
      const o = outcome(baseline(), "CWL-365");
      expect(o.result).toBe("FAIL");
      expect(o.message).toContain("flow logs are kept 14 days in CloudWatch");
      expect(o.mappings).toEqual({ securityHub: "CloudWatch.16", checkov: "CKV_AWS_338" });
    });
    it("is an EXCEPTION, with its compensating control, while a typed exception is in force", () => {
      const o = outcome(baseline(), "CWL-365", { exceptions: [exception] });
      expect(o.result).toBe("EXCEPTION");
      expect(o.message).toContain("excepted until 2027-09-30 (approved by ciso@example.com)");
      expect(o.message).toContain("Compensating control: The S3 archive keeps a year.");
    });
    it("fails again once the exception has expired", () => {
      const o = outcome(baseline(), "CWL-365", { exceptions: [exception], today: "2027-10-01" });
      expect(o.result).toBe("FAIL");
      expect(o.message).toContain("the exception approved by ciso@example.com expired on 2027-09-30");
    });
    it("passes when the flow-log group keeps a year", () => {
      const s = baseline();
      const group = Object.values(s.resource.aws_cloudwatch_log_group!).find((g) => g.name === "/flowlog-kit/test/vpc-flow-logs")!;
      group.retention_in_days = 365;
      expect(outcome(s, "CWL-365").result).toBe("PASS");
    });
  });

  it("reads the retention table from the stack", () => {
    expect(retentionFacts(baseline({ retention: { cloudwatch: "large", archive: "customer-facing" } }))).toMatchObject({
      cloudWatchDays: [30], archiveDays: [180], transitions: ["STANDARD_IA@30d", "GLACIER_IR@90d"], noncurrentDays: [7], notQueryable: [],
    });
  });

  describe("RET-4: Athena reads the whole archive", () => {
    const yearArchive = { cloudwatch: "large", archive: "personal-data" };
    const cold = () => baseline({ retention: { ...yearArchive, archiveStorage: "cold" } });
    const claim: ControlException = {
      control: "CWL-365", justification: "CloudWatch is for recent incidents.", compensatingControl: "The S3 archive keeps every flow log a year, queryable with Athena.",
      approver: "ciso@example.com", approved: "2026-10-01", expires: "2027-09-30",
    };

    it("passes by default, even for a year's archive", () => {
      const s = baseline({ retention: yearArchive });
      expect(outcome(s, "RET-4").result).toBe("PASS");
      expect(outcome(s, "CWL-365", { exceptions: [claim] }).result).toBe("EXCEPTION");
    });

    it("fails when the environment opts into cold storage, naming the days Athena cannot read", () => {
      const o = outcome(cold(), "RET-4");
      expect(o.result).toBe("FAIL");
      expect(o.message).toMatch(/: days 180-365 of 365 are not queryable by Athena \(DEEP_ARCHIVE from day 180\): Athena skips these objects until they are restored$/);
      expect(retentionFacts(cold()).notQueryable).toEqual(["DEEP_ARCHIVE days 180-365"]);
    });

    it("fails another control whose exception claims the archive is queryable while it is not", () => {
      const o = outcome(cold(), "CWL-365", { exceptions: [claim] });
      expect(o.result).toBe("FAIL");
      expect(o.message).toContain('the exception approved by ciso@example.com does not hold: its compensating control claims the archive is queryable ("The S3 archive keeps every flow log a year, queryable with Athena.")');
      expect(o.message).toContain("days 180-365 of 365 are not queryable by Athena");
      expect(o.evidence).toContainEqual(expect.objectContaining({ attribute: "rule.transition", value: "not queryable: days 180-365" }));
    });

    it("accepts an exception that does not claim queryability, and RET-4's own exception", () => {
      const honest = { ...claim, compensatingControl: "The S3 archive keeps every flow log a year; older days are restored on request." };
      expect(outcome(cold(), "CWL-365", { exceptions: [honest] }).result).toBe("EXCEPTION");
      const ret4 = { ...claim, control: "RET-4", compensatingControl: "Restore from Deep Archive, then query with Athena (12-48 hours)." };
      expect(outcome(cold(), "RET-4", { exceptions: [ret4] }).result).toBe("EXCEPTION");
    });
  });
});
