/**
 * The three roles of the operating model, as policy documents scoped to one environment's
 * resources by ARN. Where AWS accepts only "*" for an action (it takes no resource ARN), the
 * statement's Sid and a comment say so.
 */
import { AccountContext, bucketArn, doc, partitionOf, PolicyDocument, Statement } from "./iam";

export type RbacRole = "SecurityAnalyst" | "SecurityEngineer" | "Auditor";
export const RBAC_ROLES: readonly RbacRole[] = ["SecurityAnalyst", "SecurityEngineer", "Auditor"];

/** The environment resources the roles are scoped to, by name. */
export interface RbacScope extends AccountContext {
  readonly environment: string;
  /** Flow-log group(s) of the environment (baseline and incident groups share the prefix). */
  readonly logGroupPrefix: string;
  readonly archiveBucket: string;
  /** ARN of the environment key, or a `${...}` reference to it. */
  readonly kmsKeyArn: string;
  /**
   * The key of the archive's objects, when it is not the environment key (a central archive's).
   * @default - kmsKeyArn
   */
  readonly archiveKmsKeyArn?: string;
  readonly deliveryRoleName: string;
  /**
   * Name prefix of the incident stacks' delivery roles (`flowlogs-<env>-inc-`), which the
   * engineer passes when creating an incident's CloudWatch flow log.
   */
  readonly incidentDeliveryRolePrefix: string;
  readonly detectorFunctionName: string;
  readonly athenaWorkgroup: string;
  readonly glueDatabase: string;
  /**
   * The bucket the workgroup writes query results to (SSE-KMS with the environment key), and
   * the folder of the workgroup's output location in it, e.g. `results/`.
   */
  readonly athenaResults: { readonly bucket: string; readonly folder: string };
}

/** IAM role name for a role in an environment, e.g. flowlogs-prod-security-analyst. */
export const rbacRoleName = (env: string, role: RbacRole) => `flowlogs-${env}-${role.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}`;

function arns(s: RbacScope) {
  const p = partitionOf(s.region);
  const bucket = bucketArn(s.region, s.archiveBucket);
  return {
    // Any Region: an environment's scopes may be in several (each Region's groups keep the
    // environment's prefix), and so are their flow logs.
    logGroups: [`arn:${p}:logs:*:${s.account}:log-group:${s.logGroupPrefix}*`],
    logStreams: [`arn:${p}:logs:*:${s.account}:log-group:${s.logGroupPrefix}*:*`],
    bucket,
    objects: `${bucket}/*`,
    workgroup: `arn:${p}:athena:${s.region}:${s.account}:workgroup/${s.athenaWorkgroup}`,
    glue: [
      `arn:${p}:glue:${s.region}:${s.account}:catalog`,
      `arn:${p}:glue:${s.region}:${s.account}:database/${s.glueDatabase}`,
      `arn:${p}:glue:${s.region}:${s.account}:table/${s.glueDatabase}/*`,
    ],
    flowLogs: `arn:${p}:ec2:*:${s.account}:vpc-flow-log/*`,
    deliveryRoles: [`arn:${p}:iam::${s.account}:role/${s.deliveryRoleName}`, `arn:${p}:iam::${s.account}:role/${s.incidentDeliveryRolePrefix}*`],
    resultsBucket: bucketArn(s.region, s.athenaResults.bucket),
    results: `${bucketArn(s.region, s.athenaResults.bucket)}/${s.athenaResults.folder}*`,
    envRoles: `arn:${p}:iam::${s.account}:role/flowlogs-${s.environment}-*`,
    detector: `arn:${p}:lambda:${s.region}:${s.account}:function:${s.detectorFunctionName}`,
    scheduleRule: `arn:${p}:events:${s.region}:${s.account}:rule/${s.detectorFunctionName}-schedule`,
  };
}

/**
 * Read flow-log data: Logs Insights and Athena over this environment, and its archive. No
 * delete. The one write is Athena's: a query runs with the caller's credentials, so the analyst
 * writes the query's results (SSE-KMS with the environment key, which the workgroup enforces)
 * into the results folder, and reads them back from there.
 * @see https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html
 * @see https://docs.aws.amazon.com/athena/latest/ug/encryption.html
 */
/** Where the detector stores its findings in the Athena results bucket (modules/detectors.ts, the `findings` table). */
export const STORED_FINDINGS_FOLDER = "findings/";

export function securityAnalystPolicy(s: RbacScope): PolicyDocument {
  const a = arns(s);
  return doc(
    { Sid: "QueryFlowLogGroups", Effect: "Allow", Action: ["logs:StartQuery", "logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams", "logs:Unmask"], Resource: [...a.logGroups, ...a.logStreams] },
    // Query results and query listings are addressed by query id: AWS accepts only "*" here.
    { Sid: "ReadQueryResultsNoResourceLevel", Effect: "Allow", Action: ["logs:GetQueryResults", "logs:StopQuery", "logs:DescribeQueries", "logs:DescribeLogGroups", "logs:DescribeQueryDefinitions"], Resource: "*" },
    { Sid: "ReadArchive", Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"], Resource: [a.bucket, a.objects] },
    // The environment key also encrypts the Athena results the analyst reads back.
    { Sid: "DecryptArchive", Effect: "Allow", Action: "kms:Decrypt", Resource: s.archiveKmsKeyArn !== undefined && s.archiveKmsKeyArn !== s.kmsKeyArn ? [s.kmsKeyArn, s.archiveKmsKeyArn] : s.kmsKeyArn },
    {
      Sid: "RunAthenaQueries",
      Effect: "Allow",
      Action: [
        "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:StopQueryExecution",
        "athena:BatchGetQueryExecution", "athena:ListQueryExecutions", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:GetNamedQuery", "athena:BatchGetNamedQuery",
      ],
      Resource: a.workgroup,
    },
    { Sid: "ReadFlowLogTables", Effect: "Allow", Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"], Resource: a.glue },
    { Sid: "LocateQueryResults", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: a.resultsBucket },
    { Sid: "WriteAndReadQueryResults", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: a.results },
    // The detector stores its findings beside the results (the `findings` table reads them).
    { Sid: "ReadStoredFindings", Effect: "Allow", Action: "s3:GetObject", Resource: `${a.resultsBucket}/${STORED_FINDINGS_FOLDER}*` },
    // The workgroup enforces SSE-KMS with the environment key: writing results needs a data key.
    { Sid: "EncryptQueryResults", Effect: "Allow", Action: "kms:GenerateDataKey", Resource: s.kmsKeyArn },
  );
}

/**
 * Manage the environment's flow-log resources (flow logs, log-group filters and queries,
 * detector settings) — but never delete archive objects, lower retention, or weaken the
 * archive's protections: those stay with the reviewed Terraform pipeline (explicit Deny).
 */
export function securityEngineerPolicy(s: RbacScope): PolicyDocument {
  const a = arns(s);
  const statements: Statement[] = [
    { Sid: "ManageFlowLogs", Effect: "Allow", Action: ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:CreateTags"], Resource: a.flowLogs },
    // CreateFlowLogs also authorizes against the VPC, subnet or interface being logged.
    // Transit gateways and their attachments too: the kit logs them (flowlog-kit access checks each kind).
    {
      Sid: "FlowLogTargets",
      Effect: "Allow",
      Action: "ec2:CreateFlowLogs",
      Resource: ["vpc", "subnet", "network-interface", "transit-gateway", "transit-gateway-attachment"].map((type) => `arn:${partitionOf(s.region)}:ec2:*:${s.account}:${type}/*`),
    },
    // Describe calls take no resource ARN: AWS accepts only "*".
    { Sid: "DescribeNoResourceLevel", Effect: "Allow", Action: ["ec2:DescribeFlowLogs", "logs:DescribeLogGroups", "logs:DescribeQueryDefinitions", "logs:GetQueryResults", "logs:StopQuery"], Resource: "*" },
    // A flow log to S3 is a CloudWatch Logs delivery: creating and deleting one needs these, and AWS accepts only "*".
    { Sid: "S3FlowLogDeliveriesNoResourceLevel", Effect: "Allow", Action: ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"], Resource: "*" },
    // A flow log to Firehose: AWS tags the stream LogDeliveryEnabled=true with the caller's
    // permission (the delivery service-linked role writes only to streams so tagged), and creates
    // that role the first time. No other tag, no other role.
    // @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-Firehose.html
    {
      Sid: "FirehoseFlowLogsTagTheirStream",
      Effect: "Allow",
      Action: "firehose:TagDeliveryStream",
      Resource: `arn:${partitionOf(s.region)}:firehose:*:${s.account}:deliverystream/*`,
      Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["LogDeliveryEnabled"] } },
    },
    {
      Sid: "LogDeliveryServiceLinkedRole",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: `arn:${partitionOf(s.region)}:iam::${s.account}:role/aws-service-role/delivery.logs.amazonaws.com/AWSServiceRoleForLogDelivery`,
      Condition: { StringEquals: { "iam:AWSServiceName": "delivery.logs.amazonaws.com" } },
    },
    // The environment's and the incidents' delivery roles, and only to the flow-logs service.
    { Sid: "PassDeliveryRoles", Effect: "Allow", Action: "iam:PassRole", Resource: a.deliveryRoles, Condition: { StringEquals: { "iam:PassedToService": "vpc-flow-logs.amazonaws.com" } } },
    {
      Sid: "ManageLogGroupFiltersAndQueries",
      Effect: "Allow",
      Action: ["logs:PutMetricFilter", "logs:DeleteMetricFilter", "logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter", "logs:TagResource", "logs:UntagResource", "logs:DescribeLogStreams", "logs:StartQuery"],
      Resource: [...a.logGroups, ...a.logStreams],
    },
    { Sid: "ManageQueryDefinitions", Effect: "Allow", Action: ["logs:PutQueryDefinition", "logs:DeleteQueryDefinition"], Resource: "*" },
    { Sid: "TuneDetector", Effect: "Allow", Action: ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration", "lambda:InvokeFunction"], Resource: a.detector },
    { Sid: "ScheduleDetector", Effect: "Allow", Action: ["events:DescribeRule", "events:EnableRule", "events:DisableRule", "events:PutRule"], Resource: a.scheduleRule },
    { Sid: "ReadArchive", Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket", "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy"], Resource: [a.bucket, a.objects] },
    {
      Sid: "NeverDeleteEvidenceOrWeakenTheArchive",
      Effect: "Deny",
      Action: [
        "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "s3:DeleteBucket", "s3:PutObjectAcl", "s3:PutBucketAcl",
        // Object Lock: a GOVERNANCE lock yields to s3:BypassGovernanceRetention; the lock's own settings are the pipeline's.
        "s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
      ],
      Resource: [a.bucket, a.objects],
    },
    { Sid: "NeverLowerRetention", Effect: "Deny", Action: ["logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:DeleteLogGroup", "logs:DisassociateKmsKey"], Resource: [...a.logGroups, ...a.logStreams] },
    { Sid: "NeverDisableTheKey", Effect: "Deny", Action: ["kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:DisableKeyRotation", "kms:PutKeyPolicy"], Resource: s.kmsKeyArn },
  ];
  return doc(...statements);
}

/** Read configuration only: flow-log definitions, retention, lifecycle, policies, encryption. No log data. */
export function auditorPolicy(s: RbacScope): PolicyDocument {
  const a = arns(s);
  return doc(
    // Describe calls take no resource ARN: AWS accepts only "*".
    { Sid: "DescribeNoResourceLevel", Effect: "Allow", Action: ["ec2:DescribeFlowLogs", "logs:DescribeLogGroups", "logs:DescribeMetricFilters", "logs:DescribeQueryDefinitions"], Resource: "*" },
    {
      Sid: "ReadArchiveConfiguration",
      Effect: "Allow",
      Action: [
        "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy", "s3:GetEncryptionConfiguration", "s3:GetBucketVersioning",
        "s3:GetBucketPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:GetBucketLogging", "s3:GetBucketTagging", "s3:GetBucketNotification",
      ],
      Resource: a.bucket,
    },
    { Sid: "ReadKeyConfiguration", Effect: "Allow", Action: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:GetKeyPolicy"], Resource: s.kmsKeyArn },
    { Sid: "ReadRoles", Effect: "Allow", Action: ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"], Resource: a.envRoles },
    { Sid: "ReadDetectorConfiguration", Effect: "Allow", Action: ["lambda:GetFunctionConfiguration", "events:DescribeRule"], Resource: [a.detector, a.scheduleRule] },
    { Sid: "NoLogData", Effect: "Deny", Action: ["s3:GetObject", "s3:GetObjectVersion", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "kms:Decrypt"], Resource: "*" },
  );
}

export const RBAC_POLICIES: Readonly<Record<RbacRole, (s: RbacScope) => PolicyDocument>> = Object.freeze({
  SecurityAnalyst: securityAnalystPolicy,
  SecurityEngineer: securityEngineerPolicy,
  Auditor: auditorPolicy,
});

/** Trust for a role: only the configured principals, only with MFA. */
export function rbacTrustPolicy(principals: readonly string[]): PolicyDocument {
  return doc({
    Sid: "AssumeWithMfa",
    Effect: "Allow",
    Principal: { AWS: [...principals] },
    Action: "sts:AssumeRole",
    Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
  });
}
