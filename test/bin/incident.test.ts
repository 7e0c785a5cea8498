import * as fs from "fs";
import * as path from "path";
import { incidentId } from "../../bin/incident";
import { runCli } from "../support/cli";
import { copyExampleEnvironments, tempDir } from "../support/env";

/** Every file under dir with its content: "nothing written or changed" is checked against this. */
const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(
    (fs.existsSync(dir) ? fs.readdirSync(dir) : []).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
  );

describe("flowlog-kit incident: bad input", () => {
  const envDir = tempDir("incident-envs");
  const incidents = path.join(envDir, "incidents");
  const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
  beforeAll(async () => {
    copyExampleEnvironments(envDir);
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    const r = await runCli("incident", "open", "--env", "prod", "--eni", "eni-0123456789abcdef0", "--reason", "first", "--ticket", "SEC-1");
    expect(r.code).toBe(0);
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
    else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
  });

  const ok = ["--env", "prod", "--eni", "eni-0a1b2c3d", "--reason", "why", "--ticket", "SEC-2"];
  const replace = (flag: string, value: string | undefined) => {
    const i = ok.indexOf(flag);
    const args = [...ok];
    if (value === undefined) args.splice(i, 2);
    else args[i + 1] = value;
    return args;
  };

  it.each<[string, string[], string]>([
    ["an unknown environment", replace("--env", "qa"), '--env: unknown environment (got "qa"). Use one of "dev", "prod", "stg".'],
    ["a missing environment", replace("--env", undefined), '--env: is required (got nothing). Name the environment, one of "dev", "prod", "stg".'],
    ["a malformed ENI id", replace("--eni", "eni-xyz"), '--eni: not an ENI id (got "eni-xyz"). Use "eni-" followed by 8 or 17 lowercase hex digits.'],
    ["a duplicate ENI id", [...ok, "--eni", "eni-0a1b2c3d"], '--eni: given twice (got "eni-0a1b2c3d"). Name each interface once.'],
    ["no ENI at all", replace("--eni", undefined), "--eni: at least one interface is required (got nothing)."],
    ["a missing reason", replace("--reason", undefined), '--reason: is required (got nothing). Say why, e.g. --reason "suspected crypto-mining on web-3".'],
    ["a blank reason", replace("--reason", "  "), '--reason: is required (got "  ").'],
    ["a missing ticket", replace("--ticket", undefined), "--ticket: is required (got nothing). Give the incident ticket, e.g. --ticket SEC-1234."],
    ["a reason longer than a tag value", replace("--reason", "x".repeat(257)), "--reason: longer than a tag value may be, 256 characters (got 257 characters). Shorten it; put the detail in the ticket."],
    ["a reason a tag cannot hold", replace("--reason", "rm -rf; <script>"), '--reason: has characters a tag value may not hold, or starts with "aws:" (got "rm -rf; <script>"). Use letters, digits, spaces and _ . : / = + - @ only.'],
    ["a ticket starting with aws:", replace("--ticket", "aws:SEC-1"), '--ticket: has characters a tag value may not hold, or starts with "aws:" (got "aws:SEC-1").'],
    ["an interface the environment already logs (AWS allows two flow logs per interface)", replace("--eni", "eni-0c4d6e8f0a2b4c6d8"),
      '--eni: eni-0c4d6e8f0a2b4c6d8 already has 1 flow log (prod.flowLogs[2] to cloudwatch), and AWS allows 2 per network interface, a quota it cannot raise; the incident adds 2 (got "eni-0c4d6e8f0a2b4c6d8"). Its traffic is already logged by the environment\'s own scope: query that scope\'s log group.'],
    ["an interface another open incident logs", replace("--eni", "eni-0123456789abcdef0"), "--eni: eni-0123456789abcdef0 already has 2 flow logs (incident sec-1), and AWS allows 2 per network interface, a quota it cannot raise; the incident adds 2 (got \"eni-0123456789abcdef0\"). Its traffic is already logged by that incident: query its log group, or close it first."],
    ["a TTL of zero", [...ok, "--ttl", "0h"], '--ttl: must be longer than zero (got "0h"). Write a whole number with s, m, h or d, from 1h to 30d, e.g. 30h.'],
    ["a negative TTL", [...ok, "--ttl", "-2d"], '--ttl: must be longer than zero (got "-2d").'],
    ["an unparseable TTL", [...ok, "--ttl", "a week"], '--ttl: not a duration (got "a week").'],
    ["a TTL over 30 days", [...ok, "--ttl", "31d"], '--ttl: longer than 30d (got "31d").'],
    ["a second incident with the same id", replace("--ticket", "sec 1"), '--ticket: incident "sec-1" already exists (got "sec 1", open, opened at'],
  ])("rejects %s, writing nothing", async (_title, args, message) => {
    const before = snapshot(incidents);
    const r = await runCli("incident", "open", ...args);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(snapshot(incidents)).toEqual(before);
  });

  it("reports every problem at once", async () => {
    const r = await runCli("incident", "open", "--env", "qa", "--eni", "eni-1", "--ttl", "0d");
    expect(r.err).toContain("5 configuration problems:");
  });

  it("rejects closing or planning an unknown incident, changing nothing", async () => {
    const before = snapshot(incidents);
    for (const cmd of ["close", "plan"]) {
      const r = await runCli("incident", cmd, "sec-404", "--offline");
      expect(r.code).toBe(1);
      expect(r.err).toContain('sec-404: unknown incident (got "sec-404"). Known incidents: "sec-1"; see flowlog-kit incident list.');
    }
    expect(snapshot(incidents)).toEqual(before);
  });

  it.each<[string, Record<string, unknown> | string, string]>([
    ["an ENI named twice", { enis: ["eni-0a1b2c3d", "eni-0a1b2c3d"] }, 'incidents/bad.json.enis[1]: names an interface that the record already names (got "eni-0a1b2c3d"). Fix the record'],
    ["a malformed ENI", { enis: ["eth0"] }, 'incidents/bad.json.enis[0]: must list the interfaces as ENI ids, "eni-" followed by 8 or 17 lowercase hex digits (got "eth0")'],
    ["no ENI", { enis: [] }, "incidents/bad.json.enis: must list at least one interface (got [])"],
    ["a missing reason", { reason: undefined }, "incidents/bad.json.reason: is required (got nothing). Fix the record (flowlog-kit incident open writes valid ones) or restore it from version control."],
    ["an unknown status", { status: "done" }, 'incidents/bad.json.status: must be one of "open", "closing", "closed" (got "done")'],
    ["closed without closedAt", { status: "closed" }, 'incidents/bad.json.closedAt: is required when status is "closed" (got nothing)'],
    ["an expiry before the opening", { expiresAt: "2025-01-01T00:00:00.000Z" }, 'incidents/bad.json.expiresAt: is not after openedAt (got "2025-01-01T00:00:00.000Z")'],
    ["a bad timestamp", { openedAt: "yesterday" }, 'incidents/bad.json.openedAt: must be a UTC timestamp such as 2026-12-05T10:00:00.000Z (got "yesterday")'],
    ["an unknown field", { owner: "me" }, 'incidents/bad.json: unknown field (got "owner"). Remove it'],
    ["a file that is not JSON", '{ "id": "bad", "environment": "prod", ', "incidents/bad.json: is not valid JSON (got "],
  ])("lists a record with %s as not loadable, naming the file, the field and the fix", async (_what, change, message) => {
    const good = { id: "bad", environment: "prod", enis: ["eni-0a1b2c3d"], reason: "r", ticket: "BAD", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-02T00:00:00.000Z", status: "open" };
    fs.writeFileSync(path.join(incidents, "bad.json"), typeof change === "string" ? change : JSON.stringify({ ...good, ...change }));
    try {
      const r = await runCli("incident", "list");
      expect(r.code).toBe(0);
      expect(r.out).toContain(`cannot be loaded: ${message}`);
      expect(`${r.out}${r.err}`).not.toMatch(/Too small|Too big|Invalid input|expected \w+, received|There is already a Construct/);
      const plan = await runCli("incident", "plan", "bad", "--offline");
      expect(plan.code).toBe(1);
      expect(plan.err).toContain(message);
    } finally {
      fs.rmSync(path.join(incidents, "bad.json"));
    }
  });

  it("derives the incident id from the ticket", () => {
    expect(incidentId("SEC-1234")).toBe("sec-1234");
    expect(incidentId(" INC 77 / web ")).toBe("inc-77-web");
  });
});

describe("a broken or orphaned incident record does not hold up other environments", () => {
  const envDir = tempDir("incident-broken-envs");
  const work = tempDir("incident-broken-out");
  const incidents = path.join(envDir, "incidents");
  const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
  beforeAll(() => {
    copyExampleEnvironments(envDir);
    fs.mkdirSync(incidents);
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
    fs.writeFileSync(
      path.join(incidents, "sec-5.json"),
      JSON.stringify({ id: "sec-5", environment: "qa", enis: ["eni-0a1b2c3d"], reason: "r", ticket: "SEC-5", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-02T00:00:00.000Z", status: "open" }),
    );
    fs.writeFileSync(path.join(incidents, "sec-6.json"), "{ not json");
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
    else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
  });

  it("synthesizes every environment, warning about each record with a fix that works", async () => {
    const r = await runCli("synth", "--out", path.join(work, "out"));
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      'warning: incidents/sec-5.json.environment: no such environment (got "qa"). Restore environments/qa.ts and run flowlog-kit incident close sec-5 to plan the destroy of its logging; if its stack was never applied or is already destroyed, delete the record.',
    );
    expect(r.err).toContain("warning: incidents/sec-6.json: is not valid JSON (got ");
  });

  it("fails INC-1 where a record's state cannot be known, and names the file", async () => {
    const r = await runCli("compliance", "dev", "--synth-out", path.join(work, "out"));
    expect(r.code).toBe(1);
    expect(r.out).toContain("INC-1 FAIL: incident logging still open past its TTL, or of unknown state: incident record incidents/sec-6.json cannot be loaded");
    expect(r.out).toContain("; fix the record (or restore it from version control), then close the incident");
    expect(r.out).not.toContain("<id>");
  });

  it("closing the orphan says how to get out, not the same error", async () => {
    const r = await runCli("incident", "close", "sec-5", "--offline", "--out", path.join(work, "out"));
    expect(r.code).toBe(1);
    expect(r.err).toContain('incidents/sec-5.json.environment: no such environment (got "qa"). Restore environments/qa.ts (from version control) so that the incident\'s stack can be planned; if its stack was never applied or is already destroyed, delete the record.');
  });
});
