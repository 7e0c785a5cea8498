import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { AccountContext, archiveBucketPolicy } from "../policies/iam";
import { archiveLifecycle, ArchiveRetentionDays } from "../policies/retention";

export interface ArchiveBucketProps extends AccountContext {
  readonly bucketName: string;
  /** Retention from the environment's archive class: objects expire after it. */
  readonly retentionDays: ArchiveRetentionDays;
  readonly kmsKeyArn: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The S3 archive: audit evidence, kept for the archive class's retention. Owner-enforced,
 * versioned, SSE-KMS, private, TLS-only, delivery-only writes, and a lifecycle that never
 * moves an object into a class it would leave before that class's minimum duration.
 */
export class ArchiveBucket extends Construct {
  readonly bucket: S3Bucket;
  /** Flow logs to S3 depend on the policy, or AWS rejects them while it is missing. */
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps) {
    super(scope, id);
    this.bucket = new S3Bucket(this, "Bucket", { bucket: props.bucketName, tags: props.tags });
    const bucket = this.bucket.id;

    new S3BucketOwnershipControls(this, "Ownership", {
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketVersioningA(this, "Versioning", {
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "Encryption", {
      bucket,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    });
    const publicAccess = new S3BucketPublicAccessBlock(this, "PublicAccessBlock", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    this.policy = new S3BucketPolicy(this, "Policy", {
      bucket,
      policy: JSON.stringify(archiveBucketPolicy(props, props.bucketName)),
      // S3 rejects a policy write that races the public access block.
      dependsOn: [publicAccess],
    });

    const lifecycle = archiveLifecycle(props.retentionDays);
    new S3BucketLifecycleConfiguration(this, "Lifecycle", {
      bucket,
      rule: [
        {
          id: "archive-retention",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: lifecycle.transitions.map((t) => ({ days: t.days, storageClass: t.storageClass })),
          expiration: [{ days: lifecycle.expirationDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: lifecycle.noncurrentExpirationDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: lifecycle.abortIncompleteMultipartDays }],
        },
      ],
    });
  }
}
