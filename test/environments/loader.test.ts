import * as fs from "fs";
import * as path from "path";
import { loadEnvironments, selectEnvironments } from "../../environments";
import { ConfigError } from "../../policies/errors";
import { baseInput, tempDir, writeEnvFiles } from "../support/env";

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
    expect(message).toContain('aa.account: is not a 12-digit AWS account id (got "1").');
    expect(message).toContain('bb.region: is not an AWS region (got "nowhere").');
  });

  it("rejects duplicate environment names, naming both files", () => {
    const dir = tempDir("dup");
    writeEnvFiles(dir, { one: baseInput({ name: "prod" }), two: baseInput({ name: "prod" }) });
    expect(messageOf(() => loadEnvironments(dir))).toContain(
      'prod.name: duplicate environment name, also declared in one.ts (got "prod" in two.ts). Give every environment its own name.',
    );
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
