import * as path from "path";
import { loadEnvironments, selectEnvironments } from "../environments";
import { BrokenIncident, isLive, readIncidents } from "../environments/incidents";
import type { IncidentRecord } from "../environments/incidents/schema";
import type { Environment } from "../environments/schema";
import { ConfigError } from "../policies/errors";
import { buildApp } from "../main";
import { replaceOutputFolder } from "./output";
import { renderTable } from "./table";

export interface SynthOptions {
  /** Environments to synthesize. @default - all of them */
  readonly envNames?: readonly string[];
  /** @default "cdktf.out" in the current folder */
  readonly outdir?: string;
  /** Already loaded environments. @default - loaded and validated from the environments folder */
  readonly all?: readonly Environment[];
  /** The option that named `outdir`, for messages. @default "--out" */
  readonly flag?: string;
  /** Incident records. @default - loaded from the environments folder's incidents/ */
  readonly incidents?: readonly IncidentRecord[];
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
  /** Lines to show the user: one per broken or orphaned incident record. */
  readonly warnings: readonly string[];
}

/** The folder a stack is synthesized into. */
export const stackDir = (outdir: string, stackName: string) => path.join(outdir, "stacks", stackName);

/**
 * Validates every environment, then synthesizes the chosen ones into a temporary folder and
 * swaps it in for `outdir`. An invalid configuration or an output folder the kit may not
 * replace throws before anything is written, and a failed synth leaves the previous output
 * as it was.
 */
export function synthesize(opts: SynthOptions = {}): SynthResult {
  const outdir = path.resolve(opts.outdir ?? "cdktf.out");
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
  replaceOutputFolder(opts.outdir ?? "cdktf.out", (tmp) => buildApp(envs, tmp, live).synth(), opts.flag ?? "--out");
  return { outdir, envs, incidents: live, broken, warnings };
}

function scopesOf(env: Environment): string {
  const counts = new Map<string, number>();
  for (const s of env.flowLogs) counts.set(s.resource, (counts.get(s.resource) ?? 0) + 1);
  return [...counts].map(([resource, n]) => `${n} ${resource}`).join(", ");
}

/** The table `npm start` prints: one row per environment, with its controls when given. */
export function summaryTable(envs: readonly Environment[], controls: ReadonlyMap<string, string> = new Map()): string {
  return renderTable(
    ["environment", "scopes", "destinations", "cloudwatch days", "s3 days", "kms", "controls"],
    envs.map((env) => [
      env.name,
      scopesOf(env),
      [...new Set(env.flowLogs.flatMap((s) => s.destinations))].sort().join(", "),
      `${env.retention.cloudwatch.days} (${env.retention.cloudwatch.class})`,
      `${env.retention.archive.days} (${env.retention.archive.class})`,
      "keyArn" in env.kms ? `given ${env.kms.keyArn.replace(/^.*:key\//, "key/")}` : "created, rotation on",
      controls.get(env.name) ?? "-",
    ]),
  );
}

/**
 * What `plan <target>` plans: an environment by name, or any stack synth produces by its name
 * (`flowlogs-<env>`, `flowlogs-<env>-incident-<id>` of an open or closing incident, whose
 * plan is its destroy once it is closing).
 */
export function resolvePlanTarget(all: readonly Environment[], target: string, incidents: readonly IncidentRecord[] = readIncidents().records): { env: Environment; stack: string; destroy: boolean } {
  const byName = all.find((e) => e.name === target || e.stackName === target);
  if (byName) return { env: byName, stack: byName.stackName, destroy: false };
  for (const i of incidents) {
    const env = all.find((e) => e.name === i.environment);
    if (env && isLive(i) && target === `${env.stackName}-incident-${i.id}`) return { env, stack: target, destroy: i.status === "closing" };
  }
  const stacks = [
    ...all.flatMap((e) => [e.name, e.stackName]),
    ...incidents.filter((i) => isLive(i) && all.some((e) => e.name === i.environment)).map((i) => `${all.find((e) => e.name === i.environment)!.stackName}-incident-${i.id}`),
  ];
  throw new ConfigError([`${target}: no environment or synthesized stack has this name (got "${target}"). Use one of ${stacks.map((s) => `"${s}"`).join(", ")}.`]);
}
