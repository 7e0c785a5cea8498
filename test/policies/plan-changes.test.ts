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

  it("flags deleting a KMS key as a risk of its own, without a key-rotation row for a key that is gone", () => {
    const arn = "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_kms_key", ["delete"], { arn, enable_key_rotation: true, deletion_window_in_days: 30 }, null),
        rc("aws_kms_key", ["create", "delete"], { arn, enable_key_rotation: true }, { enable_key_rotation: true }, { arn: true }),
      ] as never,
    });
    expect(rows.map((r) => [r.action, r.aspect, r.before, r.after, r.risk])).toEqual([
      ["delete", "kms key", arn, "-", true],
      ["replace", "kms key", arn, "(known after apply)", true],
      ["replace", "key rotation", "true", "true", true],
    ]);
  });

  it("flags deleting or replacing an archive's policy, public access block and versioning as archive protection at risk", () => {
    const pab = { bucket: "archive", block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true };
    const versioning = (status: string) => ({ bucket: "archive", versioning_configuration: [{ status }] });
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_s3_bucket_policy", ["delete"], { bucket: "archive", policy: "{}" }, null),
        rc("aws_s3_bucket_policy", ["delete", "create"], { bucket: "archive", policy: "{}" }, { bucket: "archive", policy: "{}" }),
        rc("aws_s3_bucket_public_access_block", ["delete"], pab, null),
        rc("aws_s3_bucket_public_access_block", ["update"], pab, { ...pab, block_public_policy: false }),
        rc("aws_s3_bucket_versioning", ["delete"], versioning("Enabled"), null),
        rc("aws_s3_bucket_versioning", ["update"], versioning("Enabled"), versioning("Suspended")),
        rc("aws_s3_bucket_versioning", ["create", "delete"], versioning("Enabled"), versioning("Enabled")),
      ] as never,
    });
    expect(rows.map((r) => [r.action, r.aspect, r.before, r.after, r.risk])).toEqual([
      ["delete", "archive protection", "bucket policy", "-", true],
      ["replace", "archive protection", "bucket policy", "bucket policy", true],
      ["delete", "archive protection", "public access block all on", "-", true],
      ["update", "archive protection", "public access block all on", "public access block off: block_public_policy", true],
      ["delete", "archive protection", "versioning Enabled", "-", true],
      ["update", "archive protection", "versioning Enabled", "versioning Suspended", true],
      ["replace", "archive protection", "versioning Enabled", "versioning Enabled", true],
    ]);
  });

  it("shows no archive-protection row for a new archive, or for the Athena results bucket", () => {
    const results = { bucket: "results", tags: { FlowlogKitRole: "athena-results" }, tags_all: { FlowlogKitRole: "athena-results" } };
    const rows = complianceChanges({
      resource_changes: [
        rc("aws_s3_bucket_policy", ["create"], null, { bucket: "archive", policy: "{}" }),
        rc("aws_s3_bucket_versioning", ["create"], null, { bucket: "archive", versioning_configuration: [{ status: "Enabled" }] }),
        rc("aws_s3_bucket_public_access_block", ["create"], null, { bucket: "archive", block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
        rc("aws_s3_bucket", ["no-op"], results, results),
        rc("aws_s3_bucket_policy", ["delete"], { bucket: "results", policy: "{}" }, null),
        rc("aws_s3_bucket_public_access_block", ["delete"], { bucket: "results" }, null),
      ] as never,
    });
    expect(rows).toEqual([]);
  });

  it("skips no-op and unrelated resources", () => {
    expect(complianceChanges({ resource_changes: [rc("aws_flow_log", ["no-op"], {}, {}), rc("aws_iam_role", ["create"], null, {})] as never })).toEqual([]);
  });

  it("finds terraform's summary line", () => {
    expect(planSummaryLine("...\n\nPlan: 3 to add, 0 to change, 1 to destroy.\n")).toBe("Plan: 3 to add, 0 to change, 1 to destroy.");
    expect(planSummaryLine("No changes. Your infrastructure matches the configuration.")).toBe("No changes. Your infrastructure matches the configuration.");
  });
});
