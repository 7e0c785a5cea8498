import { Testing } from "cdktf";
import { ARCHIVE_STACK_CONTROLS, CENTRAL_ARCHIVE_CONTROLS, evaluateControls, retentionFacts } from "../../policies/controls";
import type { StackJson } from "../../policies/controls/stack";
import { complianceChanges } from "../../policies/plan-changes";
import { objectLockConflict, objectLockDays } from "../../policies/retention";
import { ArchiveStack } from "../../stacks/archive-stack";
import { EnvironmentStack } from "../../stacks/environment-stack";
import { archive, centralEnv, env } from "../support/env";

type Json = StackJson & { resource: Record<string, Record<string, Record<string, unknown>>> };
const TODAY = "2026-11-01";
const archiveJson = (overrides: Record<string, unknown> = {}) => JSON.parse(Testing.synth(new ArchiveStack(Testing.app(), archive({ objectLock: { mode: "COMPLIANCE" }, ...overrides }), []))) as Json;
const envJson = (e = centralEnv()) => JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), e))) as Json;
const outcome = (outcomes: ReturnType<typeof evaluateControls>, id: string) => outcomes.find((o) => o.id === id)!;

describe("Object Lock and the lifecycle", () => {
  it("locks for exactly the class's days, the day the lifecycle expires the current version", () => {
    expect(objectLockDays(90)).toBe(90);
    expect(objectLockDays(365)).toBe(365);
  });

  it("calls a lock that outlasts the expiration a conflict, and a lock within it none", () => {
    expect(objectLockConflict(365, 90)).toBe("Object Lock keeps versions 365 days but the lifecycle expires them at day 90: it claims deletions the lock forbids");
    expect(objectLockConflict(90, undefined)).toBe("Object Lock keeps versions 90 days but no lifecycle rule expires them");
    expect(objectLockConflict(90, 90)).toBeUndefined();
    expect(objectLockConflict(30, 90)).toBeUndefined();
  });

  it("RET-2 passes on the kit's locked archive, with the lock as evidence", () => {
    const ret2 = outcome(evaluateControls(archiveJson(), { vpcs: [] }, [], TODAY, ARCHIVE_STACK_CONTROLS), "RET-2");
    expect(ret2.result).toBe("PASS");
    expect(ret2.evidence).toContainEqual({ address: expect.stringMatching(/^aws_s3_bucket_object_lock_configuration\./), attribute: "rule.default_retention", value: "COMPLIANCE 90d" });
  });

  it("RET-2 fails when the lock keeps versions longer than the lifecycle says it expires them", () => {
    const s = archiveJson();
    const lock = Object.values(s.resource.aws_s3_bucket_object_lock_configuration!)[0]!;
    lock.rule = { default_retention: { mode: "COMPLIANCE", days: 400 } };
    const ret2 = outcome(evaluateControls(s, { vpcs: [] }, [], TODAY, ARCHIVE_STACK_CONTROLS), "RET-2");
    expect(ret2.result).toBe("FAIL");
    expect(ret2.message).toMatch(/^aws_s3_bucket_object_lock_configuration\.\S+: Object Lock keeps versions 400 days but the lifecycle expires them at day 90: it claims deletions the lock forbids$/);
  });

  it("reads a lock given in years as days", () => {
    const s = archiveJson();
    Object.values(s.resource.aws_s3_bucket_object_lock_configuration!)[0]!.rule = { default_retention: { mode: "GOVERNANCE", years: 1 } };
    expect(outcome(evaluateControls(s, { vpcs: [] }, [], TODAY, ARCHIVE_STACK_CONTROLS), "RET-2").message).toContain("Object Lock keeps versions 365 days but the lifecycle expires them at day 90");
  });
});

describe("controls of an archive stack", () => {
  it("are the bucket's, the key's rotation and IAM-2, all passing on the kit's archive", () => {
    const outcomes = evaluateControls(archiveJson(), { vpcs: [] }, [], TODAY, ARCHIVE_STACK_CONTROLS);
    expect(outcomes.map((o) => o.id)).toEqual(["RET-2", "RET-3", "RET-4", "S3-1", "S3-2", "S3-3", "S3-4", "KMS-1", "IAM-2"]);
    expect(outcomes.filter((o) => o.result !== "PASS")).toEqual([]);
  });

  it("show the lock in the retention facts", () => {
    expect(retentionFacts(archiveJson({ retention: "personal-data" }))).toMatchObject({ cloudWatchDays: [], archiveDays: [365], noncurrentDays: [7], objectLock: ["COMPLIANCE 365d"] });
  });
});

describe("controls of an environment with a central archive", () => {
  const central = { name: "flowlogs-archive-central", json: archiveJson() };

  it("evaluate the archive controls on the archive's stack and say so, with evidence addresses naming it", () => {
    const outcomes = evaluateControls(envJson(), { vpcs: ["vpc-0123456789abcdef0"], centralArchive: central }, [], TODAY);
    for (const id of CENTRAL_ARCHIVE_CONTROLS) {
      const o = outcome(outcomes, id);
      expect(o.result).toBe("PASS");
      expect(o.message).toMatch(/^evaluated on flowlogs-archive-central: /);
      expect(o.evidence.length).toBeGreaterThan(0);
      expect(o.evidence.every((e) => e.address.startsWith("flowlogs-archive-central:aws_"))).toBe(true);
    }
    // The environment's own key and delivery role are still checked on its own stack.
    expect(outcome(outcomes, "KMS-1").evidence[0]!.address).toMatch(/^aws_kms_key\./);
    expect(outcome(outcomes, "IAM-1").result).toBe("PASS");
  });

  it("fail when the archive's stack fails them, rather than passing for want of a bucket", () => {
    const json = archiveJson();
    delete json.resource.aws_s3_bucket_versioning;
    const s34 = outcome(evaluateControls(envJson(), { vpcs: ["vpc-0123456789abcdef0"], centralArchive: { name: "flowlogs-archive-central", json } }, [], TODAY), "S3-4");
    expect(s34.result).toBe("FAIL");
    expect(s34.message).toMatch(/^evaluated on flowlogs-archive-central: aws_s3_bucket\.\S+: versioning not Enabled$/);
  });

  it("would fail RET-2 for a missing bucket without the archive's stack", () => {
    expect(outcome(evaluateControls(envJson(), { vpcs: ["vpc-0123456789abcdef0"] }, [], TODAY), "RET-2").result).toBe("FAIL");
  });

  it("take the retention facts of the archive from the archive's stack, and the CloudWatch days from the environment's", () => {
    const facts = retentionFacts(envJson(), central);
    expect(facts).toMatchObject({ cloudWatchDays: [14], archiveDays: [90], transitions: ["STANDARD_IA@30d"], objectLock: ["COMPLIANCE 90d"] });
    expect(facts.evidence.filter((e) => e.address.startsWith("flowlogs-archive-central:")).length).toBe(2);
  });

  it("leave an environment with its own archive as before", () => {
    const outcomes = evaluateControls(JSON.parse(Testing.synth(new EnvironmentStack(Testing.app(), env()))) as Json, { vpcs: ["vpc-0123456789abcdef0"] }, [], TODAY);
    expect(outcome(outcomes, "RET-2").message).toBe("the archive expires at its retention class");
    expect(outcome(outcomes, "S3-1").evidence[0]!.address).toMatch(/^aws_s3_bucket_server_side_encryption_configuration\./);
  });
});

describe("Object Lock in a plan's compliance-relevant changes", () => {
  const lock = (mode: string, days: number) => ({ bucket: "b", object_lock_enabled: "Enabled", rule: [{ default_retention: [{ mode, days }] }] });
  const change = (actions: string[], before: unknown, after: unknown) => ({ resource_changes: [{ address: "aws_s3_bucket_object_lock_configuration.L", type: "aws_s3_bucket_object_lock_configuration", change: { actions, before, after } }] }) as never;

  it("shows a new lock as a harmless row", () => {
    expect(complianceChanges(change(["create"], null, lock("COMPLIANCE", 365)))).toEqual([{ action: "create", address: "aws_s3_bucket_object_lock_configuration.L", aspect: "object lock", before: "-", after: "COMPLIANCE 365d", risk: false }]);
  });

  it("marks a removed, loosened or shortened lock as a risk", () => {
    expect(complianceChanges(change(["delete"], lock("COMPLIANCE", 365), null))[0]).toMatchObject({ after: "-", risk: true });
    expect(complianceChanges(change(["update"], lock("COMPLIANCE", 365), lock("GOVERNANCE", 365)))[0]).toMatchObject({ before: "COMPLIANCE 365d", after: "GOVERNANCE 365d", risk: true });
    expect(complianceChanges(change(["update"], lock("GOVERNANCE", 365), lock("GOVERNANCE", 90)))[0]).toMatchObject({ risk: true });
    expect(complianceChanges(change(["update"], lock("GOVERNANCE", 90), lock("COMPLIANCE", 90)))[0]).toMatchObject({ risk: false });
  });
});
