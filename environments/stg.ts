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
      // The payments subnet is reviewed weekly for denied traffic.
      resource: "subnet",
      id: "subnet-0a7b9c1d3e5f7a9b2",
      trafficType: "REJECT",
      aggregationSeconds: 60,
      destinations: ["cloudwatch"],
    },
  ],
  kms: { keyArn: "arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" },
  backend: { type: "s3", bucket: "northwind-tfstate-stg", key: "flowlog-kit/stg/terraform.tfstate", region: "eu-west-1", useLockfile: true },
} satisfies EnvironmentInput;
