import * as fs from "fs";
import * as path from "path";
import { accessReport, renderAccess } from "../../bin/access";
import { loadEnvironments } from "../../environments";
import type { PolicyDocument, Statement } from "../../policies/iam";
import type { RbacScope } from "../../policies/rbac";
import { runCli } from "../support/cli";
import { tempDir, useEnvironmentsDir } from "../support/env";

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
