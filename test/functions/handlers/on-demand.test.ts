import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from "@aws-sdk/client-athena";
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { LogFormat } from "../../../functions/flowlog/format";
import { DEFAULT_THRESHOLDS } from "../../../functions/detect/thresholds";
import { DetectorDeps } from "../../../functions/handlers/detect";
import { capFindings } from "../../../functions/handlers/scheduled";
import { finding, sortFindings } from "../../../functions/detect/findings";
import { handle, parseEvent } from "../../../functions/handlers/handler";
import { RENDERER } from "../../../functions/handlers/renderer";
import { AthenaSettings } from "../../../functions/handlers/scheduled";

const athena = mockClient(AthenaClient);
const logs = mockClient(CloudWatchLogsClient);
const s3 = mockClient(S3Client);
const hub = mockClient(SecurityHubClient);
const sns = mockClient(SNSClient);
const lambda = mockClient(LambdaClient);
afterEach(() => [athena, logs, s3, hub, sns, lambda].forEach((m) => m.reset()));

const NOW = new Date("2026-12-06T09:20:00Z");
const at = (iso: string) => Date.parse(iso) / 1000;
/** A chunk as the CLI sends it: its start is the look-back's, not on an hour. */
const RANGE = { start: at("2026-12-05T21:20:00Z"), end: at("2026-12-06T03:00:00Z") };
const HOUR_START = at("2026-12-05T21:00:00Z");

const ATHENA: AthenaSettings = {
  workgroup: "flowlogs-prod",
  database: "flowlogs_prod",
  tables: [{ name: "flow_logs", partitionKeys: ["year", "month", "day", "hour"], regions: ["eu-central-1"], fileFormat: "parquet", fields: LogFormat.DEFAULT.names }],
};

function deps(overrides: Partial<DetectorDeps["settings"]> = {}, remainingMs?: () => number): DetectorDeps {
  const clock = { ms: NOW.getTime() };
  return {
    clients: { logs: new CloudWatchLogsClient({}), s3: new S3Client({}), securityHub: new SecurityHubClient({}), sns: new SNSClient({}), athena: new AthenaClient({}), lambda: new LambdaClient({}) },
    settings: {
      environment: "prod", account: "410987654323", region: "eu-central-1", logGroupName: "/flowlog-kit/prod/vpc-flow-logs",
      topicArn: "arn:aws:sns:eu-central-1:410987654323:flowlogs-prod-findings", format: LogFormat.DEFAULT, thresholds: DEFAULT_THRESHOLDS,
      renderer: RENDERER, functionName: "flowlogs-prod-detector", athenaQueryTimeoutMs: 10_000, queryTimeoutMs: 10_000, pollMs: 1000, ...overrides,
    },
    now: () => new Date(clock.ms),
    sleep: async (ms) => void (clock.ms += ms),
    log: () => undefined,
    random: () => 0.5,
    ...(remainingMs ? { remainingMs } : {}),
  };
}

function serveAthena() {
  let n = 0;
  athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q${++n}` }));
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => ({
    QueryExecution: { Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: 1024 }, ResultConfiguration: { OutputLocation: `s3://results-bucket/results/${input.QueryExecutionId}.csv` } },
  }));
  s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => '"src"\n' } as never });
}

describe("on-demand range (flowlog-kit detect --env --since, one chunk)", () => {
  it("runs every windowed rule and beaconing as Athena queries over the range, each horizon from its boundary, and reads no raw records", async () => {
    serveAthena();
    const result = (await handle({ mode: "on-demand", ...RANGE }, deps({ athena: ATHENA }), 1800)) as unknown as { queries: Record<string, unknown> };
    const sql = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString!);
    // Every windowed rule at each horizon, beaconing, and the run-wide rules (anomaly, log-skipped).
    expect(sql).toHaveLength(25);
    // Short horizons from the 5-minute boundary of the start, long ones from the hour's: to the range's end, never the archive's extra lateness.
    expect(sql.filter((q) => q.includes(`"start" >= ${RANGE.start} AND "start" < ${RANGE.end}`))).toHaveLength(17);
    expect(sql.filter((q) => q.includes(`"start" >= ${HOUR_START} AND "start" < ${RANGE.end}`))).toHaveLength(8);
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(result.queries).toEqual({ engine: "athena", queries: 25, bytesScanned: 25 * 1024, continued: [], queriesWithoutData: 0, range: RANGE });
  });

  it("runs the same rules as Logs Insights OpenSearch SQL over the range on a CloudWatch-only environment, no records query", async () => {
    logs.on(StartQueryCommand).callsFake(() => ({ queryId: "cw" }));
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: [], statistics: { recordsScanned: 100, bytesScanned: 2048 } });
    const result = (await handle({ mode: "on-demand", ...RANGE }, deps(), 1800)) as unknown as { queries: Record<string, unknown> };
    const starts = logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input);
    // 25 queries, the anomaly rule's in two parts.
    expect(starts).toHaveLength(26);
    expect(starts.every((s) => s.queryLanguage === "SQL" && s.endTime === RANGE.end && !/unmask|@message\s*\|/.test(s.queryString!))).toBe(true);
    expect(starts.filter((s) => s.startTime === RANGE.start)).toHaveLength(17);
    expect(starts.filter((s) => s.startTime === HOUR_START)).toHaveLength(9);
    expect(result.queries).toMatchObject({ engine: "insights", queries: 25, recordsScanned: 2600, continued: [] });
  });

  it("returns the queries that would not fit the invocation to the caller, who invokes again with them; it never continues asynchronously", async () => {
    serveAthena();
    let calls = 0;
    // Time for 5 queries (one wave) only.
    const first = (await handle({ mode: "on-demand", ...RANGE }, deps({ athena: ATHENA, concurrency: 5 }, () => (calls++ < 5 ? 900_000 : 1000)), 1800)) as unknown as { queries: { continued: string[]; queries: number } };
    expect(first.queries.queries).toBe(5);
    expect(first.queries.continued).toHaveLength(20);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    athena.reset();
    serveAthena();
    const rest = (await handle({ mode: "on-demand", ...RANGE, pending: first.queries.continued, hop: 1 }, deps({ athena: ATHENA }), 1800)) as unknown as { queries: { continued: string[]; queries: number } };
    expect(rest.queries).toMatchObject({ queries: 20, continued: [] });
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(20);
  });

  it("parses the range event, and still answers an older CLI's sinceSeconds (records, as that CLI expects)", () => {
    expect(parseEvent({ mode: "on-demand", ...RANGE })).toEqual({ kind: "on-demand", range: RANGE });
    expect(parseEvent({ mode: "on-demand", sinceSeconds: 900 })).toEqual({ kind: "on-demand-records", sinceSeconds: 900 });
  });

  it("rejects a range that is not whole seconds, backwards, or longer than 7 days, and a malformed pending list", () => {
    const help = 'Invoke with {"mode":"on-demand","start":1796515200,"end":1796518800}, or run flowlog-kit detect --env <env> --since 1h.';
    expect(() => parseEvent({ mode: "on-demand", start: 100, end: 50 })).toThrow(`on-demand: start and end must be whole Unix seconds, start before end, at most 604800 s apart (got start 100, end 50). ${help}`);
    expect(() => parseEvent({ mode: "on-demand", start: "yesterday", end: 50 })).toThrow('(got start "yesterday", end 50)');
    expect(() => parseEvent({ mode: "on-demand", start: 1, end: 1 + 8 * 86_400 })).toThrow("at most 604800 s apart");
    expect(() => parseEvent({ mode: "on-demand", ...RANGE, pending: "all" })).toThrow('on-demand: pending must be the query keys a previous invocation returned and hop a whole number (got pending "all", hop undefined). Leave both out to run every query of the range.');
  });
});

describe("an on-demand response within Lambda's 6 MB", () => {
  it("keeps the most severe findings that fit and counts the rest", () => {
    const f = (i: number, severity: "HIGH" | "LOW") => finding({ rule: "port-scan", severity, src: `203.0.113.${i}`, window: { start: 1_700_000_000, end: 1_700_000_300 }, evidence: { distinctPorts: 30 }, description: "x".repeat(200) });
    const all = sortFindings([...Array.from({ length: 10 }, (_, i) => f(i, "LOW")), ...Array.from({ length: 10 }, (_, i) => f(100 + i, "HIGH"))]);
    const one = Buffer.byteLength(JSON.stringify(all[0])) + 1;
    const { kept, leftOut } = capFindings(all, one * 12);
    expect([kept.length, leftOut]).toEqual([12, 8]);
    expect(kept.slice(0, 10).every((k) => k.severity === "HIGH")).toBe(true);
    expect(capFindings(all).leftOut).toBe(0);
  });
});
