/** Option values the CLI states in its help; kept apart from the commands so that help and `detect` load nothing heavy. */
export type ReportFormat = "table" | "md" | "json" | "html";
export const REPORT_FORMATS: readonly ReportFormat[] = ["table", "md", "json", "html"];

/** Formats of `flowlog-kit access`: the matrix as a table, a JSON list of rows, or Markdown. */
export type AccessFormat = "table" | "json" | "md";
export const ACCESS_FORMATS: readonly AccessFormat[] = ["table", "json", "md"];

/** How long incident logging stays on unless --ttl says otherwise. */
export const DEFAULT_TTL = "72h";
