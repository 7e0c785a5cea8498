import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Archive } from "../environments/archives/schema";
import type { Environment } from "../environments/schema";
import { ArchiveBucket } from "../modules/archive-bucket";
import { EnvironmentKey } from "../modules/kms-key";
import { ArchiveReaders, ArchiveSources, BUCKET_POLICY_MAX_BYTES, centralArchiveBucketPolicy, centralArchiveKeyPolicy, KEY_POLICY_MAX_BYTES } from "../policies/archive";
import { ConfigError } from "../policies/errors";
import { partitionOf } from "../policies/iam";
import { rbacRoleName } from "../policies/rbac";
import { configureStack, environmentNames } from "./environment-stack";

/** Outputs of the archive stack, for the teams of the source accounts. */
export const ARCHIVE_OUTPUTS = Object.freeze({ bucketName: "bucket_name", kmsKeyArn: "kms_key_arn" });

/** Who may deliver to the archive, as its file says. */
export function archiveSources(a: Archive): ArchiveSources {
  return a.organizationId !== undefined ? { organizationId: a.organizationId } : { accounts: a.sourceAccounts ?? [] };
}

/**
 * The roles of the source environments that read their flow logs back from the archive, by
 * account: each environment's SecurityAnalyst role (Athena) when it has one, and its detector's
 * role when the detector is deployed. Role names follow the environment stack's own naming.
 */
export function archiveReaders(sources: readonly Environment[]): ArchiveReaders[] {
  const byAccount = new Map<string, Set<string>>();
  for (const env of sources) {
    const role = (name: string) => `arn:${partitionOf(env.region)}:iam::${env.account}:role/${name}`;
    const arns = [
      ...(env.rbac?.roles.SecurityAnalyst ? [role(rbacRoleName(env.name, "SecurityAnalyst"))] : []),
      // The detector's role has the function's name (modules/detectors.ts).
      ...(env.detectors.enabled ? [role(environmentNames(env).detectorFunction)] : []),
    ];
    if (arns.length === 0) continue;
    const set = byAccount.get(env.account) ?? new Set<string>();
    arns.forEach((a) => set.add(a));
    byAccount.set(env.account, set);
  }
  return [...byAccount].sort(([a], [b]) => a.localeCompare(b)).map(([account, arns]) => ({ account, roleArns: [...arns].sort() }));
}

/**
 * A central archive: `flowlogs-archive-<name>`, in the log-archive account. One bucket with every
 * protection of an environment's archive (owner-enforced, versioned, SSE-KMS, private, TLS-only,
 * the class's lifecycle), Object Lock when the file asks for it, a bucket policy that lets log
 * delivery write each source account's flow logs under that account's prefixes only, a key whose
 * policy lets delivery encrypt for those accounts, and read grants (bucket and key) for the
 * source environments' analyst and detector roles, so that Athena and the detector in each
 * workload account keep working across accounts.
 */
export class ArchiveStack extends TerraformStack {
  readonly key: EnvironmentKey;
  readonly archive: ArchiveBucket;

  /**
   * @param sources every environment that delivers here (`archive.central` names this archive),
   * whether or not it is synthesized with it: their roles are granted reads.
   */
  constructor(scope: Construct, readonly config: Archive, readonly sources: readonly Environment[]) {
    super(scope, config.stackName);
    configureStack(this, config);
    const ctx = { account: config.account, region: config.region };
    const grants = { ...ctx, sources: archiveSources(config), readers: archiveReaders(sources) };

    const keyPolicy = centralArchiveKeyPolicy(grants);
    const bucketPolicy = centralArchiveBucketPolicy({ ...grants, bucket: config.bucketName });
    const problems = [
      ...sizeProblem(config, "bucket policy", JSON.stringify(bucketPolicy), BUCKET_POLICY_MAX_BYTES),
      ...("keyArn" in config.kms ? [] : sizeProblem(config, "key policy", JSON.stringify(keyPolicy), KEY_POLICY_MAX_BYTES)),
    ];
    if (problems.length) throw new ConfigError(problems);

    this.key = new EnvironmentKey(this, "Kms", {
      ...ctx,
      name: `archive-${config.name}`,
      description: `flowlog-kit central archive ${config.name}: archive encryption`,
      existingKeyArn: "keyArn" in config.kms ? config.kms.keyArn : undefined,
      policy: keyPolicy,
    });
    this.archive = new ArchiveBucket(this, "Archive", {
      ...ctx,
      bucketName: config.bucketName,
      retentionDays: config.retention.days,
      // Athena in the workload accounts reads this archive: it stays where Athena reads it.
      storage: "queryable",
      kmsKeyArn: this.key.keyArn,
      objectLock: config.objectLock,
      policy: bucketPolicy,
    });
    new TerraformOutput(this, ARCHIVE_OUTPUTS.bucketName, { value: config.bucketName, description: "Central archive bucket; source environments deliver here" });
    new TerraformOutput(this, ARCHIVE_OUTPUTS.kmsKeyArn, { value: this.key.keyArn, description: "Central archive key" });
  }
}

function sizeProblem(a: Archive, what: string, json: string, max: number): string[] {
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= max) return [];
  const many = a.sourceAccounts !== undefined ? `${a.sourceAccounts.length} source accounts` : "its source environments";
  return [
    `${a.file.replace(/\.ts$/, "")}.${a.sourceAccounts !== undefined ? "sourceAccounts" : "name"}: the archive's ${what} would be ${bytes} bytes, over AWS's ${max} (got ${many}). ` +
      (a.sourceAccounts !== undefined ? 'Give organizationId: "o-..." instead of listing the accounts: one statement then admits every account of the organization.' : "Split the source environments over two archives."),
  ];
}
