import * as fs from "fs";
import * as path from "path";
import { ConfigError, showValue } from "../../policies/errors";
import { partitionOf } from "../../policies/iam";
import { configErrorMap, deepFreeze, environmentsDir, formatIssues } from "..";
import type { Environment } from "../schema";
import { Archive, archiveStackName, ArchiveSchema, defaultArchiveBucket } from "./schema";

/** Files in the archives folder that are not archives. */
const NOT_ARCHIVES = new Set(["index.ts", "schema.ts"]);

/** Where central archives live: `archives/` in the environments folder. */
export const archivesDir = (envDir: string = environmentsDir()) => path.join(envDir, "archives");

/** One archive file as read from disk, before validation. */
export interface ArchiveSource {
  readonly file: string;
  readonly input: unknown;
}

/**
 * Reads every `archives/<name>.ts`, in name order. A missing folder holds no archives; a file
 * that cannot be loaded is a problem, not a crash.
 */
export function readArchiveSources(dir: string, problems: string[]): ArchiveSource[] {
  if (!fs.existsSync(dir)) return [];
  const sources: ArchiveSource[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !NOT_ARCHIVES.has(f)).sort()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(dir, file));
      sources.push({ file: path.join(dir, file), input: mod !== null && typeof mod === "object" && "default" in mod ? mod.default : mod });
    } catch (err) {
      problems.push(`archives/${file}: cannot be loaded (got ${showValue((err as Error).message)}). Fix the file so that it exports the archive as its default export.`);
    }
  }
  return sources;
}

/** `archives/<file>`, and the name when it differs from the file's, as messages name an archive. */
function archiveLabel(file: string, input: unknown): string {
  const fileName = path.basename(file, ".ts");
  const name = (input as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || name === "" || name === fileName) return `archives/${fileName}`;
  return `archives/${fileName}.ts (name ${showValue(name)})`;
}

/** Validates one archive; returns it frozen, or pushes its problems. */
export function validateArchive(source: ArchiveSource, problems: string[]): Archive | undefined {
  const result = ArchiveSchema.safeParse(source.input, { error: configErrorMap });
  if (!result.success) {
    // The shared fallback messages point at the environment schema; an archive has its own.
    problems.push(...formatIssues(archiveLabel(source.file, source.input), source.input, result.error.issues).map((p) => p.replace(/environments\/schema\.ts/g, "environments/archives/schema.ts")));
    return undefined;
  }
  const a = result.data;
  return deepFreeze({
    ...a,
    bucketName: a.bucketName ?? defaultArchiveBucket(a),
    stackName: archiveStackName(a.name),
    file: `archives/${path.basename(source.file)}`,
  });
}

/** Validates every archive source; duplicate names are problems naming both files. */
export function validateArchives(sources: readonly ArchiveSource[], problems: string[]): Archive[] {
  const archives: Archive[] = [];
  const byName = new Map<string, string>();
  for (const source of sources) {
    const archive = validateArchive(source, problems);
    if (!archive) continue;
    const other = byName.get(archive.name);
    if (other !== undefined) {
      problems.push(
        `${archiveLabel(source.file, source.input)}.name: duplicate archive name, also declared in archives/${path.basename(other)} (got "${archive.name}"). ` +
          `Give every archive its own name, usually its file's name ("${path.basename(source.file, ".ts")}").`,
      );
      continue;
    }
    byName.set(archive.name, source.file);
    archives.push(archive);
  }
  return archives;
}

/** Loads, validates and freezes every archive in `dir`; one ConfigError carries every problem. */
export function loadArchives(dir: string = archivesDir()): readonly Archive[] {
  const problems: string[] = [];
  const archives = validateArchives(readArchiveSources(dir, problems), problems);
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(archives);
}

/** What the central-archive checks read of an environment. */
export interface CentralArchiveUser {
  readonly account: string;
  readonly region: string;
  readonly retention: { readonly archive: Pick<Environment["retention"]["archive"], "class" | "days"> };
  readonly archive: { readonly central?: string };
}

/**
 * The central archive an environment names in `archive.central`, checked against it: it must
 * exist, list the environment's account (unless it admits a whole organization), keep the same
 * archive class, and be in the same partition. `label` is how messages name the environment.
 */
export function centralArchiveFor(env: CentralArchiveUser, label: string, file: string, archives: readonly Archive[], problems: string[]): Archive | undefined {
  const name = env.archive.central;
  if (name === undefined) return undefined;
  const archive = archives.find((a) => a.name === name);
  if (!archive) {
    const known = archives.map((a) => `"${a.name}"`);
    problems.push(
      `${label}.archive.central: no central archive has this name (got "${name}"). ` +
        (known.length ? `Use one of ${known.join(", ")}, or add environments/archives/${name}.ts.` : `Add environments/archives/${name}.ts (no archive is defined yet), or remove central to keep the environment's own archive.`),
    );
    return undefined;
  }
  const before = problems.length;
  if (archive.sourceAccounts !== undefined && !archive.sourceAccounts.includes(env.account)) {
    problems.push(
      `${label}.archive.central: names "${name}", whose sourceAccounts in ${archive.file} do not include this environment's account ${env.account} (got "${name}"). ` +
        `Add "${env.account}" to sourceAccounts in ${archive.file}, or choose another archive: the bucket policy lets only those accounts deliver.`,
    );
  }
  if (env.retention.archive.class !== archive.retention.class) {
    problems.push(
      `${label}.retention.archive: ${path.basename(file)} keeps the archive "${env.retention.archive.class}" (${env.retention.archive.days} days), but its central archive ${archive.file} keeps "${archive.retention.class}" (${archive.retention.days} days) (got "${env.retention.archive.class}"). ` +
        `Give both files the same class, or deliver to an archive of this class: one bucket has one lifecycle.`,
    );
  }
  if (partitionOf(env.region) !== partitionOf(archive.region)) {
    problems.push(
      `${label}.archive.central: names "${name}" in ${archive.region}, another AWS partition than this environment's ${env.region} (got "${name}"). Choose an archive in the ${partitionOf(env.region)} partition: flow logs cannot cross partitions.`,
    );
  }
  return problems.length === before ? archive : undefined;
}

