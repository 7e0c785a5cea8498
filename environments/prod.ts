import type { EnvironmentInput } from "./schema";

// The version-5 fields security operations queries need: addresses behind NAT (pkt-*), the
// direction, the AWS service on either side and the path traffic took out of the VPC.
const PROD_FORMAT = [
  "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
  "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id",
  "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id", "pkt-src-aws-service",
  "pkt-dst-aws-service", "flow-direction", "traffic-path",
];

// Production: customer data, two VPCs (the customer-facing platform and the data platform),
// plus one-minute logging on the bastion's interface. Archive kept a year (personal data).
export default {
  name: "prod",
  account: "410987654323",
  region: "eu-central-1",
  owner: "security-operations",
  tags: { Environment: "prod", CostCenter: "sec-2001", DataClassification: "personal-data" },
  retention: { cloudwatch: "large", archive: "personal-data" },
  flowLogs: [
    {
      resource: "vpc",
      id: "vpc-0b1e3a5c7d9f1b3d5",
      trafficType: "ALL",
      aggregationSeconds: 600,
      destinations: ["cloudwatch", "s3"],
      logFormat: PROD_FORMAT,
      s3: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true },
    },
    {
      resource: "vpc",
      id: "vpc-07f2c4e6a8b0d2f46",
      trafficType: "ALL",
      aggregationSeconds: 600,
      destinations: ["cloudwatch", "s3"],
      logFormat: PROD_FORMAT,
      s3: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true },
    },
    {
      // The bastion's interface, in the customer-facing VPC: its one-minute records go to a log
      // group of their own (/flowlog-kit/prod/detail/eni-0c4d6e8f0a2b4c6d8), so the VPC's
      // records of the same traffic are not counted twice.
      resource: "eni",
      id: "eni-0c4d6e8f0a2b4c6d8",
      vpc: "vpc-0b1e3a5c7d9f1b3d5",
      trafficType: "ALL",
      aggregationSeconds: 60,
      destinations: ["cloudwatch"],
      logFormat: PROD_FORMAT,
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
      // The roles' permissions boundary (rbac.permissionsBoundaryArn) is not in the stack, so
      // access evaluates it as absent and ACC-1 lists every required step it could restrict.
      control: "ACC-1",
      justification: "The permissions boundary arn:aws:iam::410987654323:policy/SecurityBoundary is managed by the platform team and was reviewed against the roles' required actions.",
      compensatingControl: "The access matrix rows listed under ACC-1 (flowlog-kit access prod) are re-reviewed against the boundary at each change of the boundary.",
      approver: "ciso@northwind.example",
      approved: "2026-12-01",
      expires: "2027-05-31",
    },
  ],
  rbac: {
    roles: {
      SecurityAnalyst: { principals: ["arn:aws:iam::410987654323:role/SecOpsAnalysts"] },
      SecurityEngineer: { principals: ["arn:aws:iam::410987654323:role/PlatformSecurity"] },
      Auditor: { principals: ["arn:aws:iam::510987654324:root"] },
    },
    maxSessionHours: 1,
    permissionsBoundaryArn: "arn:aws:iam::410987654323:policy/SecurityBoundary",
  },
  // The SecOps analysts' QuickSight group (identity Region eu-central-1) owns the dashboard over the archive.
  analytics: { quicksight: { principalArn: "arn:aws:quicksight:eu-central-1:410987654323:group/default/SecOpsAnalysts" } },
  kms: { create: true },
  backend: { type: "s3", bucket: "northwind-tfstate-prod", key: "flowlog-kit/prod/terraform.tfstate", region: "eu-central-1", useLockfile: true },
} satisfies EnvironmentInput;
