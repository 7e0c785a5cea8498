import { Testing } from "cdktf";
import type { Archive } from "../../environments/archives/schema";
import type { Environment } from "../../environments/schema";
import { ConfigError } from "../../policies/errors";
import { buildApp } from "../../main";
import { ArchiveStack } from "../../stacks/archive-stack";
import { archive, centralEnv, env, tempDir } from "../support/env";

type Synth = {
  provider: { aws: Record<string, unknown>[] };
  terraform: { backend: Record<string, Record<string, unknown>> };
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, Record<string, unknown>>;
  data?: unknown;
};
type Statement = { Sid: string; Effect: string; Principal: unknown; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, unknown>> };

const synth = (a: Archive = archive(), sources: readonly Environment[] = []) => JSON.parse(Testing.synth(new ArchiveStack(Testing.app(), a, sources))) as Synth;
const only = (s: Synth, type: string) => {
  const all = Object.values(s.resource[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0]!;
};
const statements = (s: Synth, type: string, attribute = "policy") => (JSON.parse(only(s, type)[attribute] as string) as { Statement: Statement[] }).Statement;
const sid = (sts: Statement[], id: string) => sts.find((st) => st.Sid === id);

const BUCKET = "arn:aws:s3:::flowlogs-archive-central-999999999999-eu-west-1";
const analyst = { rbac: { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::123456789012:role/SecOps"] } } } };

describe("ArchiveStack", () => {
  it("is named flowlogs-archive-<name> and pins the log-archive account and region, with its tags and backend", () => {
    const a = archive({ tags: { CostCenter: "sec-1" }, backend: { type: "s3", bucket: "state-bucket" } });
    expect(new ArchiveStack(Testing.app(), a, []).node.id).toBe("flowlogs-archive-central");
    const s = synth(a);
    expect(s.provider.aws[0]).toEqual({
      region: "eu-west-1",
      allowed_account_ids: ["999999999999"],
      default_tags: [{ tags: { CostCenter: "sec-1", Owner: "security-operations", ManagedBy: "flowlog-kit" } }],
    });
    expect(s.terraform.backend).toEqual({ s3: { bucket: "state-bucket", key: "flowlog-kit/flowlogs-archive-central/terraform.tfstate", region: "eu-west-1", encrypt: true, use_lockfile: true } });
  });

  it("creates the bucket with every protection of an environment's archive", () => {
    const s = synth();
    expect(only(s, "aws_s3_bucket").bucket).toBe("flowlogs-archive-central-999999999999-eu-west-1");
    expect(only(s, "aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
    expect(only(s, "aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    expect(only(s, "aws_s3_bucket_server_side_encryption_configuration").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.Kms_Key_56685C3A.arn}" }, bucket_key_enabled: true },
    ]);
    expect(only(s, "aws_s3_bucket_public_access_block")).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(only(s, "aws_s3_bucket_policy").depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_public_access_block\./)]);
    expect(s.data).toBeUndefined();
    expect(s.resource.aws_s3_bucket_acl).toBeUndefined();
  });

  it("expires objects at the class's days, with the queryable transitions and the noncurrent expiry", () => {
    const rules = only(synth(archive({ retention: "personal-data" })), "aws_s3_bucket_lifecycle_configuration").rule as Record<string, unknown>[];
    expect(rules[0]).toMatchObject({
      expiration: [{ days: 365 }],
      transition: [{ days: 30, storage_class: "STANDARD_IA" }, { days: 90, storage_class: "GLACIER_IR" }],
      noncurrent_version_expiration: [{ noncurrent_days: 7 }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }],
    });
    expect(rules[1]).toMatchObject({ expiration: [{ expired_object_delete_marker: true }] });
  });

  it("locks every delivered version for the class's days in the file's mode, after versioning, without replacing the bucket", () => {
    const s = synth(archive({ retention: "customer-facing", objectLock: { mode: "COMPLIANCE" } }));
    const lock = only(s, "aws_s3_bucket_object_lock_configuration");
    expect(lock).toMatchObject({
      bucket: "${aws_s3_bucket.Archive_Bucket_DB32D495.id}",
      object_lock_enabled: "Enabled",
      rule: { default_retention: { mode: "COMPLIANCE", days: 180 } },
      depends_on: [expect.stringMatching(/^aws_s3_bucket_versioning\./)],
    });
    // object_lock_enabled on the bucket forces its replacement when it changes (provider 5.100).
    expect(only(s, "aws_s3_bucket")).not.toHaveProperty("object_lock_enabled");
    expect(only(synth(archive({ objectLock: { mode: "GOVERNANCE" } })), "aws_s3_bucket_object_lock_configuration").rule).toEqual({ default_retention: { mode: "GOVERNANCE", days: 90 } });
  });

  it("has no Object Lock unless the file asks for one", () => {
    expect(synth().resource.aws_s3_bucket_object_lock_configuration).toBeUndefined();
  });

  it("lets log delivery write each source account's flow logs under that account's prefixes only, default and Hive-compatible, confused-deputy protected", () => {
    const sts = statements(synth(archive({ sourceAccounts: ["123456789012", "222222222222"] })), "aws_s3_bucket_policy");
    expect(sid(sts, "DenyInsecureTransport")).toMatchObject({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [BUCKET, `${BUCKET}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } });
    for (const account of ["123456789012", "222222222222"]) {
      const write = sid(sts, `AWSLogDeliveryWrite${account}`)!;
      expect(write).toMatchObject({
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: "s3:PutObject",
        Condition: { StringEquals: { "aws:SourceAccount": account }, ArnLike: { "aws:SourceArn": `arn:aws:logs:*:${account}:*` } },
      });
      expect(write.Resource).toEqual(expect.arrayContaining([
        `${BUCKET}/AWSLogs/${account}/*`,
        `${BUCKET}/AWSLogs/aws-account-id=${account}/*`,
        `${BUCKET}/parquet/AWSLogs/${account}/*`,
        `${BUCKET}/parquet/AWSLogs/aws-account-id=${account}/*`,
        `${BUCKET}/incidents/*/AWSLogs/${account}/*`,
        `${BUCKET}/incidents/*/AWSLogs/aws-account-id=${account}/*`,
      ]));
      expect((write.Resource as string[]).every((r) => r.includes(`/${account}/`) || r.includes(`=${account}/`))).toBe(true);
    }
    expect(sid(sts, "AWSLogDeliveryCheck")).toMatchObject({
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: BUCKET,
      Condition: { StringEquals: { "aws:SourceAccount": ["123456789012", "222222222222"] }, ArnLike: { "aws:SourceArn": ["arn:aws:logs:*:123456789012:*", "arn:aws:logs:*:222222222222:*"] } },
    });
    // No x-amz-acl condition: under BucketOwnerEnforced delivery sends no ACL header.
    expect(JSON.stringify(sts)).not.toContain("x-amz-acl");
  });

  it("admits every account of an organization by aws:SourceOrgID, in the bucket and key policies", () => {
    const s = synth(archive({ sourceAccounts: undefined, organizationId: "o-a1b2c3d4e5" }));
    const sts = statements(s, "aws_s3_bucket_policy");
    expect(sid(sts, "AWSLogDeliveryWrite")).toMatchObject({ Condition: { StringEquals: { "aws:SourceOrgID": "o-a1b2c3d4e5" } } });
    expect(sid(sts, "AWSLogDeliveryWrite")!.Resource).toEqual(expect.arrayContaining([`${BUCKET}/AWSLogs/*/*`, `${BUCKET}/AWSLogs/aws-account-id=*/*`]));
    expect(sid(sts, "AWSLogDeliveryCheck")!.Condition).toEqual({ StringEquals: { "aws:SourceOrgID": "o-a1b2c3d4e5" } });
    expect(sid(statements(s, "aws_kms_key"), "LogDeliveryWritesEncryptedArchive")!.Condition).toEqual({ StringEquals: { "aws:SourceOrgID": "o-a1b2c3d4e5" } });
  });

  it("creates a rotating key whose policy lets delivery encrypt for the source accounts", () => {
    const s = synth();
    expect(only(s, "aws_kms_key")).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30, description: "flowlog-kit central archive central: archive encryption" });
    expect(only(s, "aws_kms_alias").name).toBe("alias/flowlogs-archive-central");
    const sts = statements(s, "aws_kms_key");
    expect(sid(sts, "AccountAdministersKey")).toMatchObject({ Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "kms:*" });
    expect(sid(sts, "LogDeliveryWritesEncryptedArchive")).toMatchObject({
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:logs:*:123456789012:*" } },
    });
    // The archive key is for the archive only: no CloudWatch Logs or alarm grants.
    expect(sts.map((st) => st.Sid)).toEqual(["AccountAdministersKey", "LogDeliveryWritesEncryptedArchive"]);
  });

  it("uses a given key and creates none", () => {
    const keyArn = "arn:aws:kms:eu-west-1:999999999999:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    const s = synth(archive({ kms: { keyArn } }));
    expect(s.resource.aws_kms_key).toBeUndefined();
    expect(JSON.stringify(only(s, "aws_s3_bucket_server_side_encryption_configuration"))).toContain(keyArn);
    expect(s.output.kms_key_arn!.value).toBe(keyArn);
  });

  it("grants the source environments' analyst and detector roles reads of their own account's flow logs, by aws:PrincipalArn", () => {
    const a = archive({ sourceAccounts: ["123456789012", "222222222222"] });
    const sources = [centralEnv(analyst, a), centralEnv({ name: "other", account: "222222222222", detectors: { enabled: false }, ...analyst }, a)];
    const s = synth(a, sources);
    const sts = statements(s, "aws_s3_bucket_policy");
    const roles = ["arn:aws:iam::123456789012:role/flowlogs-test-detector", "arn:aws:iam::123456789012:role/flowlogs-test-security-analyst"];
    // The account as principal: S3 and KMS refuse a policy naming a role that does not exist yet.
    expect(sid(sts, "SourceAccountListsArchive123456789012")).toMatchObject({
      Principal: { AWS: "arn:aws:iam::123456789012:root" },
      Action: ["s3:ListBucket", "s3:GetBucketLocation"],
      Resource: BUCKET,
      Condition: { ArnEquals: { "aws:PrincipalArn": roles } },
    });
    const read = sid(sts, "SourceAccountReadsOwnFlowLogs123456789012")!;
    expect(read).toMatchObject({ Action: "s3:GetObject", Condition: { ArnEquals: { "aws:PrincipalArn": roles } } });
    expect(read.Resource).toContain(`${BUCKET}/AWSLogs/123456789012/*`);
    expect((read.Resource as string[]).some((r) => r.includes("222222222222"))).toBe(false);
    // Without a detector, only the analyst of the other account.
    expect(sid(sts, "SourceAccountReadsOwnFlowLogs222222222222")!.Condition).toEqual({ ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/flowlogs-other-security-analyst" } });
    expect(sid(statements(s, "aws_kms_key"), "SourceAccountDecryptsOwnFlowLogs123456789012")).toMatchObject({
      Principal: { AWS: "arn:aws:iam::123456789012:root" },
      Action: "kms:Decrypt",
      Condition: { ArnEquals: { "aws:PrincipalArn": roles } },
    });
  });

  it("grants no reads when no source environment has a reader role", () => {
    const a = archive();
    const s = synth(a, [centralEnv({ detectors: { enabled: false } }, a)]);
    expect(statements(s, "aws_s3_bucket_policy").map((st) => st.Sid)).toEqual(["DenyInsecureTransport", "AWSLogDeliveryWrite123456789012", "AWSLogDeliveryCheck"]);
  });

  it("outputs the bucket name and the key ARN for the source accounts' teams", () => {
    expect(synth().output).toMatchObject({ bucket_name: { value: "flowlogs-archive-central-999999999999-eu-west-1" }, kms_key_arn: { value: "${aws_kms_key.Kms_Key_56685C3A.arn}" } });
  });

  it("refuses, at synth, a list of source accounts whose bucket policy S3 would refuse, pointing at organizationId", () => {
    const accounts = Array.from({ length: 30 }, (_, i) => String(100000000000 + i));
    let error: unknown;
    try {
      synth(archive({ sourceAccounts: accounts }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^archives\/central\.sourceAccounts: the archive's bucket policy would be \d+ bytes, over AWS's 20480 \(got 30 source accounts\)\. Give organizationId: "o-\.\.\." instead of listing the accounts/),
    ]);
  });

  it("is built by the app with the environments that deliver to it, synthesized now or not, and no others", () => {
    const a = archive();
    const delivering = centralEnv(analyst, a);
    const own = env({ ...analyst, name: "own" });
    const app = buildApp([own], tempDir("app"), [], [a], [own, delivering]);
    const stacks = app.node.children.map((c) => c.node.id).sort();
    expect(stacks).toEqual(["flowlogs-archive-central", "flowlogs-own"]);
    const stack = app.node.children.find((c) => c instanceof ArchiveStack) as ArchiveStack;
    expect(stack.sources.map((e) => e.name)).toEqual(["test"]);
    const policy = JSON.stringify(statements(JSON.parse(Testing.synth(stack)) as Synth, "aws_s3_bucket_policy"));
    expect(policy).toContain("flowlogs-test-security-analyst");
    expect(policy).not.toContain("flowlogs-own-");
  });
});
