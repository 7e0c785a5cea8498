import { ATHENA_MINIMUM_BYTES, athenaRunEstimate, costReport, detectorRuns, estimateCost, parseGb } from "../../bin/cost";
import { LogFormat } from "../../functions/flowlog/format";
import { scheduledQueries } from "../../modules/detectors";
import { PRICES, tiered } from "../../policies/prices";
import { detectorAthena } from "../../stacks/environment-stack";
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
    // The default archive storage keeps every object where Athena reads it: no Deep Archive.
    expect(s3.map((l) => l.item)).toEqual(["STANDARD, days 0-30", "STANDARD_IA, days 30-90", "GLACIER_IR, days 90-365"]);
    expect(s3[1]!.gb).toBeCloseTo(10 * PRICES.compression.s3PlainText * 60);
    expect(s3[1]!.usdPerMonth).toBeCloseTo(10 * PRICES.compression.s3PlainText * 60 * PRICES.s3StorageUsdPerGbMonth.STANDARD_IA);
    const cw = lines.find((l) => l.item === "storage, 14 days")!;
    expect(cw.gb).toBeCloseTo(10 * 14 * PRICES.compression.cloudWatch);
    // With an S3 archive and Athena (the default), the detector's queries run on Athena, daily partitions included.
    expect(lines.filter((l) => l.item.startsWith("detector: ")).map((l) => l.destination)).toEqual(["Athena"]);
  });

  it("leaves out destinations the environment does not use, and adds Parquet conversion only for Parquet", () => {
    const cwOnly = estimateCost(env({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] }] }), 5, 1);
    expect(cwOnly.map((l) => l.destination)).toEqual(["CloudWatch Logs", "CloudWatch Logs", "Logs Insights", "Athena"]);
    const parquet = estimateCost(env({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["s3"], s3: { fileFormat: "parquet" } }] }), 5, 0);
    expect(parquet.map((l) => l.item)).toContain("Parquet conversion");
  });

  it("prices CloudWatch ingestion at the Infrequent Access rate for an Infrequent Access environment, storage unchanged", () => {
    const flowLogs = [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch"] }];
    const ia = estimateCost(env({ logGroupClass: "INFREQUENT_ACCESS", flowLogs }), 10, 0);
    const std = estimateCost(env({ flowLogs }), 10, 0);
    expect(ia[0]).toEqual({ destination: "CloudWatch Logs", item: "ingestion (vended logs, Infrequent Access, tiered)", gb: 300, usdPerMonth: 300 * 0.25 });
    expect(std[0]!.usdPerMonth).toBeCloseTo(300 * 0.5);
    expect(tiered(PRICES.cloudWatchIngestionInfrequentAccess, 10 * 1024 + 100)).toBeCloseTo(10 * 1024 * 0.25 + 100 * 0.15);
    expect(ia[1]).toEqual(std[1]);
  });

  it("prices vended-log delivery to Firehose when a scope streams there", () => {
    const lines = estimateCost(env({ flowLogs: [{ resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["firehose"], firehose: { deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/siem" } }] }), 10, 0);
    expect(lines).toEqual([{ destination: "Firehose", item: "delivery (vended logs, tiered; the stream is billed to its account)", gb: 300, usdPerMonth: 300 * 0.25 }]);
  });

  describe("the detector's queries", () => {
    const vpc = { resource: "vpc", id: "vpc-0123456789abcdef0" };
    const detector = (overrides: Record<string, unknown>, gbPerDay = 24) => estimateCost(env(overrides), gbPerDay, 0).filter((l) => l.item.startsWith("detector"));

    it("runs every period and looks back the period, the aggregation interval and five minutes; a cron schedule counts as hourly", () => {
      expect(detectorRuns("rate(15 minutes)")).toEqual({ runsPerMonth: 2880, lookbackSeconds: 1800, label: "every 15 min, look-back 30 min" });
      // The period, the longest aggregation interval (10 minutes unless every flow log sets 1) and five minutes of delivery.
      expect(detectorRuns("rate(15 minutes)", 60)).toEqual({ runsPerMonth: 2880, lookbackSeconds: 1260, label: "every 15 min, look-back 21 min" });
      expect(detectorRuns("rate(1 hour)").runsPerMonth).toBe(720);
      expect(detectorRuns("cron(0/15 * * * ? *)")).toEqual({ runsPerMonth: 720, lookbackSeconds: 4500, label: "cron counted as hourly, look-back 75 min" });
    });

    it("scans on Logs Insights, per query, what CloudWatch ingested in its range, when the environment has no Athena table", () => {
      const cwOnly = env({ flowLogs: [{ ...vpc, destinations: ["cloudwatch"] }], detectors: { schedule: "rate(1 hour)" } });
      const plan = scheduledQueries({ thresholds: cwOnly.detectors.thresholds, logFormat: LogFormat.DEFAULT }, 4500);
      expect(plan.length).toBeGreaterThan(0);
      // Each statement reads its range: the anomaly query's two parts (hosts as sources, as destinations) twice.
      const parts = (j: (typeof plan)[number]) => j.query.parts?.length ?? 1;
      expect(plan.filter((j) => parts(j) > 1).map((j) => [j.query.rule, parts(j)])).toEqual([["anomaly", 2]]);
      const seconds = plan.reduce((n, j) => n + (j.end - j.start) * parts(j), 0);
      const scanned = (24 * seconds) / 86400;
      const expected = {
        destination: "Logs Insights",
        item: `detector: 720 runs x ${plan.length} SQL queries (${plan.length + 1} statements: anomaly in two parts), ${scanned.toFixed(1)} GB scanned (every 60 min, look-back 75 min)`,
        gb: expect.closeTo(scanned * 720, 6),
        usdPerMonth: expect.closeTo(scanned * 720 * 0.005, 6),
      };
      expect(detector({ flowLogs: [{ ...vpc, destinations: ["cloudwatch"] }], detectors: { schedule: "rate(1 hour)" } })).toEqual([expected]);
      expect(detector({ flowLogs: [{ ...vpc, destinations: ["cloudwatch", "s3"] }], detectors: { schedule: "rate(1 hour)" }, analytics: { athena: { enabled: false } } })).toEqual([expected]);
    });

    it("prices the records query of a masked or Infrequent Access log group, saying when synth refuses it (without detectors.readRecords)", () => {
      const cwOnly = [{ ...vpc, destinations: ["cloudwatch"] }];
      const item = (o: Record<string, unknown>) => detector({ flowLogs: cwOnly, ...o })[0]!.item;
      expect(item({ logGroupClass: "INFREQUENT_ACCESS" })).toMatch(/^detector: \d+ runs x 1 records query for the engine \(which synth refuses as configured: run flowlog-kit synth for why\), /);
      expect(item({ analytics: { maskIpAddresses: true }, detectors: { readRecords: true } })).toMatch(/^detector: \d+ runs x 1 records query for the engine \(detectors\.readRecords\), /);
    });

    describe("on Athena", () => {
      const layout = (s3: Record<string, unknown>, schedule = "rate(15 minutes)") => env({ flowLogs: [{ ...vpc, destinations: ["s3"], s3 }], detectors: { schedule } });

      it("bills each query at least 10 MB, rounded up to the MB", () => {
        const tiny = athenaRunEstimate(layout({ fileFormat: "parquet", perHourPartition: true }), 0.001)!;
        expect(tiny.queries).toBeGreaterThan(10);
        expect(tiny.billedBytes).toBe(tiny.queries * ATHENA_MINIMUM_BYTES);
        expect(tiny.usd).toBeCloseTo((tiny.queries * 10) / 1024 ** 2 * 5, 9);
      });

      it("reads the look-back plus half a partition per query: daily partitions cost 12 hours, hourly 30 minutes", () => {
        const daily = athenaRunEstimate(layout({ fileFormat: "plain-text" }), 24)!;
        const hourly = athenaRunEstimate(layout({ fileFormat: "plain-text", perHourPartition: true }), 24)!;
        // 24 GB/day is 1 GB an hour, stored at 12% in text: each 5-minute query reads 30 minutes (the look-back and the archive's 10 minutes of lateness) and half a partition.
        // Hour-long rules read the last whole hour and on instead of the look-back.
        const perQuery = (seconds: number) => (seconds / 3600) * 0.12 * 1024 ** 3;
        const e = layout({ fileFormat: "plain-text" });
        const plan = scheduledQueries({ athena: detectorAthena(e), thresholds: e.detectors.thresholds, logFormat: LogFormat.DEFAULT }, 1800);
        const short = plan.filter((j) => j.query.horizonSeconds === 300).length;
        const long = plan.filter((j) => j.query.horizonSeconds === 3600).length;
        expect(short + long).toBe(daily.queries);
        expect(hourly.scannedBytes).toBeCloseTo(short * perQuery(2400 + 1800) + long * perQuery(3600 + 1800), -3);
        expect(daily.scannedBytes).toBeCloseTo(short * perQuery(2400 + 43200) + long * perQuery(3600 + 43200), -3);
      });

      it("reads Parquet by column: less than the same records in text", () => {
        const text = athenaRunEstimate(layout({ fileFormat: "plain-text", perHourPartition: true }), 24)!;
        const parquet = athenaRunEstimate(layout({ fileFormat: "parquet", perHourPartition: true }), 24)!;
        expect(parquet.scannedBytes).toBeLessThan((text.scannedBytes * 0.08) / 0.12);
        expect(parquet.scannedBytes).toBeGreaterThan(0);
      });

      it("prices every run's billed bytes at Athena's rate", () => {
        const e = layout({ fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true });
        const run = athenaRunEstimate(e, 24)!;
        expect(estimateCost(e, 24, 0).filter((l) => l.destination === "Athena")).toEqual([
          { destination: "Athena", item: `detector: 2880 runs x ${run.queries} queries, ${(run.scannedBytes / 1024 ** 3).toFixed(1)} GB scanned (every 15 min, look-back 30 min)`, gb: expect.closeTo((run.billedBytes / 1024 ** 3) * 2880, 6), usdPerMonth: expect.closeTo(run.usd * 2880, 6) },
        ]);
      });
    });

    it("costs nothing without the detector", () => {
      expect(detector({ detectors: { enabled: false } })).toEqual([]);
    });
  });

  describe("where the scheduled detector runs its rules", () => {
    const vpc = { resource: "vpc", id: "vpc-0123456789abcdef0" };
    const hourly = { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true };
    it("on Athena when the archive holds everything the log group does, hourly or daily", () => {
      expect(detectorAthena(env({ flowLogs: [{ ...vpc, destinations: ["cloudwatch", "s3"], s3: hourly }] }))?.tables.map((t) => t.partitionKeys)).toEqual([["year", "month", "day", "hour"]]);
      expect(detectorAthena(env({ flowLogs: [{ ...vpc, destinations: ["cloudwatch", "s3"], s3: { fileFormat: "plain-text" } }] }))?.tables.map((t) => t.partitionKeys)).toEqual([["year", "month", "day"]]);
    });
    it("says daily partitions cost the detector half a day a query, and how to partition by hour", () => {
      const daily = costReport(env({ flowLogs: [{ ...vpc, destinations: ["cloudwatch", "s3"], s3: { fileFormat: "plain-text" } }] }), 10, 0);
      expect(daily).toContain("Daily partitions make each detector query read half a day beyond its range: set s3: { perHourPartition: true }");
      expect(costReport(env({ flowLogs: [{ ...vpc, destinations: ["cloudwatch", "s3"], s3: hourly }] }), 10, 0)).not.toContain("Daily partitions");
    });
    it("on the log group when a CloudWatch scope is missing from the archive, or a scope inside an archived VPC is archived twice", () => {
      expect(
        detectorAthena(env({ flowLogs: [{ ...vpc, destinations: ["s3"], s3: hourly }, { resource: "vpc", id: "vpc-0fedcba9876543210", destinations: ["cloudwatch"] }] })),
      ).toBeUndefined();
      // An interface of the archived VPC archived as well: one table would count its traffic twice.
      expect(
        detectorAthena(env({ flowLogs: [{ ...vpc, destinations: ["s3"], s3: hourly }, { resource: "eni", id: "eni-0123456789abcdef0", vpc: vpc.id, destinations: ["s3"], s3: hourly }] })),
      ).toBeUndefined();
    });
  });

  it("prints the estimate with the price table's date", async () => {
    const r = await runCli("cost", "prod", "--gb-per-day", "25");
    expect(r.code).toBe(0);
    expect(r.out).toContain("prod: 25 GB/day of flow logs, monthly estimate (USD, us-east-1 list prices as of 2025-01, policies/prices.ts)");
    expect(r.out).toMatch(/S3 archive\s+GLACIER_IR, days 90-365/);
    expect(r.out).toMatch(/total\s+\$\d+\.\d\d/);
    expect(r.out).toMatch(/Athena\s+detector: 2880 runs x \d+ queries, \d+\.\d GB scanned \(every 15 min, look-back 30 min\)/);
    expect(r.out).toMatch(/The scheduled detector runs its rules on Athena \(flow_logs: parquet, hourly\); per run: \d+ queries, .* scanned, .* billed \(10 MB minimum a query\), \$\d\.\d{4}\. The same run on Logs Insights: \d+ SQL queries \(\d+ statements: anomaly in two parts\), .* scanned, \$\d\.\d{4}\./);
    expect(r.out).toContain("Athena assumptions: each query reads its range");
  });

  it.each([
    ["-3", '--gb-per-day: must not be negative (got "-3"). Give the raw flow-log volume in GB per day, e.g. --gb-per-day 25.'],
    ["abc", '--gb-per-day: is not a number (got "abc"). Give the raw flow-log volume in GB per day, e.g. --gb-per-day 25.'],
  ])("rejects --gb-per-day %s", async (value, message) => {
    const r = await runCli("cost", "prod", "--gb-per-day", value);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
  });

  it("rejects a negative --athena-tb in TB, not GB", async () => {
    const r = await runCli("cost", "prod", "--gb-per-day", "25", "--athena-tb", "-3");
    expect(r.code).toBe(1);
    expect(r.err).toContain('--athena-tb: must not be negative (got "-3"). Give the TB that Athena scans per month (0 for none), e.g. --athena-tb 1.');
    expect(r.err).not.toContain("GB");
  });

  describe("reads an amount option, naming the option, the value and the fix in its unit", () => {
    it.each<[string, string | undefined, string, string]>([
      ["a missing --gb-per-day", undefined, "--gb-per-day", "--gb-per-day: is required (got nothing). Give the raw flow-log volume in GB per day, e.g. --gb-per-day 25."],
      ["an empty --athena-tb", "", "--athena-tb", '--athena-tb: is not a number (got ""). Give the TB that Athena scans per month (0 for none), e.g. --athena-tb 1.'],
      ["a hexadecimal amount", "0x10", "--gb-per-day", '--gb-per-day: is not a number (got "0x10").'],
      ["Infinity", "Infinity", "--gb-per-day", '--gb-per-day: is not a number (got "Infinity").'],
      ["an amount too large for a number", "1e400", "--athena-tb", '--athena-tb: is too large a number (got "1e400"). Give the TB that Athena scans per month (0 for none), e.g. --athena-tb 1.'],
      ["a negative TB amount", "-0.5", "--athena-tb", '--athena-tb: must not be negative (got "-0.5"). Give the TB that Athena scans per month (0 for none), e.g. --athena-tb 1.'],
    ])("%s", (_title, value, option, message) => {
      expect(() => parseGb(value, option)).toThrow(message);
    });

    it.each([
      ["25", "--gb-per-day", 25],
      [" 2.5 ", "--athena-tb", 2.5],
      ["0", "--athena-tb", 0],
      ["1e3", "--gb-per-day", 1000],
    ])("accepts %j for %s", (value, option, expected) => {
      expect(parseGb(value, option)).toBe(expected);
    });
  });
});
