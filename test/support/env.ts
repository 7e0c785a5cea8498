import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateEnvironment } from "../../environments";
import { validateArchive } from "../../environments/archives";
import type { Archive } from "../../environments/archives/schema";
import type { Environment, EnvironmentInput } from "../../environments/schema";
import { ConfigError } from "../../policies/errors";

/** A minimal valid environment; tests override what they exercise. */
export function baseInput(overrides: Record<string, unknown> = {}): EnvironmentInput {
  return {
    name: "test",
    account: "123456789012",
    region: "eu-west-1",
    owner: "platform-team",
    retention: { cloudwatch: "production", archive: "internal" },
    flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] }],
    ...overrides,
  } as EnvironmentInput;
}

/** Validates an input as the loader would; returns the environment or the list of problems. */
export function validate(input: unknown, file = "test.ts"): { env?: Environment; problems: string[] } {
  const problems: string[] = [];
  const env = validateEnvironment({ file: `/envs/${file}`, input }, problems);
  return { env, problems };
}

/** The validated environment; throws a ConfigError with the problems when invalid. */
export function env(overrides: Record<string, unknown> = {}): Environment {
  const { env: e, problems } = validate(baseInput(overrides));
  if (!e) throw new ConfigError(problems);
  return e;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flowlog-kit-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Writes environment files (plain data, no imports) into `dir`. */
export function writeEnvFiles(dir: string, envs: Record<string, unknown>): void {
  for (const [file, input] of Object.entries(envs)) {
    fs.writeFileSync(path.join(dir, `${file}.ts`), `export default ${JSON.stringify(input, null, 2)};\n`);
  }
}

/** A copy of the example environments folder, central archives included (the files are plain data). */
export function copyExampleEnvironments(dir: string): void {
  const src = path.join(__dirname, "..", "..", "environments");
  for (const sub of ["", "archives"]) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    for (const f of fs.readdirSync(path.join(src, sub))) {
      if (f.endsWith(".ts") && f !== "index.ts" && f !== "schema.ts") fs.copyFileSync(path.join(src, sub, f), path.join(dir, sub, f));
    }
  }
}

/** Writes central archive files (plain data) into `dir`/archives. */
export function writeArchiveFiles(dir: string, archives: Record<string, unknown>): void {
  fs.mkdirSync(path.join(dir, "archives"), { recursive: true });
  for (const [file, input] of Object.entries(archives)) {
    fs.writeFileSync(path.join(dir, "archives", `${file}.ts`), `export default ${JSON.stringify(input, null, 2)};\n`);
  }
}

/** The validated central archive; throws a ConfigError with the problems when invalid. */
export function archive(overrides: Record<string, unknown> = {}): Archive {
  const problems: string[] = [];
  const input = baseArchive(overrides);
  const a = validateArchive({ file: `/envs/archives/${String(input.name)}.ts`, input }, problems);
  if (!a) throw new ConfigError(problems);
  return a;
}

/** A validated environment that delivers to `central` (by default archive()). */
export function centralEnv(overrides: Record<string, unknown> = {}, central: Archive = archive()): Environment {
  const problems: string[] = [];
  const e = validateEnvironment({ file: "/envs/test.ts", input: baseInput({ archive: { central: central.name }, ...overrides }) }, problems, [central]);
  if (!e) throw new ConfigError(problems);
  return e;
}

/** A minimal valid central archive; tests override what they exercise. */
export function baseArchive(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "central",
    account: "999999999999",
    region: "eu-west-1",
    owner: "security-operations",
    retention: "internal",
    sourceAccounts: ["123456789012"],
    ...overrides,
  };
}

/**
 * Points the loader at `dir` for the tests of the enclosing describe block (beforeAll), and
 * restores the previous setting afterwards.
 */
export function useEnvironmentsDir(dir: string, copyExamples = true): void {
  const previous = process.env.FLOWLOG_KIT_ENVIRONMENTS;
  beforeAll(() => {
    if (copyExamples) copyExampleEnvironments(dir);
    process.env.FLOWLOG_KIT_ENVIRONMENTS = dir;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.FLOWLOG_KIT_ENVIRONMENTS;
    else process.env.FLOWLOG_KIT_ENVIRONMENTS = previous;
  });
}

/** Every file under dir with its bytes (base64), for "nothing written or changed" checks. */
export function snapshotTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else files[path.relative(dir, full)] = fs.readFileSync(full).toString("base64");
    }
  };
  walk(dir);
  return files;
}
