import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateEnvironment } from "../../environments";
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

/** A copy of the example environments folder (the files are plain data). */
export function copyExampleEnvironments(dir: string): void {
  const src = path.join(__dirname, "..", "..", "environments");
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith(".ts") && f !== "index.ts" && f !== "schema.ts") fs.copyFileSync(path.join(src, f), path.join(dir, f));
  }
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
