import * as fs from "fs";
import * as path from "path";
import { accessReport, renderAccess } from "../../bin/access";
import { loadEnvironments } from "../../environments";
import type { PolicyDocument, Statement } from "../../policies/iam";
import type { RbacScope } from "../../policies/rbac";
import { runCli } from "../support/cli";
import { baseInput, tempDir, useEnvironmentsDir, writeEnvFiles } from "../support/env";

// A kit whose SecurityAnalyst policy lost its access to the query results, switched on per test:
// what `synth` and `access` say when the stacks would not work as applied.
let mockDropResults = false;
jest.mock("../../policies/rbac", () => {
  const actual = jest.requireActual("../../policies/rbac");
  const analyst = (s: RbacScope): PolicyDocument => {
    const d = actual.securityAnalystPolicy(s) as PolicyDocument;
    return mockDropResults ? { ...d, Statement: d.Statement.filter((x: Statement) => x.Sid !== "WriteAndReadQueryResults") } : d;
  };
  return { ...actual, securityAnalystPolicy: analyst, RBAC_POLICIES: Object.freeze({ ...actual.RBAC_POLICIES, SecurityAnalyst: analyst }) };
});

interface Row {
  environment: string;
  principal: string;
  task: string;
  action: string;
  resource: string;
  decision: string;
  statement: string;
  required: boolean;
  note?: string;
}

describe("flowlog-kit access", () => {
  const envDir = tempDir("access-envs");
  const work = tempDir("access");
  const out = path.join(work, "cdktf.out");
  useEnvironmentsDir(envDir);
  let rows: Row[];
  let code: number;
  let err: string;

  // One synth for the file: the examples and an incident opened the way responders do.
  beforeAll(async () => {
    const opened = await runCli("incident", "open", "--env", "prod", "--eni", "eni-0f2e4d6c8b0a1c3e5", "--reason", "suspected exfiltration", "--ticket", "SEC-7");
    expect(opened.code).toBe(0);
    const r = await runCli("access", "--format", "json", "--synth-out", out);
    ({ code, err } = r);
    rows = JSON.parse(r.out) as Row[];
  });

  it("passes on every stack of the examples, the incident's included, and prints one JSON row per request", () => {
    expect(err).toBe("");
    expect(code).toBe(0);
    expect([...new Set(rows.map((r) => r.environment))]).toEqual(["dev", "prod", "stg"]);
    expect(rows.some((r) => r.task.endsWith("(incident sec-7)") && r.action === "iam:PassRole" && r.resource.endsWith(":role/flowlogs-prod-inc-sec-7") && r.decision === "allow")).toBe(true);
    expect(rows.filter((r) => r.decision !== (r.required ? "allow" : "deny")).every((r) => r.decision === "unverified" && r.environment === "stg")).toBe(true);
    for (const r of rows) expect(Object.keys(r).filter((k) => k !== "note")).toEqual(["environment", "principal", "task", "action", "resource", "decision", "statement", "required"]);
    // Implicit deny is a deny, with "implicit deny" as its statement.
    expect(rows.find((r) => r.principal === "arn:aws:iam::111122223333:root")).toMatchObject({ decision: "deny", statement: "implicit deny", required: false });
  });

  it("renders the same rows as a table with what to check for unverified rows, and as Markdown", () => {
    const envs = loadEnvironments();
    const evaluated = accessReport(envs.filter((e) => e.name === "stg"), out);
    const table = renderAccess(evaluated, "table");
    expect(table).toMatch(/^stg: \d+ rows: \d+ as required, \d+ unverified, 0 not as required\n/);
    expect(table).toMatch(/principal\s+task\s+action\s+resource\s+expected\s+decision\s+statement/);
    expect(table).toMatch(/flowlogs-stg-security-analyst\s+run an Athena query end to end\s+athena:StartQueryExecution\s+arn:aws:athena:eu-west-1:310987654322:workgroup\/flowlogs-stg\s+allow\s+allow\s+RunAthenaQueries/);
    expect(table).toContain("unverified: a policy outside the stack decides; check:\n  - key policy of arn:aws:kms:eu-west-1:310987654322:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b is not known here");
    const md = renderAccess(evaluated, "md");
    expect(md).toContain("| principal | task | action | resource | expected | decision | statement | note |");
    expect(md).toMatch(/\| flowlogs-stg-security-engineer \| delete archived flow logs \| `s3:DeleteObject` \| `arn:aws:s3:::flowlogs-stg-310987654322-eu-west-1\/AWSLogs\/.*` \| deny \| deny \| NeverDeleteEvidenceOrWeakenTheArchive \|/);
    expect(md).toContain("| **unverified** |");
  });

  it("rejects an unknown environment before synthesizing", async () => {
    const r = await runCli("access", "qa", "--synth-out", path.join(work, "unknown.out"));
    expect(r.code).toBe(1);
    expect(r.err).toContain('qa: unknown environment (got "qa"). Use one of "dev", "prod", "stg".');
    expect(fs.existsSync(path.join(work, "unknown.out"))).toBe(false);
  });

  it("rejects an unknown format", async () => {
    const r = await runCli("access", "--format", "html", "--synth-out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--format: unknown access format (got "html"). Use one of "table", "json", "md".');
  });

  describe("an environment delivering to another account's Firehose stream", () => {
    const stream = "arn:aws:firehose:eu-central-1:999988887777:deliverystream/siem";
    const destinationRole = "arn:aws:iam::999988887777:role/AWSLogDeliveryFirehoseCrossAccountRoleSiem";
    const reviewed = {
      control: "ACC-3",
      justification: "The SIEM account owns the stream and AWSLogDeliveryFirehoseCrossAccountRoleSiem; its trust and write permissions were reviewed with the SIEM team.",
      compensatingControl: "The SIEM alarms on missing flow-log records from each source account.",
      approver: "ciso@example.com",
      approved: "2026-11-01",
      expires: "2027-04-30",
    };
    const fh = (exceptions: unknown[] = []) =>
      baseInput({
        name: "fh",
        region: "eu-central-1",
        flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "firehose"], firehose: { deliveryStreamArn: stream, crossAccountRoleArn: destinationRole } }],
        exceptions,
      });
    // A folder per run: the loader caches an environment file it has read.
    const inFhDir = async <T>(envs: Record<string, unknown>, run: () => Promise<T>): Promise<T> => {
      const fhDir = tempDir("access-firehose-envs");
      writeEnvFiles(fhDir, envs);
      process.env.FLOWLOG_KIT_ENVIRONMENTS = fhDir;
      try {
        return await run();
      } finally {
        process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
      }
    };

    it("synthesizes, and access marks the destination account's part unverified, never denied", async () => {
      const synth = await inFhDir({ fh: fh() }, () => runCli("synth", "fh", "--out", path.join(work, "fh.out")));
      expect(synth.err).not.toContain("AWSServiceRoleForLogDelivery");
      expect(synth.code).toBe(0);
      const r = await inFhDir({ fh: fh() }, () => runCli("access", "fh", "--format", "json", "--synth-out", path.join(work, "fh-access.out")));
      expect(r.code).toBe(0);
      const firehose = (JSON.parse(r.out) as Row[]).filter((x) => x.task.startsWith("deliver flowlogs-fh-vpc-0123456789abcdef0-firehose"));
      expect(firehose.map((x) => [x.principal, x.action, x.decision, x.statement])).toEqual([
        ["delivery.logs.amazonaws.com", "sts:AssumeRole", "allow", expect.stringMatching(/assume_role_policy#1$/)],
        ["flowlogs-fh-firehose", "sts:AssumeRole", "unverified", "AssumeDestinationAccountRoles"],
        ["AWSLogDeliveryFirehoseCrossAccountRoleSiem", "firehose:PutRecord", "unverified", `undecided: policies of ${destinationRole} not known`],
        ["AWSLogDeliveryFirehoseCrossAccountRoleSiem", "firehose:PutRecordBatch", "unverified", `undecided: policies of ${destinationRole} not known`],
      ]);
    });

    it("compliance reports ACC-3 as EXCEPTION with a typed exception, and FAIL without", async () => {
      const acc3 = async (exceptions: unknown[]) => {
        const r = await inFhDir({ fh: fh(exceptions) }, () => runCli("compliance", "fh", "--format", "json", "--synth-out", path.join(work, "fh-compliance.out")));
        return (JSON.parse(r.out) as { environments: { controls: { id: string; result: string; message: string }[] }[] }).environments[0]!.controls.find((c) => c.id === "ACC-3")!;
      };
      const without = await acc3([]);
      expect(without.result).toBe("FAIL");
      expect(without.message).toContain(`trust policy of ${destinationRole} is not known here`);
      expect((await acc3([reviewed])).result).toBe("EXCEPTION");
    });
  });

  describe("when a required task is impossible", () => {
    beforeAll(() => (mockDropResults = true));
    afterAll(() => (mockDropResults = false));

    it("synth names the task, the deciding statement and the fix, and exits 1", async () => {
      const r = await runCli("synth", "stg", "--out", path.join(work, "broken.out"));
      expect(r.code).toBe(1);
      expect(r.err).toContain("4 configuration problems:");
      // Found before anything is written: the output folder was never created.
      expect(fs.existsSync(path.join(work, "broken.out"))).toBe(false);
      expect(r.err).toContain(
        "  - flowlogs-stg: flowlogs-stg-security-analyst cannot run an Athena query end to end (got deny for s3:PutObject on arn:aws:s3:::flowlogs-stg-ath-310987654322-eu-west-1/results/00000000-0000-4000-8000-000000000000.csv, by an implicit deny: no statement allows arn:aws:iam::310987654322:role/flowlogs-stg-security-analyst s3:PutObject",
      );
      expect(r.err).toContain("Allow flowlogs-stg-security-analyst s3:PutObject on arn:aws:s3:::flowlogs-stg-ath-310987654322-eu-west-1/results/00000000-0000-4000-8000-000000000000.csv in aws_iam_role_policy.Rbac_SecurityAnalystPolicy_");
      expect(r.err).toContain("(policies/rbac.ts securityAnalystPolicy).");
      expect(r.out).toBe("");
    });

    it("access lists the rows, names them on stderr and exits 1", async () => {
      const r = await runCli("access", "stg", "--synth-out", path.join(work, "broken.out"));
      expect(r.code).toBe(1);
      expect(r.out).toContain("not as required:\n  - flowlogs-stg: flowlogs-stg-security-analyst cannot run an Athena query end to end (got deny for s3:PutObject");
      expect(r.err).toContain("access: 4 task step(s) not as required:\n  - stg: flowlogs-stg: flowlogs-stg-security-analyst cannot run an Athena query end to end");
    });
  });
});
