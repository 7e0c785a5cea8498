import * as fs from "fs";
import * as path from "path";
import { loadEnvironments, selectEnvironments } from "../../environments";
import { ConfigError } from "../../policies/errors";
import { baseInput, copyExampleEnvironments, tempDir, writeEnvFiles } from "../support/env";

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("environment loader", () => {
  it("loads the three example environments, validated and frozen, in name order", () => {
    const envs = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
    expect(envs.map((e) => e.name)).toEqual(["dev", "prod", "stg"]);
    expect(Object.isFrozen(envs)).toBe(true);
    expect(new Set(envs.map((e) => e.account)).size).toBe(3);
    const prod = envs.find((e) => e.name === "prod")!;
    expect(prod.flowLogs.filter((s) => s.resource === "vpc")).toHaveLength(2);
  });

  it("collects the problems of every file before throwing once", () => {
    const dir = tempDir("loader");
    writeEnvFiles(dir, {
      a: baseInput({ name: "aa", account: "1" }),
      b: baseInput({ name: "bb", region: "nowhere" }),
    });
    const message = messageOf(() => loadEnvironments(dir));
    expect(message).toContain("2 configuration problems:");
    expect(message).toContain('a.ts (name "aa").account: is not a 12-digit AWS account id (got "1").');
    expect(message).toContain('b.ts (name "bb").region: is not an AWS region (got "nowhere").');
  });

  it("rejects duplicate environment names, naming both files", () => {
    const dir = tempDir("dup");
    writeEnvFiles(dir, { one: baseInput({ name: "prod" }), two: baseInput({ name: "prod" }) });
    expect(messageOf(() => loadEnvironments(dir))).toContain(
      'two.ts (name "prod").name: duplicate environment name, also declared in one.ts (got "prod"). Give every environment its own name, usually its file\'s name ("two").',
    );
  });

  describe("names the file when the environment's name differs from it", () => {
    // The README's way to add an environment: copy dev.ts to qa.ts, then edit it.
    const copyOfDev = (dir: string, edit: (text: string) => string) => {
      copyExampleEnvironments(dir);
      fs.writeFileSync(path.join(dir, "qa.ts"), edit(fs.readFileSync(path.join(dir, "dev.ts"), "utf8")));
    };

    it("blames qa.ts, not dev, for a typo in a copy of dev.ts whose name is still \"dev\"", () => {
      const dir = tempDir("copy");
      copyOfDev(dir, (text) => text.replace('account: "210987654321"', 'account: "21098765432"'));
      const message = messageOf(() => loadEnvironments(dir));
      expect(message).toContain('qa.ts (name "dev").account: is not a 12-digit AWS account id (got "21098765432"). Write the account id as a string of exactly 12 digits.');
      expect(message).not.toMatch(/^\s+- dev\.account/m);
    });

    it("says the copy still carries dev's name once the typo is fixed", () => {
      const dir = tempDir("copy-name");
      copyOfDev(dir, (text) => text);
      expect(messageOf(() => loadEnvironments(dir))).toContain(
        'qa.ts (name "dev").name: duplicate environment name, also declared in dev.ts (got "dev"). Give every environment its own name, usually its file\'s name ("qa").',
      );
    });

    it("keeps the short label when the name matches the file", () => {
      const dir = tempDir("same");
      writeEnvFiles(dir, { qa: baseInput({ name: "qa", account: "1" }) });
      expect(messageOf(() => loadEnvironments(dir))).toContain('  - qa.account: is not a 12-digit AWS account id (got "1").');
    });

    it("uses the file's name when the name is not a string", () => {
      const dir = tempDir("no-name");
      writeEnvFiles(dir, { qa: baseInput({ name: 5 }) });
      expect(messageOf(() => loadEnvironments(dir))).toContain('  - qa.name: must be a string (got 5). Name the environment, e.g. "prod".');
    });
  });

  it("reports a file that cannot be loaded instead of crashing", () => {
    const dir = tempDir("broken");
    fs.writeFileSync(path.join(dir, "bad.ts"), "throw new Error('boom');\n");
    expect(messageOf(() => loadEnvironments(dir))).toContain(
      'bad: cannot be loaded (got "boom"). Fix the file so that it exports the environment as its default export.',
    );
  });

  it("says where to put environments when the folder is empty or missing", () => {
    const dir = tempDir("empty");
    expect(messageOf(() => loadEnvironments(dir))).toContain("no environments found (got no <env>.ts files).");
    expect(messageOf(() => loadEnvironments(path.join(dir, "missing")))).toContain(
      "environments folder not found (got nothing). Create it or set FLOWLOG_KIT_ENVIRONMENTS",
    );
  });

  it("selects environments by name and rejects an unknown one with the known names", () => {
    const envs = loadEnvironments(path.join(__dirname, "..", "..", "environments"));
    expect(selectEnvironments(envs, ["stg"]).map((e) => e.name)).toEqual(["stg"]);
    expect(selectEnvironments(envs, []).map((e) => e.name)).toEqual(["dev", "prod", "stg"]);
    expect(messageOf(() => selectEnvironments(envs, ["qa"]))).toContain('qa: unknown environment (got "qa"). Use one of "dev", "prod", "stg".');
  });
});
