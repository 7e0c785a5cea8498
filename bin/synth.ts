import * as fs from "fs";
import * as path from "path";
import { loadEnvironments, selectEnvironments } from "../environments";
import { loadIncidents } from "../environments/incidents";
import type { IncidentRecord } from "../environments/incidents/schema";
import { ConfigError } from "../policies/errors";
import type { Environment } from "../environments/schema";
import { buildApp } from "../main";
import { renderTable } from "./table";

export interface SynthOptions {
  /** Environments to synthesize. @default - all of them */
  readonly envNames?: readonly string[];
  /** @default "cdktf.out" in the current folder */
  readonly outdir?: string;
  /** Already loaded environments. @default - loaded and validated from the environments folder */
  readonly all?: readonly Environment[];
  /** Incident records. @default - loaded from the environments folder's incidents/ */
  readonly incidents?: readonly IncidentRecord[];
}

export interface SynthResult {
  readonly outdir: string;
  readonly envs: readonly Environment[];
  /** Open incidents of those environments, each synthesized as its own stack. */
  readonly incidents: readonly IncidentRecord[];
}

/** The folder a stack is synthesized into. */
export const stackDir = (outdir: string, stackName: string) => path.join(outdir, "stacks", stackName);

/**
 * Validates every environment, then synthesizes the chosen ones into a temporary folder and
 * swaps it in for `outdir`. An invalid configuration throws before anything is written, and
 * a failed synth leaves the previous output as it was.
 */
export function synthesize(opts: SynthOptions = {}): SynthResult {
  const outdir = path.resolve(opts.outdir ?? "cdktf.out");
  const all = opts.all ?? loadEnvironments();
  const envs = selectEnvironments(all, opts.envNames ?? []);
  const incidents = opts.incidents ?? loadIncidents();
  const unknown = incidents.filter((i) => !all.some((e) => e.name === i.environment));
  if (unknown.length) {
    throw new ConfigError(unknown.map((i) => `incidents/${i.id}.json.environment: unknown environment (got "${i.environment}"). Close the incident or restore the environment.`));
  }
  const tmp = `${outdir}.tmp-${process.pid}`;
  const old = `${outdir}.old-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    buildApp(envs, tmp, incidents).synth();
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const hadPrevious = fs.existsSync(outdir);
  if (hadPrevious) fs.renameSync(outdir, old);
  fs.renameSync(tmp, outdir);
  if (hadPrevious) fs.rmSync(old, { recursive: true, force: true });
  return { outdir, envs, incidents: incidents.filter((i) => i.status === "open" && envs.some((e) => e.name === i.environment)) };
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
