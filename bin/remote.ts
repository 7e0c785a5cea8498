import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Environment } from "../environments/schema";
import { DetectorError, DetectionResult } from "../functions/detect/engine";
import type { OnDemandEvent } from "../functions/handlers/handler";
import { MAX_SINCE_SECONDS } from "../functions/handlers/handler";
import { parseDuration } from "./duration";

/** The look-back of an on-demand run: 1 minute to 7 days. */
export const parseSince = (value: string) => parseDuration(value, "--since", 60, MAX_SINCE_SECONDS);

export const detectorFunctionName = (env: Pick<Environment, "name">) => `flowlogs-${env.name}-detector`;

/**
 * Invokes the environment's deployed detector synchronously over the last `sinceSeconds` and
 * returns what it found. A function error is raised with the function's own message.
 */
export async function invokeDetector(env: Environment, sinceSeconds: number, client = new LambdaClient({ region: env.region })): Promise<DetectionResult & { truncated?: unknown[] }> {
  if (!env.detectors.enabled) {
    throw new DetectorError(`${env.name}.detectors.enabled: the detector is not deployed in this environment (got false). Set it to true and apply the flowlogs-${env.name} stack, or run detect on downloaded files.`);
  }
  const name = detectorFunctionName(env);
  const event: OnDemandEvent = { mode: "on-demand", sinceSeconds };
  let response;
  try {
    response = await client.send(new InvokeCommand({ FunctionName: name, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(event)) }));
  } catch (err) {
    const e = err as Error;
    throw new DetectorError(`${name}: invoke failed (got ${e.name}: ${e.message}). Check your AWS credentials for account ${env.account} and that the flowlogs-${env.name} stack is applied.`, { cause: err });
  }
  const text = response.Payload ? Buffer.from(response.Payload).toString("utf8") : "";
  if (response.FunctionError) {
    let message = text;
    try {
      const p = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = `${p.errorType ?? response.FunctionError}: ${p.errorMessage ?? text}`;
    } catch {
      // The payload was not JSON; show it as it came.
    }
    throw new DetectorError(`${name} failed: ${message}`);
  }
  try {
    return JSON.parse(text) as DetectionResult;
  } catch (err) {
    throw new DetectorError(`${name}: returned something that is not a detection result (got ${JSON.stringify(text.slice(0, 80))}).`, { cause: err });
  }
}
