import * as fs from "fs";
import * as path from "path";
import { runCli } from "../support/cli";
import { baseArchive, baseInput, snapshotTree, tempDir, useEnvironmentsDir, writeArchiveFiles, writeEnvFiles } from "../support/env";

const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
const BUCKET = "flowlogs-qa-123456789012-eu-west-1";

describe("synth refuses to drop evidence that the previous output holds", () => {
  const work = tempDir("evidence-out");
  useEnvironmentsDir(tempDir("evidence-envs"), false);
  // A new folder for each version of the config: a file once loaded stays in the module cache.
  const write = (overrides: Record<string, unknown>) => {
    const envDir = tempDir("evidence-envs");
    writeEnvFiles(envDir, { qa: baseInput({ name: "qa", rbac: { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::123456789012:role/SecOps"] } } }, ...overrides }) });
    writeArchiveFiles(envDir, { central: baseArchive() });
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
  };
  const stackJson = (out: string) => JSON.parse(fs.readFileSync(path.join(out, "stacks", "flowlogs-qa", "cdk.tf.json"), "utf8")) as { resource: Record<string, Record<string, unknown>> };
  const addresses = (out: string, type: string) => Object.keys(stackJson(out).resource[type] ?? {}).map((n) => `${type}.${n}`);
  const leftovers = () => fs.readdirSync(work).filter((f) => f.includes(".tmp-") || f.includes(".old-"));

  it("refuses moving an environment's own archive to a central one: exit 1, the bucket named, its state rm spelled out, nothing written", async () => {
    write({});
    const out = path.join(work, "to-central");
    expect((await runCli("synth", "qa", "--out", out)).code).toBe(0);
    const before = snapshotTree(out);
    const [bucket] = addresses(out, "aws_s3_bucket").filter((a) => a.includes("Archive_Bucket"));
    const configuring = [
      "aws_s3_bucket_policy",
      "aws_s3_bucket_public_access_block",
      "aws_s3_bucket_versioning",
      "aws_s3_bucket_server_side_encryption_configuration",
      "aws_s3_bucket_lifecycle_configuration",
      "aws_s3_bucket_ownership_controls",
      "aws_s3_bucket_notification",
    ].flatMap((t) => Object.entries(stackJson(out).resource[t] ?? {}).filter(([, v]) => String((v as { bucket?: unknown }).bucket).startsWith(`\${${bucket}.`)).map(([n]) => `${t}.${n}`));
    // Its policy, public access block, versioning, encryption, lifecycle, ownership controls and notification.
    expect(configuring).toHaveLength(7);

    write({ archive: { central: "central" } });
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `qa.archive: drops the archive bucket ${BUCKET} (${bucket}) of flowlogs-qa, which the previous synth (to-central/stacks/flowlogs-qa) holds as its archive (got central archive "central"). ` +
        "Terraform would destroy it: it deletes the TLS-only policy, public access block, encryption and lifecycle and suspends versioning first, then fails on a bucket that is not empty, leaving the old evidence unprotected. " +
        "Keep the archive in this stack until its evidence has expired (90 days); or take it out of Terraform's state so that Terraform leaves it in place: " +
        `terraform -chdir=${path.join(out, "stacks", "flowlogs-qa")} state rm ${bucket} `,
    );
    expect(r.err).toContain(`, then synthesize again with --allow-drop flowlogs-qa:${bucket}.`);
    const stateRm = /state rm ([^,]+), then synthesize again/.exec(r.err)![1]!.split(" ");
    expect(stateRm.sort()).toEqual([bucket, ...configuring].sort());
    // The Athena results bucket holds no evidence: it stays, and is not named.
    expect(r.err).not.toContain("ResultsBucket");
    expect(r.out).toBe("");
    expect(snapshotTree(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it("refuses switching a created key to a given one: exit 1, the key and its alias named, nothing written", async () => {
    write({});
    const out = path.join(work, "to-key-arn");
    await runCli("synth", "qa", "--out", out);
    const before = snapshotTree(out);
    const [key] = addresses(out, "aws_kms_key");
    const aliases = addresses(out, "aws_kms_alias");
    expect(aliases).toHaveLength(1);

    write({ kms: { keyArn: KEY_ARN } });
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `qa.kms: drops the KMS key ${key} that flowlogs-qa created in the previous synth (to-key-arn/stacks/flowlogs-qa) (got keyArn "${KEY_ARN}"). ` +
        "Terraform would schedule its deletion: after its 30-day deletion window every archived object and log event it encrypted can no longer be decrypted. " +
        "Keep kms: { create: true } until what it encrypted has expired (90 days); or take the key out of Terraform's state so that Terraform leaves it in place: " +
        `terraform -chdir=${path.join(out, "stacks", "flowlogs-qa")} state rm ${key} ${aliases[0]}, then synthesize again with --allow-drop flowlogs-qa:${key}.`,
    );
    expect(snapshotTree(out)).toEqual(before);
    expect(leftovers()).toEqual([]);
  });

  it("refuses both drops at once, and plan refuses before running terraform", async () => {
    write({});
    const out = path.join(work, "both");
    await runCli("synth", "qa", "--out", out);
    const before = snapshotTree(out);
    write({ archive: { central: "central" }, kms: { keyArn: KEY_ARN } });
    const r = await runCli("plan", "qa", "--offline", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain("2 configuration problems:");
    expect(r.err).toMatch(/qa\.archive: drops the archive bucket/);
    expect(r.err).toMatch(/qa\.kms: drops the KMS key/);
    expect(r.err).not.toContain("terraform init");
    expect(snapshotTree(out)).toEqual(before);
  });

  it("writes, with a warning, each drop acknowledged with --allow-drop; one not acknowledged is still refused", async () => {
    write({});
    const out = path.join(work, "allowed");
    await runCli("synth", "qa", "--out", out);
    const [bucket] = addresses(out, "aws_s3_bucket").filter((a) => a.includes("Archive_Bucket"));
    const [key] = addresses(out, "aws_kms_key");
    write({ archive: { central: "central" }, kms: { keyArn: KEY_ARN } });

    const before = snapshotTree(out);
    const partly = await runCli("synth", "qa", "--out", out, "--allow-drop", `flowlogs-qa:${bucket}`);
    expect(partly.code).toBe(1);
    expect(partly.err).toContain("1 configuration problem:");
    expect(partly.err).toMatch(/qa\.kms: drops the KMS key/);
    expect(snapshotTree(out)).toEqual(before);

    const r = await runCli("synth", "qa", "--out", out, "--allow-drop", `flowlogs-qa:${bucket}`, "--allow-drop", `flowlogs-qa:${key}`);
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      `warning: qa: drops the archive bucket ${BUCKET} (${bucket}) from flowlogs-qa, acknowledged with --allow-drop: Terraform leaves it and its evidence in place only if it is out of the state (terraform -chdir=`,
    );
    expect(r.err).toContain(`warning: qa: drops the KMS key ${key} from flowlogs-qa, acknowledged with --allow-drop: Terraform leaves the key in place only if it is out of the state (`);
    expect(addresses(out, "aws_kms_key")).toEqual([]);
    expect(addresses(out, "aws_s3_bucket").filter((a) => a.includes("Archive_Bucket"))).toEqual([]);

    // The drop is now the previous output: the next synth has nothing to refuse, and a stale flag only warns.
    const again = await runCli("synth", "qa", "--out", out, "--allow-drop", `flowlogs-qa:${key}`);
    expect(again.code).toBe(0);
    expect(again.err).toContain(`warning: --allow-drop flowlogs-qa:${key}: this synth drops no archive bucket or KMS key of that address from the previous output, so there is nothing to acknowledge.`);
  });

  it("refuses an --allow-drop value that names no stack and address", async () => {
    write({});
    const out = path.join(work, "malformed");
    const r = await runCli("synth", "qa", "--out", out, "--allow-drop", "aws_s3_bucket.Archive_Bucket");
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      '--allow-drop: is not <stack>:<address> of an archive bucket or a KMS key (got "aws_s3_bucket.Archive_Bucket"). Pass the value the refusal printed, e.g. --allow-drop flowlogs-dev:aws_s3_bucket.Archive_Bucket_DB32D495, once per bucket or key.',
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it("refuses renaming the archive bucket, which Terraform plans as a replacement", async () => {
    write({});
    const out = path.join(work, "rename");
    await runCli("synth", "qa", "--out", out);
    const [bucket] = addresses(out, "aws_s3_bucket").filter((a) => a.includes("Archive_Bucket"));
    write({ archive: { bucketName: "qa-evidence-123456789012" } });
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`qa.archive: replaces the archive bucket ${BUCKET} (${bucket}) of flowlogs-qa, which the previous synth (rename/stacks/flowlogs-qa) holds as its archive (got bucket "${BUCKET}" -> "qa-evidence-123456789012").`);
  });

  it("keeps quiet when nothing is dropped", async () => {
    write({});
    const out = path.join(work, "same");
    await runCli("synth", "qa", "--out", out);
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain("warning");
  });
});
