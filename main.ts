import { App } from "cdktf";
import { loadEnvironments } from "./environments";
import { loadArchives } from "./environments/archives";
import type { Archive } from "./environments/archives/schema";
import { isLive, readIncidents } from "./environments/incidents";
import type { IncidentRecord } from "./environments/incidents/schema";
import type { Environment } from "./environments/schema";
import { ArchiveStack } from "./stacks/archive-stack";
import { EnvironmentStack } from "./stacks/environment-stack";
import { IncidentStack } from "./stacks/incident-stack";

/**
 * The cdktf App: one EnvironmentStack per environment, one IncidentStack per open or closing
 * incident, one ArchiveStack per central archive in `archives`. An archive grants reads to every
 * environment of `all` that delivers to it, synthesized now or not.
 */
export function buildApp(envs: readonly Environment[], outdir: string, incidents: readonly IncidentRecord[] = [], archives: readonly Archive[] = [], all: readonly Environment[] = envs): App {
  const app = new App({ outdir, skipValidation: false });
  for (const env of envs) new EnvironmentStack(app, env);
  for (const archive of archives) new ArchiveStack(app, archive, all.filter((e) => e.archive.central?.name === archive.name));
  for (const incident of incidents) {
    const env = envs.find((e) => e.name === incident.environment);
    if (env && isLive(incident)) new IncidentStack(app, env, incident);
  }
  return app;
}

// `cdktf synth` runs this file directly; the CLI calls buildApp through synthesize().
if (require.main === module) {
  buildApp(loadEnvironments(), process.env.CDKTF_OUTDIR ?? "cdktf.out", readIncidents().records, loadArchives()).synth();
}
