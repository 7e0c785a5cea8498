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
    const r = await runCli("incident", "open", "--env", "prod", "--eni", "eni-0c4d6e8f0a2b4c6d8", "--reason", "first", "--ticket", "SEC-1");
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
    ["a TTL of zero", [...ok, "--ttl", "0h"], '--ttl: must be longer than zero (got "0h"). Write a whole number with s, m, h or d, from 1h to 30d, e.g. 30h.'],
    ["a negative TTL", [...ok, "--ttl", "-2d"], '--ttl: must be longer than zero (got "-2d").'],
    ["an unparseable TTL", [...ok, "--ttl", "a week"], '--ttl: not a duration (got "a week").'],
    ["a TTL over 30 days", [...ok, "--ttl", "31d"], '--ttl: longer than 30d (got "31d").'],
    ["a second incident with the same id", replace("--ticket", "sec 1"), '--ticket: incident "sec-1" already exists (got "sec 1", open since'],
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

  it("rejects a broken record with the file and field", async () => {
    fs.writeFileSync(path.join(incidents, "bad.json"), JSON.stringify({ id: "bad", environment: "prod", enis: ["eth0"] }));
    try {
      const r = await runCli("incident", "list");
      expect(r.code).toBe(1);
      expect(r.err).toContain("incidents/bad.json.enis.0: ");
    } finally {
      fs.rmSync(path.join(incidents, "bad.json"));
    }
  });

  it("derives the incident id from the ticket", () => {
    expect(incidentId("SEC-1234")).toBe("sec-1234");
    expect(incidentId(" INC 77 / web ")).toBe("inc-77-web");
  });
});
