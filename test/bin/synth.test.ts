import * as fs from "fs";
import * as path from "path";
import { runCli } from "../support/cli";
import { baseArchive, baseInput, snapshotTree, tempDir, useEnvironmentsDir, writeArchiveFiles, writeEnvFiles } from "../support/env";

const snapshot = snapshotTree;

describe("flowlog-kit synth", () => {
  const envDir = tempDir("envs");
  const work = tempDir("out");
  useEnvironmentsDir(envDir);

  it("synthesizes every environment and prints the summary table", async () => {
    const out = path.join(work, "a");
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^environment\s+scopes\s+destinations\s+cloudwatch days\s+s3 days\s+kms/);
    expect(r.out).toMatch(/prod\s+2 vpc, 1 eni\s+cloudwatch, s3\s+30 \(large\)\s+365 \(personal-data\)\s+created, rotation on/);
    expect(r.out).toMatch(/stg\s+1 vpc, 1 subnet\s+cloudwatch, s3\s+14 \(production\)\s+90 \(internal\)\s+given key\/6f1c2a3b/);
    expect(r.out).toMatch(/log-archive \(archive\)\s+1 source account\s+-\s+-\s+365 \(personal-data\), COMPLIANCE lock\s+created, rotation on\s+9\/9 pass/);
    expect(r.out).toContain(`Synthesized 3 environment stacks and 1 archive stack into ${out}/stacks.`);
    expect(fs.readdirSync(path.join(out, "stacks")).sort()).toEqual(["flowlogs-archive-log-archive", "flowlogs-dev", "flowlogs-prod", "flowlogs-stg"]);
  });

  it("gives byte-identical output for the same config, with no machine paths in it", async () => {
    const a = path.join(work, "twice-a");
    const b = path.join(work, "twice-b");
    await runCli("synth", "--out", a);
    const first = snapshot(a);
    await runCli("synth", "--out", a);
    expect(snapshot(a)).toEqual(first);
    await runCli("synth", "--out", b);
    expect(snapshot(b)).toEqual(first);
    const text = Object.values(first).map((v) => Buffer.from(v, "base64").toString()).join("\n");
    expect(text).not.toContain(work);
    expect(text).not.toContain(process.cwd());
  });

  it("synthesizes the traffic-type split: REJECT to CloudWatch and ALL to S3 on one VPC, two flow logs within AWS's quota", async () => {
    const splitDir = tempDir("split-envs");
    const vpc = "vpc-0a1b2c3d4e5f60718";
    writeEnvFiles(splitDir, {
      split: baseInput({ name: "split", flowLogs: [{ resource: "vpc", id: vpc, trafficType: "REJECT", destinations: ["cloudwatch"] }, { resource: "vpc", id: vpc, trafficType: "ALL", destinations: ["s3"] }] }),
    });
    const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
    process.env.FLOWLOG_KIT_ENVIRONMENTS = splitDir;
    try {
      const out = path.join(work, "split");
      expect((await runCli("synth", "--out", out)).code).toBe(0);
      const stack = JSON.parse(fs.readFileSync(path.join(out, "stacks", "flowlogs-split", "cdk.tf.json"), "utf8"));
      const logs = Object.values(stack.resource.aws_flow_log as Record<string, { vpc_id: string; traffic_type: string; log_destination_type: string }>);
      expect(logs.map((l) => [l.vpc_id, l.traffic_type, l.log_destination_type]).sort()).toEqual([
        [vpc, "ALL", "s3"],
        [vpc, "REJECT", "cloud-watch-logs"],
      ]);
    } finally {
      process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
    }
  });

  it("synthesizes only the environments named", async () => {
    const out = path.join(work, "one");
    const r = await runCli("synth", "dev", "--out", out);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(out, "stacks"))).toEqual(["flowlogs-dev"]);
  });

  it("on invalid config reports every problem, exits 1 and leaves the previous output untouched", async () => {
    const out = path.join(work, "keep");
    await runCli("synth", "--out", out);
    const before = snapshot(out);
    writeEnvFiles(envDir, { broken: baseInput({ name: "broken", account: "12", flowLogs: [] }) });
    try {
      const r = await runCli("synth", "--out", out);
      expect(r.code).toBe(1);
      expect(r.err).toContain("2 configuration problems:");
      expect(r.err).toContain('broken.account: is not a 12-digit AWS account id (got "12").');
      expect(r.err).toContain("broken.flowLogs: is empty: the environment logs nothing (got []).");
      expect(r.out).toBe("");
      expect(snapshot(out)).toEqual(before);
      expect(fs.readdirSync(work).filter((f) => f.includes(".tmp-") || f.includes(".old-"))).toEqual([]);
    } finally {
      fs.rmSync(path.join(envDir, "broken.ts"));
    }
  });

  it("rejects an unknown environment name without writing", async () => {
    const out = path.join(work, "unknown");
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('qa: unknown environment (got "qa"). Use one of "dev", "prod", "stg".');
    expect(fs.existsSync(out)).toBe(false);
  });

  it("rejects planning an unknown environment before synthesizing", async () => {
    const out = path.join(work, "plan-unknown");
    const r = await runCli("plan", "qa", "--offline", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('qa: no environment or synthesized stack has this name (got "qa"). Use one of "dev", "flowlogs-dev", "prod", "flowlogs-prod", "stg", "flowlogs-stg", "flowlogs-archive-log-archive".');
    expect(fs.existsSync(out)).toBe(false);
  });

  it("takes a stack name wherever it takes an environment name", () => {
    const { resolvePlanTarget } = require("../../bin/synth") as typeof import("../../bin/synth");
    const { loadEnvironments } = require("../../environments") as typeof import("../../environments");
    const all = loadEnvironments();
    expect(resolvePlanTarget(all, "flowlogs-stg", [])).toMatchObject({ stack: "flowlogs-stg", destroy: false });
    const incident = { id: "sec-1", environment: "dev", enis: ["eni-0a1b2c3d"], reason: "r", ticket: "SEC-1", openedAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-02T00:00:00.000Z" };
    expect(resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "open" }])).toMatchObject({ stack: "flowlogs-dev-incident-sec-1", destroy: false });
    expect(resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "closing", closingAt: incident.expiresAt }])).toMatchObject({ destroy: true });
    expect(() => resolvePlanTarget(all, "flowlogs-dev-incident-sec-1", [{ ...incident, status: "closed", closedAt: incident.expiresAt }])).toThrow('flowlogs-dev-incident-sec-1: no environment or synthesized stack has this name');
  });
});

describe("flowlog-kit synth with central archives", () => {
  const work = tempDir("central-out");
  useEnvironmentsDir(tempDir("central-envs"), false);
  const qa = (archive: Record<string, unknown>) => baseInput({ name: "qa", rbac: { roles: { SecurityAnalyst: { principals: ["arn:aws:iam::123456789012:role/SecOps"] } } }, archive });
  // A new folder for each version of the config: a file once loaded stays in the module cache.
  const write = (archive: Record<string, unknown>, central: Record<string, unknown> = {}) => {
    const envDir = tempDir("central-envs");
    writeEnvFiles(envDir, { qa: qa(archive) });
    writeArchiveFiles(envDir, { central: baseArchive(central) });
    process.env.FLOWLOG_KIT_ENVIRONMENTS = envDir;
  };

  it("writes the archive stack next to the environment that delivers to it, and plans it by its stack name", async () => {
    write({ central: "central" });
    const out = path.join(work, "both");
    const r = await runCli("synth", "qa", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/qa\s+1 vpc\s+cloudwatch, s3\s+14 \(production\)\s+90 \(internal\), central central/);
    expect(fs.readdirSync(path.join(out, "stacks")).sort()).toEqual(["flowlogs-archive-central", "flowlogs-qa"]);
    const { resolvePlanTarget } = require("../../bin/synth") as typeof import("../../bin/synth");
    const { loadEnvironments } = require("../../environments") as typeof import("../../environments");
    expect(resolvePlanTarget(loadEnvironments(), "flowlogs-archive-central", [])).toEqual({ stack: "flowlogs-archive-central", destroy: false, synth: { envNames: ["qa"], archiveNames: ["central"] } });
  });

  it("refuses an unknown archive name before writing", () => {
    write({ central: "central" });
    const { synthesize } = require("../../bin/synth") as typeof import("../../bin/synth");
    const out = path.join(work, "unknown-archive");
    expect(() => synthesize({ outdir: out, archiveNames: ["nope"] })).toThrow('nope: unknown central archive (got "nope"). Use one of "central".');
    expect(fs.existsSync(out)).toBe(false);
  });

  it("refuses to drop an Object Lock that the previous output set, and leaves that output untouched", async () => {
    write({ objectLock: { mode: "COMPLIANCE" } });
    const out = path.join(work, "lock");
    expect((await runCli("synth", "--out", out)).code).toBe(0);
    const before = snapshot(out);
    write({});
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "qa.archive.objectLock: is removed, but the previous synth (lock/stacks/flowlogs-qa) locks flowlogs-qa-123456789012-eu-west-1 in COMPLIANCE mode for 90 days (got nothing). " +
        'Restore objectLock: { mode: "COMPLIANCE" }: AWS cannot turn Object Lock off, and without it Terraform would only drop the default retention, leaving the bucket locked and new evidence unlocked.',
    );
    expect(snapshot(out)).toEqual(before);
  });

  it("refuses to move a locked archive's environment to a central archive, which would plan the locked bucket's destroy", async () => {
    write({ objectLock: { mode: "GOVERNANCE" } });
    const out = path.join(work, "move-locked");
    await runCli("synth", "--out", out);
    write({ central: "central" });
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /qa\.archive: drops the archive bucket flowlogs-qa-123456789012-eu-west-1 \(aws_s3_bucket\.Archive_Bucket_\w+\) of flowlogs-qa, which the previous synth \(move-locked\/stacks\/flowlogs-qa\) locks in GOVERNANCE mode for 90 days \(got central archive "central"\)\. AWS cannot turn Object Lock off and refuses to delete a bucket that holds locked versions; .* state rm aws_s3_bucket\.Archive_Bucket_\w+ .*aws_s3_bucket_object_lock_configuration\.Archive_ObjectLock_\w+.*, then synthesize again with --allow-drop flowlogs-qa:aws_s3_bucket\.Archive_Bucket_\w+\./,
    );
  });

  it("refuses to drop the central archive's Object Lock, naming the archive file", async () => {
    write({ central: "central" }, { objectLock: { mode: "COMPLIANCE" } });
    const out = path.join(work, "central-lock");
    await runCli("synth", "--out", out);
    write({ central: "central" });
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toContain("archives/central.objectLock: is removed, but the previous synth (central-lock/stacks/flowlogs-archive-central) locks flowlogs-archive-central-999999999999-eu-west-1 in COMPLIANCE mode for 90 days (got nothing).");
  });

  // An unlocked archive bucket leaving its stack is refused too: test/bin/evidence-guard.test.ts.
  it("warns, and writes, when the lock's mode changes", async () => {
    write({ objectLock: { mode: "COMPLIANCE" } });
    const out = path.join(work, "warn");
    await runCli("synth", "--out", out);
    write({ objectLock: { mode: "GOVERNANCE" } });
    const r = await runCli("synth", "--out", out);
    expect(r.code).toBe(0);
    expect(r.err).toContain(
      "warning: qa: changes the Object Lock mode of flowlogs-qa-123456789012-eu-west-1 from COMPLIANCE to GOVERNANCE; versions already delivered keep their COMPLIANCE lock until it ends, only new ones get GOVERNANCE.",
    );
  });
});
