/**
 * The price table `flowlog-kit cost` uses: public list prices of one region on one date.
 * Prices change and differ by region; update this file (it is typed) rather than the code.
 */
import type { ArchiveStorageClass } from "./retention";

export interface Tier {
  /** The tier applies to monthly volume up to this many GB (cumulative). */
  readonly upToGb: number;
  readonly usdPerGb: number;
}

export const PRICES = Object.freeze({
  // As published on the AWS pricing pages in early 2025 (not re-checked here: no network); verify for your region.
  asOf: "2025-01",
  region: "us-east-1",
  currency: "USD",
  /** CloudWatch Logs "vended logs" (VPC flow logs) ingestion, tiered per month. */
  cloudWatchIngestion: [
    { upToGb: 10 * 1024, usdPerGb: 0.5 },
    { upToGb: 30 * 1024, usdPerGb: 0.25 },
    { upToGb: 50 * 1024, usdPerGb: 0.1 },
    { upToGb: Number.POSITIVE_INFINITY, usdPerGb: 0.05 },
  ] as readonly Tier[],
  /**
   * The same ingestion into an Infrequent Access log group ("Delivered to CloudWatch Logs
   * Infrequent Access"): half the Standard rate in every tier.
   * @see https://aws.amazon.com/cloudwatch/pricing/
   */
  cloudWatchIngestionInfrequentAccess: [
    { upToGb: 10 * 1024, usdPerGb: 0.25 },
    { upToGb: 30 * 1024, usdPerGb: 0.15 },
    { upToGb: 50 * 1024, usdPerGb: 0.075 },
    { upToGb: Number.POSITIVE_INFINITY, usdPerGb: 0.05 },
  ] as readonly Tier[],
  /** CloudWatch Logs storage, per GB-month of compressed data. */
  cloudWatchStorageUsdPerGbMonth: 0.03,
  /** Vended-log delivery to S3, tiered per month. */
  s3Delivery: [
    { upToGb: 10 * 1024, usdPerGb: 0.25 },
    { upToGb: 30 * 1024, usdPerGb: 0.15 },
    { upToGb: 50 * 1024, usdPerGb: 0.075 },
    { upToGb: Number.POSITIVE_INFINITY, usdPerGb: 0.05 },
  ] as readonly Tier[],
  /**
   * Vended-log delivery to Firehose, tiered per month (the same tiers as S3). The stream's own
   * ingestion and delivery are billed to the stream's account and are not in this estimate.
   */
  firehoseDelivery: [
    { upToGb: 10 * 1024, usdPerGb: 0.25 },
    { upToGb: 30 * 1024, usdPerGb: 0.15 },
    { upToGb: 50 * 1024, usdPerGb: 0.075 },
    { upToGb: Number.POSITIVE_INFINITY, usdPerGb: 0.05 },
  ] as readonly Tier[],
  /** Conversion of delivered logs to Apache Parquet. */
  parquetConversionUsdPerGb: 0.035,
  /** S3 storage per GB-month by class. */
  s3StorageUsdPerGbMonth: { STANDARD: 0.023, STANDARD_IA: 0.0125, GLACIER_IR: 0.004, GLACIER: 0.0036, DEEP_ARCHIVE: 0.00099 } as Readonly<Record<"STANDARD" | ArchiveStorageClass, number>>,
  /** Athena SQL queries per TB scanned. */
  athenaUsdPerTbScanned: 5,
  /**
   * CloudWatch Logs Insights queries per GB of log data scanned (the ingested, uncompressed size).
   * @see https://aws.amazon.com/cloudwatch/pricing/
   */
  logsInsightsUsdPerGbScanned: 0.005,
  /** Stored size as a share of raw flow-log volume (assumptions, not prices). */
  compression: { cloudWatch: 0.15, s3PlainText: 0.12, s3Parquet: 0.08 },
});

/** Cost of `gb` in a month under tiered pricing. */
export function tiered(tiers: readonly Tier[], gb: number): number {
  let cost = 0;
  let from = 0;
  for (const t of tiers) {
    if (gb <= from) break;
    cost += (Math.min(gb, t.upToGb) - from) * t.usdPerGb;
    from = t.upToGb;
  }
  return cost;
}
