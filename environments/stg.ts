import type { EnvironmentInput } from "./schema";

// Staging: mirrors production's shape at lower cost. The key is managed by the central
// security account's pipeline, so the kit uses it instead of creating one.
export default {
  name: "stg",
  account: "310987654322",
  region: "eu-west-1",
  owner: "platform-team",
  tags: { Environment: "stg", CostCenter: "eng-1001", DataClassification: "internal" },
  retention: { cloudwatch: "production", archive: "internal" },
  flowLogs: [
    {
      resource: "vpc",
      id: "vpc-04c6e8a0b2d4f6a81",
      trafficType: "ALL",
      aggregationSeconds: 600,
      destinations: ["cloudwatch", "s3"],
      s3: { fileFormat: "plain-text", hiveCompatiblePartitions: true, perHourPartition: false },
    },
    {
      // The payments subnet is reviewed weekly for denied traffic. It lies inside the VPC above,
      // which already logs it to CloudWatch: its one-minute REJECT records go to a log group of
      // their own (/flowlog-kit/stg/detail/subnet-0a7b9c1d3e5f7a9b2), not counted twice.
      resource: "subnet",
      id: "subnet-0a7b9c1d3e5f7a9b2",
      vpc: "vpc-04c6e8a0b2d4f6a81",
      trafficType: "REJECT",
      aggregationSeconds: 60,
      destinations: ["cloudwatch"],
    },
  ],
  exceptions: [
    {
      control: "CWL-365",
      justification: "CloudWatch Logs is for recent incidents; keeping flow logs a year there costs far more than the archive and adds nothing the archive does not hold.",
      compensatingControl: "The S3 archive keeps every flow log for the archive retention class (SSE-KMS, versioned, TLS-only), queryable with Athena.",
      approver: "ciso@northwind.example",
      approved: "2026-10-01",
      expires: "2027-09-30",
    },
    {
      control: "KMS-1",
      justification: "Staging uses the key of the central security account's pipeline; this stack cannot see its rotation setting.",
      compensatingControl: "The central security account enforces rotation on every key it issues (Security Hub KMS.4 in that account).",
      approver: "security-architecture@northwind.example",
      approved: "2026-10-01",
      expires: "2027-03-31",
    },
    {
      // `flowlog-kit access stg` lists the rows this covers: every use of the given key.
      control: "ACC-1",
      justification: "The given key's policy is managed by the central security account's pipeline, outside this stack: the analyst's, detector's, alarms' and CloudWatch Logs' uses of the key cannot be verified here.",
      compensatingControl: "The pipeline's key policy delegates to this account's IAM policies and grants CloudWatch Logs and CloudWatch alarms; reviewed against flowlog-kit access stg at each key policy change.",
      approver: "security-architecture@northwind.example",
      approved: "2026-12-05",
      expires: "2027-03-31",
    },
    {
      control: "ACC-3",
      justification: "The given key's policy is managed by the central security account's pipeline, outside this stack: log delivery's and CloudWatch Logs' data-key requests cannot be verified here.",
      compensatingControl: "The pipeline's key policy grants delivery.logs.amazonaws.com and logs.eu-west-1.amazonaws.com for this account (confused-deputy conditions); reviewed against flowlog-kit access stg at each key policy change.",
      approver: "security-architecture@northwind.example",
      approved: "2026-12-05",
      expires: "2027-03-31",
    },
  ],
  rbac: {
    roles: {
      SecurityAnalyst: { principals: ["arn:aws:iam::310987654322:role/SecOpsAnalysts"] },
      SecurityEngineer: { principals: ["arn:aws:iam::310987654322:role/PlatformSecurity"] },
    },
    maxSessionHours: 4,
  },
  // The staging account has one VPC; the payments subnet above lives in it.
  vpcs: ["vpc-04c6e8a0b2d4f6a81"],
  kms: { keyArn: "arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" },
  backend: { type: "s3", bucket: "northwind-tfstate-stg", key: "flowlog-kit/stg/terraform.tfstate", region: "eu-west-1", useLockfile: true },
} satisfies EnvironmentInput;
