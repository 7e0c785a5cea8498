import { estimateCost, parseGb } from "../../bin/cost";
import { PRICES, tiered } from "../../policies/prices";
import { runCli } from "../support/cli";
import { env } from "../support/env";

describe("flowlog-kit cost", () => {
  it("applies tiered prices across tiers", () => {
    expect(tiered(PRICES.cloudWatchIngestion, 100)).toBeCloseTo(50);
    expect(tiered(PRICES.cloudWatchIngestion, 10 * 1024 + 100)).toBeCloseTo(10 * 1024 * 0.5 + 100 * 0.25);
  });

  it("follows the environment's lifecycle: each class holds data from its transition to the next", () => {
    const e = env({ retention: { cloudwatch: "production", archive: "personal-data" } });
    const lines = estimateCost(e, 10, 0);
    const s3 = lines.filter((l) => l.destination === "S3 archive" && /days/.test(l.item));
    expect(s3.map((l) => l.item)).toEqual(["STANDARD, days 0-30", "STANDARD_IA, days 30-90", "GLACIER_IR, days 90-180", "DEEP_ARCHIVE, days 180-365"]);
    expect(s3[1]!.gb).toBeCloseTo(10 * PRICES.compression.s3PlainText * 60);
    expect(s3[1]!.usdPerMonth).toBeCloseTo(10 * PRICES.compression.s3PlainText * 60 * PRICES.s3StorageUsdPerGbMonth.STANDARD_IA);
    const cw = lines.find((l) => l.item === "storage, 14 days")!;
    expect(cw.gb).toBeCloseTo(10 * 14 * PRICES.compression.cloudWatch);
    expect(lines.some((l) => l.destination === "Athena")).toBe(false);
  });

  it("leaves out destinations the environment does not use, and adds Parquet conversion only for Parquet", () => {
    const cwOnly = estimateCost(env({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] }] }), 5, 1);
    expect(cwOnly.map((l) => l.destination)).toEqual(["CloudWatch Logs", "CloudWatch Logs", "Athena"]);
    const parquet = estimateCost(env({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"], s3: { fileFormat: "parquet" } }] }), 5, 0);
    expect(parquet.map((l) => l.item)).toContain("Parquet conversion");
  });

  it("prints the estimate with the price table's date", async () => {
    const r = await runCli("cost", "prod", "--gb-per-day", "25");
    expect(r.code).toBe(0);
    expect(r.out).toContain("prod: 25 GB/day of flow logs, monthly estimate (USD, us-east-1 list prices as of 2025-01, policies/prices.ts)");
    expect(r.out).toMatch(/S3 archive\s+DEEP_ARCHIVE, days 180-365/);
    expect(r.out).toMatch(/total\s+\$\d+\.\d\d/);
  });

  it.each([
    ["-3", '--gb-per-day: must not be negative (got "-3"). Give a number of GB, e.g. --gb-per-day 25.'],
    ["abc", '--gb-per-day: not a number (got "abc"). Give a number of GB, e.g. --gb-per-day 25.'],
  ])("rejects --gb-per-day %s", async (value, message) => {
    const r = await runCli("cost", "prod", "--gb-per-day", value);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
  });

  it("requires --gb-per-day", () => {
    expect(() => parseGb(undefined, "--gb-per-day")).toThrow("--gb-per-day: is required (got nothing). Give the raw flow-log volume, e.g. --gb-per-day 25.");
  });
});
