import { Testing } from "cdktf";
import type { Environment } from "../../environments/schema";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { IncidentStack } from "../../stacks/incident-stack";
import { archive, centralEnv, env } from "../support/env";

type Synth = { resource: Record<string, Record<string, Record<string, unknown>>> };
type Statement = { Sid: string; Action: string | string[]; Resource: string | string[] };

const synth = (e: Environment) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as Synth;
const policyOf = (s: Synth, name: string) => (JSON.parse(Object.values(s.resource.aws_iam_role_policy!).find((p) => p.name === name)!.policy as string) as { Statement: Statement[] }).Statement;
const sid = (sts: Statement[], id: string) => sts.find((st) => st.Sid === id);

const CENTRAL = "flowlogs-archive-central-999999999999-eu-west-1";
const roles = { rbac: { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::123456789012:role/SecOps"] }, SecurityEngineer: { principals: ["arn:aws:iam::123456789012:role/Eng"] } } } };

describe("EnvironmentStack with a central archive", () => {
  const plainText = { flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"], s3: { fileFormat: "plain-text" } }] };

  it("creates no archive bucket, lifecycle, lock or bucket policy of its own: only the Athena results bucket", () => {
    const s = synth(centralEnv(roles));
    expect(Object.values(s.resource.aws_s3_bucket!).map((b) => b.bucket)).toEqual(["flowlogs-test-ath-123456789012-eu-west-1"]);
    expect(s.resource.aws_s3_bucket_versioning).toBeUndefined();
    expect(s.resource.aws_s3_bucket_object_lock_configuration).toBeUndefined();
    expect(Object.values(s.resource.aws_s3_bucket_policy!).every((p) => !String(p.policy).includes("delivery.logs.amazonaws.com"))).toBe(true);
    expect(Object.values(s.resource.aws_s3_bucket_lifecycle_configuration!).map((l) => (l.rule as { id: string }[])[0]!.id)).toEqual(["expire-query-results"]);
  });

  it("delivers its S3 flow logs to the central bucket, with nothing of another stack to wait for", () => {
    const s = synth(centralEnv());
    const toS3 = Object.values(s.resource.aws_flow_log!).filter((l) => l.log_destination_type === "s3");
    expect(toS3.map((l) => l.log_destination)).toEqual([`arn:aws:s3:::${CENTRAL}`]);
    expect(toS3[0]).not.toHaveProperty("depends_on");
  });

  it("points its Athena tables at its own account's keys in the central bucket", () => {
    const s = synth(centralEnv());
    const tables = Object.values(s.resource.aws_glue_catalog_table!).map((t) => (t.storage_descriptor as { location: string }).location);
    // The detector's findings stay in the environment's own results bucket.
    expect(tables).toEqual(["s3://flowlogs-test-ath-123456789012-eu-west-1/findings/", `s3://${CENTRAL}/AWSLogs/123456789012/vpcflowlogs/eu-west-1/`]);
  });

  it("lets the detector read the central bucket and decrypt with its key, and runs it on its schedule only", () => {
    const s = synth(centralEnv(plainText));
    const sts = policyOf(s, "detector");
    expect(sid(sts, "ReadArchiveObjects")!.Resource).toBe(`arn:aws:s3:::${CENTRAL}/*`);
    // Created in the archive account: its id is unknown here, and the key policy there grants this role.
    expect(sid(sts, "DecryptCentralArchive")).toMatchObject({ Action: "kms:Decrypt", Resource: "arn:aws:kms:eu-west-1:999999999999:key/*" });
    // A notification on a bucket of another account cannot be set from this stack.
    expect(s.resource.aws_s3_bucket_notification).toBeUndefined();
    expect(Object.values(s.resource.aws_lambda_permission!).map((p) => p.principal)).toEqual(["events.amazonaws.com"]);
  });

  it("names the archive's given key where the archive has one", () => {
    const keyArn = "arn:aws:kms:eu-west-1:999999999999:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    const s = synth(centralEnv(roles, archive({ kms: { keyArn } })));
    expect(sid(policyOf(s, "detector"), "DecryptCentralArchive")!.Resource).toBe(keyArn);
    expect(sid(policyOf(s, "SecurityAnalyst"), "DecryptArchive")!.Resource).toEqual(["${aws_kms_key.Kms_Key_56685C3A.arn}", keyArn]);
  });

  it("lets the analyst read the central bucket and decrypt both the archive and its own query results", () => {
    const sts = policyOf(synth(centralEnv(roles)), "SecurityAnalyst");
    expect(sid(sts, "ReadArchive")!.Resource).toEqual([`arn:aws:s3:::${CENTRAL}`, `arn:aws:s3:::${CENTRAL}/*`]);
    expect(sid(sts, "DecryptArchive")!.Resource).toEqual(["${aws_kms_key.Kms_Key_56685C3A.arn}", "arn:aws:kms:eu-west-1:999999999999:key/*"]);
  });

  it("keeps the engineer's deny on the archive, now the central one, Object Lock actions included", () => {
    const deny = sid(policyOf(synth(centralEnv(roles)), "SecurityEngineer"), "NeverDeleteEvidenceOrWeakenTheArchive")!;
    expect(deny.Resource).toEqual([`arn:aws:s3:::${CENTRAL}`, `arn:aws:s3:::${CENTRAL}/*`]);
    expect(deny.Action).toEqual(expect.arrayContaining(["s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:PutObjectRetention", "s3:PutObjectLegalHold"]));
  });

  it("sends an incident's flow logs to the central bucket's incidents/ folder", () => {
    const e = centralEnv();
    const incident = { id: "sec-1", environment: "test", enis: ["eni-0a1b2c3d"], reason: "r", ticket: "SEC-1", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-02T00:00:00.000Z", status: "open" as const };
    const s = JSON.parse(Testing.synth(new IncidentStack(Testing.app(), e, incident))) as Synth;
    expect(Object.values(s.resource.aws_flow_log!).find((l) => l.log_destination_type === "s3")!.log_destination).toBe(`arn:aws:s3:::${CENTRAL}/incidents/sec-1/`);
  });
});

describe("EnvironmentStack with its own archive", () => {
  it("has no Object Lock by default, and the key and decrypt grants of before", () => {
    const s = synth(env(roles));
    expect(s.resource.aws_s3_bucket_object_lock_configuration).toBeUndefined();
    expect(sid(policyOf(s, "SecurityAnalyst"), "DecryptArchive")!.Resource).toBe("${aws_kms_key.Kms_Key_56685C3A.arn}");
    expect(sid(policyOf(s, "detector"), "DecryptCentralArchive")).toBeUndefined();
  });

  it("locks the archive for its class's days when asked, after versioning, and delivers only once the lock is on", () => {
    const s = synth(env({ retention: { cloudwatch: "production", archive: "personal-data" }, archive: { objectLock: { mode: "COMPLIANCE" } } }));
    const [id, lock] = Object.entries(s.resource.aws_s3_bucket_object_lock_configuration!)[0]!;
    expect(lock).toMatchObject({
      object_lock_enabled: "Enabled",
      rule: { default_retention: { mode: "COMPLIANCE", days: 365 } },
      depends_on: [expect.stringMatching(/^aws_s3_bucket_versioning\./)],
    });
    const archiveBucket = Object.entries(s.resource.aws_s3_bucket!).find(([, b]) => b.bucket === "flowlogs-test-123456789012-eu-west-1")!;
    expect(lock.bucket).toBe(`\${aws_s3_bucket.${archiveBucket[0]}.id}`);
    // Turning the lock on must not replace an existing archive: the bucket itself stays as it was.
    expect(archiveBucket[1]).not.toHaveProperty("object_lock_enabled");
    const toS3 = Object.values(s.resource.aws_flow_log!).find((l) => l.log_destination_type === "s3")!;
    expect(toS3.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_policy\./), `aws_s3_bucket_object_lock_configuration.${id}`]);
  });

  it("keeps the lifecycle consistent with the lock: expiration equals the lock's days, noncurrent versions expire after it", () => {
    const s = synth(env({ archive: { objectLock: { mode: "GOVERNANCE" } } }));
    const lock = Object.values(s.resource.aws_s3_bucket_object_lock_configuration!)[0]!;
    const archiveLifecycle = Object.values(s.resource.aws_s3_bucket_lifecycle_configuration!).find((l) => (l.rule as { id: string }[])[0]!.id === "archive-retention")!;
    const rule = (archiveLifecycle.rule as { expiration: { days: number }[]; noncurrent_version_expiration: { noncurrent_days: number }[] }[])[0]!;
    const lockDays = (lock.rule as { default_retention: { days: number } }).default_retention.days;
    expect(lockDays).toBe(90);
    expect(rule.expiration[0]!.days).toBe(lockDays);
    expect(rule.expiration[0]!.days + rule.noncurrent_version_expiration[0]!.noncurrent_days).toBeGreaterThan(lockDays);
  });
});
