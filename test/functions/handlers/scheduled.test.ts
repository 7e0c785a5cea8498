import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, StopQueryExecutionCommand, TooManyRequestsException } from "@aws-sdk/client-athena";
import { CloudWatchLogsClient, GetQueryResultsCommand, LimitExceededException, StartQueryCommand, StopQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchImportFindingsCommand, SecurityHubClient, ThrottlingException } from "@aws-sdk/client-securityhub";
import { PublishCommand, SNSClient, ThrottledException } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { LogFormat } from "../../../functions/flowlog/format";
import { finding, Severity } from "../../../functions/detect/findings";
import { DEFAULT_THRESHOLDS, resolveThresholds } from "../../../functions/detect/thresholds";
import { C2_BEACONING, DECLARATIONS } from "../../../functions/detect/declarations";
import { deliver, DetectorDeps, INSIGHTS_QUERY, INSIGHTS_QUERY_UNMASKED } from "../../../functions/handlers/detect";
import { newStats } from "../../../functions/flowlog/stats";
import { parsePublishLedger } from "../../../functions/handlers/publish-ledger";
import { handle } from "../../../functions/handlers/handler";
import { RENDERER } from "../../../functions/handlers/renderer";
import { AthenaSettings, detectScheduled, planJobs, QueryRenderer, RuleQuery } from "../../../functions/handlers/scheduled";
import { line } from "../../support/flows";

const athena = mockClient(AthenaClient);
const logs = mockClient(CloudWatchLogsClient);
const s3 = mockClient(S3Client);
const hub = mockClient(SecurityHubClient);
const sns = mockClient(SNSClient);
const lambda = mockClient(LambdaClient);

afterEach(() => {
  athena.reset();
  logs.reset();
  s3.reset();
  hub.reset();
  sns.reset();
  lambda.reset();
});

const NOW = new Date("2026-11-01T01:07:00Z");
const END = NOW.getTime() / 1000;
/** The look-back (20 minutes, and 10 more on Athena for the archive's lateness) widened to the 5-minute boundary before it. */
const FIVE_MINUTE_START = Date.parse("2026-11-01T00:45:00Z") / 1000;
const ARCHIVE_FIVE_MINUTE_START = Date.parse("2026-11-01T00:35:00Z") / 1000;
/** The engine path reads records from the hour-long horizon's boundary before the look-back on: its slow rules need the whole hour. */
const RECORDS_START = Date.parse("2026-11-01T00:00:00Z") / 1000;

/**
 * A two-rule stand-in for functions/detect/sql.ts: a 5-minute port count and a 1-hour beacon
 * count, each row past its threshold one finding. The orchestration under test never looks
 * inside the SQL; it only places the table and the WHERE condition.
 */
const renderer: QueryRenderer = {
  athena: ({ table, where }) => [
    { rule: "port-scan", horizonSeconds: 300, sql: `SELECT src, dst, "window", count(DISTINCT dstport) AS ports FROM ${table} WHERE ${where} GROUP BY 1, 2, 3 HAVING count(DISTINCT dstport) >= 25` },
    { rule: "c2-beaconing", horizonSeconds: 3600, sql: `SELECT src, dst, "window", count(*) AS flows FROM ${table} WHERE ${where} GROUP BY 1, 2, 3 HAVING count(*) >= 8` },
  ],
  insights: () => [
    { rule: "port-scan", horizonSeconds: 300, sql: "filter action = \"REJECT\" | stats count_distinct(dstPort) as ports by srcAddr as src, dstAddr as dst, bin(5m) as window | filter ports >= 25" },
  ],
  findings: (q: RuleQuery, rows) =>
    rows.map((r) =>
      finding({
        rule: q.rule === "port-scan" ? "port-scan" : "c2-beaconing",
        severity: (r.severity as Severity | undefined) ?? "MEDIUM",
        src: r.src,
        dst: r.dst,
        window: { start: Number(r.window), end: Number(r.window) + q.horizonSeconds },
        evidence: { count: Number(r.ports ?? r.flows) },
        description: `${r.src} -> ${r.dst}: ${r.note ?? ""}`,
      }),
    ),
};

const ATHENA: AthenaSettings = {
  workgroup: "flowlogs-prod",
  database: "flowlogs_prod",
  tables: [{ name: "flow_logs", partitionKeys: ["year", "month", "day", "hour"], regions: ["eu-central-1"], fileFormat: "parquet", fields: LogFormat.DEFAULT.names }],
};

function deps(overrides: Partial<DetectorDeps["settings"]> = {}, remainingMs?: () => number): DetectorDeps & { logged: { message: string; fields?: Record<string, unknown> }[]; waits: number[] } {
  const logged: { message: string; fields?: Record<string, unknown> }[] = [];
  const waits: number[] = [];
  const clock = { ms: NOW.getTime() };
  return {
    clients: { logs: new CloudWatchLogsClient({}), s3: new S3Client({}), securityHub: new SecurityHubClient({}), sns: new SNSClient({}), athena: new AthenaClient({}), lambda: new LambdaClient({}) },
    settings: {
      environment: "prod", account: "410987654323", region: "eu-central-1", logGroupName: "/flowlog-kit/prod/vpc-flow-logs",
      topicArn: "arn:aws:sns:eu-central-1:410987654323:flowlogs-prod-findings", format: LogFormat.DEFAULT, thresholds: DEFAULT_THRESHOLDS,
      athena: ATHENA, renderer, functionName: "flowlogs-prod-detector", athenaQueryTimeoutMs: 10_000, queryTimeoutMs: 10_000, pollMs: 1000,
      // A small engine buffer keeps each run's engine cheap to build; findings never depend on it.
      engine: { bufferRecords: 256 }, ...overrides,
    },
    now: () => new Date(clock.ms),
    sleep: async (ms) => {
      waits.push(ms);
      clock.ms += ms;
    },
    log: (message, fields) => logged.push({ message, fields }),
    random: () => 0.5,
    ...(remainingMs ? { remainingMs } : {}),
    logged,
    waits,
  };
}

const scheduled = { source: "aws.events", "detail-type": "Scheduled Event" };
const csv = (lines: string[]) => lines.map((l) => `${l}\n`).join("");
const body = (text: string) => ({ Body: { transformToString: async () => text } as never });

/** Athena answers each query: RUNNING once, then SUCCEEDED with its result file; results by rule. */
function serveAthena(results: Record<string, string>, scanned = 1_048_576) {
  const byId = new Map<string, string>();
  let n = 0;
  athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string }) => {
    const id = `q${++n}`;
    byId.set(id, input.QueryString.includes("count(*) AS flows") ? "c2-beaconing" : "port-scan");
    return { QueryExecutionId: id };
  });
  const polled = new Set<string>();
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => {
    const id = input.QueryExecutionId;
    if (!polled.has(id)) {
      polled.add(id);
      return { QueryExecution: { QueryExecutionId: id, Status: { State: "RUNNING" } } };
    }
    return { QueryExecution: { QueryExecutionId: id, Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: scanned }, ResultConfiguration: { OutputLocation: `s3://flowlogs-prod-ath-410987654323-eu-central-1/results/${id}.csv` } } };
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const id = /results\/(q\d+)\.csv$/.exec(input.Key)![1]!;
    return body(results[byId.get(id)!] ?? csv(['"src","dst","window","ports"']));
  });
}

describe("scheduled run on Athena", () => {
  beforeEach(() => {
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
    sns.on(PublishCommand).resolves({ MessageId: "m" });
  });

  it("runs each rule in the workgroup over its horizon's partitions, reads only the result files, and delivers the findings", async () => {
    serveAthena({
      "port-scan": csv(['"src","dst","window","ports","note"', `"203.0.113.9","10.0.1.5","${END - 600}","30","probed ""22"", 23, and more"`]),
      "c2-beaconing": csv(['"src","dst","window","flows","note"', `"10.0.1.7","198.51.100.4","${END - 3900 - ((END - 3900) % 3600)}","12",""`]),
    });
    const d = deps();
    const result = await handle(scheduled, d, 1200);
    const starts = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
    expect(starts.map((s) => [s.WorkGroup, s.QueryExecutionContext?.Database])).toEqual([["flowlogs-prod", "flowlogs_prod"], ["flowlogs-prod", "flowlogs_prod"]]);
    // The 5-minute rule reads the look-back (20 minutes from a 5-minute boundary), the 1-hour rule from the last whole hour before its span.
    expect(starts[0]!.QueryString).toContain(`FROM "flowlogs_prod"."flow_logs" WHERE ((year = 2026 AND month = 11 AND day = 1 AND hour = 0) OR (year = 2026 AND month = 11 AND day = 1 AND hour = 1)) AND`);
    expect(starts[0]!.QueryString).toContain(`"start" >= ${ARCHIVE_FIVE_MINUTE_START} AND "start" < ${END}`);
    expect(starts[1]!.QueryString).toContain(`"start" >= ${Date.parse("2026-11-01T00:00:00Z") / 1000} AND "start" < ${END}`);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "flowlogs-prod-ath-410987654323-eu-central-1", Key: "results/q1.csv" },
      { Bucket: "flowlogs-prod-ath-410987654323-eu-central-1", Key: "results/q2.csv" },
    ]);
    expect(result.findings.map((f) => [f.rule, f.src, f.description]).sort()).toEqual([
      ["c2-beaconing", "10.0.1.7", "10.0.1.7 -> 198.51.100.4: "],
      ["port-scan", "203.0.113.9", '203.0.113.9 -> 10.0.1.5: probed "22", 23, and more'],
    ]);
    expect(hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings).toHaveLength(2);
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain("Queries run 2 (athena), 2.0 MiB scanned; no raw records read.");
    expect(result.stats).toEqual({ read: 0, analysed: 0, skipped: {} });
  });

  it("reports a scan once: the hour-long query's finding is dropped when a 5-minute window of the run already found it", async () => {
    const twoHorizons: QueryRenderer = {
      ...renderer,
      athena: (o) => renderer.athena(o).map((q) => ({ ...q, rule: "port-scan" })),
      findings: (q, rows) =>
        rows.map((r) => {
          const start = Number(r.window);
          return finding({
            rule: "port-scan", severity: "MEDIUM", src: r.src, dst: r.dst, window: { start, end: start + q.horizonSeconds },
            evidence: q.horizonSeconds === 3600 ? { distinctPorts: 40, horizonSeconds: 3600 } : { distinctPorts: 30 },
            description: `${r.src} probed ${r.dst}`,
          });
        }),
    };
    const hour = END - (END % 3600);
    serveAthena({
      "port-scan": csv(['"src","dst","window","ports"', `"203.0.113.9","10.0.1.5","${hour + 300}","30"`]),
      "c2-beaconing": csv(['"src","dst","window","flows"', `"203.0.113.9","10.0.1.5","${hour}","40"`, `"203.0.113.7","10.0.1.6","${hour}","40"`]),
    });
    const result = await handle(scheduled, deps({ renderer: twoHorizons }), 1200);
    expect(result.findings.map((f) => [f.src, f.window.end - f.window.start])).toEqual([["203.0.113.7", 3600], ["203.0.113.9", 300]]);
  });

  it("says a query that scanned 0 bytes over a range AWS should have delivered found the archive's files missing, not 'no data yet', and does not fail", async () => {
    serveAthena({}, 0);
    const d = deps();
    const result = await handle(scheduled, d, 1200);
    expect(result.findings).toEqual([]);
    const missing = d.logged.filter((l) => l.message.startsWith("no flow-log files in the queried partitions, though AWS delivers a record within 15 minutes of its start"));
    expect(missing.map((l) => [l.fields!.level, l.fields!.partitions])).toEqual([["WARN", "flow_logs 2026-11-01T00 .. 2026-11-01T01 (eu-central-1)"], ["WARN", "flow_logs 2026-11-01T00 .. 2026-11-01T01 (eu-central-1)"]]);
    expect(d.logged.filter((l) => l.message.startsWith("no flow-log data in the queried partitions yet"))).toEqual([]);
    expect(d.logged.find((l) => l.message === "detection finished")!.fields).toMatchObject({ queriesWithoutDataYet: 0, queriesWithFilesMissing: 2 });
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
  });

  it("says 'not yet' only for a range younger than AWS's delivery time, and nothing for a query that scanned data and found nothing", async () => {
    // A 1-minute look-back: the 5-minute query's range starts 12 minutes ago (not yet due), the hour-long one at the hour (due).
    serveAthena({}, 0);
    const d = deps();
    await handle(scheduled, d, 60);
    const yet = d.logged.find((l) => l.message.startsWith("no flow-log data in the queried partitions yet"))!;
    expect(yet.fields).toMatchObject({ rule: "port-scan", start: END - 720, dueBy: END - 720 + 900 });
    expect(d.logged.find((l) => l.message === "detection finished")!.fields).toMatchObject({ queriesWithoutDataYet: 1, queriesWithFilesMissing: 1 });

    athena.reset();
    serveAthena({}, 1_048_576);
    const scanned = deps();
    await handle(scheduled, scanned, 1200);
    expect(scanned.logged.filter((l) => l.message.startsWith("no flow-log"))).toEqual([]);
    expect(scanned.logged.find((l) => l.message === "detection finished")!.fields).toMatchObject({ queriesWithoutDataYet: 0, queriesWithFilesMissing: 0 });
  });

  it.each([
    ["FAILED", "Athena query q1 (port-scan on flow_logs) ended FAILED (got HIVE_BAD_DATA: bad row). Check the query in the workgroup's history; the table's partitions and columns must match the archive."],
    ["CANCELLED", "Athena query q1 (port-scan on flow_logs) ended CANCELLED (got HIVE_BAD_DATA: bad row). Someone or the workgroup's scan cutoff cancelled it: check bytesScannedCutoffGb and the query history."],
  ])("fails the run on a query that ends %s, after delivering the other queries' findings", async (state, message) => {
    serveAthena({ "c2-beaconing": csv(['"src","dst","window","flows"', `"10.0.1.7","198.51.100.4","${END - 3600}","12"`]) });
    athena.on(GetQueryExecutionCommand, { QueryExecutionId: "q1" }).resolves({ QueryExecution: { QueryExecutionId: "q1", Status: { State: state as never, StateChangeReason: "HIVE_BAD_DATA: bad row" } } });
    const d = deps();
    await expect(handle(scheduled, d, 1200)).rejects.toThrow(`1 of 2 detector queries failed: ${message}`);
    expect(hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings).toHaveLength(1);
    expect(d.logged.map((l) => l.message)).toContain("Athena query did not succeed");
  });

  it("stops a query that runs past its timeout and fails the run, naming it", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: "slow" });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: "RUNNING" } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(handle(scheduled, deps({ concurrency: 1 }), 1200)).rejects.toThrow(
      "Athena query slow (port-scan on flow_logs) did not finish within 10000 ms (got state RUNNING); it was stopped. A longer look-back or a busier archive scans more: raise the detector's timeout or shorten its schedule.",
    );
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input.QueryExecutionId)).toEqual(["slow", "slow"]);
  });

  it("fails the run when a result file cannot be read, naming the file and what the role needs", async () => {
    serveAthena({});
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied" }));
    await expect(handle(scheduled, deps({ concurrency: 1 }), 1200)).rejects.toThrow(
      "s3://flowlogs-prod-ath-410987654323-eu-central-1/results/q1.csv: the result file of Athena query q1 (port-scan on flow_logs) cannot be read (got AccessDenied: Access Denied). The detector's role needs s3:GetObject on the workgroup's output location and kms:Decrypt on its key.",
    );
  });

  it("fails the run on an empty result file: Athena always writes the header", async () => {
    serveAthena({ "port-scan": "" });
    await expect(handle(scheduled, deps(), 1200)).rejects.toThrow(
      "s3://flowlogs-prod-ath-410987654323-eu-central-1/results/q1.csv: the result file is empty (got 0 bytes). Athena writes a header line for every SELECT, so the file was cut short or replaced: run the query again.",
    );
  });

  it("retries a throttled StartQueryExecution with growing, jittered waits, then runs the query", async () => {
    serveAthena({});
    const throttled = () => new TooManyRequestsException({ message: "Rate exceeded", $metadata: {} });
    athena.on(StartQueryExecutionCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ QueryExecutionId: "q1" });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: "SUCCEEDED" }, Statistics: { DataScannedInBytes: 10 }, ResultConfiguration: { OutputLocation: "s3://r/results/q1.csv" } } });
    s3.on(GetObjectCommand).resolves(body(csv(['"src","dst","window","ports"'])));
    const d = deps({ concurrency: 1 });
    await handle(scheduled, d, 1200);
    // Starts wait for Athena's active-query quota from a second: full jitter at 0.5, half of 1 s, then half of 2 s.
    expect(d.waits.slice(0, 2)).toEqual([500, 1000]);
    const starts = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.ClientRequestToken);
    expect(starts).toHaveLength(4);
    // Each attempt of one query carries the same token, so Athena never starts it twice; another query has its own.
    expect(starts[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(starts.slice(0, 3)).toEqual([starts[0], starts[0], starts[0]]);
    expect(starts[3]).not.toBe(starts[0]);
  });

  it("surfaces throttling that outlasts every attempt, with the count of attempts", async () => {
    athena.on(StartQueryExecutionCommand).rejects(new TooManyRequestsException({ message: "You have exceeded the active query limit", $metadata: {} }));
    const d = deps({ concurrency: 1, retry: { attempts: 3 } });
    await expect(handle(scheduled, d, 1200)).rejects.toThrow(
      "Athena StartQueryExecution (port-scan on flow_logs): still throttled or failing after 3 attempts (got TooManyRequestsException: You have exceeded the active query limit). The account's quota is shared with other users of the service: raise it in Service Quotas, or run the detector less often.",
    );
    expect(d.logged.map((l) => l.message)).toContain("retries exhausted");
  });

  it("retries throttled Security Hub and SNS deliveries", async () => {
    serveAthena({ "port-scan": csv(['"src","dst","window","ports"', `"203.0.113.9","10.0.1.5","${END - 600}","30"`]) });
    hub.reset();
    sns.reset();
    hub.on(BatchImportFindingsCommand).rejectsOnce(new ThrottlingException({ message: "Rate exceeded", $metadata: {} })).resolves({ SuccessCount: 1, FailedCount: 0 });
    sns.on(PublishCommand).rejectsOnce(new ThrottledException({ message: "Rate exceeded", $metadata: {} })).resolves({});
    const result = await handle(scheduled, deps(), 1200);
    expect(result.delivered).toEqual({ securityHub: 1, sns: true });
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(2);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });
});

describe("a scheduled run stores its findings for Athena after delivery", () => {
  const STORE = { bucket: "flowlogs-prod-ath-410987654323-eu-central-1", prefix: "findings/" };
  beforeEach(() => {
    serveAthena({ "port-scan": csv(['"src","dst","window","ports"', `"203.0.113.9","10.0.1.5","${END - 600}","30"`]) });
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0 });
    sns.on(PublishCommand).resolves({});
  });

  it("writes one object of the run's findings, one JSON object a line, under its end's day, hop and mode", async () => {
    s3.on(PutObjectCommand).resolves({});
    const result = await handle(scheduled, deps({ findingsStore: STORE }), 1200);
    const put = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(put.map((p) => [p.Bucket, p.Key])).toEqual([[STORE.bucket, `findings/dt=2026-11-01/${END}-0-athena.json`]]);
    const lines = String(put[0]!.Body).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ rule: "port-scan", src: "203.0.113.9", dst: "10.0.1.5", score: null, evidence: '{"count":30}', window_start: END - 600, window_end: END - 300, run_end: END }),
    ]);
    expect(result.delivered).toEqual({ securityHub: 1, sns: true, stored: `s3://${STORE.bucket}/findings/dt=2026-11-01/${END}-0-athena.json` });
  });

  it("names a continued invocation's object by its hop, so it never overwrites the first invocation's", async () => {
    s3.on(PutObjectCommand).resolves({});
    const d = deps({ findingsStore: STORE });
    const pending = planJobs(renderer, { end: END, lookbackSeconds: 1200, thresholds: DEFAULT_THRESHOLDS, athena: ATHENA, format: LogFormat.DEFAULT, unmask: false }).map((j) => j.key);
    await handle({ mode: "continue", end: END, hop: 2, pending }, d, 1200);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`findings/dt=2026-11-01/${END}-2-athena.json`);
  });

  it("fails the run when the write is refused, after Security Hub and SNS were tried, naming the object and the fix", async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
    const error = (await handle(scheduled, deps({ findingsStore: STORE }), 1200).catch((e: Error) => e)) as Error;
    expect(error.message).toContain(
      `Delivery of 1 findings failed: s3://${STORE.bucket}/findings/dt=2026-11-01/${END}-0-athena.json: storing 1 findings for Athena failed (got AccessDenied: Access Denied). ` +
        `The detector's role needs s3:PutObject on findings/* of ${STORE.bucket} and kms:GenerateDataKey on the bucket's key; Security Hub and SNS were still tried.`,
    );
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});

describe("each finding is published to SNS once, and again only when more severe", () => {
  const LEDGER = { bucket: "flowlogs-prod-ath-410987654323-eu-central-1", prefix: "published/" };
  const scan = (severity = "MEDIUM") => csv(['"src","dst","window","ports","severity"', `"203.0.113.9","10.0.1.5","${END - 600}","30","${severity}"`]);
  const failed = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  /** S3 as the ledger sees it: conditional PutObject (If-None-Match: *, If-Match: ETag) and HeadObject over a map. */
  let objects: Map<string, { etag: string; meta: Record<string, string> }>;
  let version: number;
  const serveLedger = () => {
    objects = new Map();
    version = 0;
    s3.on(PutObjectCommand).callsFake((input: { Key: string; Metadata?: Record<string, string>; IfNoneMatch?: string; IfMatch?: string }) => {
      if (!input.Key.startsWith(LEDGER.prefix)) return {};
      const current = objects.get(input.Key);
      if (input.IfNoneMatch === "*" && current) throw failed("PreconditionFailed", 412);
      if (input.IfMatch !== undefined && current?.etag !== input.IfMatch) throw failed("PreconditionFailed", 412);
      const etag = `"e${++version}"`;
      objects.set(input.Key, { etag, meta: input.Metadata ?? {} });
      return { ETag: etag };
    });
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      const current = objects.get(input.Key);
      if (!current) throw failed("NotFound", 404);
      return { ETag: current.etag, Metadata: current.meta };
    });
  };
  const at = (seconds: number) => ({ now: () => new Date((END + seconds) * 1000) });
  /** A run at END + `later` seconds whose port-scan query returns `rows`. */
  const run = async (rows: string, later = 0) => {
    athena.reset();
    serveAthena({ "port-scan": rows });
    const d = { ...deps({ publishLedger: LEDGER }), ...at(later) };
    return { result: await handle(scheduled, d, 1200), logged: d.logged };
  };
  const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);

  beforeEach(() => {
    serveLedger();
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
    sns.on(PublishCommand).resolves({ MessageId: "m" });
  });

  it("publishes a finding raised by two overlapping runs once, and Security Hub receives it from both", async () => {
    const first = await run(scan());
    const second = await run(scan(), 900);
    expect(published()).toEqual(["[flowlog-kit prod] 1 finding, worst MEDIUM: Port scan"]);
    expect(hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings!.map((f) => f.Id))).toEqual([[expect.stringContaining(first.result.findings[0]!.id)], [expect.stringContaining(first.result.findings[0]!.id)]]);
    expect(first.result.delivered).toEqual({ securityHub: 1, sns: true, alerted: 1, alreadyAlerted: 0 });
    expect(second.result.delivered).toEqual({ securityHub: 1, sns: false, alerted: 0, alreadyAlerted: 1 });
    expect(second.logged.map((l) => l.message)).toContain("every finding was published to SNS by an earlier run at the same or a higher severity: no SNS message; Security Hub has them updated");
    const id = first.result.findings[0]!.id;
    expect(objects.get(`published/${id}`)!.meta).toEqual({ sent: "MEDIUM", claim: "", claimed: "" });
  });

  it("publishes once when two runs deliver the same finding at the same time", async () => {
    athena.reset();
    serveAthena({ "port-scan": scan() });
    const results = await Promise.all([handle(scheduled, deps({ publishLedger: LEDGER }), 1200), handle(scheduled, deps({ publishLedger: LEDGER }), 1200)]);
    expect(published()).toHaveLength(1);
    expect(results.map((r) => r.delivered.alerted).sort()).toEqual([0, 1]);
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(2);
  });

  it("publishes again when a later run finds it more severe, and not when it finds it less severe again", async () => {
    await run(scan("MEDIUM"));
    await run(scan("HIGH"), 900);
    await run(scan("MEDIUM"), 1800);
    await run(scan("HIGH"), 2700);
    expect(published()).toEqual(["[flowlog-kit prod] 1 finding, worst MEDIUM: Port scan", "[flowlog-kit prod] 1 finding, worst HIGH: Port scan"]);
  });

  it("names in the message the findings left out because an earlier run alerted them", async () => {
    await run(scan());
    const two = csv(['"src","dst","window","ports"', `"203.0.113.9","10.0.1.5","${END - 600}","30"`, `"198.51.100.3","10.0.1.5","${END - 600}","40"`]);
    const { result } = await run(two, 900);
    expect(result.delivered).toEqual({ securityHub: 2, sns: true, alerted: 1, alreadyAlerted: 1 });
    const message = sns.commandCalls(PublishCommand)[1]!.args[0].input.Message!;
    expect(message).toContain("1 more finding of this run was alerted by an earlier run at the same or a higher severity; Security Hub has it, updated.");
    expect(message).toContain("198.51.100.3");
    expect(message).not.toContain("203.0.113.9 -> ");
  });

  it("skips a finding whose marker already exists (412 on the claim) at the same severity", async () => {
    const { result: first } = await run(scan());
    sns.resetHistory();
    await run(scan(), 60);
    const claims = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input).filter((p) => p.Key!.startsWith("published/") && p.IfNoneMatch === "*");
    expect(claims.map((p) => [p.Bucket, p.Key])).toEqual([[LEDGER.bucket, `published/${first.findings[0]!.id}`], [LEDGER.bucket, `published/${first.findings[0]!.id}`]]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("publishes anyway, and logs why, when the marker cannot be written", async () => {
    s3.on(PutObjectCommand).rejects(failed("AccessDenied", 403));
    const { result, logged } = await run(scan());
    expect(published()).toHaveLength(1);
    expect(result.delivered).toEqual({ securityHub: 1, sns: true, alerted: 1, alreadyAlerted: 0 });
    const why = logged.find((l) => l.message === "the publish ledger could not be used for some findings: they are published to SNS regardless")!;
    expect(why.fields).toEqual({ findings: 1, reasons: [`${result.findings[0]!.id}: s3://${LEDGER.bucket}/published/${result.findings[0]!.id}: AccessDenied: AccessDenied`] });
  });

  it("publishes anyway when the ledger stays throttled past its retries", async () => {
    s3.on(PutObjectCommand).rejects(failed("SlowDown", 503));
    const { logged } = await run(scan());
    expect(published()).toHaveLength(1);
    expect(logged.map((l) => l.message)).toEqual(expect.arrayContaining(["retries exhausted", "the publish ledger could not be used for some findings: they are published to SNS regardless"]));
  });

  it("releases its claim when the SNS publish fails, so the next run publishes the finding", async () => {
    sns.on(PublishCommand).rejects(failed("AuthorizationError", 403));
    await expect(run(scan())).rejects.toThrow("SNS publish failed");
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    const { result } = await run(scan(), 900);
    expect(result.delivered.alerted).toBe(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it("publishes once more, after the claim's lease, a finding whose publish was not recorded (the one duplicate), and not before", async () => {
    await run(scan());
    const key = [...objects.keys()][0]!;
    // As if the run that published it died before recording it: its claim is left.
    objects.set(key, { etag: '"dead"', meta: { sent: "", claim: "MEDIUM", claimed: String(END) } });
    sns.resetHistory();
    const { result: within } = await run(scan(), 899);
    expect(within.delivered).toEqual(expect.objectContaining({ alerted: 0, alreadyAlerted: 1 }));
    const { result: after } = await run(scan(), 900);
    expect(after.delivered).toEqual(expect.objectContaining({ alerted: 1, alreadyAlerted: 0 }));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(objects.get(key)!.meta.sent).toBe("MEDIUM");
  });

  it("reads its ledger from FLOWLOG_PUBLISHED, and refuses anything but an S3 folder", () => {
    expect(parsePublishLedger(`s3://${LEDGER.bucket}/published/`)).toEqual(LEDGER);
    expect(() => parsePublishLedger(`s3://${LEDGER.bucket}/published`)).toThrow(
      `FLOWLOG_PUBLISHED: not an S3 folder "s3://bucket/prefix/" (got "s3://${LEDGER.bucket}/published"). The detector stack sets it to the Athena results bucket's published/ folder; redeploy the environment's stack.`,
    );
  });

  it("alerts every finding of an on-demand run (a person asked for them), and once those of archive runs", async () => {
    const f = finding({ rule: "port-scan", severity: "MEDIUM", src: "203.0.113.9", dst: "10.0.1.5", window: { start: END - 600, end: END - 300 }, evidence: { count: 30 }, description: "scan" });
    const d = deps({ publishLedger: LEDGER });
    await deliver(d, [f], newStats(), { end: END, hop: 0, mode: "on-demand" });
    await deliver(d, [f], newStats(), { end: END, hop: 0, mode: "on-demand" });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    await deliver(d, [f], newStats(), { end: END, hop: 0, mode: "archive-0123456789ab" });
    await deliver(d, [f], newStats(), { end: END, hop: 0, mode: "archive-ba9876543210" });
    expect(published()).toHaveLength(3);
  });
});

describe("a run that would outlive its timeout", () => {
  beforeEach(() => {
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0 });
    sns.on(PublishCommand).resolves({});
  });

  it("stops starting queries, delivers what it has, and continues in a new invocation with the queries left", async () => {
    serveAthena({ "port-scan": csv(['"src","dst","window","ports"', `"203.0.113.9","10.0.1.5","${END - 600}","30"`]) });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    // Time for one query and delivery, not two.
    let remaining = 73_000;
    const d = deps({ concurrency: 1 }, () => (remaining -= 2_000));
    const result = await handle(scheduled, d, 1200);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(1);
    expect(result.findings.map((f) => f.rule)).toEqual(["port-scan"]);
    const invoke = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(invoke.FunctionName).toBe("flowlogs-prod-detector");
    expect(invoke.InvocationType).toBe("Event");
    const cursor = JSON.parse(Buffer.from(invoke.Payload as Uint8Array).toString());
    expect(cursor).toEqual({ mode: "continue", end: END, pending: ["athena/flow_logs/3600/0/c2-beaconing"], hop: 1 });
    expect(d.logged.map((l) => l.message)).toContain("the run continues in a new invocation: the function's remaining time would not fit another query");

    athena.reset();
    serveAthena({});
    const next = deps({ concurrency: 1 });
    await handle(cursor, next, 1200);
    expect(athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString)).toEqual([expect.stringContaining("count(*) AS flows")]);
  });

  it("refuses a run that keeps continuing", async () => {
    await expect(handle({ mode: "continue", end: END, pending: ["athena/flow_logs/300/0/port-scan"], hop: 9 }, deps(), 1200)).rejects.toThrow(
      "continue: the run has continued 8 times (got 1 queries still pending). At most 8 continuations run; the queries take longer than the schedule allows: raise the detector's timeout or concurrency, or shorten the look-back.",
    );
  });

  it("rejects a continue event it did not write", async () => {
    await expect(handle({ mode: "continue", end: "soon" }, deps(), 1200)).rejects.toThrow('continue: not a cursor the detector wrote (got {"mode":"continue","end":"soon"}).');
  });
});

type Row = { field: string; value: string }[];
type Started = { queryString: string; startTime: number; endTime: number; queryLanguage?: string; logGroupName?: string };
/** What Logs Insights answers a query with: its rows, or a status it ends (or stays) in. */
type Answer = Row[] | "Failed" | "Cancelled" | "Timeout" | "Running";

const LOG_GROUP = "/flowlog-kit/prod/vpc-flow-logs";
const isRecords = (q: string) => q === INSIGHTS_QUERY || q === INSIGHTS_QUERY_UNMASKED;
const messages = (lines: readonly string[], field = "@message"): Row[] => lines.map((l) => [{ field, value: l }, { field: "@ptr", value: "p" }]);
const statsRow = (values: Record<string, string>): Row => Object.entries(values).map(([field, value]) => ({ field, value }));

/**
 * Logs Insights answers each query Running once, then as `records` (the engine path's query) or
 * `stats` (a rule's stats query) say; ids r1, r2, ... for records queries and s1, s2, ... for
 * stats queries. `onStart` may throw to refuse a start.
 */
function serveInsights(o: { records?: (q: Started) => Answer; stats?: (q: Started) => Answer; onStart?: (q: Started) => void } = {}) {
  const byId = new Map<string, Started>();
  let r = 0;
  let s = 0;
  logs.on(StartQueryCommand).callsFake((input: Started) => {
    o.onStart?.(input);
    const id = isRecords(input.queryString) ? `r${++r}` : `s${++s}`;
    byId.set(id, input);
    return { queryId: id };
  });
  const polled = new Set<string>();
  logs.on(GetQueryResultsCommand).callsFake((input: { queryId: string }) => {
    const q = byId.get(input.queryId)!;
    if (!polled.has(input.queryId)) {
      polled.add(input.queryId);
      return { status: "Running" };
    }
    const answer = (isRecords(q.queryString) ? o.records?.(q) : o.stats?.(q)) ?? [];
    return typeof answer === "string" ? { status: answer } : { status: "Complete", statistics: { recordsScanned: 100, bytesScanned: 1000 }, results: answer };
  });
  logs.on(StopQueryCommand).resolves({ success: true });
}

const startsOf = () => logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input);

describe("scheduled run on Logs Insights (no Athena): every rule as an OpenSearch SQL query, no raw records", () => {
  beforeEach(() => {
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
    sns.on(PublishCommand).resolves({});
  });

  /** The stand-in's rules, as two SQL queries (the orchestration never looks inside them). */
  const twoRules: QueryRenderer = {
    ...renderer,
    insights: ({ logGroupName, start, end }) => [
      { rule: "port-scan", horizonSeconds: 300, sql: `SELECT src, dst, window, count(DISTINCT port) AS ports FROM \`${logGroupName}\` WHERE st >= ${start} AND st < ${end} GROUP BY src, dst, window` },
      { rule: "c2-beaconing", horizonSeconds: 3600, sql: `SELECT src, dst, window, count(*) AS flows FROM \`${logGroupName}\` WHERE st >= ${start} AND st < ${end} GROUP BY src, dst, window` },
    ],
  };
  const row = statsRow({ src: "203.0.113.9", dst: "10.0.1.5", window: String(END - 600), ports: "31" });
  const noRecordsRead = () => expect(startsOf().filter((q) => isRecords(q.queryString!) || q.queryLanguage !== "SQL" || q.logGroupName !== undefined)).toEqual([]);

  it("runs each rule in SQL over its horizon's range, the log group named in the query, and turns the rows past thresholds into findings", async () => {
    serveInsights({ stats: (q) => (q.queryString.includes("AS ports") ? [row] : []) });
    const d = deps({ athena: undefined, renderer: twoRules });
    const result = await handle(scheduled, d, 1200);
    expect(startsOf()).toEqual([
      { queryLanguage: "SQL", startTime: FIVE_MINUTE_START, endTime: END, queryString: `SELECT src, dst, window, count(DISTINCT port) AS ports FROM \`${LOG_GROUP}\` WHERE st >= ${FIVE_MINUTE_START} AND st < ${END} GROUP BY src, dst, window` },
      { queryLanguage: "SQL", startTime: RECORDS_START, endTime: END, queryString: expect.stringContaining(`st >= ${RECORDS_START} AND st < ${END}`) },
    ]);
    expect(result.findings.map((f) => [f.rule, f.evidence])).toEqual([["port-scan", { count: 31 }]]);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
    expect(d.logged.find((l) => l.message.startsWith("every windowed rule runs as an OpenSearch SQL query"))!.fields).toEqual({ sql: ["port-scan", "c2-beaconing"], notRun: [] });
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain("Queries run 2 (insights), 2000 bytes scanned; no raw records read.");
  });

  it("delivers a query's rows when it hits Logs Insights' 10,000-row cap, then fails the run naming the query: rows beyond the cap are lost", async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => statsRow({ src: `203.0.${i >> 8}.${i & 255}`, dst: "10.0.1.5", window: String(END - 600), ports: "31" }));
    serveInsights({ stats: () => rows });
    await expect(handle(scheduled, deps({ athena: undefined }), 1200)).rejects.toThrow(
      `Logs Insights query s1 (port-scan) on ${LOG_GROUP} returned 10000 rows, its cap: groups past thresholds beyond them were left out. Raise the rule's thresholds in detectors.thresholds, or shorten the schedule.`,
    );
    expect(hub.commandCalls(BatchImportFindingsCommand).reduce((n, c) => n + c.args[0].input.Findings!.length, 0)).toBe(10_000);
    noRecordsRead();
  });

  it("plans the deployed rules: every declaration at each horizon and the beacon query, each query with the time filter of its range; on a masked log group the unmasked records query alone", () => {
    const plan = (unmask: boolean) => planJobs(RENDERER, { end: END, lookbackSeconds: 1200, thresholds: DEFAULT_THRESHOLDS, format: LogFormat.DEFAULT, unmask, logGroupName: LOG_GROUP });
    const jobs = plan(false);
    expect(jobs.map((j) => j.query.rule).sort()).toEqual([...DECLARATIONS.flatMap((d) => d.horizons.map(() => d.id)), C2_BEACONING.id, "anomaly", "log-skipped"].sort());
    // The run-wide rules read the hour-long range too; anomaly in two parts (hosts as sources, as destinations).
    expect(jobs.filter((j) => ["anomaly", "log-skipped"].includes(j.query.rule)).map((j) => [j.query.rule, j.start, j.query.parts?.length ?? 1])).toEqual([["anomaly", RECORDS_START, 2], ["log-skipped", RECORDS_START, 1]]);
    // The beacon query reads the hour-long horizon's range, after the declarations' (earlier queries keep their keys).
    expect(jobs.filter((j) => j.query.rule === C2_BEACONING.id).map((j) => [j.key, j.start, j.end])).toEqual([["insights/3600/5/c2-beaconing", RECORDS_START, END]]);
    for (const j of jobs) {
      expect([j.query.rule, j.engine, j.end, j.start === FIVE_MINUTE_START || j.start === RECORDS_START]).toEqual([j.query.rule, "insights", END, true]);
      for (const sql of j.query.parts ?? [j.query.sql]) {
        expect(sql).toContain(`FROM \`logGroups(logGroupIdentifier: ['${LOG_GROUP}'])\` WHERE `);
        expect(sql).toContain(`, 0) BETWEEN ${j.start} AND ${END - 1} AND `);
        expect(sql).toMatch(/\nLIMIT 10001$/);
        expect(sql.length).toBeLessThanOrEqual(10_000);
      }
    }
    expect(plan(true)).toEqual([{ key: "records/engine", engine: "records", query: { rule: "engine", horizonSeconds: 1200, sql: INSIGHTS_QUERY_UNMASKED }, start: RECORDS_START, end: END }]);
  });

  it("on an Infrequent Access log group (which OpenSearch SQL cannot query) plans the records query alone; with Athena, Athena's queries", () => {
    const plan = (athena?: typeof ATHENA) => planJobs(RENDERER, { end: END, lookbackSeconds: 1200, thresholds: DEFAULT_THRESHOLDS, format: LogFormat.DEFAULT, unmask: false, infrequentAccess: true, logGroupName: LOG_GROUP, ...(athena ? { athena } : {}) });
    expect(plan()).toEqual([{ key: "records/engine", engine: "records", query: { rule: "engine", horizonSeconds: 1200, sql: INSIGHTS_QUERY }, start: RECORDS_START, end: END }]);
    expect(plan(ATHENA).every((j) => j.engine === "athena")).toBe(true);
  });

  it("retries Logs Insights' concurrent-query limit, then runs", async () => {
    let refused = false;
    serveInsights({
      onStart: () => {
        if (refused) return;
        refused = true;
        throw new LimitExceededException({ message: "Account maximum query concurrency limit of [100] reached", $metadata: {} });
      },
    });
    const d = deps({ athena: undefined });
    await handle(scheduled, d, 1200);
    expect(startsOf()).toHaveLength(2);
    expect(d.logged.find((l) => l.message === "retrying after a throttling or transient error")!.fields).toEqual({ call: "Logs Insights StartQuery (port-scan)", attempt: 1, error: "LimitExceededException", waitMs: 100 });
  });

  it.each(["Failed", "Cancelled", "Timeout"] as const)("fails the run on a query that ends %s, after delivering the other query's findings, and reads no records", async (status) => {
    serveInsights({ stats: (q) => (q.queryString.includes("AS ports") ? status : [statsRow({ src: "10.0.1.50", dst: "198.18.0.66", window: String(RECORDS_START), flows: "11" })]) });
    await expect(handle(scheduled, deps({ athena: undefined, renderer: twoRules }), 1200)).rejects.toThrow(`1 of 2 detector queries failed: Logs Insights query s1 (port-scan) on ${LOG_GROUP} ended ${status}.`);
    expect(hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings!.map((f) => f.Title)).toHaveLength(1);
    noRecordsRead();
  });

  it("stops a query past its timeout, fails the run naming it, and reads no records", async () => {
    serveInsights({ stats: (q) => (q.queryString.includes("AS ports") ? "Running" : []) });
    await expect(handle(scheduled, deps({ athena: undefined, renderer: twoRules }), 1200)).rejects.toThrow(
      `1 of 2 detector queries failed: Logs Insights query s1 (port-scan) on ${LOG_GROUP} did not finish within 10000 ms; it was stopped. Raise the detector's timeout or shorten its schedule.`,
    );
    expect(logs.commandCalls(StopQueryCommand).map((c) => c.args[0].input.queryId)).toEqual(["s1"]);
    noRecordsRead();
  });

  it("continues a query in a new invocation like any query", async () => {
    serveInsights();
    await handle({ mode: "continue", end: END, pending: ["insights/3600/0/c2-beaconing"], hop: 1 }, deps({ athena: undefined, renderer: twoRules }), 1200);
    expect(startsOf().map((q) => [q.queryLanguage, q.startTime, q.endTime])).toEqual([["SQL", RECORDS_START, END]]);
  });
});

describe("a CloudWatch-only run with the deployed queries", () => {
  const T = END - 600;
  /** 30 ports probed on one host: a port-scan. */
  const scanLines = Array.from({ length: 30 }, (_, i) => line({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT", start: T }));
  /** 600 MiB from inside to an outside address: an exfiltration. */
  const exfilLines = [line({ src: "10.0.1.7", dst: "198.51.100.4", dstport: 443, bytes: 600 * 1024 * 1024, start: T })];
  const plan = () => planJobs(RENDERER, { end: END, lookbackSeconds: 1200, thresholds: DEFAULT_THRESHOLDS, format: LogFormat.DEFAULT, unmask: false, logGroupName: LOG_GROUP });
  /** StartQuery calls a plan makes: one a query, one a part of a query in parts (the anomaly rule's two). */
  const statements = (jobs: ReturnType<typeof plan>) => jobs.reduce((n, j) => n + (j.query.parts?.length ?? 1), 0);

  beforeEach(() => {
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
    sns.on(PublishCommand).resolves({});
  });

  it("runs and delivers the other rules when a threat list makes one query too long for StartQuery, then fails naming it", async () => {
    const entries = Array.from({ length: 200 }, (_, i) => `198.${18 + (i >> 8)}.${i & 255}.0/24`);
    const thresholds = resolveThresholds({ threatIntel: [{ name: "big-list", entries }] });
    serveInsights({ stats: () => [] });
    const d = deps({ athena: undefined, renderer: RENDERER, thresholds });
    await expect(handle(scheduled, d, 1200)).rejects.toThrow(/detector queries failed: detectors\.threatIntel: .*query of threat-intel .* over the 10000 StartQuery accepts/);
    const sent = startsOf();
    expect(sent.length).toBe(statements(plan()) - 1);
    expect(sent.some((q) => /198\.18\.0\./.test(q.queryString ?? ""))).toBe(false);
    expect(d.logged.some((l) => l.message === "detection finished")).toBe(true);
  });

  it("raises the findings of the queries' rows, every query with its range and time filter, and never reads records", async () => {
    const jobs = plan();
    const exfil = jobs.find((j) => j.query.rule === "exfiltration")!.query.sql;
    const exfilRow = statsRow({ src: "10.0.1.7", dst: "198.51.100.4", window_start: String(T - (T % 300)), egress_bytes: String(700 * 1024 * 1024), interface_id: "eni-0123456789abcdef0" });
    serveInsights({ stats: (q) => (q.queryString === exfil ? [exfilRow] : []) });
    const d = deps({ athena: undefined, renderer: RENDERER });
    const result = await handle(scheduled, d, 1200);
    expect(result.findings.map((f) => [f.rule, f.src, f.dst, f.evidence.egressBytes])).toEqual([["exfiltration", "10.0.1.7", "198.51.100.4", 700 * 1024 * 1024]]);
    const starts = startsOf();
    expect(starts).toHaveLength(statements(jobs));
    expect(starts.filter((q) => /AS flows_(out|in)/.test(q.queryString!)).map((q) => q.queryString!.match(/AS flows_(out|in)/)![1])).toEqual(["out", "in"]);
    for (const q of starts) {
      // The row cap is the query's own LIMIT: StartQuery's limit is the query language's.
      expect([q.queryLanguage, q.logGroupName, q.limit]).toEqual(["SQL", undefined, undefined]);
      expect(q.queryString).toContain(`, 0) BETWEEN ${q.startTime} AND ${q.endTime! - 1} AND `);
    }
    noneRead(starts);
    const said = d.logged.find((l) => l.message.startsWith("every windowed rule runs as an OpenSearch SQL query"))!.fields!;
    expect(said.sql).toEqual([...new Set(jobs.map((j) => j.query.rule))]);
    expect(said.notRun).toEqual(RENDERER.engineOnly);
    expect(result.stats).toEqual({ read: 0, analysed: 0, skipped: {} });
  });

  describe("the anomaly rule's two parts (internal hosts as sources, then as destinations)", () => {
    const out = (q: { queryString: string }) => q.queryString.includes("AS flows_out");
    const inn = (q: { queryString: string }) => q.queryString.includes("AS flows_in");
    const host = (i: number, side: "out" | "in") => statsRow({
      host: `10.0.${i >> 8}.${i & 255}`, first_seen: `${"0".repeat(6)}${END - 600}|eni-0123456789abcdef0`, [`flows_${side}`]: String(5 + (i % 7)), [`bytes_${side}`]: String(4000 + (i % 13) * 300), [`peers_${side}`]: String(3 + (i % 5)),
      [side === "out" ? "ports_probed" : "ports_probed_on"]: String(1 + (i % 3)), [`rejected_${side}`]: "0", first_window: String(RECORDS_START), last_window: String(RECORDS_START),
    });

    it("run together and their rows are scored as one: a host unlike the others is one finding, its counts from both parts", async () => {
      const odd = (side: "out" | "in") => statsRow({
        host: "10.0.9.99", first_seen: `${"0".repeat(6)}${END - 900}|eni-0odd0000000000000`, [`flows_${side}`]: side === "out" ? "4000" : "2", [`bytes_${side}`]: side === "out" ? "9000000000" : "100",
        [`peers_${side}`]: side === "out" ? "900" : "2", [side === "out" ? "ports_probed" : "ports_probed_on"]: side === "out" ? "700" : "0", [`rejected_${side}`]: side === "out" ? "2500" : "0",
        first_window: String(RECORDS_START), last_window: String(RECORDS_START),
      });
      serveInsights({ stats: (q) => (out(q) ? [...Array.from({ length: 100 }, (_, i) => host(i, "out")), odd("out")] : inn(q) ? [...Array.from({ length: 100 }, (_, i) => host(i, "in")), odd("in")] : []) });
      const result = await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200);
      const found = result.findings.filter((f) => f.rule === "anomaly");
      expect(found.map((f) => [f.src, f.interfaceId, f.window])).toEqual([["10.0.9.99", "eni-0odd0000000000000", { start: RECORDS_START, end: RECORDS_START + 3600 }]]);
      expect(found[0]!.evidence).toMatchObject({ flowsOut: 4000, flowsIn: 2, bytesOut: 9_000_000_000, bytesIn: 100, peers: 900, portsProbed: 700, portsProbedOn: 0, rejected: 2500 });
      const parts = startsOf().filter((q) => out(q as never) || inn(q as never));
      expect(parts.map((q) => [q.startTime, q.endTime])).toEqual([[RECORDS_START, END], [RECORDS_START, END]]);
    });

    it("raise no anomaly when a part reaches the row cap (each part would hold other hosts), and fail the run after delivery", async () => {
      serveInsights({ stats: (q) => (out(q) ? Array.from({ length: 10_000 }, (_, i) => host(i, "out")) : inn(q) ? Array.from({ length: 90 }, (_, i) => host(i, "in")) : []) });
      // The rows of a capped part are never scored: they would give some hosts one side's counts only.
      const scored: string[] = [];
      const renderer: QueryRenderer = { ...RENDERER, findings: (q, rows) => (scored.push(q.rule), RENDERER.findings(q, rows)) };
      await expect(handle(scheduled, deps({ athena: undefined, renderer }), 1200)).rejects.toThrow(/^1 of 25 detector queries failed: Logs Insights query s\d+ \(anomaly part 1 of 2\)/);
      expect(scored).toHaveLength(24);
      expect(scored).not.toContain("anomaly");
    });

    it("name the capped part and the fix", async () => {
      serveInsights({ stats: (q) => (out(q) ? Array.from({ length: 10_000 }, (_, i) => host(i, "out")) : []) });
      const failure = await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200).then(() => undefined, (e: Error) => e.message);
      expect(failure).toMatch(
        new RegExp(`Logs Insights query s\\d+ \\(anomaly part 1 of 2\\) on ${LOG_GROUP.replace(/\//g, "\\/")} returned 10000 rows, its cap: more internal hosts than one query returns, so the anomaly rule scored only some of them\\. Archive the flow logs to S3 with Athena \\(analytics\\.athena\\), whose results have no such cap\\.`),
      );
    });

    it("stop the other part when one fails, and fail the run naming the part", async () => {
      serveInsights({ stats: (q) => (out(q) ? "Failed" : inn(q) ? "Running" : []) });
      const failure = await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200).then(() => undefined, (e: Error) => e.message);
      expect(failure).toMatch(new RegExp(`^1 of 25 detector queries failed: Logs Insights query s\\d+ \\(anomaly part 1 of 2\\) on ${LOG_GROUP.replace(/\//g, "\\/")} ended Failed\\.`));
      const inId = logs.commandCalls(StartQueryCommand).findIndex((c) => inn(c.args[0].input as never));
      expect(logs.commandCalls(StopQueryCommand).map((c) => c.args[0].input.queryId)).toContain(`s${inId + 1}`);
    });

    it("name the rule and the part when Logs Insights refuses to start one", async () => {
      serveInsights({
        onStart: (q) => {
          if (inn(q)) throw Object.assign(new Error("Query string is malformed"), { name: "MalformedQueryException", $metadata: { httpStatusCode: 400 } });
        },
      });
      const failure = await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200).then(() => undefined, (e: Error) => e.message);
      expect(failure).toContain(`Logs Insights StartQuery (anomaly part 2 of 2) on ${LOG_GROUP} was refused (got MalformedQueryException: Query string is malformed). Check the detector role's logs:StartQuery permission; a MalformedQueryException is the kit's to fix: report it with this message.`);
    });

    it("fail the run with both parts' messages when both fail", async () => {
      serveInsights({ stats: (q) => (out(q) || inn(q) ? "Failed" : []) });
      const failure = await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200).then(() => undefined, (e: Error) => e.message);
      expect(failure).toMatch(/\(anomaly part 1 of 2\) on \S+ ended Failed\..*; Logs Insights query s\d+ \(anomaly part 2 of 2\) on \S+ ended Failed\./);
    });
  });

  it("issues the beacon query over the hour-long range and raises its row as the engine's c2-beaconing finding, under one id for the hour", async () => {
    const beacon = plan().find((j) => j.query.rule === "c2-beaconing")!;
    expect([beacon.start, beacon.end]).toEqual([RECORDS_START, END]);
    // Eleven small flows every 240 s from 00:10 on: the gaps' sums as the query returns them.
    const first = RECORDS_START + 600;
    const beaconRow = (firstStart: number, points: number) => statsRow({
      src: "10.0.1.50", dst: "198.18.0.66", port: "443", interface_id: "eni-0beacon000000000", flows: String(points),
      first_start: String(firstStart), last_start: String(first + 2400), gap_sum: String(first + 2400 - firstStart), gap_squares: String((points - 1) * 240 * 240),
    });
    const run = async (row: ReturnType<typeof statsRow>) => {
      logs.reset();
      serveInsights({ stats: (q) => (q.queryString === beacon.query.sql ? [row] : []) });
      return (await handle(scheduled, deps({ athena: undefined, renderer: RENDERER }), 1200)).findings;
    };
    const found = await run(beaconRow(first, 11));
    expect(startsOf().find((q) => q.queryString === beacon.query.sql)).toEqual({ queryLanguage: "SQL", startTime: RECORDS_START, endTime: END, queryString: beacon.query.sql });
    expect(found).toEqual([expect.objectContaining({
      rule: "c2-beaconing", severity: "HIGH", src: "10.0.1.50", dst: "198.18.0.66", port: 443, interfaceId: "eni-0beacon000000000",
      window: { start: first, end: first + 2401 }, evidence: { flows: 11, intervalSeconds: 240, jitterPercent: 0 },
      description: "10.0.1.50 contacted 198.18.0.66:443 11 times every ~240s (jitter 0.0%).",
    })]);
    // A later run whose range also holds a point of the same series that arrived late (00:06): the same id, so Security Hub updates one finding.
    const later = await run(beaconRow(first - 240, 12));
    expect(later.map((f) => [f.id, f.window.start, f.evidence.flows])).toEqual([[found[0]!.id, first - 240, 12]]);
    expect(hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings!.map((f) => f.Id))).toEqual([[`flowlog-kit/prod/${found[0]!.id}`], [`flowlog-kit/prod/${found[0]!.id}`]]);
  });

  it("runs every rule on the engine over unmasked records when the log group masks IP addresses, and says why", async () => {
    serveInsights({ records: () => messages([...scanLines, ...exfilLines], "unmasked") });
    const d = deps({ athena: undefined, renderer: RENDERER, unmask: true });
    const result = await handle(scheduled, d, 1200);
    expect(startsOf()).toEqual([{ logGroupName: LOG_GROUP, startTime: RECORDS_START, endTime: END, queryString: INSIGHTS_QUERY_UNMASKED, limit: 10000 }]);
    expect(result.findings.filter((f) => f.rule === "port-scan" || f.rule === "exfiltration").map((f) => [f.rule, f.src, f.evidence.egressBytes]).sort()).toEqual([
      ["exfiltration", "10.0.1.7", 600 * 1024 * 1024],
      ["port-scan", "203.0.113.9", undefined],
    ]);
    const said = d.logged.find((l) => l.message.startsWith("the log group masks IP addresses"))!;
    expect(said.message).toBe("the log group masks IP addresses: every rule runs on the engine over records read with unmask(@message)");
    expect(said.fields!.stats).toEqual([]);
    expect(said.fields!.engine).toEqual([...RENDERER.rules!, ...RENDERER.engineOnly!]);
    expect(said.fields!.why).toMatch(/the SQL queries read fields of @message, which stay masked/);
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain("Every rule on the engine: records read 31, analysed 31, skipped: none.");
  });

  it("reports a masked log group's range still at the row cap after splitting down to a minute, in its result, its log and its SNS message", async () => {
    const capped = END - 30;
    const full: Row[] = new Array(10_000).fill(messages([scanLines[0]!], "unmasked")[0]!);
    serveInsights({ records: (q) => (q.startTime <= capped && capped < q.endTime ? full : messages(scanLines, "unmasked")) });
    const d = deps({ athena: undefined, renderer: { ...renderer, insights: () => [] }, unmask: true });
    const result = await handle(scheduled, d, 120);
    const widths = startsOf().map((q) => q.endTime! - q.startTime!);
    expect(widths[0]).toBe(END - RECORDS_START);
    expect(widths[widths.length - 1]).toBeLessThanOrEqual(60);
    expect(result.truncated).toHaveLength(1);
    const cut = result.truncated![0]!;
    expect([cut.end, cut.start <= capped, cut.end - cut.start <= 60]).toEqual([END, true, true]);
    expect(d.logged.find((l) => l.message === "Logs Insights result hit the row cap; records in this range were left out")!.fields).toEqual({ start: cut.start, end: END, rows: 10_000 });
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message).toContain("1 one-minute range hit the Logs Insights 10,000-row cap: records in it were left out.");
  });
});

/** No start was a records query, a Logs Insights QL query or one naming its log group outside the SQL. */
function noneRead(starts: readonly { readonly queryString?: string; readonly queryLanguage?: string; readonly logGroupName?: string }[]): void {
  expect(starts.filter((q) => isRecords(q.queryString ?? "") || q.queryLanguage !== "SQL" || q.logGroupName !== undefined)).toEqual([]);
}

describe("threat lists from S3, read on every run", () => {
  const lists = [{ name: "abuse", s3: "s3://secops-intel/lists/abuse.txt" }];

  it("adds the object's entries to the thresholds the queries are rendered with", async () => {
    const seen: string[][] = [];
    const spy: QueryRenderer = { ...renderer, athena: (o) => (seen.push(o.thresholds.threatIntel.flatMap((l) => l.entries)), []) };
    s3.on(GetObjectCommand, { Bucket: "secops-intel", Key: "lists/abuse.txt" }).resolves(body("# abuse.ch\n198.51.100.7\n203.0.113.0/24\n"));
    await detectScheduled(deps({ threatLists: lists, renderer: spy }), 1200);
    expect(seen[0]).toEqual(["198.51.100.7", "203.0.113.0/24"]);
  });

  it("fails the run on a missing object, naming it", async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} }));
    await expect(handle(scheduled, deps({ threatLists: lists }), 1200)).rejects.toThrow(
      "threat list abuse: s3://secops-intel/lists/abuse.txt: cannot read the threat list (got NoSuchKey: The specified key does not exist.). Upload the list there, or grant the detector's role s3:GetObject on it (and kms:Decrypt on its key when the bucket is not the kit's own).",
    );
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it("fails the run on a malformed object, naming the object, the line and the value", async () => {
    s3.on(GetObjectCommand).resolves(body("198.51.100.7\n198.51.100.300\n"));
    await expect(handle(scheduled, deps({ threatLists: lists }), 1200)).rejects.toThrow(
      'threat list abuse: s3://secops-intel/lists/abuse.txt:2: is not an IPv4 or IPv6 address or CIDR (got "198.51.100.300"). Write one IPv4 or IPv6 address or CIDR per line, # for comments.',
    );
  });
});

describe("what the run refuses to guess", () => {
  beforeEach(() => {
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0 });
    sns.on(PublishCommand).resolves({});
  });

  it("fails without a query renderer or an Athena client, saying to redeploy", async () => {
    await expect(detectScheduled(deps({ renderer: undefined }), 1200)).rejects.toThrow("the detector has no query renderer: it was built without functions/detect/sql.ts. Redeploy the environment's stack.");
    const d = deps({ concurrency: 1 });
    await expect(detectScheduled({ ...d, clients: { ...d.clients, athena: undefined } }, 1200)).rejects.toThrow("Athena client missing: the detector was built without one. Redeploy the environment's stack.");
  });

  it("fails on a query Athena gave no id, or no S3 result location", async () => {
    athena.on(StartQueryExecutionCommand).resolves({});
    await expect(handle(scheduled, deps({ concurrency: 1 }), 1200)).rejects.toThrow("Athena returned no query id for port-scan on flow_logs in workgroup flowlogs-prod. Run again; if it persists, check the workgroup in the Athena console.");
    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: "q1" });
    athena.on(GetQueryExecutionCommand).resolvesOnce({ QueryExecution: { Status: { State: "SUCCEEDED" } } }).resolves({ QueryExecution: { Status: { State: "SUCCEEDED" }, ResultConfiguration: { OutputLocation: "https://example.com/q1.csv" } } });
    await expect(handle(scheduled, deps({ concurrency: 1 }), 1200)).rejects.toThrow(
      "Athena query q1 (port-scan on flow_logs) succeeded without a result location (got none). The workgroup must write results to S3.; Athena query q1: its result location is not an S3 object (got \"https://example.com/q1.csv\"). The workgroup's result configuration must name an S3 location.",
    );
  });

  it("fails on a Logs Insights query without an id, on both paths", async () => {
    logs.on(StartQueryCommand).resolves({});
    const none = (await handle(scheduled, deps({ athena: undefined }), 1200).catch((e: Error) => e)) as Error;
    expect(none.message).toBe("1 of 1 detector queries failed: Logs Insights returned no query id for port-scan on /flowlog-kit/prod/vpc-flow-logs. Run again.");
    const masked = (await handle(scheduled, deps({ athena: undefined, unmask: true }), 1200).catch((e: Error) => e)) as Error;
    expect(masked.message).toContain("Logs Insights returned no query id for the records of /flowlog-kit/prod/vpc-flow-logs (got null). Run again; if it persists, check the log group in the Logs Insights console.");
  });

  it("fails when queries are left and the function cannot invoke itself", async () => {
    serveAthena({});
    const d = deps({ concurrency: 1, functionName: undefined }, () => 0);
    await expect(handle(scheduled, d, 1200)).rejects.toThrow("continue: 2 queries are left and the function cannot invoke itself (got no function name). Raise the detector's timeout, or redeploy the environment's stack.");
  });

  it("refuses a threat list that is not an s3:// URI", async () => {
    await expect(detectScheduled(deps({ threatLists: [{ name: "abuse", s3: "https://example.com/a.txt" }] }), 1200)).rejects.toThrow(
      "threat list abuse: https://example.com/a.txt: not an s3://bucket/key URI. Redeploy the environment's stack from a valid configuration.",
    );
  });
});
