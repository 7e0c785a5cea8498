import * as fs from "fs";
import * as path from "path";
import { loadEnvironments, selectEnvironments } from "../environments";
import { loadArchives } from "../environments/archives";
import type { Archive } from "../environments/archives/schema";
import { BrokenIncident, isLive, readIncidents } from "../environments/incidents";
import type { IncidentRecord } from "../environments/incidents/schema";
import type { Environment } from "../environments/schema";
import { ConfigError } from "../policies/errors";
import { buildApp } from "../main";
import { incidentNames } from "../stacks/incident-stack";
import { DEFAULT_OUTDIR } from "./options";
import { replaceOutputFolder } from "./output";
import { archiveTarget, droppedEvidence, environmentTarget, previousOutputChanges } from "./previous-output";
import { renderTable } from "./table";

export interface SynthOptions {
  /** Environments to synthesize. @default - all of them */
  readonly envNames?: readonly string[];
  /** @default "cdktf.out" in the current folder */
  readonly outdir?: string;
  /** Already loaded environments. @default - loaded and validated from the environments folder */
  readonly all?: readonly Environment[];
  /**
   * Runs on the new stacks in their temporary folder before they replace the output; a throw
   * leaves the previous output untouched. @default - no check
   */
  readonly check?: (tmpOutdir: string, result: SynthResult) => void;
  /** The option that named `outdir`, for messages. @default "--out" */
  readonly flag?: string;
  /**
   * Archive buckets and KMS keys of the previous output that this synth may drop, each as
   * `<stack>:<address>` (`--allow-drop`): the user has taken them out of Terraform's state, so
   * they stay in AWS. Any other drop is refused. @see droppedEvidence
   * @default - none
   */
  readonly allowDrop?: readonly string[];
  /** Incident records. @default - loaded from the environments folder's incidents/ */
  readonly incidents?: readonly IncidentRecord[];
  /**
   * Central archives to synthesize, by name.
   * @default - every archive when no environment is named; otherwise those the named environments deliver to
   */
  readonly archiveNames?: readonly string[];
  /** Every central archive. @default - those of the environments, and of the environments folder's archives/ */
  readonly archives?: readonly Archive[];
}

export interface SynthResult {
  readonly outdir: string;
  readonly envs: readonly Environment[];
  /** Open and closing incidents of those environments, each synthesized as its own stack. */
  readonly incidents: readonly IncidentRecord[];
  /**
   * Incident records that could not be used. They hold up no environment's synth; they are
   * warnings here and fail INC-1 for the environment they name (every environment when the
   * record does not say).
   */
  readonly broken: readonly BrokenIncident[];
  /** Central archives, each synthesized as its own stack `flowlogs-archive-<name>`. */
  readonly archives: readonly Archive[];
  /** Lines to show the user: one per broken or orphaned incident record, and per archive change the previous output reveals. */
  readonly warnings: readonly string[];
}

/** Every central archive: those the environments deliver to, and those of the archives folder. */
export function knownArchives(all: readonly Environment[], files: readonly Archive[] = loadArchives()): readonly Archive[] {
  const byName = new Map<string, Archive>();
  for (const a of [...all.flatMap((e) => (e.archive.central ? [e.archive.central] : [])), ...files]) if (!byName.has(a.name)) byName.set(a.name, a);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The archives a synth writes: those named, or all when no environment is named, or those the chosen environments deliver to. */
function chooseArchives(archives: readonly Archive[], envs: readonly Environment[], opts: SynthOptions): readonly Archive[] {
  if (opts.archiveNames !== undefined) {
    const unknown = opts.archiveNames.filter((n) => !archives.some((a) => a.name === n));
    if (unknown.length) throw new ConfigError(unknown.map((n) => `${n}: unknown central archive (got "${n}"). Use one of ${archives.map((a) => `"${a.name}"`).join(", ") || "the archives of environments/archives/ (there are none)"}.`));
    return archives.filter((a) => opts.archiveNames!.includes(a.name));
  }
  if ((opts.envNames ?? []).length === 0) return archives;
  return archives.filter((a) => envs.some((e) => e.archive.central?.name === a.name));
}

/** The folder a stack is synthesized into. */
export const stackDir = (outdir: string, stackName: string) => path.join(outdir, "stacks", stackName);

/**
 * The local backend's state file of the stack whose cdk.tf.json is in `jsonDir`, resolved as
 * terraform resolves it from the stack's folder `dir`; undefined for any other backend.
 */
export function localStateFile(jsonDir: string, dir: string = jsonDir): { configured: string; file: string } | undefined {
  const stack = JSON.parse(fs.readFileSync(path.join(jsonDir, "cdk.tf.json"), "utf8")) as { terraform?: { backend?: { local?: { path?: string } } } };
  const local = stack.terraform?.backend?.local;
  if (local === undefined) return undefined;
  const configured = local.path ?? "terraform.tfstate";
  return { configured, file: path.resolve(dir, configured) };
}

/**
 * Validates every environment, then synthesizes the chosen ones into a temporary folder and
 * swaps it in for `outdir`. An invalid configuration or an output folder the kit may not
 * replace throws before anything is written, and a failed synth leaves the previous output
 * as it was.
 */
export function synthesize(opts: SynthOptions = {}): SynthResult {
  const outdir = path.resolve(opts.outdir ?? DEFAULT_OUTDIR);
  const all = opts.all ?? loadEnvironments();
  const envs = selectEnvironments(all, opts.envNames ?? []);
  const files = opts.incidents ? { records: opts.incidents, broken: [] } : readIncidents();
  const known = new Set(all.map((e) => e.name));
  const usable = files.records.filter((i) => known.has(i.environment));
  const orphans = files.records.filter((i) => !known.has(i.environment) && isLive(i));
  const broken: BrokenIncident[] = [
    ...files.broken,
    ...orphans.map((i) => ({
      file: `incidents/${i.id}.json`,
      environment: i.environment,
      problems: [
        `incidents/${i.id}.json.environment: no such environment (got "${i.environment}"). Restore environments/${i.environment}.ts and run flowlog-kit incident close ${i.id} to plan the destroy of its logging; if its stack was never applied or is already destroyed, delete the record.`,
      ],
    })),
  ];
  const warnings = broken.flatMap((b) => b.problems.map((p) => `warning: ${p} (its stack is left out of this synth)`));
  const live = usable.filter((i) => isLive(i) && envs.some((e) => e.name === i.environment));
  const archives = chooseArchives(opts.archives ?? knownArchives(all), envs, opts);
  // Object Lock cannot be undone: what the output being replaced locked is checked first.
  const targets = [...envs.map(environmentTarget), ...archives.map(archiveTarget)];
  const previous = previousOutputChanges(outdir, targets);
  if (previous.problems.length) throw new ConfigError(previous.problems);
  const result: SynthResult = { outdir, envs, incidents: live, broken, archives, warnings: [...warnings, ...previous.warnings] };
  let dropped: string[] = [];
  replaceOutputFolder(
    opts.outdir ?? DEFAULT_OUTDIR,
    (tmp) => {
      buildApp(envs, tmp, live, archives, all).synth();
      // An archive bucket or KMS key the output being replaced holds and these stacks drop would be destroyed.
      dropped = droppedEvidence(outdir, tmp, targets, opts.allowDrop);
      checkLocalStatePaths(tmp, outdir, envs);
      // The caller's own verdict on the new stacks, before they replace anything.
      opts.check?.(tmp, { ...result, outdir: tmp });
    },
    opts.flag ?? "--out",
  );
  return dropped.length ? { ...result, warnings: [...result.warnings, ...dropped] } : result;
}

/**
 * A local state file inside the output folder would be deleted by the next synth, which
 * replaces the whole folder: refused before anything is written.
 */
function checkLocalStatePaths(tmp: string, outdir: string, envs: readonly Environment[]): void {
  const problems: string[] = [];
  const stacksDir = path.join(tmp, "stacks");
  for (const name of fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).sort() : []) {
    const state = localStateFile(path.join(stacksDir, name), stackDir(outdir, name));
    if (state === undefined) continue;
    if (state.file !== outdir && !state.file.startsWith(`${outdir}${path.sep}`)) continue;
    const env = envs.find((e) => name === e.stackName || name.startsWith(`${e.stackName}-`));
    problems.push(
      `${env?.name ?? name}.backend.path: puts ${name}'s Terraform state inside the output folder, which every synth replaces (got ${JSON.stringify(state.configured)}). ` +
        `Point it outside the output folder (paths are relative to ${path.join(path.basename(outdir), "stacks", name)}), e.g. "../../../terraform.${name}.tfstate", or leave it out for that default.`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
}

function scopesOf(env: Environment): string {
  const counts = new Map<string, number>();
  for (const s of env.flowLogs) counts.set(s.resource, (counts.get(s.resource) ?? 0) + 1);
  return [...counts].map(([resource, n]) => `${n} ${resource}`).join(", ");
}

/** The summary table's key for an archive's controls: environments and archives may share a name. */
export const archiveRowKey = (a: Pick<Archive, "name">) => `archive:${a.name}`;

/**
 * The table `npm start` prints: one row per environment, then one per central archive, with
 * its controls when given (an archive's under archiveRowKey).
 */
export function summaryTable(envs: readonly Environment[], controls: ReadonlyMap<string, string> = new Map(), archives: readonly Archive[] = []): string {
  return renderTable(
    ["environment", "scopes", "destinations", "cloudwatch days", "s3 days", "kms", "controls"],
    [...envs.map((env) => [
      env.name,
      scopesOf(env),
      [...new Set(env.flowLogs.flatMap((s) => s.destinations))].sort().join(", "),
      `${env.retention.cloudwatch.days} (${env.retention.cloudwatch.class})`,
      `${env.retention.archive.days} (${env.retention.archive.class})${env.archive.central ? `, central ${env.archive.central.name}` : env.archive.objectLock ? `, ${env.archive.objectLock.mode} lock` : ""}`,
      "keyArn" in env.kms ? `given ${env.kms.keyArn.replace(/^.*:key\//, "key/")}` : "created, rotation on",
      controls.get(env.name) ?? "-",
    ]),
    ...archives.map((a) => [
      `${a.name} (archive)`,
      a.organizationId !== undefined ? `organization ${a.organizationId}` : `${a.sourceAccounts!.length} source account${a.sourceAccounts!.length === 1 ? "" : "s"}`,
      "-",
      "-",
      `${a.retention.days} (${a.retention.class})${a.objectLock ? `, ${a.objectLock.mode} lock` : ""}`,
      "keyArn" in a.kms ? `given ${a.kms.keyArn.replace(/^.*:key\//, "key/")}` : "created, rotation on",
      controls.get(archiveRowKey(a)) ?? "-",
    ])],
  );
}

/** What `plan` synthesizes and plans. */
export interface PlanTarget {
  /** The environment of an environment or incident stack; undefined for an archive's stack. */
  readonly env?: Environment;
  /** The stack to plan, as synth names its folder. */
  readonly stack: string;
  /** Plan the stack's destroy: a closing incident's. */
  readonly destroy: boolean;
  /** What synthesize is asked for, so that the planned stack is written. */
  readonly synth: Pick<SynthOptions, "envNames" | "archiveNames">;
}

/**
 * What `plan <target>` plans: an environment by name, or any stack synth produces by its name
 * (`flowlogs-<env>`, `flowlogs-<env>-incident-<id>` of an open or closing incident, whose
 * plan is its destroy once it is closing, `flowlogs-archive-<name>` of a central archive).
 */
export function resolvePlanTarget(all: readonly Environment[], target: string, incidents: readonly IncidentRecord[] = readIncidents().records, archives: readonly Archive[] = knownArchives(all)): PlanTarget {
  const byName = all.find((e) => e.name === target || e.stackName === target);
  if (byName) return { env: byName, stack: byName.stackName, destroy: false, synth: { envNames: [byName.name] } };
  const live = incidents.flatMap((i) => {
    const env = all.find((e) => e.name === i.environment);
    return env && isLive(i) ? [{ env, incident: i, stack: incidentNames(env, i).stack }] : [];
  });
  const incident = live.find((l) => l.stack === target);
  if (incident) return { env: incident.env, stack: target, destroy: incident.incident.status === "closing", synth: { envNames: [incident.env.name] } };
  const archive = archives.find((a) => a.stackName === target);
  if (archive) {
    // Its source environments are synthesized with it, so the output stays one consistent set.
    return { stack: archive.stackName, destroy: false, synth: { envNames: all.filter((e) => e.archive.central?.name === archive.name).map((e) => e.name), archiveNames: [archive.name] } };
  }
  const stacks = [
    ...all.flatMap((e) => [e.name, e.stackName]),
    ...live.map((l) => l.stack),
    ...archives.map((a) => a.stackName),
  ];
  throw new ConfigError([`${target}: no environment or synthesized stack has this name (got "${target}"). Use one of ${stacks.map((s) => `"${s}"`).join(", ")}.`]);
}
