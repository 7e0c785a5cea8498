import * as path from "path";
import { Testing } from "cdktf";
import { loadEnvironments } from "../../environments";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { env } from "../support/env";

type Synth = {
  provider: { aws: Record<string, unknown>[] };
  terraform: { backend: Record<string, Record<string, unknown>> };
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: unknown;
};
const synth = (e = env()) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as Synth;
const examples = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
const example = (name: string) => examples.find((e) => e.name === name)!;

describe("EnvironmentStack", () => {
  it("is named flowlogs-<env>", () => {
    expect(new EnvironmentStack(Testing.app(), env()).node.id).toBe("flowlogs-test");
  });

  it("pins the provider to the environment's region and account, with default tags", () => {
    const s = synth(env({ tags: { CostCenter: "1" } }));
    expect(s.provider.aws[0]).toEqual({
      region: "eu-west-1",
      allowed_account_ids: ["123456789012"],
      default_tags: [{ tags: { CostCenter: "1", Owner: "platform-team", ManagedBy: "flowlog-kit" } }],
    });
  });

  it("keeps local state in the project folder by a relative path", () => {
    expect(synth().terraform.backend).toEqual({ local: { path: "../../../terraform.flowlogs-test.tfstate" } });
  });

  it("uses the S3 backend from config, with S3-native locking", () => {
    const s = synth(env({ backend: { type: "s3", bucket: "state-bucket" } }));
    expect(s.terraform.backend).toEqual({
      s3: { bucket: "state-bucket", key: "flowlog-kit/flowlogs-test/terraform.tfstate", region: "eu-west-1", encrypt: true, use_lockfile: true },
    });
  });

  it("builds prod: two VPCs to CloudWatch and S3 (parquet) and the bastion ENI to CloudWatch", () => {
    const s = synth(example("prod"));
    const logs = Object.values(s.resource.aws_flow_log!);
    expect(logs).toHaveLength(5);
    expect(logs.filter((l) => l.vpc_id && l.log_destination_type === "s3").map((l) => l.destination_options)).toEqual([
      { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true },
      { file_format: "parquet", hive_compatible_partitions: true, per_hour_partition: true },
    ]);
    expect(logs.filter((l) => l.eni_id)).toEqual([expect.objectContaining({ max_aggregation_interval: 60, log_destination_type: "cloud-watch-logs" })]);
    expect(Object.values(s.resource.aws_cloudwatch_log_group!)[0]!.retention_in_days).toBe(30);
    expect(Object.values(s.resource.aws_s3_bucket_lifecycle_configuration!)[0]!.rule).toEqual([
      expect.objectContaining({ expiration: [{ days: 365 }] }),
    ]);
  });

  it("uses stg's given key for the log group and the archive, and creates no key", () => {
    const s = synth(example("stg"));
    expect(s.resource.aws_kms_key).toBeUndefined();
    const arn = "arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    expect(Object.values(s.resource.aws_cloudwatch_log_group!)[0]!.kms_key_id).toBe(arn);
    expect(JSON.stringify(s.resource.aws_s3_bucket_server_side_encryption_configuration)).toContain(arn);
  });

  it("has no data sources (offline plans cannot read them) and no public or ACL resources", () => {
    for (const e of examples) {
      const s = synth(e);
      expect(s.data).toBeUndefined();
      expect(s.resource.aws_s3_bucket_acl).toBeUndefined();
      expect(s.resource.aws_s3_bucket_public_access_block).toBeDefined();
    }
  });

  it("makes every S3 flow log wait for the bucket policy", () => {
    const s = synth(example("dev"));
    const s3Log = Object.values(s.resource.aws_flow_log!).find((l) => l.log_destination_type === "s3")!;
    expect(s3Log.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_policy\./)]);
  });
});

describe("EnvironmentStack RBAC", () => {
  it("creates the configured roles with MFA trust, session limit and boundary, and no others", () => {
    const s = synth(example("prod"));
    const roles = Object.values(s.resource.aws_iam_role!).filter((r) => String(r.name).includes("security") || String(r.name).includes("auditor"));
    expect(roles.map((r) => r.name).sort()).toEqual(["flowlogs-prod-auditor", "flowlogs-prod-security-analyst", "flowlogs-prod-security-engineer"]);
    for (const r of roles) {
      expect(r).toMatchObject({ max_session_duration: 3600, permissions_boundary: "arn:aws:iam::410987654323:policy/SecurityBoundary" });
      expect(JSON.parse(r.assume_role_policy as string).Statement[0].Condition).toEqual({ Bool: { "aws:MultiFactorAuthPresent": "true" } });
    }
    const stg = synth(example("stg"));
    expect(Object.values(stg.resource.aws_iam_role!).map((r) => r.name)).not.toContain("flowlogs-stg-auditor");
    expect(synth(example("dev")).resource.aws_iam_role).not.toHaveProperty("Rbac_Auditor");
  });
});
