/** Why a line was not analysed. Every line read is either analysed or counted under one of these. */
export type SkipReason =
  /** AWS wrote no traffic for the interface in the interval (log-status NODATA). */
  | "nodata"
  /** AWS skipped records in the interval (log-status SKIPDATA). */
  | "skipdata"
  | "too-few-fields"
  | "too-many-fields"
  /** A number field holds something else (the first field of prose or of a binary file, too). */
  | "non-numeric"
  /** A value no flow log holds: see functions/flowlog/values.ts. */
  | "invalid-value"
  | "control-character"
  /** A line under a header line that names a field the catalog lacks (the header is reported). */
  | "bad-header"
  | "truncated-gzip"
  | "window-limit"
  | "row-budget";

/** What a run read: every record read is analysed or skipped with a reason. */
export interface ParseStats {
  read: number;
  analysed: number;
  skipped: Partial<Record<SkipReason, number>>;
}

export const newStats = (): ParseStats => ({ read: 0, analysed: 0, skipped: {} });

export function countSkip(stats: ParseStats, reason: SkipReason, n = 1): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + n;
}
