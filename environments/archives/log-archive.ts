import type { ArchiveInput } from "./schema";

// The central archive in Northwind's security log-archive account, which workload admins cannot
// reach: one bucket for the flow logs of the accounts that hold personal data, WORM for a year.
// No environment delivers here yet. prod (personal-data, 365 days) could, with
// archive: { central: "log-archive" }; the move is the data protection officer's decision,
// because in COMPLIANCE mode no one, root included, can erase a delivered log before its year
// is over, and prod's own archive must keep its evidence until that has expired.
export default {
  name: "log-archive",
  account: "610987654325",
  region: "eu-central-1",
  owner: "security-operations",
  tags: { CostCenter: "sec-2001", DataClassification: "personal-data" },
  retention: "personal-data",
  objectLock: { mode: "COMPLIANCE" },
  sourceAccounts: ["410987654323"],
  kms: { create: true },
  backend: { type: "s3", bucket: "northwind-tfstate-log-archive", key: "flowlog-kit/log-archive/terraform.tfstate", region: "eu-central-1", useLockfile: true },
} satisfies ArchiveInput;
