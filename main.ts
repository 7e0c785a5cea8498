import { App } from "cdktf";
import { loadEnvironments, selectEnvironments } from "./environments";
import type { Environment } from "./environments/schema";
import { EnvironmentStack } from "./stacks/environment-stack";

/** The cdktf App: one EnvironmentStack per environment. */
export function buildApp(envs: readonly Environment[], outdir: string): App {
  const app = new App({ outdir, skipValidation: false });
  for (const env of envs) new EnvironmentStack(app, env);
  return app;
}

// `cdktf synth` runs this file directly; the CLI calls buildApp through synthesize().
if (require.main === module) {
  const envs = selectEnvironments(loadEnvironments(), []);
  buildApp(envs, process.env.CDKTF_OUTDIR ?? "cdktf.out").synth();
}
