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

/**
 * An account context for a resource that flow logs of several Regions deliver to: the archive
 * bucket and its key (S3 delivery may cross Regions), and the delivery role (IAM is global).
 */
export interface DeliveryContext extends AccountContext {
  /**
   * Every Region whose flow logs deliver through this resource. The confused-deputy
   * conditions name each one: `aws:SourceArn` carries the flow log's own Region.
   * @default - [region]
   */
  readonly deliveryRegions?: readonly string[];
}

/** The Regions of a delivery context, the context's own first; one Region stays a plain string. */
function sourceArns(c: DeliveryContext, arn: (region: string) => string): string | string[] {
  const regions = [...new Set([c.region, ...(c.deliveryRegions ?? [])])];
  return regions.length === 1 ? arn(regions[0]!) : regions.map(arn);
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
export function kmsKeyPolicy(c: DeliveryContext): PolicyDocument {
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
        ArnLike: { "aws:SourceArn": sourceArns(c, (r) => `arn:${p}:logs:${r}:${c.account}:*`) },
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
 * The archive folder of each flow-log family: VPC flow logs at the root, transit-gateway flow
 * logs under `transit-gateway/`. AWS writes both under the same `AWSLogs/<account>/vpcflowlogs/`
 * keys, in different record formats: without a folder of their own, the VPC table would read
 * transit-gateway records and the other way round.
 * @see https://docs.aws.amazon.com/vpc/latest/tgw/flow-logs-s3.html#flow-logs-s3-path
 */
export const ARCHIVE_FAMILY_FOLDERS: Readonly<Record<"vpc" | "tgw", string>> = Object.freeze({ vpc: "", tgw: "transit-gateway/" });

/** The folder of the archive a flow log of this family and file format is delivered under. */
export const archiveFolder = (family: "vpc" | "tgw", fileFormat: "plain-text" | "parquet") => `${ARCHIVE_FAMILY_FOLDERS[family]}${ARCHIVE_FORMAT_FOLDERS[fileFormat]}`;

/**
 * Key patterns under which log delivery may write: both AWSLogs layouts AWS uses for this
 * account (default `AWSLogs/<account>/` and Hive-compatible `AWSLogs/aws-account-id=<account>/`),
 * at the bucket root, in every family and format folder, and in incident folders
 * (`incidents/<id>/`).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
 */
export function deliveryPrefixes(account: string): string[] {
  const families = Object.keys(ARCHIVE_FAMILY_FOLDERS) as ("vpc" | "tgw")[];
  const formats = Object.keys(ARCHIVE_FORMAT_FOLDERS) as ("plain-text" | "parquet")[];
  const folders = [...new Set(families.flatMap((f) => formats.map((fmt) => archiveFolder(f, fmt)))), "incidents/*/"];
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
export function archiveBucketPolicy(c: DeliveryContext, bucket: string): PolicyDocument {
  const arn = bucketArn(c.region, bucket);
  const p = partitionOf(c.region);
  const confusedDeputy = {
    StringEquals: { "aws:SourceAccount": c.account },
    ArnLike: { "aws:SourceArn": sourceArns(c, (r) => `arn:${p}:logs:${r}:${c.account}:*`) },
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
 * account and its delivery Regions (transit-gateway flow logs are `vpc-flow-log` resources too).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
 */
export function deliveryTrustPolicy(c: DeliveryContext): PolicyDocument {
  return doc({
    Effect: "Allow",
    Principal: { Service: "vpc-flow-logs.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: {
      StringEquals: { "aws:SourceAccount": c.account },
      ArnLike: { "aws:SourceArn": sourceArns(c, (r) => `arn:${partitionOf(r)}:ec2:${r}:${c.account}:vpc-flow-log/*`) },
    },
  });
}

/** A log group by name, in the context's Region unless the entry names another. */
export type LogGroupRef = string | { readonly region: string; readonly name: string };

/**
 * Delivery permissions: write streams and events into the named log groups, and find them
 * (logs:DescribeLogGroups, which the VPC user guide lists for the delivery role and which takes
 * no resource ARN); nothing else.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
 */
export function deliveryPermissions(c: AccountContext, logGroupNames: LogGroupRef | readonly LogGroupRef[]): PolicyDocument {
  const refs: readonly LogGroupRef[] = typeof logGroupNames === "string" || !Array.isArray(logGroupNames) ? [logGroupNames as LogGroupRef] : logGroupNames;
  const arns = refs.map((g) => (typeof g === "string" ? logGroupArn(c, g) : logGroupArn({ account: c.account, region: g.region }, g.name)));
  return doc(
    {
      Sid: "WriteFlowLogsToNamedLogGroups",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: arns.flatMap((arn) => [arn, `${arn}:*`]),
    },
    { Sid: "FindLogGroupsNoResourceLevel", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
  );
}

/** The ARN of what a flow log watches, as IAM names it (`iam:AssociatedResourceARN`). */
export function flowLogResourceArn(c: AccountContext, resource: "vpc" | "subnet" | "eni" | "transit-gateway" | "transit-gateway-attachment", id: string): string {
  const type = { vpc: "vpc", subnet: "subnet", eni: "network-interface", "transit-gateway": "transit-gateway", "transit-gateway-attachment": "transit-gateway-attachment" }[resource];
  return `arn:${partitionOf(c.region)}:ec2:${c.region}:${c.account}:${type}/${id}`;
}

/**
 * Trust policy of the source-account role for cross-account delivery to Firehose: the log
 * delivery service assumes it. AWS documents no condition here, and the role's own permissions
 * confine it (passed only to log delivery, only for the watched resources).
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
 */
export function firehoseSourceTrustPolicy(): PolicyDocument {
  return doc({ Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: "sts:AssumeRole" });
}

export interface FirehoseSourceInput {
  /** The source role's own ARN: it may be passed only to log delivery. */
  readonly roleArn: string;
  /** What the cross-account flow logs watch (`iam:AssociatedResourceARN`). */
  readonly resourceArns: readonly string[];
  /** The destination-account roles (`AWSLogDeliveryFirehoseCrossAccountRole...`) it assumes. */
  readonly destinationRoleArns: readonly string[];
}

/**
 * Permissions of the source-account role, as the VPC user guide gives them: pass itself only to
 * log delivery and only for the watched resources, manage log deliveries (AWS accepts only
 * "*"), and assume the destination-account roles.
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/firehose-cross-account-delivery.html
 */
export function firehoseSourcePermissions(f: FirehoseSourceInput): PolicyDocument {
  return doc(
    {
      Sid: "PassOnlyToLogDeliveryForWatchedResources",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: f.roleArn,
      Condition: { StringEquals: { "iam:PassedToService": "delivery.logs.amazonaws.com" }, StringLike: { "iam:AssociatedResourceARN": [...f.resourceArns] } },
    },
    { Sid: "LogDeliveriesNoResourceLevel", Effect: "Allow", Action: ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:GetLogDelivery"], Resource: "*" },
    { Sid: "AssumeDestinationAccountRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: [...f.destinationRoleArns] },
  );
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

/**
 * The findings topic's policy, in place of SNS's default one: CloudWatch alarms of this account
 * may publish (confused-deputy protected); the account's own roles publish through their IAM
 * policies (the detector's PublishFindings), which a topic in the same account honours.
 * Written out so that what the alarms and the detector may do is decided by a policy in the
 * stack, not by a default the stack cannot show.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
 * @see https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
 */
export function findingsTopicPolicy(c: AccountContext, topicArn: string): PolicyDocument {
  const p = partitionOf(c.region);
  return doc({
    Sid: "CloudWatchAlarmsPublish",
    Effect: "Allow",
    Principal: { Service: "cloudwatch.amazonaws.com" },
    Action: "sns:Publish",
    Resource: topicArn,
    Condition: {
      StringEquals: { "aws:SourceAccount": c.account },
      ArnLike: { "aws:SourceArn": `arn:${p}:cloudwatch:${c.region}:${c.account}:alarm:*` },
    },
  });
}

export interface DetectorPolicyInput {
  /** The flow-log group the detector queries. */
  readonly logGroupName: string;
  /** The function's own log group. */
  readonly functionLogGroupName: string;
  readonly archiveBucket: string;
  readonly kmsKeyArn: string;
  /**
   * The key of the archive's objects, when it is not `kmsKeyArn` (a central archive's key).
   * @default - kmsKeyArn
   */
  readonly archiveKmsKeyArn?: string;
  readonly topicArn: string;
  readonly deadLetterQueueArn: string;
  /**
   * The Athena workgroup the scheduled run queries the archive in, its Glue tables and its
   * results location.
   * @default - no Athena: the scheduled run uses Logs Insights
   */
  readonly athena?: DetectorAthenaAccess;
  /**
   * S3 threat lists (`s3://bucket/key`) the detector reads on every run: exactly these objects.
   * @default []
   */
  readonly threatLists?: readonly string[];
  /**
   * Where the detector stores each run's findings for Athena: exactly this folder of this bucket
   * (the Athena results bucket, encrypted with `kmsKeyArn`).
   * @default - findings go to Security Hub and SNS only
   */
  readonly findings?: { readonly bucket: string; readonly prefix: string };
  /**
   * The ledger of findings already published to SNS (functions/handlers/publish-ledger.ts):
   * exactly this folder of this bucket, written with conditional PutObject and read with
   * HeadObject (which S3 authorizes as s3:GetObject).
   * @default - no ledger: every run publishes every finding
   */
  readonly published?: { readonly bucket: string; readonly prefix: string };
  /**
   * The function's own name: a run that would outlive its timeout continues by invoking itself.
   * @default - no self-invocation
   */
  readonly functionName?: string;
}

/** What the detector's Athena queries touch. */
export interface DetectorAthenaAccess {
  readonly workgroup: string;
  readonly database: string;
  readonly tables: readonly string[];
  /** The workgroup's results bucket and folder (`results/`). */
  readonly resultsBucket: string;
  readonly resultsFolder: string;
}

/** The ARN of an `s3://bucket/key` object (the schema checks the URI's form). */
export function s3ObjectArn(region: string, uri: string): string {
  const path = uri.slice("s3://".length);
  const slash = path.indexOf("/");
  return `${bucketArn(region, path.slice(0, slash))}/${path.slice(slash + 1)}`;
}

/**
 * The actions an Athena query needs of its caller: the workgroup's query calls; the catalog,
 * database and tables in Glue; the archive's bucket (listing; objects are read by
 * ReadArchiveObjects); and the results location, which Athena writes and the caller reads with
 * the caller's own credentials.
 * @see https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html
 * @see https://docs.aws.amazon.com/athena/latest/ug/querying.html#query-results-specify-location
 */
function detectorAthenaStatements(c: AccountContext, archiveBucket: string, a: DetectorAthenaAccess): Statement[] {
  const p = partitionOf(c.region);
  const glue = `arn:${p}:glue:${c.region}:${c.account}`;
  const results = bucketArn(c.region, a.resultsBucket);
  return [
    { Sid: "RunQueriesInTheWorkgroup", Effect: "Allow", Action: ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"], Resource: `arn:${p}:athena:${c.region}:${c.account}:workgroup/${a.workgroup}` },
    {
      Sid: "ReadTheFlowLogTables",
      Effect: "Allow",
      Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
      Resource: [`${glue}:catalog`, `${glue}:database/${a.database}`, ...a.tables.map((t) => `${glue}:table/${a.database}/${t}`)],
    },
    { Sid: "ListTheArchiveAndResults", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket"], Resource: [bucketArn(c.region, archiveBucket), results] },
    { Sid: "WriteAndReadQueryResults", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: `${results}/${a.resultsFolder}*` },
  ];
}

/**
 * The detector's permissions: Logs Insights on this environment's log group only, reads of its
 * archive only, Athena queries in its workgroup over its tables with results in its results
 * folder, exactly the S3 threat lists it is given, findings to Security Hub's default product for
 * this account and to its findings folder for Athena, publish to its topic, invoke itself to continue a long run, and its own logs and
 * dead-letter queue.
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
    ...(d.athena ? detectorAthenaStatements(c, d.archiveBucket, d.athena) : []),
    // Exactly the lists named in config; one in a bucket of the kit (the archive) is decrypted with the environment key below.
    ...(d.threatLists?.length ? [{ Sid: "ReadThreatLists", Effect: "Allow" as const, Action: "s3:GetObject", Resource: d.threatLists.map((uri) => s3ObjectArn(c.region, uri)) }] : []),
    // Write only: the findings table is read by Athena's callers, not by the detector.
    ...(d.findings ? [{ Sid: "StoreFindingsForAthena", Effect: "Allow" as const, Action: "s3:PutObject", Resource: `${bucketArn(c.region, d.findings.bucket)}/${d.findings.prefix}*` }] : []),
    // Its own markers only: claim (PutObject with If-None-Match / If-Match) and read back (HeadObject).
    ...(d.published ? [{ Sid: "KeepThePublishLedger", Effect: "Allow" as const, Action: ["s3:PutObject", "s3:GetObject"], Resource: `${bucketArn(c.region, d.published.bucket)}/${d.published.prefix}*` }] : []),
    ...(d.functionName ? [{ Sid: "ContinueInANewInvocation", Effect: "Allow" as const, Action: "lambda:InvokeFunction", Resource: `arn:${p}:lambda:${c.region}:${c.account}:function:${d.functionName}` }] : []),
    // Archive objects and query results are SSE-KMS and the findings topic is encrypted with the same key.
    { Sid: "UseEnvironmentKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: d.kmsKeyArn },
    ...(d.archiveKmsKeyArn !== undefined && d.archiveKmsKeyArn !== d.kmsKeyArn ? [{ Sid: "DecryptCentralArchive", Effect: "Allow" as const, Action: "kms:Decrypt", Resource: d.archiveKmsKeyArn }] : []),
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
