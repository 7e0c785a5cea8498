import * as fs from "fs";
import * as path from "path";
import { loadEnvironments, validateEnvironment } from "../../environments";
import { loadArchives, validateArchive } from "../../environments/archives";
import { ConfigError } from "../../policies/errors";
import { archive, baseArchive, baseInput, centralEnv, copyExampleEnvironments, tempDir, writeArchiveFiles, writeEnvFiles } from "../support/env";

/** zod's own English, which must never reach a user. */
const ZOD_TEXT = /Too small|Too big|Invalid input|[Ee]xpected .* received|Invalid string|Invalid enum|Invalid option|Invalid union|Unrecognized key|\bRequired\b/;
/** `<what>: <problem> (got <value>). <fix>` */
const USUAL_FORM = /^\S[^\n]*?: \S[^\n]* \(got [^\n]*\)\. \S[^\n]*$/;

const archiveProblems = (overrides: Record<string, unknown>, file = "central.ts"): string[] => {
  const problems: string[] = [];
  expect(validateArchive({ file: `/envs/archives/${file}`, input: { ...baseArchive(), ...overrides } }, problems)).toBeUndefined();
  return problems;
};

/** Problems of loading a folder with these environments and archives. */
function loadProblems(envs: Record<string, unknown>, archives: Record<string, unknown>): readonly string[] {
  const dir = tempDir("archives");
  writeEnvFiles(dir, envs);
  writeArchiveFiles(dir, archives);
  try {
    loadEnvironments(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the loader to refuse the folder");
}

const qa = (archiveOverrides: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) => baseInput({ name: "qa", archive: { central: "central", ...archiveOverrides }, ...overrides });

describe("central archive files", () => {
  it("loads the example log-archive: defaults applied once, frozen, its stack and bucket named for it", () => {
    const [a, ...rest] = loadArchives(path.join(__dirname, "..", "..", "environments", "archives"));
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      name: "log-archive",
      stackName: "flowlogs-archive-log-archive",
      bucketName: "flowlogs-archive-log-archive-610987654325-eu-central-1",
      retention: { class: "personal-data", days: 365 },
      objectLock: { mode: "COMPLIANCE" },
      sourceAccounts: ["410987654323"],
      kms: { create: true },
      exceptions: [],
      file: "archives/log-archive.ts",
    });
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a!.sourceAccounts)).toBe(true);
  });

  it("is not mistaken for an environment: the environments are still dev, prod and stg", () => {
    const dir = tempDir("examples");
    copyExampleEnvironments(dir);
    expect(fs.existsSync(path.join(dir, "archives", "log-archive.ts"))).toBe(true);
    expect(loadEnvironments(dir).map((e) => e.name)).toEqual(["dev", "prod", "stg"]);
  });

  it("takes organizationId instead of sourceAccounts, and a day count for the class", () => {
    const a = archive({ sourceAccounts: undefined, organizationId: "o-a1b2c3d4e5", retention: 180 });
    expect(a.organizationId).toBe("o-a1b2c3d4e5");
    expect(a.sourceAccounts).toBeUndefined();
    expect(a.retention).toEqual({ class: "customer-facing", days: 180 });
  });

  describe("rejects, in the usual form and never in zod's words", () => {
    it.each<[string, Record<string, unknown>, string]>([
      ["neither sourceAccounts nor organizationId", { sourceAccounts: undefined },
        'archives/central.sourceAccounts: is required when organizationId is not given: no account could deliver here (got nothing). List the accounts, e.g. sourceAccounts: ["410987654323"], or give organizationId: "o-...".'],
      ["both sourceAccounts and organizationId", { organizationId: "o-a1b2c3d4e5" },
        'archives/central.organizationId: is given together with sourceAccounts (got "o-a1b2c3d4e5"). Give one: sourceAccounts for a list of accounts, organizationId for every account of the organization.'],
      ["an empty sourceAccounts", { sourceAccounts: [] },
        "archives/central.sourceAccounts: is empty: no account could deliver here (got []). List at least one account, or give organizationId instead."],
      ["a source account that is not 12 digits", { sourceAccounts: ["1234"] },
        'archives/central.sourceAccounts[0]: is not a 12-digit AWS account id (got "1234"). Write the account id as a string of exactly 12 digits.'],
      ["a source account listed twice", { sourceAccounts: ["123456789012", "123456789012"] },
        'archives/central.sourceAccounts[1]: is already listed at sourceAccounts[0] (got "123456789012"). List each account once.'],
      ["an organization id of the wrong shape", { sourceAccounts: undefined, organizationId: "org-1" },
        'archives/central.organizationId: is not an AWS Organizations id (got "org-1"). Write "o-" followed by 10 to 32 lowercase letters or digits.'],
      ["an unknown retention class", { retention: "forever" },
        'archives/central.retention: unknown S3 archive retention class (got "forever"). Use one of "internal", "customer-facing", "personal-data", i.e. 90, 180, 365 days.'],
      ["an unknown Object Lock mode", { objectLock: { mode: "LEGAL_HOLD" } },
        'archives/central.objectLock.mode: is not an Object Lock mode (got "LEGAL_HOLD"). Use "COMPLIANCE", "GOVERNANCE": COMPLIANCE locks versions for everyone, root included; GOVERNANCE lets holders of s3:BypassGovernanceRetention remove them.'],
      ["Object Lock without a mode", { objectLock: {} },
        'archives/central.objectLock.mode: is required (got nothing). Use "COMPLIANCE", "GOVERNANCE": COMPLIANCE locks versions for everyone, root included; GOVERNANCE lets holders of s3:BypassGovernanceRetention remove them.'],
      ["a region that does not exist", { region: "eu-west-9" }, 'archives/central.region: is not an AWS region (got "eu-west-9").'],
      ["a key of another account", { kms: { keyArn: "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b" } },
        'archives/central.kms.keyArn: is not a key of 999999999999 in eu-west-1 (got "arn:aws:kms:eu-west-1:123456789012:key/6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"). S3 default encryption needs a key in the archive\'s own account and region.'],
      ["a name whose default bucket is too long", { name: "a-very-long-archive1", region: "ap-southeast-1" },
        'archives/central.ts (name "a-very-long-archive1").name: makes the default bucket name "flowlogs-archive-a-very-long-archive1-999999999999-ap-southeast-1" 65 characters long, over S3\'s 63 (got "a-very-long-archive1"). Choose a shorter name, or give bucketName.'],
      ["an exception to a control that does not run on an archive stack", { exceptions: [{ control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" }] },
        'archives/central.exceptions[0].control: is not a control that runs on an archive stack (got "CWL-365"). Use one of "RET-2", "RET-3", "RET-4", "S3-1", "S3-2", "S3-3", "S3-4", "KMS-1", "IAM-2".'],
      ["an unknown key", { bucket: "x" }, "archives/central: unknown key (got bucket). Remove it or correct the spelling;"],
      ["a missing account", { account: undefined }, 'archives/central.account: is required (got nothing). Quote the 12-digit account id of the log-archive account.'],
    ])("%s", (_title, overrides, expected) => {
      const problems = archiveProblems(overrides);
      expect(problems.join("\n")).toContain(expected);
      for (const p of problems) {
        expect(p).not.toMatch(ZOD_TEXT);
        expect(p).toMatch(USUAL_FORM);
      }
    });

    it("a file that exports nothing usable, pointing at the archive schema", () => {
      const problems: string[] = [];
      validateArchive({ file: "/envs/archives/x.ts", input: null }, problems);
      expect(problems).toEqual(["archives/x: must be an object (got null). Write it as an object in { }; environments/archives/schema.ts documents every field."]);
    });
  });

  it("reports an archive file that cannot be loaded, without crashing", () => {
    const dir = tempDir("broken-archive");
    writeEnvFiles(dir, { qa: baseInput({ name: "qa" }) });
    fs.mkdirSync(path.join(dir, "archives"));
    fs.writeFileSync(path.join(dir, "archives", "central.ts"), "export default {\n");
    let problems: readonly string[] = [];
    try {
      loadEnvironments(dir);
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith('archives/central.ts: cannot be loaded (got "')).toBe(true);
    expect(problems[0]!.endsWith("). Fix the file so that it exports the archive as its default export.")).toBe(true);
  });

  it("rejects two archives of one name, naming both files", () => {
    const problems = loadProblems({ qa: baseInput({ name: "qa" }) }, { a: baseArchive(), b: baseArchive() });
    expect(problems).toContain('archives/b.ts (name "central").name: duplicate archive name, also declared in archives/a.ts (got "central"). Give every archive its own name, usually its file\'s name ("b").');
  });

  it("rejects an environment whose stack would have an archive stack's name", () => {
    const problems = loadProblems({ "archive-central": baseInput({ name: "archive-central" }) }, { central: baseArchive() });
    expect(problems).toEqual([
      'archive-central.name: its stack flowlogs-archive-central has the name of the stack of archives/central.ts (got "archive-central"). Rename the environment or the archive: every stack needs its own folder and state.',
    ]);
  });

  it("reports a broken archive file even when no environment uses it, with the environments' problems", () => {
    const problems = loadProblems({ qa: baseInput({ name: "qa", account: "1" }) }, { central: baseArchive({ account: "2" }) });
    expect(problems).toEqual([
      'archives/central.account: is not a 12-digit AWS account id (got "2"). Write the account id as a string of exactly 12 digits.',
      'qa.account: is not a 12-digit AWS account id (got "1"). Write the account id as a string of exactly 12 digits.',
    ]);
  });
});

describe("an environment choosing a central archive", () => {
  it("delivers to the archive's bucket, owns no bucket name or lock of its own, and carries the archive", () => {
    const e = centralEnv();
    expect(e.archive.bucketName).toBe("flowlogs-archive-central-999999999999-eu-west-1");
    expect(e.archive.central).toMatchObject({ name: "central", account: "999999999999", stackName: "flowlogs-archive-central" });
    expect(e.archive.objectLock).toBeUndefined();
  });

  it("is admitted by an organization-wide archive whatever its account", () => {
    expect(centralEnv({}, archive({ sourceAccounts: undefined, organizationId: "o-a1b2c3d4e5" })).archive.central?.organizationId).toBe("o-a1b2c3d4e5");
  });

  it("loads from the environments folder with the archive of its archives/ folder", () => {
    const dir = tempDir("central-ok");
    writeEnvFiles(dir, { qa: qa() });
    writeArchiveFiles(dir, { central: baseArchive() });
    expect(loadEnvironments(dir)[0]!.archive.central?.file).toBe("archives/central.ts");
  });

  describe("is refused, in the usual form", () => {
    it("when no archive file has the name", () => {
      expect(loadProblems({ qa: qa({ central: "centrall" }) }, { central: baseArchive() })).toEqual([
        'qa.archive.central: no central archive has this name (got "centrall"). Use one of "central", or add environments/archives/centrall.ts.',
      ]);
    });

    it("when there is no archive at all", () => {
      const dir = tempDir("no-archives");
      writeEnvFiles(dir, { qa: qa() });
      expect(() => loadEnvironments(dir)).toThrow(
        'qa.archive.central: no central archive has this name (got "central"). Add environments/archives/central.ts (no archive is defined yet), or remove central to keep the environment\'s own archive.',
      );
    });

    it("when the environment's account is not one of the archive's sourceAccounts", () => {
      expect(loadProblems({ qa: qa({}, { account: "210987654321" }) }, { central: baseArchive() })).toEqual([
        'qa.archive.central: names "central", whose sourceAccounts in archives/central.ts do not include this environment\'s account 210987654321 (got "central"). Add "210987654321" to sourceAccounts in archives/central.ts, or choose another archive: the bucket policy lets only those accounts deliver.',
      ]);
    });

    it("when its archive class differs from the archive's, naming both files", () => {
      expect(loadProblems({ qa: qa({}, { retention: { cloudwatch: "production", archive: "personal-data" } }) }, { central: baseArchive() })).toEqual([
        'qa.retention.archive: qa.ts keeps the archive "personal-data" (365 days), but its central archive archives/central.ts keeps "internal" (90 days) (got "personal-data"). Give both files the same class, or deliver to an archive of this class: one bucket has one lifecycle.',
      ]);
    });

    it("when the archive is in another partition", () => {
      expect(loadProblems({ qa: qa() }, { central: baseArchive({ region: "cn-north-1" }) })).toEqual([
        'qa.archive.central: names "central" in cn-north-1, another AWS partition than this environment\'s eu-west-1 (got "central"). Choose an archive in the aws partition: flow logs cannot cross partitions.',
      ]);
    });

    it("when it also names a bucket or an Object Lock of its own", () => {
      const problems: string[] = [];
      validateEnvironment({ file: "/envs/qa.ts", input: qa({ bucketName: "my-bucket", objectLock: { mode: "COMPLIANCE" } }) }, problems, [archive()]);
      expect(problems).toEqual([
        'qa.archive.bucketName: is set, but central sends this environment\'s flow logs to the bucket of archives/central.ts (got "my-bucket"). Remove bucketName (the archive file names its bucket), or remove central.',
        'qa.archive.objectLock: is set, but central sends this environment\'s flow logs to archives/central.ts, whose bucket this environment does not own (got {"mode":"COMPLIANCE"}). Set objectLock in archives/central.ts, or remove central.',
      ]);
    });

    it("when it asks for cold storage, which the archive's one lifecycle does not give", () => {
      const problems: string[] = [];
      validateEnvironment({ file: "/envs/qa.ts", input: qa({}, { retention: { cloudwatch: "production", archive: "internal", archiveStorage: "cold" } }) }, problems, [archive()]);
      expect(problems).toEqual([
        'qa.retention.archiveStorage: is "cold", but the lifecycle of the central archive archives/central.ts keeps every object queryable (got "cold"). Remove archiveStorage (or write "queryable"): the central archive\'s one lifecycle serves every environment that delivers to it.',
      ]);
    });

    it("when the central name is not a name", () => {
      const problems: string[] = [];
      validateEnvironment({ file: "/envs/qa.ts", input: qa({ central: "Log Archive" }) }, problems, [archive()]);
      expect(problems).toEqual([
        'qa.archive.central: is not a valid archive name (got "Log Archive"). Use the name of a file in environments/archives/: 2-20 lowercase letters, digits and hyphens.',
      ]);
    });
  });
});

describe("Object Lock on an environment's own archive", () => {
  it("is off unless asked for, and keeps the mode given", () => {
    const problems: string[] = [];
    expect(validateEnvironment({ file: "/envs/test.ts", input: baseInput() }, problems)!.archive.objectLock).toBeUndefined();
    expect(validateEnvironment({ file: "/envs/test.ts", input: baseInput({ archive: { objectLock: { mode: "GOVERNANCE" } } }) }, problems)!.archive.objectLock).toEqual({ mode: "GOVERNANCE" });
    expect(problems).toEqual([]);
  });

  it("refuses an unknown mode in the usual form", () => {
    const problems: string[] = [];
    validateEnvironment({ file: "/envs/test.ts", input: baseInput({ archive: { objectLock: { mode: "compliance" } } }) }, problems);
    expect(problems).toEqual([
      'test.archive.objectLock.mode: is not an Object Lock mode (got "compliance"). Use "COMPLIANCE", "GOVERNANCE": COMPLIANCE locks versions for everyone, root included; GOVERNANCE lets holders of s3:BypassGovernanceRetention remove them.',
    ]);
  });
});
