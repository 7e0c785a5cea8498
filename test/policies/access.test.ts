import * as fs from "fs";
import * as path from "path";
import { synthesize } from "../../bin/synth";
import { loadEnvironments } from "../../environments";
import type { IncidentRecord } from "../../environments/incidents/schema";
import { accessJson, environmentAccess, evaluateAccessControls, EvaluatedRow, NamedStack, rowProblem, stackAccess, stackAccount } from "../../policies/access";
import type { ControlException } from "../../policies/controls";
import type { StackJson } from "../../policies/controls/stack";
import { Testing } from "cdktf";
import { ArchiveStack } from "../../stacks/archive-stack";
import { EnvironmentStack } from "../../stacks/environment-stack";
import type { Environment } from "../../environments/schema";
import { archive, centralEnv, env, tempDir } from "../support/env";

type Mutable = { resource: Record<string, Record<string, Record<string, unknown>>> };
interface Doc {
  Statement: { Sid?: string; Effect: string; Action: string | string[]; Resource?: string | string[] }[];
}

// One synth for the whole file: the three examples and an open incident in prod.
const out = path.join(tempDir("access"), "cdktf.out");
const incident: IncidentRecord = {
  id: "sec-1",
  environment: "prod",
  enis: ["eni-0c4d6e8f0a2b4c6d8"],
  reason: "suspected exfiltration",
  ticket: "SEC-1",
  openedAt: "2026-12-05T10:00:00.000Z",
  expiresAt: "2026-12-08T10:00:00.000Z",
  status: "open",
} as IncidentRecord;
const envs = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
synthesize({ outdir: out, all: envs, envNames: ["dev", "prod", "stg"], incidents: [incident] });
const read = (name: string): NamedStack => ({ name, json: JSON.parse(fs.readFileSync(path.join(out, "stacks", name, "cdk.tf.json"), "utf8")) as StackJson });
const copy = (s: NamedStack): NamedStack & { json: Mutable } => ({ name: s.name, json: JSON.parse(JSON.stringify(s.json)) as Mutable });
const stacks = { dev: read("flowlogs-dev"), prod: read("flowlogs-prod"), stg: read("flowlogs-stg"), incident: read("flowlogs-prod-incident-sec-1") };
const rows = {
  dev: environmentAccess("dev", stacks.dev),
  prod: environmentAccess("prod", stacks.prod, [stacks.incident]),
  stg: environmentAccess("stg", stacks.stg),
};
const TODAY = "2026-12-05";
const control = (r: readonly EvaluatedRow[], id: string, exceptions: ControlException[] = []) => evaluateAccessControls(r, exceptions, TODAY).find((c) => c.id === id)!;
const find = (r: readonly EvaluatedRow[], principal: string, task: string, action: string) => r.filter((x) => x.principal === principal && x.task === task && x.action === action);

/** The policy attribute of the one resource of `type` whose name starts with `prefix`. */
function policyOf(s: Mutable, type: string, prefix: string, attribute = "policy"): { doc: Doc; save: () => void } {
  const [, values] = Object.entries(s.resource[type]!).find(([name]) => name.startsWith(prefix))!;
  const doc = JSON.parse(values[attribute] as string) as Doc;
  return { doc, save: () => (values[attribute] = JSON.stringify(doc)) };
}

describe("access: every stack of the examples does its jobs", () => {
  it.each(["dev", "prod", "stg"] as const)("%s: no required step is denied and no forbidden step is allowed", (env) => {
    const failing = rows[env].filter((r) => r.outcome === "fail");
    expect(failing.map(rowProblem)).toEqual([]);
    expect(rows[env].length).toBeGreaterThan(30);
  });

  it("evaluates prod's incident stack with the environment stack as companion: its roles, archive and key are known", () => {
    const mine = rows.prod.filter((r) => r.stack === "flowlogs-prod-incident-sec-1");
    expect(mine.filter((r) => r.outcome !== "ok")).toEqual([]);
    expect(mine.every((r) => r.task.endsWith("(incident sec-1)"))).toBe(true);
    expect(find(mine, "flowlogs-prod-security-engineer", "create an ENI flow log to CloudWatch Logs (incident sec-1)", "iam:PassRole")).toEqual([
      expect.objectContaining({ resource: "arn:aws:iam::410987654323:role/flowlogs-prod-inc-sec-1", decision: "allow", statement: "PassDeliveryRoles" }),
    ]);
    const put = mine.find((r) => r.principal === "delivery.logs.amazonaws.com" && r.action === "s3:PutObject" && r.required)!;
    expect(put.resource).toMatch(/^arn:aws:s3:::flowlogs-prod-410987654323-eu-central-1\/incidents\/sec-1\/AWSLogs\/410987654323\/vpcflowlogs\//);
    expect(put).toMatchObject({ decision: "allow", statement: "AWSLogDeliveryWrite" });
  });

  it("leaves unverified only what stg's given key decides, with what to check", () => {
    expect([...rows.dev, ...rows.prod].filter((r) => r.decision === "unverified")).toEqual([]);
    const unverified = rows.stg.filter((r) => r.decision === "unverified");
    expect(unverified.length).toBeGreaterThan(0);
    const key = "arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    for (const r of unverified) {
      expect(r.resource).toBe(key);
      expect(r.note).toContain(`key policy of ${key} is not known here: check that it allows`);
    }
    expect(new Set(unverified.map((r) => r.control))).toEqual(new Set(["ACC-1", "ACC-3"]));
    // An unverified row never reads as a deny: it names what decided it so far, or what is not known.
    expect(unverified.filter((r) => r.statement === "implicit deny")).toEqual([]);
    const decrypt = unverified.filter((r) => r.principal === "logs.eu-west-1.amazonaws.com" && r.action === "kms:Decrypt");
    expect(decrypt.length).toBeGreaterThan(0);
    for (const r of decrypt) expect(r.statement).toBe(`undecided: key policy of ${key} not known`);
  });

  it("notes prod's permissions boundary, which the stack only references, on every row of its roles", () => {
    const roleRows = rows.prod.filter((r) => /^flowlogs-prod-(security-analyst|security-engineer|auditor)$/.test(r.principal) && r.decision === "allow");
    expect(roleRows.length).toBeGreaterThan(20);
    for (const r of roleRows) expect(r.note).toContain("permissions boundary arn:aws:iam::410987654323:policy/SecurityBoundary is referenced but not known here: evaluated as absent");
    for (const r of roleRows) expect(r.boundary).toBe("arn:aws:iam::410987654323:policy/SecurityBoundary");
    expect(rows.dev.some((r) => r.boundary)).toBe(false);
  });
});

describe("access: the tasks", () => {
  it("SecurityAnalyst runs an Athena query end to end: workgroup, catalog, archive, results and both keys", () => {
    const athena = rows.prod.filter((r) => r.task === "run an Athena query end to end");
    expect(athena.every((r) => r.decision === "allow")).toBe(true);
    const actions = new Set(athena.map((r) => r.action));
    for (const a of ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "kms:Decrypt", "kms:GenerateDataKey"]) {
      expect(actions).toContain(a);
    }
    expect(athena.find((r) => r.action === "s3:PutObject")).toMatchObject({ resource: expect.stringMatching(/^arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1\/results\//), statement: "WriteAndReadQueryResults" });
    // The archive object read is the one delivery writes, under the table's parquet/ location.
    expect(athena.find((r) => r.action === "s3:GetObject" && r.statement === "ReadArchive")!.resource).toMatch(/^arn:aws:s3:::flowlogs-prod-410987654323-eu-central-1\/parquet\/AWSLogs\/aws-account-id=410987654323\/.*\.log\.parquet$/);
  });

  it("SecurityAnalyst runs Logs Insights on every flow-log group, which CloudWatch Logs decrypts with the group's key", () => {
    const groups = rows.prod.filter((r) => r.stack === "flowlogs-prod" && r.action === "logs:StartQuery" && r.principal === "flowlogs-prod-security-analyst");
    expect(groups.map((r) => r.resource).sort()).toEqual(["arn:aws:logs:eu-central-1:410987654323:log-group:/flowlog-kit/prod/detail/eni-0c4d6e8f0a2b4c6d8", "arn:aws:logs:eu-central-1:410987654323:log-group:/flowlog-kit/prod/vpc-flow-logs"]);
    expect(find(rows.prod, "logs.eu-central-1.amazonaws.com", "run a Logs Insights query on /flowlog-kit/prod/vpc-flow-logs", "kms:Decrypt")).toEqual([expect.objectContaining({ decision: "allow", statement: "CloudWatchLogsUsesKeyForThisAccountsLogGroups" })]);
  });

  it("SecurityAnalyst deletes nothing", () => {
    const deletes = rows.prod.filter((r) => r.principal === "flowlogs-prod-security-analyst" && !r.required);
    expect(new Set(deletes.map((r) => r.action))).toEqual(new Set(["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "logs:DeleteLogGroup", "logs:DeleteLogStream", "ec2:DeleteFlowLogs", "glue:DeleteTable"]));
    expect(deletes.every((r) => r.decision === "deny" && r.outcome === "ok")).toBe(true);
  });

  it("SecurityEngineer creates and deletes flow logs of each destination kind and tunes the detector", () => {
    const tasks = [...new Set(rows.prod.filter((r) => r.principal === "flowlogs-prod-security-engineer" && r.required && r.stack === "flowlogs-prod").map((r) => r.task))];
    expect(tasks).toEqual([
      "create an ENI flow log to CloudWatch Logs",
      "delete an ENI flow log to CloudWatch Logs",
      "create a VPC flow log to CloudWatch Logs",
      "delete a VPC flow log to CloudWatch Logs",
      "create a VPC flow log to S3",
      "delete a VPC flow log to S3",
      "tune the detector",
    ]);
    expect(find(rows.prod, "flowlogs-prod-security-engineer", "create a VPC flow log to S3", "logs:CreateLogDelivery")).toEqual([expect.objectContaining({ decision: "allow", statement: "S3FlowLogDeliveriesNoResourceLevel" })]);
    expect(find(rows.prod, "flowlogs-prod-security-engineer", "tune the detector", "lambda:UpdateFunctionConfiguration")).toEqual([expect.objectContaining({ decision: "allow", statement: "TuneDetector" })]);
  });

  it("SecurityEngineer cannot delete archive objects, lower retention, remove the archive's protections or disable its key", () => {
    const forbidden = rows.prod.filter((r) => r.principal === "flowlogs-prod-security-engineer" && !r.required && r.stack === "flowlogs-prod");
    const by = (action: string) => forbidden.find((r) => r.action === action)!;
    expect(by("s3:DeleteObject")).toMatchObject({ decision: "deny", statement: "NeverDeleteEvidenceOrWeakenTheArchive" });
    expect(by("logs:PutRetentionPolicy")).toMatchObject({ decision: "deny", statement: "NeverLowerRetention" });
    for (const a of ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock"]) {
      expect(by(a)).toMatchObject({ decision: "deny", statement: "NeverDeleteEvidenceOrWeakenTheArchive" });
    }
    expect(by("kms:ScheduleKeyDeletion")).toMatchObject({ decision: "deny", statement: "NeverDisableTheKey" });
  });

  it("Auditor reads configuration and no log data", () => {
    const auditor = rows.prod.filter((r) => r.principal === "flowlogs-prod-auditor");
    expect(auditor.filter((r) => r.required).every((r) => r.decision === "allow")).toBe(true);
    const data = auditor.filter((r) => !r.required);
    expect(new Set(data.map((r) => r.action))).toEqual(new Set(["logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "s3:GetObject", "kms:Decrypt"]));
    expect(data.every((r) => r.decision === "deny" && r.statement === "NoLogData")).toBe(true);
  });

  it("AWS writes every delivery path: one write per S3 flow log, the role's requests per CloudWatch flow log", () => {
    const delivery = rows.prod.filter((r) => r.control === "ACC-3" && r.stack === "flowlogs-prod");
    expect(delivery.every((r) => r.decision === "allow")).toBe(true);
    expect(delivery.filter((r) => r.action === "s3:PutObject").map((r) => r.statement)).toEqual(["AWSLogDeliveryWrite", "AWSLogDeliveryWrite"]);
    expect(delivery.filter((r) => r.action === "logs:PutLogEvents").map((r) => r.principal)).toEqual(["flowlogs-prod-delivery", "flowlogs-prod-delivery", "flowlogs-prod-delivery"]);
    expect(delivery.filter((r) => r.action === "logs:DescribeLogGroups").map((r) => r.statement)).toEqual(["FindLogGroupsNoResourceLevel", "FindLogGroupsNoResourceLevel", "FindLogGroupsNoResourceLevel"]);
  });

  it("the detector reads its group and new archive objects, imports findings and publishes; the alarms publish through the topic's policy", () => {
    const detector = rows.stg.filter((r) => r.principal === "flowlogs-stg-detector" && !r.action.startsWith("kms:") && r.task !== "run its rules as Athena queries over the archive");
    expect(detector.map((r) => [r.task, r.action, r.decision, r.statement])).toEqual([
      ["query /flowlog-kit/stg/vpc-flow-logs with Logs Insights", "logs:StartQuery", "allow", "StartQueriesOnTheFlowLogGroup"],
      ["query /flowlog-kit/stg/vpc-flow-logs with Logs Insights", "logs:GetQueryResults", "allow", "ReadQueryResultsNoResourceLevel"],
      ["query /flowlog-kit/stg/vpc-flow-logs with Logs Insights", "logs:StopQuery", "allow", "ReadQueryResultsNoResourceLevel"],
      ["read new archive objects", "s3:GetObject", "allow", "ReadArchiveObjects"],
      ["store its findings for Athena", "s3:PutObject", "allow", "StoreFindingsForAthena"],
      ["keep its ledger of findings published to SNS", "s3:PutObject", "allow", "KeepThePublishLedger"],
      ["keep its ledger of findings published to SNS", "s3:GetObject", "allow", "KeepThePublishLedger"],
      ["write outside its ledger's folder of the results bucket", "s3:PutObject", "deny", "implicit deny"],
      ["continue a long run in a new invocation of itself", "lambda:InvokeFunction", "allow", "ContinueInANewInvocation"],
      ["import findings into Security Hub", "securityhub:BatchImportFindings", "allow", "ImportFindings"],
      ["publish findings", "sns:Publish", "allow", "PublishFindings"],
      ["keep failed runs in its dead-letter queue", "sqs:SendMessage", "allow", "DeadLetters"],
      ["write its own logs", "logs:CreateLogStream", "allow", "OwnLogs"],
      ["write its own logs", "logs:PutLogEvents", "allow", "OwnLogs"],
    ]);
    expect(find(rows.stg, "events.amazonaws.com", "run on its schedule", "lambda:InvokeFunction")[0]).toMatchObject({ decision: "allow", statement: "AllowEventBridgeSchedule" });
    const alarms = rows.dev.filter((r) => r.principal === "cloudwatch.amazonaws.com" && r.action === "sns:Publish");
    expect(alarms.length).toBeGreaterThan(2);
    expect(alarms.every((r) => r.decision === "allow" && r.statement === "CloudWatchAlarmsPublish")).toBe(true);
  });

  it("the analyst reads the findings the detector stores for Athena (dev has no RBAC roles)", () => {
    for (const name of ["prod", "stg"] as const) {
      const steps = rows[name].filter((r) => r.principal === `flowlogs-${name}-security-analyst` && r.task === "read the detector's stored findings with Athena");
      expect(steps.map((r) => r.action)).toEqual(expect.arrayContaining(["s3:GetObject"]));
      expect(steps.filter((r) => r.decision !== "allow" && r.outcome !== "review").map(rowProblem)).toEqual([]);
      expect(steps.find((r) => r.action === "s3:GetObject")).toMatchObject({ statement: "ReadStoredFindings" });
    }
  });

  it("the detector runs its rules on Athena end to end: workgroup, catalog, archive, results and the key, without GetQueryResults", () => {
    for (const name of ["dev", "prod", "stg"] as const) {
      const athena = rows[name].filter((r) => r.principal === `flowlogs-${name}-detector` && r.task === "run its rules as Athena queries over the archive");
      expect(athena.length).toBeGreaterThan(10);
      expect(athena.filter((r) => r.decision !== "allow" && r.outcome !== "review").map(rowProblem)).toEqual([]);
      expect([...new Set(athena.map((r) => r.action))].sort()).toEqual(
        ["athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution", "glue:GetDatabase", "glue:GetPartitions", "glue:GetTable", "kms:Decrypt", "kms:GenerateDataKey", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListMultipartUploadParts", "s3:PutObject"].filter((a) => athena.some((r) => r.action === a)),
      );
      expect(athena.map((r) => r.action)).toEqual(expect.arrayContaining(["athena:StartQueryExecution", "glue:GetTable", "s3:PutObject", "s3:GetObject"]));
      expect(athena.map((r) => r.action)).not.toContain("athena:GetQueryResults");
    }
    const prod = rows.prod.filter((r) => r.principal === "flowlogs-prod-detector" && r.task === "run its rules as Athena queries over the archive");
    expect(prod.find((r) => r.action === "s3:PutObject")).toMatchObject({ resource: expect.stringMatching(/^arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1\/results\//), decision: "allow", statement: "WriteAndReadQueryResults" });
    expect(prod.find((r) => r.action === "kms:GenerateDataKey")).toMatchObject({ decision: "allow", statement: "UseEnvironmentKey" });
  });

  it("the detector stores its findings for Athena exactly under the results bucket's findings/ folder, with the bucket's key", () => {
    const stored = rows.prod.filter((r) => r.principal === "flowlogs-prod-detector" && r.task === "store its findings for Athena");
    expect(stored.map((r) => [r.action, r.resource, r.decision, r.statement])).toEqual([
      ["s3:PutObject", "arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/findings/dt=2026-01-15/1768435200-0-athena.json", "allow", "StoreFindingsForAthena"],
      ["kms:GenerateDataKey", expect.stringMatching(/^arn:aws:kms:eu-central-1:410987654323:key\//), "allow", "UseEnvironmentKey"],
    ]);
    expect(stored.every((r) => r.required)).toBe(true);
  });

  it("the detector keeps its ledger of published findings exactly under the results bucket's published/ folder, with the bucket's key, and writes nowhere else there", () => {
    const ledger = rows.prod.filter((r) => r.principal === "flowlogs-prod-detector" && r.task === "keep its ledger of findings published to SNS");
    expect(ledger.map((r) => [r.action, r.resource, r.decision, r.statement])).toEqual([
      ["s3:PutObject", "arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/published/0123456789abcdef0123456789abcdef", "allow", "KeepThePublishLedger"],
      ["s3:GetObject", "arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/published/0123456789abcdef0123456789abcdef", "allow", "KeepThePublishLedger"],
      ["kms:GenerateDataKey", expect.stringMatching(/^arn:aws:kms:eu-central-1:410987654323:key\//), "allow", "UseEnvironmentKey"],
    ]);
    expect(ledger.every((r) => r.required && r.outcome === "ok")).toBe(true);
    expect(rows.prod.filter((r) => r.principal === "flowlogs-prod-detector" && r.task === "write outside its ledger's folder of the results bucket").map((r) => [r.required, r.decision, r.outcome])).toEqual([[false, "deny", "ok"]]);
  });

  it("fails the task control when the detector may no longer keep its ledger, naming the marker it cannot write", () => {
    const s = copy(stacks.prod);
    const policy = policyOf(s.json, "aws_iam_role_policy", "Detectors_Policy");
    policy.doc.Statement = policy.doc.Statement.filter((x) => x.Sid !== "KeepThePublishLedger");
    policy.save();
    const r = stackAccess(s, { environment: "prod" });
    expect(control(r, "ACC-1").message).toContain("flowlogs-prod: flowlogs-prod-detector cannot keep its ledger of findings published to SNS (got deny for s3:PutObject on arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/published/0123456789abcdef0123456789abcdef");
    expect(r.filter((x) => x.outcome === "fail").map((x) => [x.task, x.action])).toEqual([["keep its ledger of findings published to SNS", "s3:PutObject"], ["keep its ledger of findings published to SNS", "s3:GetObject"]]);
  });

  it("the detector of an environment without Athena stores no findings and is not asked to", () => {
    const e = env({ analytics: { athena: { enabled: false } } });
    const json = JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as StackJson & Mutable;
    const fn = Object.values(json.resource.aws_lambda_function!)[0] as { environment: { variables: Record<string, string> } };
    expect(fn.environment.variables.FLOWLOG_FINDINGS).toBeUndefined();
    expect(fn.environment.variables.FLOWLOG_PUBLISHED).toBeUndefined();
    expect(JSON.stringify(json.resource.aws_iam_role_policy)).not.toContain("KeepThePublishLedger");
    const r = stackAccess({ name: e.stackName, json }, { environment: "test" });
    expect(r.filter((x) => x.task === "store its findings for Athena")).toEqual([]);
    expect(JSON.stringify(json.resource.aws_iam_role_policy)).not.toContain("StoreFindingsForAthena");
  });

  it("the detector reads exactly its S3 threat lists: one in the archive with the environment key; another bucket's through its policy, unverified", () => {
    const e = env({ detectors: { threatIntel: [{ name: "own", s3: "s3://flowlogs-test-123456789012-eu-west-1/threat-intel/own.txt" }, { name: "abuse", s3: "s3://secops-intel/lists/abuse.txt" }] } });
    const r = stackAccess({ name: e.stackName, json: JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as StackJson }, { environment: "test" });
    const lists = r.filter((x) => x.task === "read its threat lists from S3");
    expect(lists.map((x) => [x.action, x.resource, x.decision, x.statement])).toEqual([
      // The archive is readable already; the first statement that allows decides.
      ["s3:GetObject", "arn:aws:s3:::flowlogs-test-123456789012-eu-west-1/threat-intel/own.txt", "allow", "ReadArchiveObjects"],
      ["kms:Decrypt", expect.stringMatching(/^arn:aws:kms:eu-west-1:123456789012:key\//), "allow", "UseEnvironmentKey"],
      ["s3:GetObject", "arn:aws:s3:::secops-intel/lists/abuse.txt", "unverified", expect.stringContaining("ReadThreatLists")],
    ]);
    expect(r.filter((x) => x.outcome === "fail").map(rowProblem)).toEqual([]);
  });

  it("nothing outside the account writes the archive", () => {
    const outside = rows.prod.filter((r) => r.control === "ACC-2" && (r.principal === "arn:aws:iam::111122223333:root" || r.principal === "delivery.logs.amazonaws.com"));
    expect(outside.map((r) => [r.principal, r.task, r.decision])).toContainEqual(["arn:aws:iam::111122223333:root", "write the archive from another account", "deny"]);
    expect(outside.map((r) => [r.principal, r.task, r.decision])).toContainEqual(["delivery.logs.amazonaws.com", "deliver another account's flow logs into the archive", "deny"]);
    expect(outside.every((r) => r.decision === "deny")).toBe(true);
  });

  it("prints the listed columns as JSON, with required and a note only when there is one", () => {
    const row = accessJson(rows.dev.find((r) => r.action === "logs:StartQuery")!);
    expect(Object.keys(row)).toEqual(["environment", "principal", "task", "action", "resource", "decision", "statement", "required"]);
  });
});

describe("access: what the kit's policies must keep (mutations)", () => {
  it("fails the delivery control when the bucket policy loses the Hive-compatible prefix", () => {
    const s = copy(stacks.stg);
    const policy = policyOf(s.json, "aws_s3_bucket_policy", "Archive");
    const write = policy.doc.Statement.find((x) => x.Sid === "AWSLogDeliveryWrite")!;
    write.Resource = (write.Resource as string[]).filter((r) => !r.includes("aws-account-id="));
    policy.save();
    const c = control(stackAccess(s, { environment: "stg" }), "ACC-3");
    expect(c.result).toBe("FAIL");
    expect(c.message).toContain("flowlogs-stg: delivery.logs.amazonaws.com cannot deliver flowlogs-stg-vpc-04c6e8a0b2d4f6a81-s3: write a log file (got deny for s3:PutObject on arn:aws:s3:::flowlogs-stg-310987654322-eu-west-1/AWSLogs/aws-account-id=310987654322/");
    expect(c.message).toContain("by an implicit deny: no statement of aws_s3_bucket_policy.Archive_Policy_");
    expect(c.message).toContain("(policies/iam.ts archiveBucketPolicy (deliveryPrefixes)).");
  });

  it("fails the task control when the Analyst loses its access to the query results", () => {
    const s = copy(stacks.prod);
    const policy = policyOf(s.json, "aws_iam_role_policy", "Rbac_SecurityAnalystPolicy");
    policy.doc.Statement = policy.doc.Statement.filter((x) => x.Sid !== "WriteAndReadQueryResults");
    policy.save();
    const r = stackAccess(s, { environment: "prod" });
    const c = control(r, "ACC-1");
    expect(c.result).toBe("FAIL");
    expect(c.message).toContain("flowlogs-prod: flowlogs-prod-security-analyst cannot run an Athena query end to end (got deny for s3:PutObject on arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/results/");
    expect(c.message).toContain("Allow flowlogs-prod-security-analyst s3:PutObject on arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/results/");
    expect(c.message).toContain("(policies/rbac.ts securityAnalystPolicy)");
    expect(r.filter((x) => x.outcome === "fail").map((x) => x.action)).toEqual(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]);
  });

  it("fails the task control when the detector may no longer store its findings for Athena", () => {
    const s = copy(stacks.prod);
    const policy = policyOf(s.json, "aws_iam_role_policy", "Detectors_Policy");
    policy.doc.Statement = policy.doc.Statement.filter((x) => x.Sid !== "StoreFindingsForAthena");
    policy.save();
    const r = stackAccess(s, { environment: "prod" });
    const c = control(r, "ACC-1");
    expect(c.result).toBe("FAIL");
    expect(c.message).toContain("flowlogs-prod: flowlogs-prod-detector cannot store its findings for Athena (got deny for s3:PutObject on arn:aws:s3:::flowlogs-prod-ath-410987654323-eu-central-1/findings/dt=2026-01-15/");
    expect(r.filter((x) => x.outcome === "fail").map((x) => [x.task, x.action])).toEqual([["store its findings for Athena", "s3:PutObject"]]);
  });

  it("fails the delivery control when the delivery role cannot find its log group (the guide lists logs:DescribeLogGroups)", () => {
    const s = copy(stacks.dev);
    const policy = policyOf(s.json, "aws_iam_role_policy", "Delivery");
    policy.doc.Statement = policy.doc.Statement.filter((x) => x.Sid !== "FindLogGroupsNoResourceLevel");
    policy.save();
    const failing = stackAccess(s, { environment: "dev" }).filter((r) => r.outcome === "fail");
    expect(failing.map((r) => [r.principal, r.action, r.resource, r.statement])).toEqual([["flowlogs-dev-delivery", "logs:DescribeLogGroups", "*", "implicit deny"]]);
  });

  it("leaves the alarms' and the detector's publishing unverified without the topic's policy, which SNS would default", () => {
    const s = copy(stacks.dev);
    delete s.json.resource.aws_sns_topic_policy;
    const publish = stackAccess(s, { environment: "dev" }).filter((r) => r.action === "sns:Publish");
    expect(publish.length).toBeGreaterThan(1);
    expect(publish.every((r) => r.decision === "unverified")).toBe(true);
    expect(publish[0]!.note).toContain("default access policy of aws_sns_topic.Alerting_Topic_");
  });

  it("fails the forbidden-task control when the Auditor may read log data", () => {
    const s = copy(stacks.prod);
    const policy = policyOf(s.json, "aws_iam_role_policy", "Rbac_AuditorPolicy");
    policy.doc.Statement = [...policy.doc.Statement.filter((x) => x.Sid !== "NoLogData"), { Sid: "ReadEverything", Effect: "Allow", Action: "s3:GetObject", Resource: "*" }];
    policy.save();
    const c = control(stackAccess(s, { environment: "prod" }), "ACC-2");
    expect(c.result).toBe("FAIL");
    expect(c.message).toContain("flowlogs-prod-auditor can read flow-log records, which it must not (got allow for s3:GetObject on arn:aws:s3:::flowlogs-prod-410987654323-eu-central-1/parquet/");
    expect(c.message).toContain("by ReadEverything in aws_iam_role_policy.Rbac_AuditorPolicy_");
  });
});

describe("access: the kit's other destinations and archives", () => {
  const synth = (e: Environment): NamedStack => ({ name: e.stackName, json: JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as StackJson });
  const rbac = { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::123456789012:role/Analysts"] }, SecurityEngineer: { principals: ["arn:aws:iam::123456789012:role/PlatformSecurity"] } }, maxSessionHours: 1 };

  it("lets the SecurityEngineer create transit-gateway and Firehose flow logs: the targets, and the stream's delivery tag", () => {
    const stream = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem-flow-logs";
    const e = env({
      rbac,
      flowLogs: [
        // Two flow logs: AWS allows no more on one VPC.
        { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "firehose"], firehose: { deliveryStreamArn: stream } },
        { resource: "transit-gateway", id: "tgw-0123456789abcdef0", aggregationSeconds: 60, destinations: ["cloudwatch", "s3"] },
      ],
    });
    const r = stackAccess(synth(e), { environment: "test" });
    expect(r.filter((x) => x.outcome === "fail").map(rowProblem)).toEqual([]);
    expect(find(r, "flowlogs-test-security-engineer", "create a transit gateway flow log to S3", "ec2:CreateFlowLogs").map((x) => [x.resource, x.statement])).toEqual([
      [expect.stringMatching(/^arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log\/fl-/), "ManageFlowLogs"],
      ["arn:aws:ec2:eu-west-1:123456789012:transit-gateway/tgw-0123456789abcdef0", "FlowLogTargets"],
    ]);
    expect(find(r, "flowlogs-test-security-engineer", "create a VPC flow log to Firehose", "firehose:TagDeliveryStream")).toEqual([expect.objectContaining({ resource: stream, decision: "allow", statement: "FirehoseFlowLogsTagTheirStream" })]);
    expect(find(r, "flowlogs-test-security-engineer", "create a VPC flow log to Firehose", "iam:CreateServiceLinkedRole")).toEqual([expect.objectContaining({ decision: "allow", statement: "LogDeliveryServiceLinkedRole" })]);
    // The service-linked role's policy is AWS's, outside the stack: what to check is said.
    expect(r.filter((x) => x.action === "firehose:PutRecord").map((x) => [x.decision, x.note])).toEqual([["unverified", expect.stringContaining("check the stream's tag")]]);
  });

  it("models delivery to another account's Firehose stream through the source role and the destination role: unverified, never denied", () => {
    const stream = "arn:aws:firehose:eu-central-1:999988887777:deliverystream/siem";
    const destinationRole = "arn:aws:iam::999988887777:role/AWSLogDeliveryFirehoseCrossAccountRoleSiem";
    const e = env({
      region: "eu-central-1",
      rbac,
      flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "firehose"], firehose: { deliveryStreamArn: stream, crossAccountRoleArn: destinationRole } }],
    });
    const r = stackAccess(synth(e), { environment: "test" });
    expect(r.filter((x) => x.outcome === "fail").map(rowProblem)).toEqual([]);
    const delivery = r.filter((x) => x.control === "ACC-3" && x.task.startsWith("deliver flowlogs-test-vpc-0123456789abcdef0-firehose"));
    expect(delivery.map((x) => [x.principal, x.action, x.resource, x.decision, x.statement])).toEqual([
      ["delivery.logs.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::123456789012:role/flowlogs-test-firehose", "allow", expect.stringMatching(/^aws_iam_role\.FirehoseDelivery_Role_.*\.assume_role_policy#1$/)],
      // The stack's own policy decides the source role's side; the destination role's trust is the other account's.
      ["flowlogs-test-firehose", "sts:AssumeRole", destinationRole, "unverified", "AssumeDestinationAccountRoles"],
      ["AWSLogDeliveryFirehoseCrossAccountRoleSiem", "firehose:PutRecord", stream, "unverified", `undecided: policies of ${destinationRole} not known`],
      ["AWSLogDeliveryFirehoseCrossAccountRoleSiem", "firehose:PutRecordBatch", stream, "unverified", `undecided: policies of ${destinationRole} not known`],
    ]);
    expect(delivery[1]!.note).toContain(`trust policy of ${destinationRole} is not known here: check that it allows arn:aws:iam::123456789012:role/flowlogs-test-firehose sts:AssumeRole`);
    expect(delivery[2]!.note).toContain("outside the stack");
    // No row asks the source account's service-linked role to write another account's stream.
    expect(r.some((x) => x.principal.includes("AWSServiceRoleForLogDelivery"))).toBe(false);
    // ACC-3 fails until the review is recorded, then reads EXCEPTION: the README's typed exception.
    const acc3 = (exceptions: ControlException[]) => evaluateAccessControls(r, exceptions, TODAY).find((c) => c.id === "ACC-3")!;
    expect(acc3([]).result).toBe("FAIL");
    expect(acc3([]).message).toContain(`trust policy of ${destinationRole} is not known here`);
    expect(acc3([{ control: "ACC-3", justification: "The SIEM team owns the stream and its role.", compensatingControl: "Delivery errors are alarmed in the SIEM account.", approver: "arch@example.com", approved: "2026-10-01", expires: "2027-03-31" }]).result).toBe("EXCEPTION");
  });

  it("evaluates a scope of another Region there: its flow log, its group and the group's key are in that Region, and each role does its job in it", () => {
    const e = env({ rbac, flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] }, { resource: "vpc", id: "vpc-0123456789abcdef1", region: "us-east-1", destinations: ["cloudwatch", "s3"] }] });
    const r = stackAccess(synth(e), { environment: "test" });
    expect(r.filter((x) => x.outcome === "fail").map(rowProblem)).toEqual([]);
    expect(find(r, "flowlogs-test-security-analyst", "run a Logs Insights query on /flowlog-kit/test/vpc-flow-logs in us-east-1", "logs:StartQuery")).toEqual([
      expect.objectContaining({ resource: "arn:aws:logs:us-east-1:123456789012:log-group:/flowlog-kit/test/vpc-flow-logs", decision: "allow", statement: "QueryFlowLogGroups" }),
    ]);
    expect(find(r, "flowlogs-test-security-engineer", "create a VPC flow log to CloudWatch Logs in us-east-1", "ec2:CreateFlowLogs").map((x) => x.resource)).toEqual([
      expect.stringMatching(/^arn:aws:ec2:us-east-1:123456789012:vpc-flow-log\/fl-/),
      "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef1",
    ]);
    const key = r.find((x) => x.principal === "logs.us-east-1.amazonaws.com" && x.action === "kms:GenerateDataKey")!;
    expect(key).toMatchObject({ resource: expect.stringMatching(/^arn:aws:kms:us-east-1:123456789012:key\//), decision: "allow" });
    // The flow log writes its own Region into the archive's keys, and delivery names it as source.
    expect(r.filter((x) => x.control === "ACC-3" && x.action === "s3:PutObject").map((x) => x.resource)).toEqual([
      expect.stringContaining("/AWSLogs/123456789012/vpcflowlogs/eu-west-1/"),
      expect.stringContaining("/AWSLogs/123456789012/vpcflowlogs/us-east-1/"),
    ]);
  });

  const central = archive();
  const delivering = centralEnv({ rbac }, central);
  const archiveStack = (a = central, e = delivering): NamedStack => ({ name: a.stackName, json: JSON.parse(Testing.synth(new ArchiveStack(Testing.app(), a, [e]))) as StackJson });

  it("decides an environment's delivery to a central archive, and its reads, by the archive's policies in the archive's account", () => {
    const r = environmentAccess("test", synth(delivering), [], archiveStack());
    expect(r.filter((x) => x.outcome !== "ok").map((x) => [x.principal, x.action, x.decision, x.note])).toEqual([]);
    const put = r.find((x) => x.control === "ACC-3" && x.action === "s3:PutObject")!;
    expect(put).toMatchObject({ decision: "allow", statement: "AWSLogDeliveryWrite123456789012", resource: expect.stringMatching(/^arn:aws:s3:::flowlogs-archive-central-999999999999-eu-west-1\//) });
    expect(r.find((x) => x.principal === "flowlogs-test-security-analyst" && x.action === "s3:GetObject")).toMatchObject({ decision: "allow", statement: "ReadArchive" });
    expect(r.find((x) => x.principal === "flowlogs-test-security-analyst" && x.action === "kms:Decrypt" && x.resource.includes(":999999999999:"))).toMatchObject({ decision: "allow" });
    expect(r.filter((x) => x.task === "write the archive from another account").every((x) => x.decision === "deny")).toBe(true);
  });

  it("leaves delivery to an organization's central archive unverified: AWS admits the account only if it is a member", () => {
    const org = archive({ sourceAccounts: undefined, organizationId: "o-a1b2c3d4e5" });
    const member = centralEnv({}, org);
    const r = environmentAccess("test", synth(member), [], archiveStack(org, member));
    const put = r.find((x) => x.control === "ACC-3" && x.action === "s3:PutObject")!;
    expect(put).toMatchObject({ decision: "unverified", statement: "AWSLogDeliveryWrite", note: expect.stringContaining("allowed by AWSLogDeliveryWrite if account 123456789012 belongs to organization o-a1b2c3d4e5 (AWS then sends aws:SourceOrgID): check the account's organization") });
    expect(r.filter((x) => x.outcome === "fail")).toEqual([]);
  });
});

describe("access controls (ACC-1, ACC-2, ACC-3)", () => {
  const exception = (id: string, expires = "2027-03-31"): ControlException => ({ control: id, justification: "The key is the pipeline's.", compensatingControl: "Reviewed at each change.", approver: "arch@example.com", approved: "2026-10-01", expires });

  it("pass on an example with every row as evidence, the deciding policy and statement first", () => {
    const c = control(rows.prod, "ACC-3");
    expect(c).toMatchObject({ result: "PASS", severity: "HIGH" });
    expect(c.message).toMatch(/^all \d+ delivery request\(s\) allowed$/);
    expect(c.evidence.length).toBe(rows.prod.filter((r) => r.control === "ACC-3").length);
    expect(c.evidence).toContainEqual(expect.objectContaining({ address: expect.stringMatching(/^aws_s3_bucket_policy\.Archive_Policy_/), attribute: "Statement[AWSLogDeliveryWrite]" }));
  });

  it("fail on unverified rows until their review is recorded as a typed exception, which then holds until it expires", () => {
    const rowsOnly = rows.stg.filter((r) => r.control === "ACC-3");
    expect(control(rowsOnly, "ACC-3").result).toBe("FAIL");
    expect(control(rowsOnly, "ACC-3").message).toContain("delivery request(s) rest on policies outside the stack: key policy of arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b is not known here");
    expect(control(rowsOnly, "ACC-3").message).toContain("Review them, then record the review as a typed exception for ACC-3");
    expect(control(rowsOnly, "ACC-3", [exception("ACC-3")]).result).toBe("EXCEPTION");
    const expired = control(rowsOnly, "ACC-3", [exception("ACC-3", "2026-12-04")]);
    expect(expired.result).toBe("FAIL");
    expect(expired.message).toContain("the exception approved by arch@example.com expired on 2026-12-04");
  });

  it("fail on a denied required step whatever the exceptions say", () => {
    const denied = rows.stg.map((r, i) => (i === 0 ? { ...r, decision: "deny" as const, outcome: "fail" as const, control: "ACC-1" as const } : r));
    const c = control(denied, "ACC-1", [exception("ACC-1")]);
    expect(c.result).toBe("FAIL");
    expect(c.message).toContain("the exception approved by arch@example.com covers only rows that could not be verified");
  });

  it("fail ACC-1 on prod's referenced permissions boundary, naming it and what to check, until prod's exception records the review", () => {
    const boundary = "arn:aws:iam::410987654323:policy/SecurityBoundary";
    const c = control(rows.prod, "ACC-1");
    expect(c.result).toBe("FAIL");
    expect(c.message).toMatch(new RegExp(`^\\d+ required task step\\(s\\) of flowlogs-prod-security-analyst, flowlogs-prod-security-engineer, flowlogs-prod-auditor are allowed only if permissions boundary ${boundary} allows them too`));
    expect(c.message).toContain("the stack references the boundary but does not hold it, so it was evaluated as absent; check that it allows each required action (athena:GetQueryExecution, ");
    expect(c.message).toContain("Review them, then record the review as a typed exception for ACC-1");
    // The bounded rows come first in the evidence, each saying the allow rests on the boundary.
    expect(c.evidence[0]!.value).toMatch(new RegExp(`^allow if permissions boundary ${boundary} allows it too: flowlogs-prod-`));
    const prod = envs.find((e) => e.name === "prod")!;
    const excepted = evaluateAccessControls(rows.prod, prod.exceptions, TODAY).find((x) => x.id === "ACC-1")!;
    expect(excepted).toMatchObject({ result: "EXCEPTION", exception: { control: "ACC-1", approver: "ciso@northwind.example", expires: "2027-05-31" } });
    expect(excepted.message).toMatch(/^\d+ of \d+ required task step\(s\) allowed without reservation; \d+ required task step\(s\) of /);
    expect(control(rows.prod, "ACC-1", [exception("ACC-1", "2026-12-04")]).result).toBe("FAIL");
    // A boundary can only narrow: forbidden steps stay denied, so ACC-2 is not affected.
    expect(control(rows.prod, "ACC-2").result).toBe("PASS");
  });

  it("cover stg's given key with stg's own exceptions", () => {
    const stg = envs.find((e) => e.name === "stg")!;
    expect(evaluateAccessControls(rows.stg, stg.exceptions, TODAY).map((c) => [c.id, c.result])).toEqual([
      ["ACC-1", "EXCEPTION"],
      ["ACC-2", "PASS"],
      ["ACC-3", "EXCEPTION"],
    ]);
  });
});

describe("access: bad input", () => {
  it("refuses a stack whose provider names no account", () => {
    const s = copy(stacks.dev);
    (s.json as unknown as { provider: { aws: Record<string, unknown>[] } }).provider.aws[0]!.allowed_account_ids = undefined;
    expect(() => stackAccount(s)).toThrow(
      'flowlogs-dev: the stack\'s AWS provider names no allowed_account_ids (got {"default_tags":',
    );
    expect(() => stackAccount(s)).toThrow("Synthesize it with the kit (stacks/environment-stack.ts configureStack sets both).");
  });

  it("marks delivery to a bucket of another stack unverified, saying what to check, never allowed", () => {
    const s = copy(stacks.dev);
    const fl = Object.values(s.json.resource.aws_flow_log!).find((f) => f.log_destination_type === "s3")!;
    fl.log_destination = "arn:aws:s3:::someone-elses-bucket";
    const r = stackAccess(s, { environment: "dev" }).filter((x) => x.control === "ACC-3" && x.principal === "delivery.logs.amazonaws.com");
    expect(r.find((x) => x.action === "s3:PutObject")).toMatchObject({ decision: "unverified", outcome: "review", note: expect.stringContaining("bucket policy of arn:aws:s3:::someone-elses-bucket is not known here: check that it allows delivery.logs.amazonaws.com s3:PutObject") });
    expect(r.find((x) => x.resource === "default encryption of arn:aws:s3:::someone-elses-bucket")).toMatchObject({ action: "kms:GenerateDataKey", decision: "unverified" });
    expect(r.some((x) => x.decision === "allow" && x.resource.startsWith("arn:aws:s3:::someone-elses-bucket/"))).toBe(false);
  });
});
