import { Construct } from "constructs";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import type { PolicyDocument } from "../policies/iam";

/**
 * The protections every bucket of the kit carries: owner-enforced objects, SSE-KMS with a bucket
 * key, a full public access block, and its policy (applied after the block, which S3 requires).
 * Children are named `<prefix>Ownership`, `<prefix>Encryption`, `<prefix>PublicAccessBlock` and
 * `<prefix>Policy` in `scope`. Returns the policy, which writers to the bucket should depend on.
 */
export function protectBucket(scope: Construct, prefix: string, bucket: string, kmsKeyArn: string, policy: PolicyDocument): S3BucketPolicy {
  new S3BucketOwnershipControls(scope, `${prefix}Ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketServerSideEncryptionConfigurationA(scope, `${prefix}Encryption`, {
    bucket,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true }],
  });
  const publicAccess = new S3BucketPublicAccessBlock(scope, `${prefix}PublicAccessBlock`, {
    bucket,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  return new S3BucketPolicy(scope, `${prefix}Policy`, {
    bucket,
    policy: JSON.stringify(policy),
    // S3 rejects a policy write that races the public access block.
    dependsOn: [publicAccess],
  });
}
