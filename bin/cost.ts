import type { Environment } from "../environments/schema";
import { athenaColumn } from "../functions/flowlog/athena";
import { LogFormat } from "../functions/flowlog/format";
import { ConfigError } from "../policies/errors";
import { PRICES, tiered } from "../policies/prices";
import { archiveLifecycle } from "../policies/retention";
import { lookbackSeconds, scheduledQueries, schedulePeriodSeconds } from "../modules/detectors";
import { athenaTables, detectorAggregationSeconds, detectorAthena, detectorPathProblems, sharedLogGroupScopes } from "../stacks/environment-stack";
import { statementsOf } from "../functions/detect/sql";
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
/**
 * The scheduled detector's runs per month and look-back (modules/detectors.ts lookbackSeconds:
 * the period plus the longest aggregation interval plus five minutes). A cron schedule is counted
 * as hourly.
 */
export function detectorRuns(schedule: string, aggregationSeconds?: number): { readonly runsPerMonth: number; readonly lookbackSeconds: number; readonly label: string } {
  const lookback = lookbackSeconds(schedule, aggregationSeconds);
  const rate = /^rate\(/.test(schedule);
  const period = schedulePeriodSeconds(schedule);
  const minutes = (s: number) => `${s / 60} min`;
  return { runsPerMonth: (DAYS_PER_MONTH * SECONDS_PER_DAY) / period, lookbackSeconds: lookback, label: rate ? `every ${minutes(period)}, look-back ${minutes(lookback)}` : `cron counted as hourly, look-back ${minutes(lookback)}` };
}

/**
 * Athena bills each query for the bytes it scans, rounded up to the megabyte, at least 10 MB.
 * @see https://aws.amazon.com/athena/pricing/
 */
export const ATHENA_MINIMUM_BYTES = 10 * 1024 ** 2;

/** One scheduled run of the detector on Athena, as `flowlog-kit cost` estimates it. */
export interface AthenaRunEstimate {
  readonly queries: number;
  /** Bytes the run's queries scan together. */
  readonly scannedBytes: number;
  /** Bytes Athena bills: each query rounded up to the MB, at least 10 MB. */
  readonly billedBytes: number;
  readonly usd: number;
  /** The tables' layouts, e.g. "flow_logs: parquet, Hive, hourly". */
  readonly layouts: readonly string[];
}

/** The log format of the environment's shared flow-log group, as the detector reads it. */
export function groupFormat(env: Environment): LogFormat {
  return env.flowLogs[sharedLogGroupScopes(env)[0] ?? -1]?.logFormat ?? LogFormat.DEFAULT;
}

/**
 * The bytes one scheduled run scans on Athena, from the archive's layout, format and look-back.
 *
 * Each query reads every object of the partitions its range touches: its range (the look-back
 * and the archive's 10 minutes of lateness, or its horizon when longer) plus, on average, half
 * a partition, because the oldest partition
 * is read from its start (an hour, or a day for daily partitions). Stored bytes are the raw
 * volume at PRICES.compression (text or Parquet). Parquet is read by column: a query reads the
 * share of the format's columns that its SQL names, each column counted as an equal share of the
 * file. The volume is spread evenly over the environment's VPC scopes in S3.
 */
export function athenaRunEstimate(env: Environment, gbPerDay: number): AthenaRunEstimate | undefined {
  const athena = detectorAthena(env);
  if (!env.detectors.enabled || !athena) return undefined;
  const runs = detectorRuns(env.detectors.schedule, detectorAggregationSeconds(env));
  const jobs = scheduledQueries({ athena, thresholds: env.detectors.thresholds, logFormat: groupFormat(env), unmask: env.analytics.maskIpAddresses, infrequentAccess: env.logGroupClass === "INFREQUENT_ACCESS" }, runs.lookbackSeconds);
  const vpcScopes = env.flowLogs.filter((s) => s.s3 && s.logFormat.family === "vpc");
  const specs = athenaTables(env);
  let scannedBytes = 0;
  let billedBytes = 0;
  for (const job of jobs) {
    const t = job.table!;
    const o = specs.find((x) => x.name === t.name)!.options;
    const scopes = vpcScopes.filter((s) => s.s3!.fileFormat === o.fileFormat && s.s3!.hiveCompatiblePartitions === o.hiveCompatiblePartitions).length;
    const parquet = t.fileFormat === "parquet";
    const storedPerSecond = (gbPerDay * 1024 ** 3 * (scopes / vpcScopes.length) * (parquet ? PRICES.compression.s3Parquet : PRICES.compression.s3PlainText)) / SECONDS_PER_DAY;
    const partitionSeconds = t.partitionKeys.includes("hour") ? 3600 : SECONDS_PER_DAY;
    const read = (job.end - job.start + partitionSeconds / 2) * storedPerSecond;
    const columns = parquet ? t.fields.filter((f) => job.query.sql.includes(`"${athenaColumn(f)}"`)).length / t.fields.length : 1;
    const bytes = read * columns;
    scannedBytes += bytes;
    billedBytes += Math.max(ATHENA_MINIMUM_BYTES, Math.ceil(bytes / 1024 ** 2) * 1024 ** 2);
  }
  const layouts = athena.tables.map((t) => `${t.name}: ${t.fileFormat}, ${t.partitionKeys.includes("hour") ? "hourly" : "daily"}${t.regions.length > 1 ? `, ${t.regions.length} Regions` : ""}`);
  return { queries: jobs.length, scannedBytes, billedBytes, usd: (billedBytes / 1024 ** 4) * PRICES.athenaUsdPerTbScanned, layouts };
}

const perRun = (gb: number) => (gb >= 1 ? `${gb.toFixed(1)} GB` : `${(gb * 1024).toFixed(0)} MB`);

/**
 * The scheduled detector's queries. With an S3 archive and Athena it runs the rules there
 * (athenaRunEstimate); otherwise on Logs Insights, where each query scans what CloudWatch
 * ingested in its range, once a statement: one OpenSearch SQL query per rule and horizon, the
 * anomaly rule's in two parts (on a masked or Infrequent Access log group, where synth requires
 * detectors.readRecords, one records query for the engine instead).
 */
function detectorLines(env: Environment, gbPerDay: number): CostLine[] {
  if (!env.detectors.enabled) return [];
  const runs = detectorRuns(env.detectors.schedule, detectorAggregationSeconds(env));
  const athena = athenaRunEstimate(env, gbPerDay);
  if (athena) {
    const gb = (athena.billedBytes / 1024 ** 3) * runs.runsPerMonth;
    return [{ destination: "Athena", item: `detector: ${Math.round(runs.runsPerMonth)} runs x ${athena.queries} queries, ${perRun(athena.scannedBytes / 1024 ** 3)} scanned (${runs.label})`, gb, usdPerMonth: (gb / 1024) * PRICES.athenaUsdPerTbScanned }];
  }
  if (env.flowLogs.some((s) => s.destinations.includes("cloudwatch"))) {
    const scans = insightsScansPerRun(env, runs.lookbackSeconds);
    const scanned = (gbPerDay * scans.seconds) / SECONDS_PER_DAY;
    const gb = scanned * runs.runsPerMonth;
    return [{ destination: "Logs Insights", item: `detector: ${Math.round(runs.runsPerMonth)} runs x ${scans.label}, ${perRun(scanned)} scanned (${runs.label})`, gb, usdPerMonth: gb * PRICES.logsInsightsUsdPerGbScanned }];
  }
  return [];
}

/** Seconds of ingested logs one run's Logs Insights queries scan together, and how they are made up. */
function insightsScansPerRun(env: Environment, lookback: number): { readonly seconds: number; readonly label: string } {
  const jobs = scheduledQueries({ thresholds: env.detectors.thresholds, logFormat: groupFormat(env), unmask: env.analytics.maskIpAddresses, infrequentAccess: env.logGroupClass === "INFREQUENT_ACCESS" }, lookback);
  const records = jobs.filter((j) => j.key.startsWith("records/")).length;
  const statements = (j: (typeof jobs)[number]) => statementsOf(j.query).length;
  const queries = jobs.filter((j) => !j.key.startsWith("records/"));
  const sql = queries.reduce((n, j) => n + statements(j), 0);
  // Each SQL statement reads its range once (no JOIN: a self-join would read it twice); the
  // anomaly rule's two parts read it once each. The records query exists only where
  // detectors.readRecords allows it; one that hits the 10,000-row cap is split in halves and
  // scans its range again, which is not counted here.
  const label = `${sql ? `${queries.length} SQL queries${sql > queries.length ? ` (${sql} statements: anomaly in two parts)` : ""}` : ""}${records ? `${records} records quer${records === 1 ? "y" : "ies"} for the engine (${detectorPathProblems(env, groupFormat(env)).length ? "which synth refuses as configured: run flowlog-kit synth for why" : "detectors.readRecords"})` : ""}`;
  return { seconds: jobs.reduce((n, j) => n + (j.end - j.start) * statements(j), 0), label };
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
/** A per-run amount: a fraction of a cent still shows. */
const cents = (n: number) => `$${n.toFixed(4)}`;

/** The detector's per-run figures and the assumptions behind them, under the table. */
function detectorNotes(env: Environment, gbPerDay: number): string[] {
  if (!env.detectors.enabled) return [];
  const runs = detectorRuns(env.detectors.schedule, detectorAggregationSeconds(env));
  const insights = insightsScansPerRun(env, runs.lookbackSeconds);
  const insightsGb = (gbPerDay * insights.seconds) / SECONDS_PER_DAY;
  const insightsText = `${insights.label}, ${perRun(insightsGb)} scanned, ${cents(insightsGb * PRICES.logsInsightsUsdPerGbScanned)}`;
  const athena = athenaRunEstimate(env, gbPerDay);
  if (!athena) {
    return env.flowLogs.some((s) => s.destinations.includes("cloudwatch")) ? [`The scheduled detector runs on Logs Insights, which scans the raw volume ingested in each query's range; per run: ${insightsText}. Archive objects it reads from S3 add only request costs.`] : [];
  }
  const gbOf = (b: number) => perRun(b / 1024 ** 3);
  return [
    `The scheduled detector runs its rules on Athena (${athena.layouts.join("; ")}); per run: ${athena.queries} queries, ${gbOf(athena.scannedBytes)} scanned, ${gbOf(athena.billedBytes)} billed (10 MB minimum a query), ${cents(athena.usd)}. The same run on Logs Insights: ${insightsText}.`,
    "Athena assumptions: each query reads its range (the look-back and 10 minutes for the archive's lateness, or 1 hour for hour-long rules) plus half a partition on average (30 minutes with hourly partitions, 12 hours with daily ones); Parquet reads only the columns a query names, each an equal share of the file; the volume is spread evenly over the VPC scopes in S3.",
    ...(athena.layouts.some((l) => l.includes("daily"))
      ? [`Daily partitions make each detector query read half a day beyond its range: set s3: { perHourPartition: true } on ${env.name}'s VPC scopes (the Athena table then reads only objects written after the change) to cut the detector's Athena scan about tenfold.`]
      : []),
  ];
}
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
    ...detectorNotes(env, gbPerDay),
    "Dashboards and ad-hoc queries are --athena-tb.",
  ].join("\n");
}
