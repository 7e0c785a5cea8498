/**
 * One retry policy for every AWS call the detector makes (Athena, Logs Insights, S3, Security
 * Hub, SNS, Lambda): throttling, quota and transient server errors are retried with exponential
 * backoff and full jitter, then surfaced with the number of attempts. The clients are built with
 * `maxAttempts: 1` (handler.ts), so this is the only retry layer and the count it reports is true.
 * @see https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
import { DetectorError } from "../detect/errors";

export interface RetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  readonly attempts?: number;
  /** Backoff cap of the first retry, ms; each later retry doubles it. @default 200 */
  readonly baseMs?: number;
  /** No single wait exceeds this, ms. @default 20000 */
  readonly maxMs?: number;
}

export interface RetryDeps {
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** A number in [0, 1): the jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * Error names AWS services use for throttling and quotas, by service:
 * Athena TooManyRequestsException (also for the active-query quota); CloudWatch Logs
 * LimitExceededException (concurrent Logs Insights queries) and ThrottlingException; Security
 * Hub TooManyRequestsException and LimitExceededException; SNS ThrottledException; S3 SlowDown;
 * Lambda TooManyRequestsException; the SDK's generic Throttling and RequestLimitExceeded.
 * @see https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html#API_StartQueryExecution_Errors
 * @see https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html#API_StartQuery_Errors
 * @see https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html#API_BatchImportFindings_Errors
 * @see https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors
 */
export const THROTTLING_ERRORS: readonly string[] = Object.freeze([
  "TooManyRequestsException",
  "LimitExceededException",
  "ThrottlingException",
  "ThrottledException",
  "Throttling",
  "RequestLimitExceeded",
  "SlowDown",
  "ProvisionedThroughputExceededException",
]);

/** Whether an error is worth another attempt: throttling, a quota, or a transient server fault. */
export function retryable(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!e) return false;
  if (THROTTLING_ERRORS.includes(e.name ?? "")) return true;
  if (e.$retryable !== undefined) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Runs `call`, retrying what `retryable` accepts. The wait before retry n is a uniform random
 * share of min(maxMs, baseMs * 2^(n-1)) ("full jitter"), so callers throttled together spread
 * out. After the last attempt, or on an error that is not retryable, a DetectorError names the
 * call, the attempts made and the last error (kept as `cause`).
 */
export async function withRetry<T>(deps: RetryDeps, label: string, call: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const attempts = policy.attempts ?? 6;
  const baseMs = policy.baseMs ?? 200;
  const maxMs = policy.maxMs ?? 20_000;
  const random = deps.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (!retryable(err)) throw err;
      if (attempt >= attempts) {
        deps.log("retries exhausted", { call: label, attempts, error: e.name, message: e.message });
        throw new DetectorError(
          `${label}: still throttled or failing after ${attempts} attempts (got ${e.name ?? "Error"}: ${e.message ?? String(err)}). The account's quota is shared with other users of the service: raise it in Service Quotas, or run the detector less often.`,
          { cause: err },
        );
      }
      const waitMs = Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
      deps.log("retrying after a throttling or transient error", { call: label, attempt, error: e.name, waitMs });
      await deps.sleep(waitMs);
    }
  }
}
