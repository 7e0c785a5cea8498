import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { AccountContext, archiveBucketPolicy, PolicyDocument } from "../policies/iam";
import { archiveLifecycle, ArchiveRetentionDays, ArchiveStorage, ObjectLockMode, objectLockDays } from "../policies/retention";
import { protectBucket } from "./bucket-protections";

export interface ArchiveBucketProps extends AccountContext {
  readonly bucketName: string;
  /** Retention from the environment's archive class: objects expire after it. */
  readonly retentionDays: ArchiveRetentionDays;
  /**
   * How cold the lifecycle may go: `queryable` keeps every object where Athena reads it;
   * `cold` also allows Deep Archive, which Athena skips until objects are restored.
   * @default "queryable"
   * @see https://docs.aws.amazon.com/athena/latest/ug/querying-glacier.html
   */
  readonly storage?: ArchiveStorage;
  readonly kmsKeyArn: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * S3 Object Lock, with a default retention of `retentionDays` in this mode: no delivered
   * object version can be deleted or overwritten before then (in GOVERNANCE mode, except by
   * holders of s3:BypassGovernanceRetention). AWS cannot turn Object Lock off.
   * @default - no Object Lock
   * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
   */
  readonly objectLock?: { readonly mode: ObjectLockMode };
  /**
   * The bucket policy.
   * @default - archiveBucketPolicy: delivery from this account only
   */
  readonly policy?: PolicyDocument;
}

/**
 * The S3 archive: audit evidence, kept for the archive class's retention. Owner-enforced,
 * versioned, SSE-KMS, private, TLS-only, delivery-only writes, and a lifecycle that never
 * moves an object into a class it would leave before that class's minimum duration (nor, by
 * default, out of Athena's reach).
 */
export class ArchiveBucket extends Construct {
  readonly bucket: S3Bucket;
  /** Flow logs to S3 depend on the policy, or AWS rejects them while it is missing. */
  readonly policy: S3BucketPolicy;
  /** The Object Lock configuration; flow logs depend on it too, so that no object arrives unlocked. */
  readonly objectLock?: S3BucketObjectLockConfigurationA;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps) {
    super(scope, id);
    this.bucket = new S3Bucket(this, "Bucket", { bucket: props.bucketName, tags: props.tags });
    const bucket = this.bucket.id;

    const versioning = new S3BucketVersioningA(this, "Versioning", {
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });
    this.policy = protectBucket(this, "", bucket, props.kmsKeyArn, props.policy ?? archiveBucketPolicy(props, props.bucketName));
    if (props.objectLock) {
      // Enabled here, not by object_lock_enabled on the bucket: the provider replaces a bucket
      // whose object_lock_enabled changes, which would plan the destroy of an existing archive.
      // S3 enables Object Lock on an existing versioned bucket, and never turns it off.
      this.objectLock = new S3BucketObjectLockConfigurationA(this, "ObjectLock", {
        bucket,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: props.objectLock.mode, days: objectLockDays(props.retentionDays) } },
        dependsOn: [versioning],
      });
    }

    const lifecycle = archiveLifecycle(props.retentionDays, props.storage);
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
        {
          // A rule of its own: S3 rejects expired_object_delete_marker next to days.
          id: "remove-expired-delete-markers",
          status: "Enabled",
          filter: [{ prefix: "" }],
          expiration: [{ expiredObjectDeleteMarker: lifecycle.removeExpiredDeleteMarkers }],
        },
      ],
    });
  }
}
