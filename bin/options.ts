/** Option values the CLI states in its help; kept apart from the commands so that help and `detect` load nothing heavy. */
export type ReportFormat = "table" | "md" | "json" | "html";
export const REPORT_FORMATS: readonly ReportFormat[] = ["table", "md", "json", "html"];

/** Formats of `flowlog-kit access`: the matrix as a table, a JSON list of rows, or Markdown. */
export type AccessFormat = "table" | "json" | "md";
export const ACCESS_FORMATS: readonly AccessFormat[] = ["table", "json", "md"];

/** How long incident logging stays on unless --ttl says otherwise. */
export const DEFAULT_TTL = "72h";

/** The output folder of synth, plan and incident when --out (or --synth-out) does not name one. */
export const DEFAULT_OUTDIR = "cdktf.out";

/** The `--out` a command suggested to the user must repeat: none for the default folder. */
export const outFlag = (outdir: string) => (outdir === DEFAULT_OUTDIR ? "" : ` --out ${outdir}`);
