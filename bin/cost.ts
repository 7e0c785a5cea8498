import type { Environment } from "../environments/schema";
import { ConfigError } from "../policies/errors";
import { PRICES, tiered } from "../policies/prices";
import { archiveLifecycle } from "../policies/retention";
import { lookbackSeconds } from "../modules/detectors";
import { renderTable } from "./table";

export interface CostLine {
  readonly destination: string;
  readonly item: string;
  /** GB behind the line: monthly volume for ingestion, steady-state stored GB for storage. */
  readonly gb: number;
  readonly usdPerMonth: number;
}

const DAYS_PER_MONTH = 30;
const SECONDS_PER_DAY = 86400;
/** How late flow logs may arrive; the detector's look-back is its period plus this (modules/detectors.ts). */
const LATE_ARRIVAL_SECONDS = 300;

/**
 * The scheduled detector's runs per month and look-back. A rate schedule runs every period and
 * looks back the period plus five minutes; a cron schedule is counted as hourly, with the
 * detector's look-back for cron (an hour).
 */
export function detectorRuns(schedule: string): { readonly runsPerMonth: number; readonly lookbackSeconds: number; readonly label: string } {
  const lookback = lookbackSeconds(schedule);
  const rate = /^rate\(/.test(schedule);
  const period = rate ? lookback - LATE_ARRIVAL_SECONDS : 3600;
  const minutes = (s: number) => `${s / 60} min`;
  return { runsPerMonth: (DAYS_PER_MONTH * SECONDS_PER_DAY) / period, lookbackSeconds: lookback, label: rate ? `every ${minutes(period)}, look-back ${minutes(lookback)}` : `cron counted as hourly, look-back ${minutes(lookback)}` };
}

/**
 * The detector's queries, one scan of the look-back per run (issue 15: the rules' SQL reads the
 * look-back's partitions once). With an S3 archive and Athena the detector queries the archive:
 * a run reads every partition its look-back touches, and the newest is, on average, half full,
 * so a run scans the archive's bytes for (partition length / 2 + look-back); Parquet and text
 * differ by their stored size (PRICES.compression); column pruning in Parquet is not counted.
 * Otherwise it queries the log group with Logs Insights, which scans what CloudWatch ingested
 * in the look-back.
 */
function detectorLines(env: Environment, gbPerDay: number): CostLine[] {
  if (!env.detectors.enabled) return [];
  const runs = detectorRuns(env.detectors.schedule);
  const perRun = (gb: number) => (gb >= 1 ? `${gb.toFixed(1)} GB` : `${(gb * 1024).toFixed(0)} MB`);
  // What is deployed today: each scheduled run queries the flow-log group with Logs Insights over
  // its look-back, and pays for the bytes that range holds. (Athena aggregation is not built.)
  if (env.flowLogs.some((s) => s.destinations.includes("cloudwatch"))) {
    const scanned = (gbPerDay * runs.lookbackSeconds) / SECONDS_PER_DAY;
    const gb = scanned * runs.runsPerMonth;
    return [{ destination: "Logs Insights", item: `detector: ${Math.round(runs.runsPerMonth)} runs x ${perRun(scanned)} ingested (${runs.label})`, gb, usdPerMonth: gb * PRICES.logsInsightsUsdPerGbScanned }];
  }
  return [];
}

/** What each amount option measures, for its messages; --athena-tb is in TB, not GB. */
const AMOUNTS: Readonly<Record<string, { readonly what: string; readonly example: string }>> = {
  "--gb-per-day": { what: "the raw flow-log volume in GB per day", example: "25" },
  "--athena-tb": { what: "the TB that Athena scans per month (0 for none)", example: "1" },
};

/**
 * A non-negative amount from a CLI option: GB for --gb-per-day, TB for --athena-tb. The error
 * names the option, the value and what to give instead, in the option's own unit.
 */
export function parseGb(value: string | undefined, option: string): number {
  const amount = AMOUNTS[option] ?? { what: "a number of GB", example: "25" };
  const fix = `Give ${amount.what}, e.g. ${option} ${amount.example}.`;
  if (value === undefined) throw new ConfigError([`${option}: is required (got nothing). ${fix}`]);
  // Decimal notation only: Number() would also take "0x10", "" and "Infinity".
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim())) throw new ConfigError([`${option}: is not a number (got "${value}"). ${fix}`]);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError([`${option}: is too large a number (got "${value}"). ${fix}`]);
  if (n < 0) throw new ConfigError([`${option}: must not be negative (got "${value}"). ${fix}`]);
  return n;
}

/**
 * A monthly estimate for one environment that follows its actual configuration: CloudWatch
 * ingestion and storage at its retention, S3 delivery (and Parquet conversion) and storage
 * through each lifecycle class to expiration, and Athena scans. Steady state: every retention
 * window is full.
 */
export function estimateCost(env: Environment, gbPerDay: number, athenaTbPerMonth: number): CostLine[] {
  const lines: CostLine[] = [];
  const monthly = gbPerDay * DAYS_PER_MONTH;
  const toCloudWatch = env.flowLogs.some((s) => s.destinations.includes("cloudwatch"));
  const s3Scopes = env.flowLogs.filter((s) => s.s3);
  if (toCloudWatch) {
    // The log class sets the ingestion rate; storage costs the same in both classes.
    if (env.logGroupClass === "INFREQUENT_ACCESS") {
      lines.push({ destination: "CloudWatch Logs", item: "ingestion (vended logs, Infrequent Access, tiered)", gb: monthly, usdPerMonth: tiered(PRICES.cloudWatchIngestionInfrequentAccess, monthly) });
    } else {
      lines.push({ destination: "CloudWatch Logs", item: "ingestion (vended logs, tiered)", gb: monthly, usdPerMonth: tiered(PRICES.cloudWatchIngestion, monthly) });
    }
    const stored = gbPerDay * env.retention.cloudwatch.days * PRICES.compression.cloudWatch;
    lines.push({ destination: "CloudWatch Logs", item: `storage, ${env.retention.cloudwatch.days} days`, gb: stored, usdPerMonth: stored * PRICES.cloudWatchStorageUsdPerGbMonth });
  }
  if (s3Scopes.length) {
    const parquet = s3Scopes.every((s) => s.s3!.fileFormat === "parquet");
    lines.push({ destination: "S3 archive", item: "delivery (vended logs, tiered)", gb: monthly, usdPerMonth: tiered(PRICES.s3Delivery, monthly) });
    if (s3Scopes.some((s) => s.s3!.fileFormat === "parquet")) {
      lines.push({ destination: "S3 archive", item: "Parquet conversion", gb: monthly, usdPerMonth: monthly * PRICES.parquetConversionUsdPerGb });
    }
    const ratio = parquet ? PRICES.compression.s3Parquet : PRICES.compression.s3PlainText;
    const lc = archiveLifecycle(env.retention.archive.days, env.retention.archiveStorage);
    const steps = [{ days: 0, storageClass: "STANDARD" as const }, ...lc.transitions];
    steps.forEach((step, i) => {
      const until = steps[i + 1]?.days ?? lc.expirationDays;
      const stored = gbPerDay * ratio * (until - step.days);
      lines.push({ destination: "S3 archive", item: `${step.storageClass}, days ${step.days}-${until}`, gb: stored, usdPerMonth: stored * PRICES.s3StorageUsdPerGbMonth[step.storageClass] });
    });
  }
  if (env.flowLogs.some((s) => s.destinations.includes("firehose"))) {
    lines.push({ destination: "Firehose", item: "delivery (vended logs, tiered; the stream is billed to its account)", gb: monthly, usdPerMonth: tiered(PRICES.firehoseDelivery, monthly) });
  }
  lines.push(...detectorLines(env, gbPerDay));
  if (athenaTbPerMonth > 0) {
    lines.push({ destination: "Athena", item: `queries, ${athenaTbPerMonth} TB scanned`, gb: athenaTbPerMonth * 1024, usdPerMonth: athenaTbPerMonth * PRICES.athenaUsdPerTbScanned });
  }
  return lines;
}

const money = (n: number) => `$${n.toFixed(2)}`;
const gb = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

export function costReport(env: Environment, gbPerDay: number, athenaTbPerMonth: number): string {
  const lines = estimateCost(env, gbPerDay, athenaTbPerMonth);
  const total = lines.reduce((n, l) => n + l.usdPerMonth, 0);
  return [
    `${env.name}: ${gbPerDay} GB/day of flow logs, monthly estimate (${PRICES.currency}, ${PRICES.region} list prices as of ${PRICES.asOf}, policies/prices.ts)`,
    "",
    renderTable(["destination", "item", "GB", "per month"], [...lines.map((l) => [l.destination, l.item, gb(l.gb), money(l.usdPerMonth)]), ["total", "", "", money(total)]]),
    "",
    `Stored sizes assume compression to ${PRICES.compression.cloudWatch * 100}% in CloudWatch and ${PRICES.compression.s3PlainText * 100}% (plain text) or ${PRICES.compression.s3Parquet * 100}% (Parquet) in S3; storage is at steady state.`,
    `The scheduled detector queries its log group with Logs Insights once per run over its look-back (the schedule's period plus 5 minutes) and pays for the raw volume ingested in it; archive objects it reads from S3 add only request costs. Dashboards and ad-hoc queries are --athena-tb.`,
  ].join("\n");
}
