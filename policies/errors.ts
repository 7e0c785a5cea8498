/**
 * Configuration that cannot be turned into a stack. `problems` holds every problem found, each
 * as `<env>.<path>: <problem> (got <value>). <fix>`; the message lists them all.
 */
export class ConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
      options,
    );
    this.name = "ConfigError";
  }
}

/** Shows an offending value in an error message: JSON, shortened, or "nothing" when absent. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
