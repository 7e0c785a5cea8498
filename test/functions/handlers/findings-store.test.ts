import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchImportFindingsCommand, SecurityHubClient } from "@aws-sdk/client-securityhub";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { createHash } from "crypto";
import { Readable } from "stream";
import { LogFormat } from "../../../functions/flowlog/format";
import { finding } from "../../../functions/detect/findings";
import { DEFAULT_THRESHOLDS } from "../../../functions/detect/thresholds";
import { DetectorDeps } from "../../../functions/handlers/detect";
import { findingRow, findingsBody, findingsKey, parseFindingsStore } from "../../../functions/handlers/findings-store";
import { handle, settingsFromEnv } from "../../../functions/handlers/handler";
import { line, range } from "../../support/flows";

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

const NOW = new Date("2026-11-01T23:59:30Z");
const END = NOW.getTime() / 1000;
const STORE = { bucket: "flowlogs-prod-ath-410987654323-eu-central-1", prefix: "findings/" };
const scanLines = range(30).map((i) => line({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, action: "REJECT", start: END - 600 }));

function deps(): DetectorDeps & { waits: number[] } {
  const clock = { ms: NOW.getTime() };
  const waits: number[] = [];
  return {
    clients: { logs: new CloudWatchLogsClient({}), s3: new S3Client({}), securityHub: new SecurityHubClient({}), sns: new SNSClient({}) },
    settings: {
      environment: "prod", account: "410987654323", region: "eu-central-1", logGroupName: "/flowlog-kit/prod/vpc-flow-logs",
      topicArn: "arn:aws:sns:eu-central-1:410987654323:flowlogs-prod-findings", format: LogFormat.DEFAULT, thresholds: DEFAULT_THRESHOLDS,
      queryTimeoutMs: 5000, pollMs: 1000, findingsStore: STORE,
    },
    now: () => new Date(clock.ms),
    sleep: async (ms) => {
      waits.push(ms);
      clock.ms += ms;
    },
    log: () => undefined,
    random: () => 0.5,
    waits,
  };
}

beforeEach(() => {
  hub.on(BatchImportFindingsCommand).callsFake((input) => ({ SuccessCount: input.Findings.length, FailedCount: 0 }));
  sns.on(PublishCommand).resolves({});
});

describe("the findings table's rows", () => {
  it("carry an anomaly finding's Isolation Forest score in [0, 1], and null for every other rule", () => {
    const window = { start: 1_800_000_000, end: 1_800_003_600 };
    const anomaly = finding({ rule: "anomaly", severity: "LOW", src: "10.0.1.7", interfaceId: "eni-0a1b2c3d4e5f60718", window, evidence: { scorePercent: 73.4, flowsOut: 12 }, description: "d" });
    expect(findingRow(anomaly, 1_800_003_700)).toEqual({
      id: anomaly.id, rule: "anomaly", severity: "LOW", src: "10.0.1.7", dst: null, port: null, protocol: null, interface_id: "eni-0a1b2c3d4e5f60718",
      window_start: 1_800_000_000, window_end: 1_800_003_600, score: 0.734, evidence: '{"scorePercent":73.4,"flowsOut":12}', run_end: 1_800_003_700,
    });
    const scan = finding({ rule: "port-scan", severity: "MEDIUM", src: "203.0.113.9", dst: "10.0.1.5", window, evidence: { ports: 30, scorePercent: 99 }, description: "d" });
    expect(findingRow(scan, 1).score).toBeNull();
    expect(findingsBody([anomaly, scan], 1).split("\n")).toHaveLength(3);
  });

  it("are keyed by the UTC day of the run's end", () => {
    expect(findingsKey(STORE, { end: END, hop: 0, mode: "on-demand" })).toBe(`findings/dt=2026-11-01/${END}-0-on-demand.json`);
    expect(findingsKey(STORE, { end: END + 30, hop: 1, mode: "insights" })).toBe(`findings/dt=2026-11-02/${END + 30}-1-insights.json`);
  });
});

describe("every path that raises findings stores them", () => {
  it("on demand: the records' findings, keyed on-demand", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: scanLines.map((l) => [{ field: "@message", value: l }]) });
    s3.on(PutObjectCommand).resolves({});
    const result = await handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900);
    const put = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(put.map((p) => [p.Bucket, p.Key, p.ContentType])).toEqual([[STORE.bucket, `findings/dt=2026-11-01/${END}-0-on-demand.json`, "application/x-ndjson"]]);
    const rows = String(put[0]!.Body).trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id).sort()).toEqual(result.findings.map((f) => f.id).sort());
    expect(rows.every((r) => r.run_end === END)).toBe(true);
  });

  it("archive objects: keyed by a hash of the objects read, so runs of the same second never collide", async () => {
    const header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
    s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from([header, ...scanLines].join("\n"))]) }));
    s3.on(PutObjectCommand).resolves({});
    const key = "AWSLogs/410987654323/vpcflowlogs/eu-central-1/2026/11/01/a.log";
    await handle({ Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "flowlogs-prod-410987654323-eu-central-1" }, object: { key } } }] }, deps(), 900);
    const hash = createHash("sha256").update(`s3://flowlogs-prod-410987654323-eu-central-1/${key}`).digest("hex").slice(0, 12);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`findings/dt=2026-11-01/${END}-0-archive-${hash}.json`);
  });

  it("retries a throttled write, then stores", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: scanLines.map((l) => [{ field: "@message", value: l }]) });
    s3.on(PutObjectCommand).rejectsOnce(Object.assign(new Error("Please reduce your request rate."), { name: "SlowDown", $metadata: { httpStatusCode: 503 } })).resolves({});
    const d = deps();
    const result = await handle({ mode: "on-demand", sinceSeconds: 900 }, d, 900);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
    expect(result.delivered.stored).toMatch(/^s3:\/\/flowlogs-prod-ath-410987654323-eu-central-1\/findings\/dt=2026-11-01\//);
  });

  it("writes nothing when a run raises no findings", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: [] });
    await handle({ mode: "on-demand", sinceSeconds: 900 }, deps(), 900);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe("FLOWLOG_FINDINGS", () => {
  const base = {
    FLOWLOG_ENVIRONMENT: "prod", FLOWLOG_ACCOUNT: "410987654323", AWS_REGION: "eu-central-1", FLOWLOG_LOG_GROUP: "/g", FLOWLOG_TOPIC_ARN: "arn:t",
    FLOWLOG_FORMAT: "default", FLOWLOG_THRESHOLDS: "{}", FLOWLOG_LOOKBACK_SECONDS: "1200",
  };

  it("is read as the store's bucket and folder; without it findings are not stored", () => {
    expect(settingsFromEnv({ ...base, FLOWLOG_FINDINGS: `s3://${STORE.bucket}/findings/` }).findingsStore).toEqual(STORE);
    expect(settingsFromEnv(base).findingsStore).toBeUndefined();
  });

  it("is refused when it is not an S3 folder, naming the fix", () => {
    expect(() => parseFindingsStore("s3://bucket-only")).toThrow(
      'FLOWLOG_FINDINGS: not an S3 folder "s3://bucket/prefix/" (got "s3://bucket-only"). The detector stack sets it to the Athena results bucket\'s findings/ folder; redeploy the environment\'s stack.',
    );
    expect(() => settingsFromEnv({ ...base, FLOWLOG_FINDINGS: "findings/" })).toThrow('FLOWLOG_FINDINGS: not an S3 folder "s3://bucket/prefix/" (got "findings/")');
  });
});
