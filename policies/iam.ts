/**
 * IAM policy documents as plain data. Constructs render them with JSON.stringify, and the
 * compliance controls read them back from the synthesized stack, so they are kept free of
 * Terraform tokens wherever the ARN is known from config.
 */

export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Record<string, string | string[]> | "*";
  readonly Action: string | string[];
  /** Absent in trust policies, which IAM rejects when they name a resource. */
  readonly Resource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Statement[];
}

export const doc = (...statements: Statement[]): PolicyDocument => ({ Version: "2012-10-17", Statement: statements });

/** The partition of a region: aws, aws-cn or aws-us-gov. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export interface AccountContext {
  readonly account: string;
  readonly region: string;
}

export const logGroupArn = (c: AccountContext, name: string) =>
  `arn:${partitionOf(c.region)}:logs:${c.region}:${c.account}:log-group:${name}`;

export const bucketArn = (region: string, bucket: string) => `arn:${partitionOf(region)}:s3:::${bucket}`;

/**
 * Key policy for the environment key: the account administers it; CloudWatch Logs may use it
 * only for this account's log groups (encryption-context condition); log delivery may use it
 * to write SSE-KMS objects into the archive.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html#AWS-logs-SSE-KMS-S3
 */
export function kmsKeyPolicy(c: AccountContext): PolicyDocument {
  const p = partitionOf(c.region);
  return doc(
    {
      Sid: "AccountAdministersKey",
      Effect: "Allow",
      Principal: { AWS: `arn:${p}:iam::${c.account}:root` },
      Action: "kms:*",
      // In a key policy "*" means this key.
      Resource: "*",
    },
    {
      Sid: "CloudWatchLogsUsesKeyForThisAccountsLogGroups",
      Effect: "Allow",
      Principal: { Service: `logs.${c.region}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: {
        ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${p}:logs:${c.region}:${c.account}:log-group:*` },
      },
    },
    {
      Sid: "CloudWatchAlarmsPublishToEncryptedTopic",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      Condition: { StringEquals: { "aws:SourceAccount": c.account } },
    },
    {
      Sid: "LogDeliveryWritesEncryptedArchive",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
      Condition: {
        StringEquals: { "aws:SourceAccount": c.account },
        ArnLike: { "aws:SourceArn": `arn:${p}:logs:${c.region}:${c.account}:*` },
      },
    },
  );
}

/** Denies every request to a bucket and its objects that does not use TLS (Security Hub S3.5). */
export function denyInsecureTransport(bucket: string): Statement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucket, `${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * The archive folder each S3 file format is delivered under: plain text at the bucket root,
 * Parquet under `parquet/`. AWS writes the same `AWSLogs/...` keys for both formats, so
 * without a folder of its own each format's Athena table would read the other's files.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html
 */
export const ARCHIVE_FORMAT_FOLDERS: Readonly<Record<"plain-text" | "parquet", string>> = Object.freeze({ "plain-text": "", parquet: "parquet/" });

/**
 * Key patterns under which log delivery may write: both AWSLogs layouts AWS uses for this
 * account (default `AWSLogs/<account>/` and Hive-compatible `AWSLogs/aws-account-id=<account>/`),
 * at the bucket root, in every format folder, and in incident folders (`incidents/<id>/`).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 */
export function deliveryPrefixes(account: string): string[] {
  const folders = [...new Set(Object.values(ARCHIVE_FORMAT_FOLDERS)), "incidents/*/"];
  return folders.flatMap((folder) => [`${folder}AWSLogs/${account}/*`, `${folder}AWSLogs/aws-account-id=${account}/*`]);
}

/**
 * Archive bucket policy: TLS only; log delivery writes only under this account's AWSLogs
 * prefixes (default and Hive-compatible), confused-deputy protected. A missing prefix does not
 * fail loudly: AWS either refuses the flow log or, when the deployer may write bucket policies,
 * replaces this policy with its own (dropping the TLS-only deny) until the next apply restores
 * it. No `s3:x-amz-acl` condition: with BucketOwnerEnforced ownership the service sends no ACL
 * header and such a condition would block delivery.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 */
export function archiveBucketPolicy(c: AccountContext, bucket: string): PolicyDocument {
  const arn = bucketArn(c.region, bucket);
  const p = partitionOf(c.region);
  const confusedDeputy = {
    StringEquals: { "aws:SourceAccount": c.account },
    ArnLike: { "aws:SourceArn": `arn:${p}:logs:${c.region}:${c.account}:*` },
  };
  return doc(
    denyInsecureTransport(arn),
    {
      Sid: "AWSLogDeliveryWrite",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: deliveryPrefixes(c.account).map((prefix) => `${arn}/${prefix}`),
      Condition: confusedDeputy,
    },
    {
      Sid: "AWSLogDeliveryCheck",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: arn,
      Condition: confusedDeputy,
    },
  );
}

/**
 * Trust policy of the delivery role: only the flow-logs service, only for flow logs of this
 * account and region.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
 */
export function deliveryTrustPolicy(c: AccountContext): PolicyDocument {
  return doc({
    Effect: "Allow",
    Principal: { Service: "vpc-flow-logs.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: {
      StringEquals: { "aws:SourceAccount": c.account },
      ArnLike: { "aws:SourceArn": `arn:${partitionOf(c.region)}:ec2:${c.region}:${c.account}:vpc-flow-log/*` },
    },
  });
}

/** Delivery permissions: write streams and events into the named log groups, nothing else. */
export function deliveryPermissions(c: AccountContext, logGroupNames: string | readonly string[]): PolicyDocument {
  const arns = (typeof logGroupNames === "string" ? [logGroupNames] : logGroupNames).map((name) => logGroupArn(c, name));
  return doc({
    Sid: "WriteFlowLogsToNamedLogGroups",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
    Resource: arns.flatMap((arn) => [arn, `${arn}:*`]),
  });
}

/** Trust policy for a Lambda function role of this account. */
export function lambdaTrustPolicy(c: AccountContext): PolicyDocument {
  return doc({
    Effect: "Allow",
    Principal: { Service: "lambda.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "aws:SourceAccount": c.account } },
  });
}

export interface DetectorPolicyInput {
  /** The flow-log group the detector queries. */
  readonly logGroupName: string;
  /** The function's own log group. */
  readonly functionLogGroupName: string;
  readonly archiveBucket: string;
  readonly kmsKeyArn: string;
  readonly topicArn: string;
  readonly deadLetterQueueArn: string;
}

/**
 * The detector's permissions: Logs Insights on this environment's log group only, reads of its
 * archive only, findings to Security Hub's default product for this account, publish to its
 * topic, and its own logs and dead-letter queue.
 */
export function detectorPermissions(c: AccountContext, d: DetectorPolicyInput): PolicyDocument {
  const p = partitionOf(c.region);
  const functionLogs = logGroupArn(c, d.functionLogGroupName);
  return doc(
    // Unmask: when the group masks IP addresses, the detector still needs the real ones.
    { Sid: "StartQueriesOnTheFlowLogGroup", Effect: "Allow", Action: ["logs:StartQuery", "logs:Unmask"], Resource: [logGroupArn(c, d.logGroupName), `${logGroupArn(c, d.logGroupName)}:*`] },
    // GetQueryResults and StopQuery take a query id, not a resource: AWS accepts only "*" for them.
    { Sid: "ReadQueryResultsNoResourceLevel", Effect: "Allow", Action: ["logs:GetQueryResults", "logs:StopQuery"], Resource: "*" },
    { Sid: "ReadArchiveObjects", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn(c.region, d.archiveBucket)}/*` },
    // Archive objects are SSE-KMS and the findings topic is encrypted with the same key.
    { Sid: "UseEnvironmentKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: d.kmsKeyArn },
    {
      Sid: "ImportFindings",
      Effect: "Allow",
      Action: "securityhub:BatchImportFindings",
      Resource: `arn:${p}:securityhub:${c.region}:${c.account}:product/${c.account}/default`,
    },
    { Sid: "PublishFindings", Effect: "Allow", Action: "sns:Publish", Resource: d.topicArn },
    { Sid: "DeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: d.deadLetterQueueArn },
    { Sid: "OwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [functionLogs, `${functionLogs}:*`] },
  );
}
