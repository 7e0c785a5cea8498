import { DetectorError } from "../detect/engine";

/** An environment variable the function cannot run without; read once, at cold start. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new DetectorError(`${name}: environment variable is not set (got nothing). The detector stack sets it; redeploy the environment's stack.`);
  }
  return value;
}
