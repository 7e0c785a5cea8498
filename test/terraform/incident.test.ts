/**
 * Incident lifecycle end to end through the CLI, in a temporary copy of the environments
 * folder: open -> synth -> offline plan (real terraform, real provider) -> close.
 */
import * as fs from "fs";
import * as path from "path";
import { stackDir } from "../../bin/synth";
import { fieldsFor } from "../../functions/flowlog/fields";
import { runCli } from "../support/cli";
import { copyExampleEnvironments, tempDir } from "../support/env";

type Json = {
  provider: { aws: { default_tags: { tags: Record<string, string> }[] }[] };
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, unknown>;
  terraform: { backend: Record<string, Record<string, unknown>> };
};

const skip = process.env.FLOWLOG_KIT_SKIP_TERRAFORM === "1";

(skip ? describe.skip : describe)("incident lifecycle: open, synth, offline plan, close", () => {
  const envDir = tempDir("incident-e2e");
  // A plugin cache of this suite's own: terraform init re-links the cache's provider entry, and
  // a terraform of another suite (or run) starting the provider through it at that moment fails
  // with "fork/exec ... no such file or directory".
  process.env.FLOWLOG_KIT_CACHE_DIR = tempDir("tf-cache");
  const work = tempDir("incident-out");
  const out = path.join(work, "cdktf.out");
  const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
  const read = (stack: string) => fs.readFileSync(path.join(stackDir(out, stack), "cdk.tf.json"), "utf8");
  let envStackBefore = "";

  beforeAll(async () => {
    copyExampleEnvironments(envDir);
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    expect((await runCli("synth", "--out", out)).code).toBe(0);
    envStackBefore = read("flowlogs-prod");
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
    else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
  });

  it("opens: writes a reviewable record and prints the command to plan it", async () => {
    const r = await runCli("incident", "open", "--env", "prod", "--eni", "eni-0f2e4d6c8b0a1c3e5", "--eni", "eni-0a1b2c3d", "--reason", "suspected crypto-mining on web-3", "--ticket", "SEC-1234", "--ttl", "48h");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Opened incident sec-1234 in prod: 2 interfaces, logging until \d{4}-\d\d-\d\dT/);
    expect(r.out).toContain("Plan it:  npx flowlog-kit incident plan sec-1234 --offline");
    const record = JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-1234.json"), "utf8"));
    expect(record).toMatchObject({ id: "sec-1234", environment: "prod", enis: ["eni-0f2e4d6c8b0a1c3e5", "eni-0a1b2c3d"], ticket: "SEC-1234", status: "open" });
    expect(Date.parse(record.expiresAt) - Date.parse(record.openedAt)).toBe(48 * 3600 * 1000);
  });

  it("synthesizes the incident stack and leaves the environment stack byte-identical", async () => {
    expect((await runCli("synth", "--out", out)).code).toBe(0);
    expect(read("flowlogs-prod")).toBe(envStackBefore);
    const s = JSON.parse(read("flowlogs-prod-incident-sec-1234")) as Json;
    const logs = Object.values(s.resource.aws_flow_log!);
    expect(logs).toHaveLength(4);
    const eniFields = fieldsFor("eni").map((f) => `$\${${f.name}}`).join(" ");
    for (const l of logs) expect(l).toMatchObject({ traffic_type: "ALL", max_aggregation_interval: 60, log_format: eniFields });
    expect(logs.filter((l) => l.log_destination_type === "s3").map((l) => l.log_destination)).toEqual([
      "arn:aws:s3:::flowlogs-prod-410987654323-eu-central-1/incidents/sec-1234/",
      "arn:aws:s3:::flowlogs-prod-410987654323-eu-central-1/incidents/sec-1234/",
    ]);
    const group = Object.values(s.resource.aws_cloudwatch_log_group!)[0]!;
    expect(group).toMatchObject({ name: "/flowlog-kit/prod/incidents/sec-1234", retention_in_days: 30, kms_key_id: "${data.terraform_remote_state.Environment.outputs.kms_key_arn}" });
    expect(s.provider.aws[0]!.default_tags[0]!.tags).toMatchObject({ Incident: "sec-1234", Ticket: "SEC-1234", Reason: "suspected crypto-mining on web-3", Expires: expect.stringMatching(/^\d{4}-/) });
    expect(s.terraform.backend.s3).toMatchObject({ key: "flowlog-kit/prod/terraform-incident-sec-1234.tfstate" });
    const query = Object.values(s.resource.aws_cloudwatch_query_definition!)[0]!;
    expect(query.log_group_names).toEqual(["/flowlog-kit/prod/incidents/sec-1234"]);
    expect(query.query_string).toContain('filter interface_id in ["eni-0f2e4d6c8b0a1c3e5", "eni-0a1b2c3d"]');
    expect(query.query_string).toContain("sort @timestamp desc");
    expect(s.resource.aws_s3_bucket).toBeUndefined();
    expect(s.resource.aws_kms_key).toBeUndefined();
  });

  it("plans only the incident stack offline, against the real provider, saying what runs and that the plan cannot be applied", async () => {
    const r = await runCli("incident", "plan", "sec-1234", "--offline", "--out", out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^\.\.\. terraform init \(.*flowlogs-prod-incident-sec-1234\)\n\.\.\. terraform plan /);
    expect(r.out).toContain("Plan for flowlogs-prod-incident-sec-1234 (offline): Plan: 8 to add, 0 to change, 0 to destroy.");
    expect(r.out).toMatch(/create\s+scope\s+-\s+eni-0a1b2c3d ALL -> s3/);
    expect(r.out).toContain("cannot be applied. With AWS credentials, run: flowlog-kit incident plan sec-1234");
    expect(r.out).not.toContain("Apply with");
  });

  it("lists it as open with the time left and the next command", async () => {
    const r = await runCli("incident", "list");
    expect(r.out).toMatch(/sec-1234\s+prod\s+open\s+eni-0f2e4d6c8b0a1c3e5 eni-0a1b2c3d\s+SEC-1234\s+\S+ \S+\s+\S+ \S+\s+1d 23h\s+incident plan sec-1234, then apply; incident close sec-1234 when done/);
  });

  it("closes offline only as far as closing: the record is closing, the stack stays, and no apply command is printed", async () => {
    const r = await runCli("incident", "close", "sec-1234", "--offline", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Incident sec-1234 is closing \(since \d{4}-/);
    expect(r.out).toContain("Destroy plan for flowlogs-prod-incident-sec-1234 (offline): No changes.");
    // A plan without changes needs no `terraform show` to list its (no) compliance-relevant changes.
    expect(r.err).not.toContain("terraform show");
    expect(r.out).toContain("No compliance-relevant changes.");
    expect(r.out).toContain("it cannot see what is deployed and cannot be applied");
    expect(r.out).toContain("3. flowlog-kit incident close sec-1234");
    expect(r.out).not.toContain("Apply with");
    const record = JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-1234.json"), "utf8"));
    expect(record).toMatchObject({ status: "closing", closingAt: expect.stringMatching(/^\d{4}-/) });
    expect(record.closedAt).toBeUndefined();
    expect((await runCli("synth", "--out", out)).code).toBe(0);
    expect(fs.existsSync(path.join(stackDir(out, "flowlogs-prod-incident-sec-1234"), "cdk.tf.json"))).toBe(true);
    const list = await runCli("incident", "list");
    expect(list.out).toMatch(/sec-1234\s+prod\s+closing\s+.*apply the destroy plan, then incident close sec-1234 to confirm/);
  });

  it("never marks an incident closed while its real state still holds resources", async () => {
    expect((await runCli("incident", "open", "--env", "dev", "--eni", "eni-0a1b2c3d", "--reason", "r", "--ticket", "SEC-77")).code).toBe(0);
    // dev keeps local state beside the output folder: this one says a flow log is deployed.
    const state = path.join(work, "terraform.flowlogs-dev-incident-sec-77.tfstate");
    fs.writeFileSync(
      state,
      JSON.stringify({
        version: 4, terraform_version: "1.11.0", serial: 1, lineage: "test", outputs: {},
        resources: [{ mode: "managed", type: "aws_flow_log", name: "deployed", provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes: { id: "fl-0123456789abcdef0" } }] }],
      }),
    );
    const previousImds = process.env.AWS_EC2_METADATA_DISABLED;
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    try {
      const r = await runCli("incident", "close", "sec-77", "--out", out);
      // The real destroy plan needs AWS credentials, which this machine does not have.
      expect(r.code).toBe(1);
      expect(r.err).toContain("flowlogs-dev-incident-sec-77: terraform plan needs AWS credentials for account and region of the stack (got none that work). Set AWS_PROFILE or AWS credentials for the stack's account, or plan without them using --offline.");
    } finally {
      if (previousImds === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
      else process.env.AWS_EC2_METADATA_DISABLED = previousImds;
    }
    expect(JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-77.json"), "utf8")).status).toBe("open");
    // What a destroy leaves behind: the state file, with no resources in it.
    fs.writeFileSync(state, JSON.stringify({ version: 4, terraform_version: "1.11.0", serial: 2, lineage: "test", outputs: {}, resources: [] }));
  });

  it("never confirms from a state file that is not there: another --out, or a stack never applied, is for the user to say", async () => {
    expect((await runCli("incident", "open", "--env", "dev", "--eni", "eni-0b1c2d3e", "--reason", "r", "--ticket", "SEC-78")).code).toBe(0);
    const r = await runCli("incident", "close", "sec-78", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain("sec-78: no state file for flowlogs-dev-incident-sec-78 (got nothing at ");
    expect(r.err).toContain("if its stack was never applied, say so: flowlog-kit incident close sec-78 --never-applied --out ");
    expect(JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-78.json"), "utf8")).status).toBe("open");
    const said = await runCli("incident", "close", "sec-78", "--never-applied", "--out", out);
    expect(said.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-78.json"), "utf8")).status).toBe("closed");
  });

  it("marks the incident closed once its real state is empty, and only then drops the stack from synth", async () => {
    const r = await runCli("incident", "close", "sec-77", "--out", out);
    expect(r.err).toContain("... terraform state list");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Closed incident sec-77 at \d{4}-.*: the state of flowlogs-dev-incident-sec-77 holds no resources/);
    expect(r.out).toContain("stay in the archive under incidents/sec-77/");
    const record = JSON.parse(fs.readFileSync(path.join(envDir, "incidents", "sec-77.json"), "utf8"));
    expect(record).toMatchObject({ status: "closed", closedAt: expect.stringMatching(/^\d{4}-/) });
    expect((await runCli("synth", "--out", out)).code).toBe(0);
    expect(fs.existsSync(stackDir(out, "flowlogs-dev-incident-sec-77"))).toBe(false);
    expect(fs.existsSync(stackDir(out, "flowlogs-prod-incident-sec-1234"))).toBe(true);
    expect(read("flowlogs-prod")).toBe(envStackBefore);
    const again = await runCli("incident", "close", "sec-77", "--offline", "--out", out);
    expect(again.code).toBe(1);
    expect(again.err).toContain("sec-77: incident is closed (got closed at");
    const reopen = await runCli("incident", "open", "--env", "dev", "--eni", "eni-0a1b2c3d", "--reason", "again", "--ticket", "SEC-77");
    expect(reopen.code).toBe(1);
    expect(reopen.err).toContain(`--ticket: incident "sec-77" already exists (got "SEC-77", closed at ${record.closedAt}). Use a new ticket`);
  });

  it("fails INC-1 for an incident left open or closing past its TTL, in compliance and in npm start's table", async () => {
    fs.writeFileSync(
      path.join(envDir, "incidents", "sec-9.json"),
      JSON.stringify({ id: "sec-9", environment: "dev", enis: ["eni-0a1b2c3d"], reason: "old", ticket: "SEC-9", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-04T00:00:00.000Z", status: "closing", closingAt: "2026-01-05T00:00:00.000Z" }),
    );
    const start = await runCli("synth", "--out", out);
    expect(start.out).toMatch(/dev\s+.*1 FAIL/);
    expect(start.out).toContain("Synthesized 3 environment stacks, 1 archive stack and 2 incident stacks into");
    const r = await runCli("compliance", "dev", "--synth-out", out);
    expect(r.code).toBe(1);
    expect(r.out).toContain("INC-1 FAIL: incident logging still open past its TTL, or of unknown state: flowlogs-dev-incident-sec-9 (expired 2026-01-04T00:00:00.000Z); flowlog-kit incident close sec-9, apply the destroy plan, then run close again to confirm");
  });
});
