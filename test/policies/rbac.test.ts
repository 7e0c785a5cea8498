import { auditorPolicy, rbacRoleName, rbacTrustPolicy, RbacScope, securityAnalystPolicy, securityEngineerPolicy } from "../../policies/rbac";
import { allows } from "../support/iam";

const scope: RbacScope = {
  account: "410987654323", region: "eu-central-1", environment: "prod", logGroupPrefix: "/flowlog-kit/prod/",
  archiveBucket: "flowlogs-prod-archive", kmsKeyArn: "arn:aws:kms:eu-central-1:410987654323:key/k", deliveryRoleName: "flowlogs-prod-delivery",
  incidentDeliveryRolePrefix: "flowlogs-prod-inc-", detectorFunctionName: "flowlogs-prod-detector", athenaWorkgroup: "flowlogs-prod", glueDatabase: "flowlogs_prod",
  athenaResults: { bucket: "flowlogs-prod-ath-410987654323-eu-central-1", folder: "results/" },
};
const group = "arn:aws:logs:eu-central-1:410987654323:log-group:/flowlog-kit/prod/vpc-flow-logs";
const otherGroup = "arn:aws:logs:eu-central-1:410987654323:log-group:/flowlog-kit/stg/vpc-flow-logs";
const bucket = "arn:aws:s3:::flowlogs-prod-archive";
const object = `${bucket}/AWSLogs/410987654323/vpcflowlogs/x.log.gz`;
const workgroup = "arn:aws:athena:eu-central-1:410987654323:workgroup/flowlogs-prod";

describe("SecurityAnalyst", () => {
  const p = securityAnalystPolicy(scope);
  it("queries this environment's flow logs with Logs Insights and Athena and reads its archive", () => {
    expect(allows(p, "logs:StartQuery", group)).toBe(true);
    expect(allows(p, "logs:GetQueryResults", "*")).toBe(true);
    expect(allows(p, "athena:StartQueryExecution", workgroup)).toBe(true);
    expect(allows(p, "glue:GetTable", "arn:aws:glue:eu-central-1:410987654323:table/flowlogs_prod/flow_logs")).toBe(true);
    expect(allows(p, "s3:GetObject", object)).toBe(true);
    expect(allows(p, "kms:Decrypt", scope.kmsKeyArn)).toBe(true);
  });
  it("runs an Athena query end to end: results written and read back under the workgroup's folder, encrypted with the key it enforces", () => {
    const results = "arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1";
    const resultObject = `${results}/results/3f1c-query-id.csv`;
    for (const action of ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]) expect(allows(p, action, workgroup)).toBe(true);
    for (const action of ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"]) expect(allows(p, action, "arn:aws:glue:eu-central-1:410987654323:table/flowlogs_prod/flow_logs")).toBe(true);
    expect(allows(p, "glue:GetDatabase", "arn:aws:glue:eu-central-1:410987654323:database/flowlogs_prod")).toBe(true);
    for (const action of ["s3:ListBucket", "s3:GetObject"]) expect(allows(p, action, action === "s3:ListBucket" ? bucket : object)).toBe(true);
    for (const action of ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]) expect(allows(p, action, results)).toBe(true);
    for (const action of ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]) expect(allows(p, action, resultObject)).toBe(true);
    expect(allows(p, "kms:GenerateDataKey", scope.kmsKeyArn)).toBe(true);
    expect(allows(p, "kms:Decrypt", scope.kmsKeyArn)).toBe(true);
    // Results only: no write outside the results folder, and nothing deleted there.
    expect(allows(p, "s3:PutObject", `${results}/elsewhere/x`)).toBe(false);
    expect(allows(p, "s3:DeleteObject", resultObject)).toBe(false);
  });

  it("cannot write, delete, or read another environment", () => {
    expect(allows(p, "s3:DeleteObject", object)).toBe(false);
    expect(allows(p, "s3:PutObject", object)).toBe(false);
    expect(allows(p, "logs:PutRetentionPolicy", group)).toBe(false);
    expect(allows(p, "logs:DeleteLogGroup", group)).toBe(false);
    expect(allows(p, "logs:StartQuery", otherGroup)).toBe(false);
    expect(allows(p, "s3:GetObject", "arn:aws:s3:::flowlogs-stg-archive/x")).toBe(false);
  });
});

describe("SecurityEngineer", () => {
  const p = securityEngineerPolicy(scope);
  it("manages flow logs, log-group filters and detector settings", () => {
    expect(allows(p, "ec2:CreateFlowLogs", "arn:aws:ec2:eu-central-1:410987654323:vpc-flow-log/fl-1")).toBe(true);
    expect(allows(p, "ec2:DeleteFlowLogs", "arn:aws:ec2:eu-central-1:410987654323:vpc-flow-log/fl-1")).toBe(true);
    expect(allows(p, "iam:PassRole", "arn:aws:iam::410987654323:role/flowlogs-prod-delivery")).toBe(true);
    expect(allows(p, "logs:PutMetricFilter", group)).toBe(true);
    expect(allows(p, "lambda:UpdateFunctionConfiguration", "arn:aws:lambda:eu-central-1:410987654323:function:flowlogs-prod-detector")).toBe(true);
  });
  it("creates and deletes flow logs of every destination kind, passing the environment's and the incidents' delivery roles to flow logs only", () => {
    const flowLog = "arn:aws:ec2:eu-central-1:410987654323:vpc-flow-log/fl-1";
    for (const action of ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs"]) expect(allows(p, action, flowLog)).toBe(true);
    expect(allows(p, "ec2:CreateFlowLogs", "arn:aws:ec2:eu-central-1:410987654323:network-interface/eni-1")).toBe(true);
    expect(allows(p, "ec2:DescribeFlowLogs", "*")).toBe(true);
    // An S3 destination is a CloudWatch Logs delivery; AWS accepts only "*" for these.
    expect(allows(p, "logs:CreateLogDelivery", "*")).toBe(true);
    expect(allows(p, "logs:DeleteLogDelivery", "*")).toBe(true);
    expect(allows(p, "iam:PassRole", "arn:aws:iam::410987654323:role/flowlogs-prod-inc-inc-20261101-a1")).toBe(true);
    expect(allows(p, "iam:PassRole", "arn:aws:iam::410987654323:role/flowlogs-stg-delivery")).toBe(false);
    expect(allows(p, "iam:PassRole", "arn:aws:iam::410987654323:role/flowlogs-prod-security-analyst")).toBe(false);
    const pass = p.Statement.find((st) => st.Action === "iam:PassRole")!;
    expect(pass.Condition).toEqual({ StringEquals: { "iam:PassedToService": "vpc-flow-logs.amazonaws.com" } });
  });

  it("cannot delete archive objects, lower retention, or disable the archive's protections", () => {
    expect(allows(p, "s3:DeleteObject", object)).toBe(false);
    expect(allows(p, "s3:DeleteObjectVersion", object)).toBe(false);
    expect(allows(p, "s3:PutLifecycleConfiguration", bucket)).toBe(false);
    expect(allows(p, "s3:PutBucketVersioning", bucket)).toBe(false);
    expect(allows(p, "s3:PutBucketPolicy", bucket)).toBe(false);
    expect(allows(p, "s3:PutEncryptionConfiguration", bucket)).toBe(false);
    expect(allows(p, "s3:PutBucketPublicAccessBlock", bucket)).toBe(false);
    expect(allows(p, "logs:PutRetentionPolicy", group)).toBe(false);
    expect(allows(p, "logs:DeleteLogGroup", group)).toBe(false);
    expect(allows(p, "kms:ScheduleKeyDeletion", scope.kmsKeyArn)).toBe(false);
  });
});

describe("Auditor", () => {
  const p = auditorPolicy(scope);
  it("reads configuration: flow logs, retention, lifecycle, policies, encryption", () => {
    expect(allows(p, "ec2:DescribeFlowLogs", "*")).toBe(true);
    expect(allows(p, "logs:DescribeLogGroups", "*")).toBe(true);
    expect(allows(p, "s3:GetLifecycleConfiguration", bucket)).toBe(true);
    expect(allows(p, "s3:GetBucketPolicy", bucket)).toBe(true);
    expect(allows(p, "s3:GetEncryptionConfiguration", bucket)).toBe(true);
    expect(allows(p, "kms:GetKeyRotationStatus", scope.kmsKeyArn)).toBe(true);
    expect(allows(p, "iam:GetRolePolicy", "arn:aws:iam::410987654323:role/flowlogs-prod-delivery")).toBe(true);
  });
  it("reads no log data", () => {
    expect(allows(p, "s3:GetObject", object)).toBe(false);
    expect(allows(p, "logs:GetLogEvents", group)).toBe(false);
    expect(allows(p, "logs:StartQuery", group)).toBe(false);
    expect(allows(p, "kms:Decrypt", scope.kmsKeyArn)).toBe(false);
  });
});

describe("every role", () => {
  it('uses "*" only for actions without resource-level permissions, and says so in the Sid', () => {
    for (const p of [securityAnalystPolicy(scope), securityEngineerPolicy(scope), auditorPolicy(scope)]) {
      for (const st of p.Statement.filter((s) => s.Effect === "Allow" && s.Resource === "*")) {
        expect(st.Sid).toMatch(/NoResourceLevel|QueryDefinitions/);
      }
    }
  });
  it("is assumable only by the configured principals, with MFA", () => {
    expect(rbacTrustPolicy(["arn:aws:iam::410987654323:role/SecOps"]).Statement[0]).toEqual({
      Sid: "AssumeWithMfa", Effect: "Allow", Principal: { AWS: ["arn:aws:iam::410987654323:role/SecOps"] }, Action: "sts:AssumeRole",
      Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
    });
    expect(rbacRoleName("prod", "SecurityAnalyst")).toBe("flowlogs-prod-security-analyst");
  });
});
