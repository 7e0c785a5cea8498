import { complianceChanges, planSummaryLine } from "../../policies/plan-changes";

const rc = (type: string, actions: string[], before: unknown, after: unknown, afterUnknown: unknown = {}) => ({
  address: `${type}.X`,
  type,
  change: { actions, before, after, after_unknown: afterUnknown },
});

describe("compliance-relevant plan changes", () => {
  it("flags a lowered retention and a deleted flow log as risks", () => {
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_cloudwatch_log_group", ["update"], { retention_in_days: 30, kms_key_id: "k" }, { retention_in_days: 7, kms_key_id: "k" }),
        rc("aws_flow_log", ["delete"], { vpc_id: "vpc-1", traffic_type: "ALL", log_destination_type: "s3" }, null),
      ] as never,
    });
    expect(rows).toEqual([
      { action: "update", address: "aws_cloudwatch_log_group.X", aspect: "retention (days)", before: "30", after: "7", risk: true },
      { action: "delete", address: "aws_flow_log.X", aspect: "scope", before: "vpc-1 ALL -> s3", after: "-", risk: true },
    ]);
  });

  it("reports a raised retention without a risk mark and ignores unchanged attributes", () => {
    const rows = complianceChanges({
      resource_changes: [rc("aws_cloudwatch_log_group", ["update"], { retention_in_days: 7, kms_key_id: "k" }, { retention_in_days: 14, kms_key_id: "k" })] as never,
    });
    expect(rows).toEqual([expect.objectContaining({ aspect: "retention (days)", before: "7", after: "14", risk: false })]);
  });

  it("flags deleting the archive bucket, replacing the lifecycle and turning key rotation off", () => {
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_s3_bucket", ["delete"], { bucket: "archive" }, null),
        rc("aws_s3_bucket_lifecycle_configuration", ["delete", "create"], { rule: [{ expiration: [{ days: 365 }], transition: [] }] }, { rule: [{ expiration: [{ days: 90 }], transition: [] }] }),
        rc("aws_kms_key", ["update"], { enable_key_rotation: true }, { enable_key_rotation: false }),
        rc("aws_s3_bucket_server_side_encryption_configuration", ["delete"], { rule: [{ apply_server_side_encryption_by_default: [{ sse_algorithm: "aws:kms" }] }] }, null),
      ] as never,
    });
    expect(rows.map((r) => [r.action, r.aspect, r.before, r.after, r.risk])).toEqual([
      ["delete", "archive bucket", "archive", "-", true],
      ["replace", "lifecycle", "expire@365d", "expire@90d", true],
      ["update", "key rotation", "true", "false", true],
      ["delete", "encryption", "aws:kms", "-", true],
    ]);
  });

  it("shows a rule that only removes expired delete markers as such, not as expiring data on day 0", () => {
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_s3_bucket_lifecycle_configuration", ["create"], null, {
          rule: [
            { expiration: [{ days: 90, expired_object_delete_marker: false }], transition: [{ days: 30, storage_class: "STANDARD_IA" }] },
            { expiration: [{ days: null, expired_object_delete_marker: true }], transition: [] },
          ],
        }),
      ] as never,
    });
    expect(rows).toEqual([expect.objectContaining({ aspect: "lifecycle", after: "STANDARD_IA@30d expire@90d; remove expired delete markers" })]);
  });

  it("skips no-op and unrelated resources", () => {
    expect(complianceChanges({ resource_changes: [rc("aws_flow_log", ["no-op"], {}, {}), rc("aws_iam_role", ["create"], null, {})] as never })).toEqual([]);
  });

  it("finds terraform's summary line", () => {
    expect(planSummaryLine("...\n\nPlan: 3 to add, 0 to change, 1 to destroy.\n")).toBe("Plan: 3 to add, 0 to change, 1 to destroy.");
    expect(planSummaryLine("No changes. Your infrastructure matches the configuration.")).toBe("No changes. Your infrastructure matches the configuration.");
  });
});
