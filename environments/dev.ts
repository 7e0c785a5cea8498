import type { EnvironmentInput } from "./schema";

// Development: one VPC, everything into CloudWatch for a week, archive kept 90 days.
export default {
  name: "dev",
  account: "210987654321",
  region: "eu-west-1",
  owner: "platform-team",
  tags: { Environment: "dev", CostCenter: "eng-1001", DataClassification: "internal" },
  retention: { cloudwatch: "small", archive: "internal" },
  flowLogs: [
    {
      resource: "vpc",
      id: "vpc-0d3a5e7f9b1c2d4e6",
      trafficType: "ALL",
      aggregationSeconds: 600,
      destinations: ["cloudwatch", "s3"],
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
  ],
  kms: { create: true },
  backend: { type: "local" },
} satisfies EnvironmentInput;
