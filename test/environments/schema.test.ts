import { baseInput, env, validate } from "../support/env";

const problemsOf = (overrides: Record<string, unknown>) => validate(baseInput(overrides)).problems;
const scope = (s: Record<string, unknown>) => ({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"], ...s }] });

describe("environment schema", () => {
  it("accepts a minimal environment and applies each default once", () => {
    const e = env();
    expect(e.retention).toEqual({ cloudwatch: { class: "production", days: 14 }, archive: { class: "internal", days: 90 }, archiveStorage: "queryable" });
    expect(e.flowLogs[0]).toMatchObject({ trafficType: "ALL", aggregationSeconds: 600, s3: { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false } });
    expect(e.flowLogs[0]!.logFormat.isDefault).toBe(true);
    expect(e.kms).toEqual({ create: true });
    expect(e.backend).toEqual({ type: "local" });
    expect(e.archive.bucketName).toBe("flowlogs-test-123456789012-eu-west-1");
    expect(e.stackName).toBe("flowlogs-test");
    expect(e.tags).toEqual({});
  });

  it("freezes the validated environment", () => {
    const e = env();
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.flowLogs[0])).toBe(true);
    expect(() => {
      (e as { name: string }).name = "x";
    }).toThrow(TypeError);
  });

  it("accepts a retention day count that belongs to a class", () => {
    expect(env({ retention: { cloudwatch: 30, archive: 365 } }).retention).toMatchObject({
      cloudwatch: { class: "large", days: 30 },
      archive: { class: "personal-data", days: 365 },
    });
  });

  it("leaves S3 options off a CloudWatch-only scope", () => {
    expect(env(scope({})).flowLogs[0]!.s3).toBeUndefined();
  });

  describe("rejects, naming the field, the value and the fix", () => {
    it.each<[string, Record<string, unknown>, string]>([
      ["an unknown CloudWatch retention class", { retention: { cloudwatch: "forever", archive: "internal" } },
        'test.retention.cloudwatch: unknown CloudWatch retention class (got "forever"). Use one of "small", "production", "large", i.e. 7, 14, 30 days; keep longer history in the S3 archive.'],
      ["a CloudWatch day count outside the policy", { retention: { cloudwatch: 90, archive: "internal" } },
        "test.retention.cloudwatch: is not a CloudWatch retention day count of the policy (got 90). Use one of"],
      ["never-expire in CloudWatch", { retention: { cloudwatch: 0, archive: "internal" } },
        "test.retention.cloudwatch: never-expire is not allowed: CloudWatch Logs is for recent incidents (got 0)."],
      ["an unknown archive class", { retention: { cloudwatch: "small", archive: "gold" } },
        'test.retention.archive: unknown S3 archive retention class (got "gold"). Use one of "internal", "customer-facing", "personal-data", i.e. 90, 180, 365 days.'],
      ["an archive day count outside the policy", { retention: { cloudwatch: "small", archive: 400 } },
        "test.retention.archive: is not an S3 archive retention day count of the policy (got 400)."],
      ["never-expire in the archive", { retention: { cloudwatch: "small", archive: 0 } },
        "test.retention.archive: never-expire is not allowed: audit evidence has a defined retention (got 0)."],
      ["missing retention", { retention: undefined },
        "test.retention: is required (got nothing). Write e.g. { cloudwatch: \"production\", archive: \"internal\" }."],
      ["a malformed account id", { account: "12345" },
        'test.account: is not a 12-digit AWS account id (got "12345"). Write the account id as a string of exactly 12 digits.'],
      ["a numeric account id", { account: 123456789012 },
        "test.account: must be a string (got 123456789012). Quote the 12-digit account id."],
      ["a malformed region", { region: "europe-1" },
        'test.region: is not an AWS region (got "europe-1"). Use a region code such as "eu-west-1"; policies/regions.ts lists every region.'],
      ["an empty owner", { owner: "" }, 'test.owner: is empty (got ""). Name the owning team, e.g. "platform-team".'],
      ["an empty scope list", { flowLogs: [] },
        "test.flowLogs: is empty: the environment logs nothing (got []). Add at least one VPC, subnet or ENI scope."],
      ["a malformed VPC id", scope({ id: "vpc-123" }),
        'test.flowLogs[0].id: is not a VPC, subnet, ENI, transit gateway or attachment id (got "vpc-123"). Use vpc-, subnet-, eni-, tgw- or tgw-attach- followed by 8 or 17 lowercase hex digits.'],
      ["a subnet id on a VPC scope", scope({ id: "subnet-0123456789abcdef0" }),
        'test.flowLogs[0].id: is not a vpc id (got "subnet-0123456789abcdef0"). Use "vpc-" followed by 8 or 17 lowercase hex digits.'],
      ["a malformed subnet id", scope({ resource: "subnet", id: "subnet-XYZ" }),
        'test.flowLogs[0].id: is not a VPC, subnet, ENI, transit gateway or attachment id (got "subnet-XYZ").'],
      ["a malformed ENI id", scope({ resource: "eni", id: "eni-0123456789abcdef" }),
        'test.flowLogs[0].id: is not a VPC, subnet, ENI, transit gateway or attachment id (got "eni-0123456789abcdef").'],
      ["an ENI id on a subnet scope", scope({ resource: "subnet", id: "eni-0123456789abcdef0" }),
        'test.flowLogs[0].id: is not a subnet id (got "eni-0123456789abcdef0"). Use "subnet-" followed by 8 or 17 lowercase hex digits.'],
      ["an unknown scope resource", scope({ resource: "instance" }),
        'test.flowLogs[0].resource: is not a flow-log scope (got "instance"). Use one of "vpc", "subnet", "eni", "transit-gateway", "transit-gateway-attachment".'],
      ["a scope with no destination", scope({ destinations: [] }),
        'test.flowLogs[0].destinations: a scope needs at least one destination (got []). Add "cloudwatch", "s3", "firehose".'],
      ["a duplicated destination", scope({ destinations: ["s3", "s3"] }),
        'test.flowLogs[0].destinations: lists a destination twice (got ["s3","s3"]). List each destination once.'],
      ["an unknown destination", scope({ destinations: ["kinesis"] }),
        'test.flowLogs[0].destinations[0]: is not a destination (got "kinesis"). Use "cloudwatch", "s3", "firehose".'],
      ["parquet options with a CloudWatch destination", scope({ destinations: ["cloudwatch"], s3: { fileFormat: "parquet" } }),
        'test.flowLogs[0].s3: S3 options (parquet) given for a scope without an S3 destination (got {"fileFormat":"parquet"}). Add "s3" to destinations, or remove the s3 options: CloudWatch Logs takes no file format or partitioning.'],
      ["an unknown file format", scope({ destinations: ["s3"], s3: { fileFormat: "csv" } }),
        'test.flowLogs[0].s3.fileFormat: is not a flow-log file format (got "csv"). Use "plain-text" or "parquet".'],
      ["an unknown traffic type", scope({ trafficType: "DENY" }),
        'test.flowLogs[0].trafficType: is not a traffic type (got "DENY"). Use one of "ACCEPT", "REJECT", "ALL".'],
      ["an aggregation interval AWS does not offer", scope({ aggregationSeconds: 300 }),
        "test.flowLogs[0].aggregationSeconds: is not an aggregation interval AWS accepts (got 300). Use 60 or 600."],
      ["an unknown log-format field, with the nearest names", scope({ logFormat: ["srcadr", "dstport"] }),
        'test.flowLogs[0].logFormat: unknown field "srcadr"; did you mean "srcaddr"'],
      ["a transit-gateway-only field on a VPC scope", scope({ logFormat: ["tgw-id"] }),
        'test.flowLogs[0].logFormat: field "tgw-id" exists only in transit gateway flow logs, not for a vpc (got ["tgw-id"]). Use field names from functions/flowlog/fields.ts.'],
      ["a log format that is neither default nor a list", scope({ logFormat: "custom" }),
        'test.flowLogs[0].logFormat: must be "default" or a list of field names (got "custom").'],
      ["a KMS key ARN that is not one", { kms: { keyArn: "arn:aws:s3:::bucket" } },
        'test.kms.keyArn: is not a KMS key ARN (got "arn:aws:s3:::bucket"). Use arn:<partition>:kms:<region>:<account>:key/<key-id> (a UUID, or mrk-<32 hex digits> for a multi-Region key; not an alias), or { create: true }.'],
      ["a KMS setting that is neither form", { kms: { create: false } },
        'test.kms: must be { create: true } or { keyArn: "arn:aws:kms:..." } (got {"create":false}). Create a key for the environment, or give one key ARN.'],
      ["a KMS key in another region", { kms: { keyArn: "arn:aws:kms:us-east-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } },
        "test.kms.keyArn: is not a key of 123456789012 in eu-west-1 (got \"arn:aws:kms:us-east-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b\"). CloudWatch Logs and S3 need a key in the environment's own account and region."],
      ["an S3 backend without a bucket", { backend: { type: "s3", key: "state" } },
        'test.backend.bucket: is required (got nothing). Name the S3 bucket that holds Terraform state.'],
      ["an unknown backend type", { backend: { type: "gcs" } },
        'test.backend.type: must have type "local" or "s3" (got "gcs"). Write { type: "local" } or { type: "s3", bucket: "..." }.'],
      ["a row budget too small for ordinary traffic", { detectors: { thresholds: { rowBudget: 500 } } },
        "test.detectors.thresholds.rowBudget: is too small to hold ordinary traffic (got 500). Use at least 10000 rows (about 3 MB)."],
      ["a row budget beyond the detector's memory", { detectors: { thresholds: { rowBudget: 50_000_000 } } },
        "test.detectors.thresholds.rowBudget: is more than the detector's WebAssembly memory (4 GiB) can hold (got 50000000). Use at most 10000000 rows (about 3 GB), or run flowlog-kit detect on the files in parts."],
      ["an unknown key (a typo)", { retension: {} },
        "test: unknown key (got retension). Remove it or correct the spelling; environments/schema.ts lists the keys."],
      ["a missing scope id", scope({ id: undefined }),
        'test.flowLogs[0].id: is required (got nothing). Write the id as a string, e.g. "vpc-0a1b2c3d4e5f60718".'],
      ["two scopes on one resource to the same destination", { flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"] }, { resource: "vpc", id: "vpc-0123456789abcdef0", trafficType: "REJECT", destinations: ["s3", "cloudwatch"] }] },
        "test.flowLogs[1].id: is already logged to s3 by flowLogs[0] (got \"vpc-0123456789abcdef0\"). Merge the two scopes into one, or send each to a different destination (e.g. REJECT to cloudwatch, ALL to s3)."],
      ["three flow logs on one VPC (AWS allows two)", { flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] }, { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem" } }] },
        "test.flowLogs[1].id: would get 3 flow logs (one per destination, with flowLogs[0]), and AWS allows 2 per VPC, subnet or network interface, a quota it cannot raise (got \"vpc-0123456789abcdef0\"). Drop a destination"],
      ["three destinations on one ENI", { flowLogs: [{ resource: "eni", id: "eni-0123456789abcdef0", destinations: ["cloudwatch", "s3", "firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem" } }] },
        "test.flowLogs[0].destinations: would get 3 flow logs (one per destination), and AWS allows 2 per VPC, subnet or network interface, a quota it cannot raise"],
      ["CloudWatch scopes with different log formats", { flowLogs: [
          { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] },
          { resource: "vpc", id: "vpc-0123456789abcdef1", destinations: ["cloudwatch"], logFormat: ["srcaddr"] }] },
        "test.flowLogs[1].logFormat: differs from the log format of flowLogs[0], and both deliver to the environment's one log group"],
      ["an exception for an unknown control", { exceptions: [{ control: "CW-16", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" }] },
        'test.exceptions[0].control: is not a known control id (got "CW-16"). Use one of "FLOW-1", "RET-1"'],
      ["an exception without an approver", { exceptions: [{ control: "CWL-365", justification: "j", compensatingControl: "c", approved: "2026-10-01", expires: "2027-09-30" }] },
        "test.exceptions[0].approver: is required (got nothing). Name the person or role who approved it."],
      ["an exception with an empty justification", { exceptions: [{ control: "CWL-365", justification: " ", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" }] },
        'test.exceptions[0].justification: is empty: an exception needs a justification (got " ").'],
      ["an exception that expires before it was approved", { exceptions: [{ control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2026-09-01" }] },
        'test.exceptions[0].expires: is not after the approval date 2026-10-01: the exception would be expired when created (got "2026-09-01"). Give an expiry date after the approval date.'],
      ["an exception with a bad date", { exceptions: [{ control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-02-30" }] },
        'test.exceptions[0].expires: is not a date (got "2027-02-30"). Write it as "YYYY-MM-DD", e.g. "2027-03-31".'],
      ["two exceptions for one control", { exceptions: [{ control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" }, { control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" }] },
        'test.exceptions[1].control: already has an exception at exceptions[0] (got "CWL-365"). Keep one exception per control.'],
      ["a principal that is not an ARN", { rbac: { roles: { Auditor: { principals: ["secops-team"] } } } },
        'test.rbac.roles.Auditor.principals[0]: is not an IAM principal ARN (got "secops-team"). Use arn:aws:iam::<account>:role/<name>, :user/<name> or :root.'],
      ["a role nobody can assume", { rbac: { roles: { Auditor: { principals: [] } } } },
        "test.rbac.roles.Auditor.principals: is empty: nobody could assume the role (got []). List at least one principal ARN."],
      ["a session longer than IAM allows", { rbac: { roles: {}, maxSessionHours: 24 } },
        "test.rbac.maxSessionHours: is above IAM's maximum of 12 hours (got 24). Use 1 to 12 hours."],
      ["an unknown RBAC role", { rbac: { roles: { Admin: { principals: ["arn:aws:iam::123456789012:root"] } } } },
        "test.rbac.roles: unknown key (got Admin)."],
      ["a VPC inventory entry that is not a VPC id", { vpcs: ["vpc-zz"] },
        'test.vpcs[0]: is not a VPC id (got "vpc-zz").'],
      ["an alarm threshold of zero", { analytics: { alarms: { rejectedAdminThreshold: 0 } } },
        "test.analytics.alarms.rejectedAdminThreshold: must be greater than zero (got 0). Write a positive number."],
      ["a negative alarm threshold", { analytics: { alarms: { logGapThreshold: -5 } } },
        "test.analytics.alarms.logGapThreshold: must be greater than zero (got -5). Write a positive number."],
      ["an email subscription that is not an address", { analytics: { subscriptions: { email: ["secops"] } } },
        'test.analytics.subscriptions.email[0]: is not an email address (got "secops"). Write an address such as secops@example.com.'],
      ["an HTTPS endpoint that is not https", { analytics: { subscriptions: { https: ["http://hooks.example.com"] } } },
        'test.analytics.subscriptions.https[0]: is not an https:// endpoint (got "http://hooks.example.com"). SNS delivers only to https:// URLs here; write e.g. https://hooks.example.com/flowlogs.'],
      // Values that used to pass synth and the offline plan, and fail only at apply.
      ["a rate of zero", { detectors: { schedule: "rate(0 minutes)" } },
        'test.detectors.schedule: has a rate of zero, which EventBridge refuses (got "rate(0 minutes)"). Write a positive whole number, e.g. "rate(15 minutes)".'],
      ["a cron whose six fields are letters", { detectors: { schedule: "cron(a b c d e f)" } },
        'test.detectors.schedule: has fields EventBridge does not accept: minutes "a" (not in 0-59), hours "b" (not in 0-23), day-of-month "c" (not in 1-31), month "d" (not in 1-12 or JAN-DEC), day-of-week "e" (not in 1-7 or SUN-SAT), year "f" (not in 1970-2199) (got "cron(a b c d e f)"). Write each field as'],
      ["60 environment tags", { tags: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`Tag${i}`, "x"])) },
        "test.tags: has 60 tags; with the kit's own (up to 7 on one resource) a resource would carry 67, over AWS's limit of 50 (got 60 tags). Keep at most 43 tags here."],
      ["44 environment tags, one over once the kit's own are counted", { tags: Object.fromEntries(Array.from({ length: 44 }, (_, i) => [`Tag${i}`, "x"])) },
        "test.tags: has 44 tags; with the kit's own (up to 7 on one resource) a resource would carry 51, over AWS's limit of 50 (got 44 tags). Keep at most 43 tags here."],
      ["an aws: tag key", { tags: { "aws:team": "x" } },
        'test.tags["aws:team"]: is a tag key with the "aws:" prefix, which AWS keeps for its own tags (got "aws:team"). Choose a key without "aws:" (in any letter case).'],
      ["an AWS: tag key in capitals", { tags: { "AWS:Team": "x" } },
        'test.tags["AWS:Team"]: is a tag key with the "aws:" prefix, which AWS keeps for its own tags (got "AWS:Team").'],
      ["an aws: tag value", { tags: { Team: "aws:sec" } },
        'test.tags.Team: is a tag value with the "aws:" prefix, which AWS keeps for its own tags (got "aws:sec"). Write the value without "aws:" (in any letter case).'],
      ["a tag key of 129 characters", { tags: { ["k".repeat(129)]: "x" } },
        "test.tags[\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\"]: is a tag key of 129 characters, over AWS's 128 (got \"kkkk"],
      ["a tag value of 257 characters", { tags: { Team: "v".repeat(257) } },
        "test.tags.Team: is a tag value of 257 characters, over AWS's 256 (got \"vvvv"],
      ["tag characters AWS refuses", { tags: { "Cost#Center": "a!b" } },
        'test.tags["Cost#Center"]: is a tag key with characters AWS does not allow: "#" (got "Cost#Center"). Use letters, digits, spaces and _ . : / = + - @.\ntest.tags["Cost#Center"]: is a tag value with characters AWS does not allow: "!" (got "a!b").'],
      ["an empty tag key", { tags: { "": "x" } }, 'test.tags[""]: is an empty tag key (got ""). Give the tag a key of 1 to 128 characters.'],
      ["an Owner tag, which owner would overwrite", { tags: { Owner: "x" } },
        'test.tags.Owner: is a tag the kit sets itself, so this value would be overwritten (got "Owner"). Remove it: the Owner tag comes from owner.'],
      ["a tag the kit sets on incident stacks", { tags: { Ticket: "x" } },
        'test.tags.Ticket: is a tag the kit sets itself, so this value would be overwritten (got "Ticket"). Remove it or choose another key; the kit sets "Owner", "ManagedBy", "Incident", "Ticket", "Reason", "Expires", "Name", "FlowlogKitRole".'],
      ["a kit tag in other letter case", { tags: { managedby: "me" } },
        'test.tags.managedby: differs from the kit\'s own "ManagedBy" tag only in letter case, which IAM does not tell apart (got "managedby").'],
      ["two tags that differ only in letter case", { tags: { CostCenter: "1", costcenter: "2" } },
        'test.tags.costcenter: differs from the tag "CostCenter" only in letter case, which IAM does not tell apart (got "costcenter"). Keep one spelling.'],
      ["a tag value that is not a string", { tags: { Team: 5 } }, 'test.tags.Team: must be a string (got 5). Quote the tag value, e.g. "1234".'],
      ["a 5,000-character owner, which becomes the Owner tag", { owner: "o".repeat(5000) },
        'test.owner: is 5000 characters; it becomes the Owner tag, whose value AWS limits to 256 (got "oooo'],
      ["a blank owner", { owner: "   " }, 'test.owner: is empty (got "   "). Name the owning team, e.g. "platform-team".'],
      ["an owner with characters a tag value cannot hold", { owner: "team <sec>" },
        'test.owner: has characters AWS does not allow in a tag value (it becomes the Owner tag): "<", ">" (got "team <sec>"). Use letters, digits, spaces and _ . : / = + - @.'],
      ["an owner with the aws: prefix", { owner: "aws:sec" },
        'test.owner: starts with "aws:", which AWS keeps for its own tags (it becomes the Owner tag) (got "aws:sec"). Name the owning team, e.g. "platform-team", without "aws:".'],
      ["a region that does not exist, with the nearest codes", { region: "eu-west-9" },
        'test.region: is not an AWS region (got "eu-west-9"). Use "eu-west-1", "eu-west-2" or "eu-west-3", the nearest region codes; policies/regions.ts lists every region.'],
      ["a region code in capitals", { region: "EU-WEST-1" },
        'test.region: is not an AWS region (got "EU-WEST-1"). Use "eu-west-1", the nearest region code; policies/regions.ts lists every region.'],
      ["a region the pinned provider does not know", { region: "ap-southeast-6" },
        'test.region: is Asia Pacific (New Zealand), which the pinned AWS provider (hashicorp/aws 5.100.0) does not know: terraform plan would stop with "invalid AWS Region" (got "ap-southeast-6"). Use another region until the kit moves to a provider that knows it (policies/regions.ts).'],
      ["a backend region that does not exist", { backend: { type: "s3", bucket: "state-bucket", region: "us-east-3" } },
        'test.backend.region: is not an AWS region (got "us-east-3"). Use "us-east-1" or "us-east-2", the nearest region codes;'],
      ["a multi-Region key ARN with a short id", { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123" } },
        'test.kms.keyArn: is not a KMS key ARN (got "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123").'],
      ["a key alias instead of a key ARN", { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:alias/flowlogs" } },
        'test.kms.keyArn: is not a KMS key ARN (got "arn:aws:kms:eu-west-1:123456789012:alias/flowlogs"). Use arn:<partition>:kms:<region>:<account>:key/<key-id> (a UUID, or mrk-<32 hex digits> for a multi-Region key; not an alias), or { create: true }.'],
      ["a key ARN of the wrong partition", { region: "cn-north-1", kms: { keyArn: "arn:aws:kms:cn-north-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } },
        'test.kms.keyArn: is an ARN of the "aws" partition, but cn-north-1 is in "aws-cn" (got "arn:aws:kms:cn-north-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"). Write it as arn:aws-cn:kms:cn-north-1:123456789012:key/<key-id>.'],
      // zod's own texts used to leak here.
      ["an empty S3 backend key", { backend: { type: "s3", bucket: "state-bucket", key: "" } },
        'test.backend.key: is empty (got ""). Write the state object\'s key, e.g. "flowlog-kit/prod/terraform.tfstate", or leave key out for the default.'],
      ["an S3 backend key with a leading slash", { backend: { type: "s3", bucket: "state-bucket", key: "/state.tfstate" } },
        'test.backend.key: starts or ends with "/" or holds "//", which Terraform\'s S3 backend refuses (got "/state.tfstate").'],
      ["an S3 backend key longer than S3 allows", { backend: { type: "s3", bucket: "state-bucket", key: "k".repeat(1025) } },
        "test.backend.key: is longer than S3's 1024-byte object key (got \"kkkk"],
      ["an S3 backend key that is not a string", { backend: { type: "s3", bucket: "state-bucket", key: 5 } },
        'test.backend.key: must be a string (got 5). Write the state object\'s key, e.g. "flowlog-kit/prod/terraform.tfstate".'],
      ["a local state path that is not a string", { backend: { type: "local", path: 5 } },
        'test.backend.path: must be a string (got 5). Write a path such as "../../../terraform.tfstate", or leave path out for the default.'],
      ["a backend lock setting that is not a boolean", { backend: { type: "s3", bucket: "state-bucket", useLockfile: "yes" } },
        'test.backend.useLockfile: must be true or false (got "yes"). Write true or false.'],
      ["an empty local state path", { backend: { type: "local", path: " " } },
        'test.backend.path: is empty (got " "). Write a path, or leave path out for the default next to the project.'],
      ["a session of 13.5 hours", { rbac: { roles: {}, maxSessionHours: 13.5 } },
        "test.rbac.maxSessionHours: must be a whole number of hours (got 13.5). Use 1 to 12 hours; IAM sessions last whole hours here."],
      ["a session length in quotes", { rbac: { roles: {}, maxSessionHours: "1" } },
        'test.rbac.maxSessionHours: must be a number of hours (got "1"). Use 1 to 12 hours.'],
      ["RBAC roles given as a list", { rbac: { roles: [] } },
        'test.rbac.roles: must map role names to who may assume them (got []). Write e.g. { Auditor: { principals: ["arn:aws:iam::123456789012:role/SecOps"] } }, with roles "SecurityAnalyst", "SecurityEngineer", "Auditor".'],
      ["a negative port", { detectors: { thresholds: { sensitivePorts: [-1] } } },
        "test.detectors.thresholds.sensitivePorts[0]: is not a valid port (got -1). Use whole numbers from 0 to 65535."],
      ["a window of half a second", { detectors: { thresholds: { windowSeconds: 0.5 } } },
        "test.detectors.thresholds.windowSeconds: must be a whole number of seconds (got 0.5). Write a positive whole number."],
      ["a negative fractional window, reported once", { detectors: { thresholds: { windowSeconds: -0.5 } } },
        "test.detectors.thresholds.windowSeconds: must be greater than zero (got -0.5). Write a positive number."],
      ["a port that is not a whole number", { detectors: { thresholds: { sensitivePorts: [22.5] } } },
        "test.detectors.thresholds.sensitivePorts[0]: is not a whole number, so not a port (got 22.5). Use whole numbers from 0 to 65535."],
      ["a port that is a string", { detectors: { thresholds: { sensitivePorts: ["22"] } } },
        'test.detectors.thresholds.sensitivePorts[0]: must be a number (got "22"). Use whole numbers from 0 to 65535.'],
      ["a threshold of NaN", { detectors: { thresholds: { exfiltrationBytes: NaN } } },
        "test.detectors.thresholds.exfiltrationBytes: must be a number of bytes (got NaN). Write a positive number."],
      ["an unknown key inside retention, named rather than hidden by the object's own message", { retention: { cloudwatch: "small", archive: "internal", s3: 90 } },
        "test.retention: unknown key (got s3). Remove it or correct the spelling; environments/schema.ts lists the keys."],
      ["an invalid environment name", { name: "Prod_1" },
        'test.ts (name "Prod_1").name: is not a valid environment name (got "Prod_1"). Use 2-20 lowercase letters, digits and hyphens, starting with a letter.'],
    ])("%s", (_title, overrides, expected) => {
      expect(problemsOf(overrides).join("\n")).toContain(expected);
    });
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({ account: "1", region: "mars-1", retention: { cloudwatch: 0, archive: 12 }, flowLogs: [] });
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(":")[0])).toEqual([
      "test.account",
      "test.region",
      "test.retention.cloudwatch",
      "test.retention.archive",
      "test.flowLogs",
    ]);
  });
});

describe("detectors.thresholds.allowedSources", () => {
  const sources = (allowedSources: unknown) => ({ detectors: { thresholds: { allowedSources } } });
  const NOT_AN_ADDRESS = 'is not an IPv4 or IPv6 address (got "%s"). Write one address, e.g. "10.0.0.10" or "2600:1f18::10", with each IPv4 part from 0 to 255 and no leading zeros.';

  it.each([
    ["an IPv4 part above 255", "10.0.0.999"],
    ["every IPv4 part above 255", "999.999.999.999"],
    ["a leading zero, octal to some tools and decimal to others", "010.0.0.5"],
    ["too few IPv4 parts", "10.0.5"],
    ["an IPv6 address with two ::", "2600::1f18::10"],
    ["a host name", "bastion.internal"],
    ["an empty string", ""],
  ])("refuses %s, naming the entry", (_title, value) => {
    expect(problemsOf(sources(["10.0.0.4", value]))).toEqual([`test.detectors.thresholds.allowedSources[1]: ${NOT_AN_ADDRESS.replace("%s", value)}`]);
  });

  it("refuses a CIDR, which the detector's address-by-address match would never hit", () => {
    expect(problemsOf(sources(["10.0.0.0/24"]))).toEqual([
      'test.detectors.thresholds.allowedSources[0]: is a CIDR, but the detector matches allowed sources address by address (got "10.0.0.0/24"). List each address, e.g. "10.0.0.10"; for a range, use detectors.suppress with sources and a reason.',
    ]);
  });

  it("refuses what is not a list of strings, in the usual form", () => {
    expect(problemsOf(sources("10.0.0.4"))).toEqual(['test.detectors.thresholds.allowedSources: must be a list of IP addresses (got "10.0.0.4"). Write e.g. ["10.0.0.10"].']);
    expect(problemsOf(sources([5]))).toEqual(['test.detectors.thresholds.allowedSources[0]: must be an IP address (got 5). Write e.g. "10.0.0.10".']);
  });

  it("accepts IPv4 and IPv6 addresses and hands them to the detector as written", () => {
    const list = ["10.0.0.4", "0.0.0.0", "255.255.255.255", "2600:1f18:6a3:e100::10", "::1", "::ffff:10.0.0.4"];
    expect(env(sources(list)).detectors.thresholds.allowedSources).toEqual(list);
  });
});
