import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { DetectorThresholds, NetworkContext, resolveThresholds, ThreatIntelList } from "../functions/detect/thresholds";
import { readThreatList } from "../functions/detect/threat-intel";
import { ConfigError, showValue } from "../policies/errors";
import { Environment, EnvironmentSchema, FIX } from "./schema";
import { archivesDir, centralArchiveFor, readArchiveSources, validateArchives } from "./archives";
import type { Archive } from "./archives/schema";

/** The network context as the detector takes it: keys left out keep their defaults. */
function networkOf(n: { cidrs?: string[]; natGateways?: string[]; loadBalancers?: string[]; resolvers?: string[] }): Partial<NetworkContext> {
  return Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined));
}

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
      // `export default null` is an environment of null, not the module object.
      sources.push({ file: full, input: mod !== null && typeof mod === "object" && "default" in mod ? mod.default : mod });
    } catch (err) {
      problems.push(`${path.basename(file, ".ts")}: cannot be loaded (got ${showValue((err as Error).message)}). Fix the file so that it exports the environment as its default export.`);
    }
  }
  return sources;
}

/** The value at a path inside an input, or undefined where the path leaves it. */
export function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of at) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

// A key that is not a plain name (a tag such as "Cost Center" or "aws:x") is shown quoted,
// and a very long one shortened, so the path stays one readable token.
function formatPath(at: readonly PropertyKey[]): string {
  return at
    .map((k) => {
      if (typeof k === "number") return `[${k}]`;
      const key = String(k);
      if (/^[A-Za-z_$][\w$]*$/.test(key) && key.length <= 40) return `.${key}`;
      return `[${JSON.stringify(key.length > 40 ? `${key.slice(0, 37)}...` : key)}]`;
    })
    .join("");
}

const SCHEMA_FIX = "environments/schema.ts documents every field";
const SEE_SCHEMA = "See environments/schema.ts for the field";
const TYPE_NAMES: Record<string, [string, string]> = {
  string: ["must be a string", `Quote the value; ${SCHEMA_FIX}.`],
  number: ["must be a number", `Write a number without quotes; ${SCHEMA_FIX}.`],
  int: ["must be a whole number", "Write a whole number, without a fraction."],
  boolean: ["must be true or false", "Write true or false, without quotes."],
  array: ["must be a list", `Write it as a list in [ ]; ${SCHEMA_FIX}.`],
  object: ["must be an object", `Write it as an object in { }; ${SCHEMA_FIX}.`],
  record: ["must be an object", `Write it as an object in { }; ${SCHEMA_FIX}.`],
};
const entries = (n: number | bigint) => `${n} ${n === 1 ? "entry" : "entries"}`;

/**
 * Words every issue the schema does not word itself, in the kit's form, for every issue code
 * zod has: zod's own English ("Too small: expected string to have >=1 characters") never
 * reaches a user. Exported so that other record loaders can word issues the same way.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const text = (problem: string, fix: string) => `${problem}${FIX}${fix}`;
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return text("is required", `Add it; ${SCHEMA_FIX}.`);
      const [problem, fix] = TYPE_NAMES[issue.expected] ?? [`must be of type ${issue.expected}`, `${SEE_SCHEMA}.`];
      return text(problem, fix);
    }
    case "unrecognized_keys":
      return text(`unknown key${issue.keys.length === 1 ? "" : "s"}`, `Remove ${issue.keys.length === 1 ? "it" : "them"} or correct the spelling; environments/schema.ts lists the keys.`);
    case "too_small":
      if (issue.origin === "string") return text(Number(issue.minimum) <= 1 ? "is empty" : `is shorter than ${issue.minimum} characters`, `Give a value; ${SCHEMA_FIX}.`);
      if (issue.origin === "array" || issue.origin === "set") return text(`needs at least ${entries(issue.minimum)}`, `Add ${Number(issue.minimum) === 1 ? "one" : "more"}; ${SCHEMA_FIX}.`);
      return text(`is below the minimum of ${issue.minimum}`, `Use ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}.`);
    case "too_big":
      if (issue.origin === "string") return text(`is longer than ${issue.maximum} characters`, `Shorten it to at most ${issue.maximum} characters.`);
      if (issue.origin === "array" || issue.origin === "set") return text(`has more than ${entries(issue.maximum)}`, `Keep at most ${entries(issue.maximum)}.`);
      return text(`is above the maximum of ${issue.maximum}`, `Use ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}.`);
    case "invalid_format":
      return text(`is not in the ${issue.format} format`, `${SEE_SCHEMA} and its format.`);
    case "not_multiple_of":
      return text(`is not a multiple of ${issue.divisor}`, `Use a multiple of ${issue.divisor}.`);
    case "invalid_value":
      return text(`is not ${issue.values.length === 1 ? "the accepted value" : "one of the accepted values"}`, `Use ${issue.values.map((v) => JSON.stringify(v)).join(", ")}.`);
    case "invalid_union":
      return text("matches none of the forms this field takes", `${SEE_SCHEMA} and its forms.`);
    case "invalid_key":
      return text("has a key that is not accepted", `${SEE_SCHEMA}.`);
    case "invalid_element":
      return text("has an entry that is not accepted", `${SEE_SCHEMA}.`);
    default:
      return text("is not accepted", `${SEE_SCHEMA}.`);
  }
};

// JSON would show NaN and Infinity as null.
const show = (value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : showValue(value));

/**
 * The problems of a failed parse, each as `<label><path>: <problem> (got <value>). <fix>`. The
 * value shown is the one at the issue's path, unless the schema names another: `params.got` (a
 * value, e.g. the tag key when the key is the problem) or `params.gotText` (words, e.g.
 * "60 tags"). A message without a fix is a schema bug, but the user still gets a line in the
 * usual form.
 */
export function formatIssues(label: string, input: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const [problem, fix] = issue.message.split(FIX);
    const params = issue.code === "custom" ? (issue.params as { got?: unknown; gotText?: string } | undefined) : undefined;
    const got =
      issue.code === "unrecognized_keys"
        ? issue.keys.join(", ")
        : issue.code === "invalid_key"
          ? show(String(issue.path[issue.path.length - 1]))
          : (params?.gotText ?? show(params?.got !== undefined ? params.got : valueAt(input, issue.path)));
    return `${label}${formatPath(issue.path)}: ${problem} (got ${got}). ${fix ?? "See environments/schema.ts."}`;
  });
}

/**
 * How messages name an environment: its name, which is also its file's name when the README is
 * followed. When the two differ (dev.ts copied to qa.ts, name left "dev"), the file comes first,
 * so a typo in qa.ts is never blamed on dev: `qa.ts (name "dev").account`.
 */
export function environmentLabel(file: string, input: unknown): string {
  const fileName = path.basename(file, ".ts");
  const name = (input as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || name === "" || name === fileName) return fileName;
  return `${fileName}.ts (name ${showValue(name)})`;
}

/**
 * Validates one environment; returns it frozen, or pushes its problems. An environment that
 * names a central archive is checked against `archives` (by default those of the environments
 * folder's archives/).
 */
export function validateEnvironment(source: EnvironmentSource, problems: string[], archives?: readonly Archive[]): Environment | undefined {
  const label = environmentLabel(source.file, source.input);
  const result = EnvironmentSchema.safeParse(source.input, { error: configErrorMap });
  if (!result.success) {
    problems.push(...formatIssues(label, source.input, result.error.issues));
    return undefined;
  }
  const env = result.data;
  // Threat lists are read now, relative to the environment's file: a run never starts on a list that is unreadable or half valid.
  const threatIntel: ThreatIntelList[] = [];
  let listProblems = false;
  env.detectors.threatIntel.forEach((list, i) => {
    // A list in S3 is read by the deployed detector on every run, not here.
    if (list.path === undefined) return;
    const file = path.resolve(path.dirname(source.file), list.path);
    const read = readThreatList(file);
    if (read.problems.length) {
      listProblems = true;
      problems.push(...read.problems.map((p) => `${label}.detectors.threatIntel[${i}] (${list.name}): ${p}`));
    }
    threatIntel.push({ name: list.name, entries: read.entries });
  });
  if (listProblems) return undefined;
  let central: Archive | undefined;
  if (env.archive.central !== undefined) {
    central = centralArchiveFor(env, label, source.file, archives ?? validateArchives(readArchiveSources(archivesDir(), problems), problems), problems);
    if (!central) return undefined;
  }
  return deepFreeze({
    ...env,
    archive: central
      ? { bucketName: central.bucketName, central }
      : { bucketName: env.archive.bucketName ?? `flowlogs-${env.name}-${env.account}-${env.region}`, objectLock: env.archive.objectLock },
    detectors: { ...env.detectors, thresholds: resolveThresholds({ ...(env.detectors.thresholds as Partial<DetectorThresholds>), network: networkOf(env.network), suppress: env.detectors.suppress, threatIntel }) },
    stackName: `flowlogs-${env.name}`,
    vpcs: env.vpcs ?? env.flowLogs.filter((s) => s.resource === "vpc").map((s) => s.id),
    flowLogs: env.flowLogs.map((s) => ({ ...s, region: s.region ?? env.region })),
    // Defaults here, not in the schema: the schema must see whether a threshold was written
    // (an Infrequent Access environment refuses one).
    analytics: { ...env.analytics, alarms: { rejectedAdminThreshold: env.analytics.alarms.rejectedAdminThreshold ?? 100, logGapThreshold: env.analytics.alarms.logGapThreshold ?? 1 } },
  });
}

/**
 * Loads, validates and freezes every environment in `dir`. Every problem in every file is
 * collected first; then one ConfigError carries them all.
 */
export function loadEnvironments(dir: string = environmentsDir()): readonly Environment[] {
  const problems: string[] = [];
  const sources = readEnvironmentSources(dir, problems);
  // Archives live in a folder of their own (archives/), which the environment reader never
  // enters: every archive is validated here, used or not, with the environments.
  const archives = validateArchives(readArchiveSources(archivesDir(dir), problems), problems);
  const envs = sources.map((s) => validateEnvironment(s, problems, archives));
  const byName = new Map<string, string>();
  sources.forEach((s, i) => {
    const env = envs[i];
    if (!env) return;
    const other = byName.get(env.name);
    if (other !== undefined) {
      problems.push(
        `${environmentLabel(s.file, s.input)}.name: duplicate environment name, also declared in ${path.basename(other)} (got "${env.name}"). ` +
          `Give every environment its own name, usually its file's name ("${path.basename(s.file, ".ts")}").`,
      );
    }
    byName.set(env.name, s.file);
    const twin = archives.find((a) => a.stackName === env.stackName);
    if (twin) {
      problems.push(
        `${environmentLabel(s.file, s.input)}.name: its stack ${env.stackName} has the name of the stack of ${twin.file} (got "${env.name}"). Rename the environment or the archive: every stack needs its own folder and state.`,
      );
    }
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

/** Freezes a validated value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
