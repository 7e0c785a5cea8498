import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchImportFindingsCommand, InvalidAccessException, SecurityHubClient } from "@aws-sdk/client-securityhub";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import * as zlib from "zlib";
import { LogFormat } from "../../../functions/flowlog/format";
import { DEFAULT_THRESHOLDS } from "../../../functions/detect/thresholds";
import { DetectionEngine } from "../../../functions/detect/engine";
import { DetectorDeps, INSIGHTS_QUERY } from "../../../functions/handlers/detect";
import { requireEnv } from "../../../functions/handlers/env";
import { handle, parseEvent, settingsFromEnv } from "../../../functions/handlers/handler";
import { line, range } from "../../support/flows";
import { tempDir } from "../../support/env";
import { writeParquet } from "../../support/parquet";

const logs = mockClient(CloudWatchLogsClient);
const s3 = mockClient(S3Client);
const hub = mockClient(SecurityHubClient);
const sns = mockClient(SNSClient);

afterEach(() => {
  logs.reset();
  s3.reset();
  hub.reset();
  sns.reset();
});

const NOW = new Date("2026-11-01T01:00:00Z");
const T = NOW.getTime() / 1000 - 600;

function deps(overrides: Partial<DetectorDeps["settings"]> = {}): DetectorDeps & { logged: string[]; clock: { ms: number } } {
  const logged: string[] = [];
  const clock = { ms: NOW.getTime() };
  return {
    clients: { logs: new CloudWatchLogsClient({}), s3: new S3Client({}), securityHub: new SecurityHubClient({}), sns: new SNSClient({}) },
    settings: {
      environment: "prod", account: "410987654323", region: "eu-central-1", logGroupName: "/flowlog-kit/prod/vpc-flow-logs",
      topicArn: "arn:aws:sns:eu-central-1:410987654323:flowlogs-prod-findings", format: LogFormat.DEFAULT, thresholds: DEFAULT_THRESHOLDS,
      queryTimeoutMs: 5000, pollMs: 1000, ...overrides,
    },
    now: () => new Date(clock.ms),
    sleep: async (ms) => {
      clock.ms += ms;
    },
    log: (m) => logged.push(m),
    logged,
    clock,
  };
}

/** 30 ports probed on one host: one port-scan finding per pair and rejected traffic. */
const scanLines = range(30).map((i) => line({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT", start: T }));
/** 150 distinct GRE pairs: 150 unusual-protocol findings, to exercise batching. */
const greLines = range(150).map((i) => line({ src: `10.0.${i >> 8}.${i & 255}`, dst: "203.0.113.80", dstport: 0, protocol: 47, start: T }));
const rows = (lines: string[]) => lines.map((l) => [{ field: "@message", value: l }, { field: "@ptr", value: "p" }]);

describe("on-demand mode (flowlog-kit detect --env -> Logs Insights records)", () => {
  const onDemand = (sinceSeconds: number) => ({ mode: "on-demand", sinceSeconds });

  it("queries the log group for the look-back window, polls until complete, and delivers findings", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q1" });
    logs.on(GetQueryResultsCommand).resolvesOnce({ status: "Running" }).resolves({ status: "Complete", results: rows(scanLines) });
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 0 });
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    const d = deps();
    const result = await handle(onDemand(1200), d, 900);
    const start = logs.commandCalls(StartQueryCommand)[0]!.args[0].input;
    expect(start).toEqual({ logGroupName: "/flowlog-kit/prod/vpc-flow-logs", startTime: NOW.getTime() / 1000 - 1200, endTime: NOW.getTime() / 1000, queryString: INSIGHTS_QUERY, limit: 10000 });
    expect(logs.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
    expect(result.stats).toEqual({ read: 30, analysed: 30, skipped: {} });
    expect(result.findings.map((f) => f.rule)).toContain("port-scan");
    const imported = hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings!;
    expect(imported[0]).toMatchObject({ ProductArn: "arn:aws:securityhub:eu-central-1:410987654323:product/410987654323/default", AwsAccountId: "410987654323" });
    const published = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(published.TopicArn).toBe("arn:aws:sns:eu-central-1:410987654323:flowlogs-prod-findings");
    expect(published.Message).toContain("Records read 30, analysed 30, skipped: none.");
  });

  it("sends Security Hub findings in batches of at most 100", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q1" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: rows(greLines) });
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
    sns.on(PublishCommand).resolves({});
    const result = await handle(onDemand(900), deps(), 900);
    expect(hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings!.length)).toEqual([100, 50]);
    expect(result.delivered).toEqual({ securityHub: 150, sns: true });
  });

  it("splits a range whose result hits the 10,000-row cap, and reports a one-minute range still at the cap", async () => {
    const full = rows(Array.from({ length: 10_000 }, () => scanLines[0]!));
    logs.on(StartQueryCommand).callsFake((input) => ({ queryId: `${input.startTime}-${input.endTime}` }));
    logs.on(GetQueryResultsCommand).callsFake((input) => {
      const [s, e] = input.queryId.split("-").map(Number);
      return { status: "Complete", results: e - s > 60 ? full : e - s === 60 && s % 120 === 0 ? full : rows(scanLines.slice(0, 5)) };
    });
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1 });
    sns.on(PublishCommand).resolves({});
    const d = deps();
    const result = await handle({ mode: "on-demand", sinceSeconds: 240 }, d, 900);
    const ranges = logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input.endTime! - c.args[0].input.startTime!);
    expect(ranges).toEqual([240, 120, 60, 60, 120, 60, 60]);
    expect(result.truncated.length).toBe(2);
    expect(result.truncated.every((t) => t.end - t.start === 60)).toBe(true);
    expect(d.logged).toContain("Logs Insights result hit the row cap; records in this range were left out");
    expect(result.stats.read).toBe(20_010);
  });

  it("stops a query that runs past its timeout and fails with a clear message", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "slow" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Running" });
    logs.on(StopQueryCommand).resolves({ success: true });
    await expect(handle(onDemand(900), deps(), 900)).rejects.toThrow("Logs Insights query slow on /flowlog-kit/prod/vpc-flow-logs did not finish within 5000 ms; it was stopped");
    expect(logs.commandCalls(StopQueryCommand)).toHaveLength(1);
  });

  it("fails on a query that ends Failed", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "bad" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Failed" });
    await expect(handle(onDemand(900), deps(), 900)).rejects.toThrow("Logs Insights query bad on /flowlog-kit/prod/vpc-flow-logs ended Failed");
  });

  it("delivers nothing when there is nothing to report", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: [] });
    const result = await handle(onDemand(900), deps(), 900);
    expect(result.findings).toEqual([]);
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe("partial failures: one destination failing never stops the other", () => {
  beforeEach(() => {
    logs.on(StartQueryCommand).resolves({ queryId: "q" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: rows(scanLines) });
  });

  it("still sends Security Hub findings when SNS fails, then fails the invocation", async () => {
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 3, FailedCount: 0 });
    sns.on(PublishCommand).rejects(new Error("AuthorizationError: not allowed"));
    await expect(handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900)).rejects.toThrow(/Delivery of \d+ findings failed: SNS publish failed: AuthorizationError: not allowed/);
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
  });

  it("still publishes to SNS when Security Hub fails, then fails the invocation", async () => {
    hub.on(BatchImportFindingsCommand).rejects(new Error("ThrottlingException: Rate exceeded"));
    sns.on(PublishCommand).resolves({});
    await expect(handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900)).rejects.toThrow("Security Hub import failed: ThrottlingException: Rate exceeded");
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it("says how to enable Security Hub when the account has not, once, and still publishes to SNS", async () => {
    hub.on(BatchImportFindingsCommand).rejects(new InvalidAccessException({ message: "Account 410987654323 is not subscribed to AWS Security Hub", $metadata: {} }));
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: rows(greLines) });
    sns.on(PublishCommand).resolves({});
    const error = await handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      "Delivery of 150 findings failed: Security Hub is not enabled in account 410987654323, region eu-central-1 (got InvalidAccessException: Account 410987654323 is not subscribed to AWS Security Hub). " +
        'Enable it there (Security Hub console, "aws securityhub enable-security-hub --region eu-central-1", or your organization\'s Security Hub administrator); SNS delivery is attempted regardless',
    );
    // 150 findings are two batches; the second would only repeat the answer.
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it("treats findings Security Hub rejected as a failure", async () => {
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 1, FailedCount: 2, FailedFindings: [{ Id: "x", ErrorCode: "InvalidInput", ErrorMessage: "bad type" }] });
    sns.on(PublishCommand).resolves({});
    await expect(handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900)).rejects.toThrow(/Security Hub rejected 2 of \d+ findings \(first: InvalidInput bad type\)/);
  });
});

describe("archive mode (S3 notification)", () => {
  const event = (key: string) => ({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "flowlogs-prod-410987654323-eu-central-1" }, object: { key } } }] });

  it("streams new gzip objects through the engine", async () => {
    const body = zlib.gzipSync(["version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", ...scanLines, "2 1 x"].join("\n"));
    s3.on(GetObjectCommand).resolves({ Body: Readable.from([body]) as never });
    hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 3 });
    sns.on(PublishCommand).resolves({});
    const result = await handle(event("AWSLogs/410987654323/vpcflowlogs/eu-central-1/2026/11/01/file+name.log.gz"), deps(), 900);
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: "flowlogs-prod-410987654323-eu-central-1", Key: "AWSLogs/410987654323/vpcflowlogs/eu-central-1/2026/11/01/file name.log.gz" });
    expect(result.stats).toEqual({ read: 31, analysed: 30, skipped: { "too-few-fields": 1 } });
    expect(result.findings.map((f) => f.rule)).toContain("port-scan");
  });

  it("leaves the run-wide rules (anomaly, log-skipped) to the scheduled run, which judges them over the hour under one id (Athena or not)", async () => {
    const skipdata = "2 410987654323 eni-0123456789abcdef0 - - - - - - - 1793494800 1793494860 - SKIPDATA";
    const body = () => Readable.from([zlib.gzipSync([...scanLines, skipdata].join("\n"))]) as never;
    hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length }));
    sns.on(PublishCommand).resolves({});
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body() }));
    const key = "AWSLogs/410987654323/vpcflowlogs/eu-central-1/2026/11/01/x.log.gz";
    // The engine over the same lines reports log-skipped: the archive path leaves it out, with or without Athena.
    const engine = new DetectionEngine(DEFAULT_THRESHOLDS, LogFormat.DEFAULT);
    for (const l of [...scanLines, skipdata]) engine.addLine(l);
    const all = engine.finish().findings.map((f) => f.rule);
    expect(all).toEqual(expect.arrayContaining(["port-scan", "log-skipped"]));
    for (const settings of [{}, { athena: { workgroup: "flowlogs-prod", database: "flowlogs_prod", tables: [] } }]) {
      const d = deps(settings);
      const result = await handle(event(key), d, 900);
      expect(result.findings.map((f) => f.rule)).toEqual(all.filter((r) => r !== "log-skipped"));
      expect(d.logged.some((l) => l.includes("run-wide findings left to the scheduled run"))).toBe(true);
    }
  });

  describe("Parquet objects (parquet/AWSLogs/...log.parquet)", () => {
    const key = "parquet/AWSLogs/aws-account-id=410987654323/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=01/hour=00/410987654323_vpcflowlogs_eu-central-1_fl-1234abcd_20261101T0050Z_0a1b2c3d.log.parquet";
    const dir = tempDir("handler-parquet");
    let bytes: Buffer;
    beforeAll(async () => {
      const file = path.join(dir, "scan.log.parquet");
      await writeParquet(file, [...scanLines, ...greLines]);
      bytes = fs.readFileSync(file);
    });
    /** The object as S3 serves it: its length to HeadObject, byte ranges to GetObject. */
    const serve = (object: Buffer) => {
      s3.on(HeadObjectCommand).resolves({ ContentLength: object.length });
      s3.on(GetObjectCommand).callsFake((input: { Range?: string }) => {
        const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? "")!;
        const part = object.subarray(Number(a), Number(b) + 1);
        return { Body: { transformToByteArray: async () => new Uint8Array(part) } };
      });
    };

    it("analyses it: the findings and counts of the same records in text", async () => {
      serve(bytes);
      hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 151 });
      sns.on(PublishCommand).resolves({});
      const result = await handle(event(key), deps(), 900);
      expect(result.stats).toEqual({ read: 180, analysed: 180, skipped: {} });
      const text = deps();
      s3.reset();
      s3.on(GetObjectCommand).resolves({ Body: Readable.from([Buffer.from([...scanLines, ...greLines].join("\n"))]) as never });
      const fromText = await handle(event("AWSLogs/410987654323/vpcflowlogs/eu-central-1/2026/11/01/x.log.gz"), text, 900);
      expect(result.findings).toEqual(fromText.findings);
      expect(result.findings.map((f) => f.rule)).toContain("port-scan");
    });

    it("reads byte ranges (the footer, then column chunks), never the whole object", async () => {
      serve(bytes);
      hub.on(BatchImportFindingsCommand).resolves({ SuccessCount: 151 });
      sns.on(PublishCommand).resolves({});
      await handle(event(key), deps(), 900);
      const ranges = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
      expect(ranges.every((r) => r.Key === key && /^bytes=\d+-\d+$/.test(r.Range ?? ""))).toBe(true);
      expect(ranges.length).toBeGreaterThan(3);
    });

    it("fails the invocation on a truncated object, naming it, so that it is retried and reaches the dead-letter queue", async () => {
      const cut = bytes.subarray(0, 600);
      serve(cut);
      const tail = JSON.stringify(cut.subarray(596).toString("latin1").replace(/[^\x20-\x7e]/g, "."));
      await expect(handle(event(key), deps(), 900)).rejects.toThrow(
        `s3://flowlogs-prod-410987654323-eu-central-1/${key}: Parquet file is truncated: it lacks the footer a Parquet file ends with (got 600 bytes ending in ${tail}, not "PAR1"). AWS writes the footer last, so the file was cut short in a download or copy: get it again.`,
      );
      expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
    });

    it("fails the invocation when a ranged read returns no body", async () => {
      s3.on(HeadObjectCommand).resolves({ ContentLength: bytes.length });
      s3.on(GetObjectCommand).resolves({});
      await expect(handle(event(key), deps(), 900)).rejects.toThrow(
        `s3://flowlogs-prod-410987654323-eu-central-1/${key}: ranged read returned no body (got bytes 0-3). Check that the object was not replaced while it was read, then invoke again.`,
      );
    });
  });
});

describe("event and configuration errors", () => {
  it("rejects an event it does not know, naming what to send", () => {
    expect(() => parseEvent({ hello: 1 })).toThrow('event: not a schedule, S3 notification or on-demand request (got {"hello":1}). Invoke with {"mode":"on-demand","sinceSeconds":900}.');
  });

  it("rejects an on-demand window that is not 60 s to 7 days", () => {
    expect(() => parseEvent({ mode: "on-demand", sinceSeconds: 10 })).toThrow("sinceSeconds: must be a whole number of seconds from 60 to 604800 (got 10). Ask for a window such as 15m, 6h or 2d.");
    expect(() => parseEvent({ mode: "on-demand", sinceSeconds: "1h" })).toThrow('(got "1h")');
  });

  it("names a missing environment variable", () => {
    expect(() => requireEnv("FLOWLOG_TOPIC_ARN", {})).toThrow("FLOWLOG_TOPIC_ARN: environment variable is not set (got nothing). The detector stack sets it; redeploy the environment's stack.");
  });

  it("reads its settings from the environment the stack sets", () => {
    const s = settingsFromEnv({
      FLOWLOG_ENVIRONMENT: "prod", FLOWLOG_ACCOUNT: "410987654323", AWS_REGION: "eu-central-1", FLOWLOG_LOG_GROUP: "/g", FLOWLOG_TOPIC_ARN: "arn:t",
      FLOWLOG_FORMAT: "srcaddr dstaddr dstport", FLOWLOG_THRESHOLDS: '{"portScanPortsPerHost":5}', FLOWLOG_LOOKBACK_SECONDS: "1200",
    });
    expect(s.format.names).toEqual(["srcaddr", "dstaddr", "dstport"]);
    expect(s.thresholds.portScanPortsPerHost).toBe(5);
    expect(s.thresholds.portSweepHosts).toBe(DEFAULT_THRESHOLDS.portSweepHosts);
    expect(s.lookbackSeconds).toBe(1200);
  });

  it("reads the Athena target, the S3 threat lists and its own name, and refuses variables it cannot read", () => {
    const base = {
      FLOWLOG_ENVIRONMENT: "prod", FLOWLOG_ACCOUNT: "410987654323", AWS_REGION: "eu-central-1", FLOWLOG_LOG_GROUP: "/g", FLOWLOG_TOPIC_ARN: "arn:t",
      FLOWLOG_FORMAT: "default", FLOWLOG_THRESHOLDS: "{}", FLOWLOG_LOOKBACK_SECONDS: "1200", AWS_LAMBDA_FUNCTION_NAME: "flowlogs-prod-detector",
    };
    const athena = { workgroup: "flowlogs-prod", database: "flowlogs_prod", tables: [{ name: "flow_logs", partitionKeys: ["year", "month", "day"], regions: ["eu-central-1"], fileFormat: "parquet", fields: ["srcaddr"] }] };
    const s = settingsFromEnv({ ...base, FLOWLOG_ATHENA: JSON.stringify(athena), FLOWLOG_THREAT_LISTS: '[{"name":"abuse","s3":"s3://secops-intel/abuse.txt"}]', FLOWLOG_QUERY_TIMEOUT_MS: "300000", FLOWLOG_QUERY_CONCURRENCY: "4" });
    expect(s.athena).toEqual(athena);
    expect(s.threatLists).toEqual([{ name: "abuse", s3: "s3://secops-intel/abuse.txt" }]);
    expect([s.functionName, s.athenaQueryTimeoutMs, s.queryTimeoutMs, s.concurrency]).toEqual(["flowlogs-prod-detector", 300000, 300000, 4]);
    expect(settingsFromEnv(base).athena).toBeUndefined();
    expect(() => settingsFromEnv({ ...base, FLOWLOG_ATHENA: "{" })).toThrow('FLOWLOG_ATHENA: environment variable is not JSON (got "{"). The detector stack sets it; redeploy the environment\'s stack.');
    expect(() => settingsFromEnv({ ...base, FLOWLOG_THREAT_LISTS: '[{"name":"abuse","s3":"abuse.txt"}]' })).toThrow(
      'FLOWLOG_THREAT_LISTS: an entry is not { name, s3: "s3://bucket/key" } (got {"name":"abuse","s3":"abuse.txt"}). The detector stack sets it; redeploy the environment\'s stack.',
    );
  });

  it("reads a transit gateway environment's format as one: its fields tell the kind", () => {
    const env = {
      FLOWLOG_ENVIRONMENT: "prod", FLOWLOG_ACCOUNT: "410987654323", AWS_REGION: "eu-central-1", FLOWLOG_LOG_GROUP: "/g", FLOWLOG_TOPIC_ARN: "arn:t",
      FLOWLOG_FORMAT: LogFormat.TRANSIT_GATEWAY_DEFAULT.names.join(" "), FLOWLOG_THRESHOLDS: "{}", FLOWLOG_LOOKBACK_SECONDS: "1200",
    };
    const s = settingsFromEnv(env);
    expect(s.format.family).toBe("tgw");
    expect(s.format.names).toEqual(LogFormat.TRANSIT_GATEWAY_DEFAULT.names);
    expect(() => settingsFromEnv({ ...env, FLOWLOG_FORMAT: "tgw-id srcaddr action" })).toThrow('field "tgw-id" exists only in transit gateway flow logs and field "action" only in VPC flow logs: no flow log has both');
  });
});
