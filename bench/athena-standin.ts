/**
 * The scheduled detector's Athena path with DuckDB standing in for Athena (issue 15,
 * "the Lambda's own memory and time independent of the record count").
 *
 *   node -r ./bin/register.js bench/athena-standin.ts <file> [runs]
 *
 * 1. Athena's part, stood in for by DuckDB (one thread): every rule's query as sql.ts renders it
 *    (duckdb dialect, default thresholds) over every record of the file, each result written as
 *    a CSV file the way Athena writes one (a header, every value quoted).
 * 2. The Lambda's part, in a fresh process per run (`lambda` mode below): the real scheduled run
 *    (functions/handlers/scheduled.ts through handler.ts's `handle`) with its AWS clients mocked
 *    by aws-sdk-client-mock — StartQueryExecution and GetQueryExecution answer at once, GetObject
 *    returns the stand-in's result file for the query's rule, Security Hub and SNS accept. The
 *    process reports its own time and peak resident memory; the records never reach it.
 *
 * Prints one JSON line: records, DuckDB's time, rows past thresholds, and per Lambda run its
 * milliseconds, peak memory and findings.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

type Results = Record<string, string>;

async function standIn(file: string, dir: string): Promise<{ records: number; ms: number; rows: number; results: Results }> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const { ruleQueries } = await import("../functions/detect/sql");
  const { DEFAULT_THRESHOLDS } = await import("../functions/detect/thresholds");
  const { flowsReader, headerOf } = await import("./duckdb-aggregates");
  const names = headerOf(file);
  const t0 = process.hrtime.bigint();
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await db.connect();
  await c.run(`CREATE TEMP TABLE flows AS SELECT * FROM ${flowsReader(file, names)}`);
  const records = Number((await c.runAndReadAll("SELECT count(*) FROM flows")).getRows()[0]![0]);
  const results: Results = {};
  let rows = 0;
  for (const q of ruleQueries({ dialect: "duckdb", table: "flows", thresholds: DEFAULT_THRESHOLDS, fields: names })) {
    const key = `${q.rule}|${q.horizonSeconds}`;
    if (results[key] !== undefined) throw new Error(`bench: two queries of ${key}; the stand-in keys results by rule and horizon`);
    const out = path.join(dir, `${Object.keys(results).length}.csv`);
    await c.run(`COPY (${q.sql}) TO '${out}' (HEADER, DELIMITER ',', QUOTE '"', FORCE_QUOTE *)`);
    results[key] = out;
    rows += Math.max(0, readFileSync(out, "utf8").split("\n").filter(Boolean).length - 1);
  }
  return { records, ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6), rows, results };
}

/** One scheduled run of the deployed detector over the stand-in's result files, in this process. */
async function lambda(resultsFile: string): Promise<void> {
  const results = JSON.parse(readFileSync(resultsFile, "utf8")) as Results;
  const { mockClient } = await import("aws-sdk-client-mock");
  const athenaSdk = await import("@aws-sdk/client-athena");
  const s3Sdk = await import("@aws-sdk/client-s3");
  const hubSdk = await import("@aws-sdk/client-securityhub");
  const snsSdk = await import("@aws-sdk/client-sns");
  const logsSdk = await import("@aws-sdk/client-cloudwatch-logs");
  const lambdaSdk = await import("@aws-sdk/client-lambda");
  const { handle } = await import("../functions/handlers/handler");
  const { RENDERER } = await import("../functions/handlers/renderer");
  const { DEFAULT_THRESHOLDS } = await import("../functions/detect/thresholds");
  const { LogFormat } = await import("../functions/flowlog/format");
  const t0 = process.hrtime.bigint();
  const keyOf = new Map<string, string>();
  // The run renders its queries through this renderer: each query's SQL names its rule and horizon.
  const ruleOf = new Map<string, string>();
  const renderer = { ...RENDERER, athena: (o: Parameters<typeof RENDERER.athena>[0]) => RENDERER.athena(o).map((q) => (ruleOf.set(q.sql, `${q.rule}|${q.horizonSeconds}`), q)) };
  let n = 0;
  mockClient(athenaSdk.AthenaClient)
    .on(athenaSdk.StartQueryExecutionCommand)
    .callsFake((input: { QueryString: string }) => {
      const id = `q${++n}`;
      keyOf.set(id, ruleOf.get(input.QueryString) ?? "");
      return { QueryExecutionId: id };
    })
    .on(athenaSdk.GetQueryExecutionCommand)
    .callsFake((input: { QueryExecutionId: string }) => ({
      QueryExecution: { QueryExecutionId: input.QueryExecutionId, Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: 1 << 30 }, ResultConfiguration: { OutputLocation: `s3://results/${input.QueryExecutionId}.csv` } },
    }));
  mockClient(s3Sdk.S3Client)
    .on(s3Sdk.GetObjectCommand)
    .callsFake((input: { Key: string }) => {
      const file = results[keyOf.get(input.Key.replace(/\.csv$/, "")) ?? ""];
      const text = file ? readFileSync(file, "utf8") : "";
      return { Body: { transformToString: async () => text } };
    });
  mockClient(hubSdk.SecurityHubClient).on(hubSdk.BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
  mockClient(snsSdk.SNSClient).on(snsSdk.PublishCommand).resolves({ MessageId: "m" });
  const table = { name: "flow_logs", partitionKeys: ["year", "month", "day", "hour"], regions: ["us-east-1"], fileFormat: "parquet" as const, fields: LogFormat.DEFAULT.names };
  const result = await handle(
    { source: "aws.events", "detail-type": "Scheduled Event" },
    {
      clients: { logs: new logsSdk.CloudWatchLogsClient({}), s3: new s3Sdk.S3Client({}), securityHub: new hubSdk.SecurityHubClient({}), sns: new snsSdk.SNSClient({}), athena: new athenaSdk.AthenaClient({}), lambda: new lambdaSdk.LambdaClient({}) },
      settings: {
        environment: "bench", account: "123456789012", region: "us-east-1", logGroupName: "/flowlog-kit/bench/vpc-flow-logs",
        topicArn: "arn:aws:sns:us-east-1:123456789012:flowlogs-bench-findings", format: LogFormat.DEFAULT, thresholds: DEFAULT_THRESHOLDS,
        athena: { workgroup: "flowlogs-bench", database: "flowlogs_bench", tables: [table] }, renderer, functionName: "flowlogs-bench-detector",
      },
      now: () => new Date(Date.UTC(2024, 3, 19, 11, 0, 0)),
      sleep: async () => undefined,
      log: () => undefined,
    } as never,
    1200,
  );
  const ms = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  process.stdout.write(`${JSON.stringify({ ms, peakMiB: Math.round(process.resourceUsage().maxRSS / 1024), findings: result.findings.length, queries: n })}\n`);
}

async function main(): Promise<void> {
  const [mode, arg, out] = process.argv.slice(2);
  if (mode === "lambda" && arg) return lambda(arg);
  if (mode === "standin" && arg && out) {
    const s = await standIn(arg, path.dirname(out));
    writeFileSync(out, JSON.stringify(s));
    return;
  }
  const file = mode;
  const runs = Number(arg ?? 3);
  if (!file || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write("usage: node -r ./bin/register.js bench/athena-standin.ts <file> [runs]\n");
    process.exit(2);
  }
  // Each part runs in a process of its own, started from this small one: Linux keeps a process's
  // peak resident memory across exec, so a child of the DuckDB process would report DuckDB's.
  const child = (...args: string[]) => execFileSync(process.execPath, ["--no-warnings", "-r", "./bin/register.js", __filename, ...args], { encoding: "utf8" });
  const dir = mkdtempSync(path.join(tmpdir(), "flowlog-kit-athena-"));
  try {
    const resultsFile = path.join(dir, "standin.json");
    child("standin", file, resultsFile);
    const s = JSON.parse(readFileSync(resultsFile, "utf8")) as { records: number; ms: number; rows: number; results: Results };
    const lambdaFile = path.join(dir, "results.json");
    writeFileSync(lambdaFile, JSON.stringify(s.results));
    const lambdaRuns = Array.from({ length: runs }, () => JSON.parse(child("lambda", lambdaFile)) as { ms: number; peakMiB: number; findings: number; queries: number });
    const floorMiB = Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(Math.round(process.resourceUsage().maxRSS / 1024)))"], { encoding: "utf8" }));
    process.stdout.write(`${JSON.stringify({ file: path.basename(file), records: s.records, duckdbMs: s.ms, rowsPastThresholds: s.rows, lambda: lambdaRuns, emptyNodeMiB: floorMiB })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
