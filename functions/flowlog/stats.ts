/** Why a line was not analysed. Every line read is either analysed or counted under one of these. */
export type SkipReason =
  | "nodata"
  | "skipdata"
  | "too-few-fields"
  | "too-many-fields"
  | "non-numeric"
  | "control-character"
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
