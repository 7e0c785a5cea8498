import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { DetectorThresholds, resolveThresholds } from "../functions/detect/thresholds";
import { ConfigError, showValue } from "../policies/errors";
import { Environment, EnvironmentSchema, FIX } from "./schema";

/** Files in an environments folder that are not environments. */
const NOT_ENVIRONMENTS = new Set(["index.ts", "schema.ts"]);

/**
 * The environments folder: FLOWLOG_KIT_ENVIRONMENTS when set (tests and benchmarks point it at
 * a copy), otherwise this folder.
 */
export function environmentsDir(): string {
  return path.resolve(process.env.FLOWLOG_KIT_ENVIRONMENTS ?? __dirname);
}

/** One environment file as read from disk, before validation. */
export interface EnvironmentSource {
  /** Where it came from, for messages. */
  readonly file: string;
  readonly input: unknown;
}

/** Reads every `<env>.ts` in `dir`, in name order. A file that cannot be loaded is a problem, not a crash. */
export function readEnvironmentSources(dir: string, problems: string[]): EnvironmentSource[] {
  if (!fs.existsSync(dir)) {
    problems.push(`${dir}: environments folder not found (got nothing). Create it or set FLOWLOG_KIT_ENVIRONMENTS to the folder that holds <env>.ts files.`);
    return [];
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !NOT_ENVIRONMENTS.has(f))
    .sort();
  const sources: EnvironmentSource[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(full);
      sources.push({ file: full, input: mod.default ?? mod });
    } catch (err) {
      problems.push(`${path.basename(file, ".ts")}: cannot be loaded (got ${showValue((err as Error).message)}). Fix the file so that it exports the environment as its default export.`);
    }
  }
  return sources;
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of at) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function formatPath(at: readonly PropertyKey[]): string {
  return at.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
}

/** Messages for issues the schema does not word itself. */
const fallback: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === "invalid_type") {
    return issue.input === undefined
      ? `is required${FIX}Add it; environments/schema.ts documents every field.`
      : `must be ${issue.expected}${FIX}See environments/schema.ts for the field's type.`;
  }
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length === 1 ? "" : "s"}${FIX}Remove ${issue.keys.length === 1 ? "it" : "them"} or correct the spelling; environments/schema.ts lists the keys.`;
  }
  return undefined;
};

/** Validates one environment; returns it frozen, or pushes its problems. */
export function validateEnvironment(source: EnvironmentSource, problems: string[]): Environment | undefined {
  const fileName = path.basename(source.file, ".ts");
  const raw = source.input as { name?: unknown } | undefined;
  const label = typeof raw?.name === "string" && raw.name.length > 0 ? raw.name : fileName;
  const result = EnvironmentSchema.safeParse(source.input, { error: fallback });
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [problem, fix] = issue.message.split(FIX);
      const got = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : showValue(valueAt(source.input, issue.path));
      problems.push(`${label}${formatPath(issue.path)}: ${problem} (got ${got}). ${fix ?? "See environments/schema.ts."}`);
    }
    return undefined;
  }
  const env = result.data;
  return deepFreeze({
    ...env,
    archive: { bucketName: env.archive.bucketName ?? `flowlogs-${env.name}-${env.account}-${env.region}` },
    detectors: { ...env.detectors, thresholds: resolveThresholds(env.detectors.thresholds as Partial<DetectorThresholds>) },
    stackName: `flowlogs-${env.name}`,
    vpcs: env.vpcs ?? env.flowLogs.filter((s) => s.resource === "vpc").map((s) => s.id),
  });
}

/**
 * Loads, validates and freezes every environment in `dir`. Every problem in every file is
 * collected first; then one ConfigError carries them all.
 */
export function loadEnvironments(dir: string = environmentsDir()): readonly Environment[] {
  const problems: string[] = [];
  const sources = readEnvironmentSources(dir, problems);
  const envs = sources.map((s) => validateEnvironment(s, problems));
  const byName = new Map<string, string>();
  sources.forEach((s, i) => {
    const env = envs[i];
    if (!env) return;
    const other = byName.get(env.name);
    if (other !== undefined) {
      problems.push(`${env.name}.name: duplicate environment name, also declared in ${path.basename(other)} (got "${env.name}" in ${path.basename(s.file)}). Give every environment its own name.`);
    }
    byName.set(env.name, s.file);
  });
  if (problems.length) throw new ConfigError(problems);
  if (envs.length === 0) {
    throw new ConfigError([`${dir}: no environments found (got no <env>.ts files). Add one; see "Add an environment" in the README.`]);
  }
  return Object.freeze(envs as Environment[]);
}

/** Picks environments by name; an unknown name is a ConfigError naming the known ones. */
export function selectEnvironments(all: readonly Environment[], names: readonly string[]): readonly Environment[] {
  if (names.length === 0) return all;
  const known = all.map((e) => e.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    throw new ConfigError(unknown.map((n) => `${n}: unknown environment (got "${n}"). Use one of ${known.map((k) => `"${k}"`).join(", ")}.`));
  }
  return all.filter((e) => names.includes(e.name));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
