/**
 * Policy documents of a central archive: the bucket in a log-archive account that the flow logs
 * of other accounts deliver to, and its key. Plain data, as policies/iam.ts: the compliance
 * controls and the access model read them back from the synthesized stack.
 */
import { AccountContext, bucketArn, deliveryPrefixes, denyInsecureTransport, doc, partitionOf, PolicyDocument, Statement } from "./iam";

/** Who may deliver: a list of accounts, each under its own prefix, or every account of an organization. */
export type ArchiveSources = { readonly accounts: readonly string[] } | { readonly organizationId: string };

/** The workload roles of one source account that read its flow logs back (Athena, the detector). */
export interface ArchiveReaders {
  readonly account: string;
  /** Role ARNs; they need not exist yet (see centralArchiveBucketPolicy). */
  readonly roleArns: readonly string[];
}

export interface CentralArchivePolicyInput extends AccountContext {
  readonly bucket: string;
  readonly sources: ArchiveSources;
  /** One entry per source account that has readers; each reads only its own account's prefixes. */
  readonly readers: readonly ArchiveReaders[];
}

/**
 * What AWS's confused-deputy conditions say for the log delivery of `sources`. The flow log's
 * Region is in aws:SourceArn; the archive cannot know every Region its sources log in, so it
 * admits any Region of the source account.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceorgid
 */
function deliveryCondition(p: string, sources: ArchiveSources): NonNullable<Statement["Condition"]> {
  if ("organizationId" in sources) return { StringEquals: { "aws:SourceOrgID": sources.organizationId } };
  const one = sources.accounts.length === 1;
  return {
    StringEquals: { "aws:SourceAccount": one ? sources.accounts[0]! : [...sources.accounts] },
    ArnLike: { "aws:SourceArn": one ? `arn:${p}:logs:*:${sources.accounts[0]}:*` : sources.accounts.map((a) => `arn:${p}:logs:*:${a}:*`) },
  };
}

/**
 * A grant to roles of another account that may not exist yet: the principal is the account and
 * aws:PrincipalArn names the roles. S3 and KMS refuse a policy whose principal is a role that
 * does not exist, and the archive is applied before the workload stacks that create the roles.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles
 */
const rolesOf = (p: string, r: ArchiveReaders) => ({
  Principal: { AWS: `arn:${p}:iam::${r.account}:root` },
  Condition: { ArnEquals: { "aws:PrincipalArn": r.roleArns.length === 1 ? r.roleArns[0]! : [...r.roleArns] } },
});

/**
 * The central archive's bucket policy: TLS only; log delivery writes each source account's
 * flow logs only under that account's prefixes (default `AWSLogs/<account>/` and Hive-compatible
 * `AWSLogs/aws-account-id=<account>/`, in every folder deliveryPrefixes lists), confused-deputy
 * protected; with an organization, any member account under `AWSLogs/`, by aws:SourceOrgID.
 * Each source account's reader roles may list the bucket and read that account's prefixes.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 */
export function centralArchiveBucketPolicy(c: CentralArchivePolicyInput): PolicyDocument {
  const arn = bucketArn(c.region, c.bucket);
  const p = partitionOf(c.region);
  // One statement per account, so that an account's delivery can write only its own prefixes.
  const writes: Statement[] =
    "organizationId" in c.sources
      ? [{ Sid: "AWSLogDeliveryWrite", Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: "s3:PutObject", Resource: deliveryPrefixes("*").map((x) => `${arn}/${x}`), Condition: deliveryCondition(p, c.sources) }]
      : c.sources.accounts.map((account) => ({
          Sid: `AWSLogDeliveryWrite${account}`,
          Effect: "Allow" as const,
          Principal: { Service: "delivery.logs.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: deliveryPrefixes(account).map((x) => `${arn}/${x}`),
          Condition: deliveryCondition(p, { accounts: [account] }),
        }));
  return doc(
    denyInsecureTransport(arn),
    ...writes,
    {
      Sid: "AWSLogDeliveryCheck",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: arn,
      Condition: deliveryCondition(p, c.sources),
    },
    ...c.readers.flatMap((r): Statement[] => [
      { Sid: `SourceAccountListsArchive${r.account}`, Effect: "Allow", ...rolesOf(p, r), Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: arn },
      { Sid: `SourceAccountReadsOwnFlowLogs${r.account}`, Effect: "Allow", ...rolesOf(p, r), Action: "s3:GetObject", Resource: deliveryPrefixes(r.account).map((x) => `${arn}/${x}`) },
    ]),
  );
}

/**
 * The central archive's key policy: the log-archive account administers it; log delivery may
 * use it to write SSE-KMS objects for the source accounts (or organization); each source
 * account's reader roles may decrypt what they read.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html#AWS-logs-SSE-KMS-S3
 */
export function centralArchiveKeyPolicy(c: AccountContext & { readonly sources: ArchiveSources; readonly readers: readonly ArchiveReaders[] }): PolicyDocument {
  const p = partitionOf(c.region);
  return doc(
    // In a key policy "*" means this key.
    { Sid: "AccountAdministersKey", Effect: "Allow", Principal: { AWS: `arn:${p}:iam::${c.account}:root` }, Action: "kms:*", Resource: "*" },
    {
      Sid: "LogDeliveryWritesEncryptedArchive",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
      Condition: deliveryCondition(p, c.sources),
    },
    ...c.readers.map((r): Statement => ({ Sid: `SourceAccountDecryptsOwnFlowLogs${r.account}`, Effect: "Allow", ...rolesOf(p, r), Action: "kms:Decrypt", Resource: "*" })),
  );
}

/**
 * The ARN a workload account's policies name for the central archive's key: the given key, or,
 * when the archive creates its key (whose id is known only after apply, in another account),
 * any key of the log-archive account in its Region. Cross-account use needs the key policy's
 * grant as well, which only the archive's key gives these roles.
 */
export const centralArchiveKeyArn = (a: AccountContext & { readonly keyArn?: string }) => a.keyArn ?? `arn:${partitionOf(a.region)}:kms:${a.region}:${a.account}:key/*`;

/**
 * S3 refuses a bucket policy over 20 KB; each listed account adds about a kilobyte.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 */
export const BUCKET_POLICY_MAX_BYTES = 20 * 1024;
/**
 * KMS refuses a key policy over 32 KB.
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#key-policy-limit
 */
export const KEY_POLICY_MAX_BYTES = 32 * 1024;
