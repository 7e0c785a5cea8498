import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { Testing } from "cdktf";
import { DEFAULT_THRESHOLDS } from "../../functions/detect/thresholds";
import { LogFormat } from "../../functions/flowlog/format";
import { checkDetectorEnvironment, detectorSizing, Detectors, DetectorsProps, environmentSize, LAMBDA_ENVIRONMENT_LIMIT_BYTES, LONGEST_RANGES_END, lookbackSeconds, scheduledQueries } from "../../modules/detectors";
import { validate, baseInput } from "../support/env";
import { s3ObjectKey } from "../../policies/delivery-paths";
import { ConfigError } from "../../policies/errors";
import { archiveFolder } from "../../policies/iam";
import { bundleHandler, deterministicZip } from "../../modules/lambda-bundle";

type R = Record<string, Record<string, unknown>>;
const ctx = { account: "123456789012", region: "eu-west-1" };
const synth = (onArchiveObjects: boolean) =>
  JSON.parse(
    Testing.synthScope(
      (scope) =>
        new Detectors(scope, "Detectors", {
          ...ctx, name: "dev", logGroupName: "/flowlog-kit/dev/vpc-flow-logs", logFormat: LogFormat.DEFAULT,
          archiveBucket: "flowlogs-dev-archive", archiveBucketId: "flowlogs-dev-archive", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
          topicArn: "arn:aws:sns:eu-west-1:123456789012:flowlogs-dev-findings", thresholds: { ...DEFAULT_THRESHOLDS, portScanPortsPerHost: 12 },
          schedule: "rate(15 minutes)", logRetentionDays: 7, onArchiveObjects,
        }),
    ),
  ).resource as Record<string, R>;
const one = (r: Record<string, R>, type: string) => {
  const all = Object.values(r[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0]!;
};

describe("Detectors", () => {
  const r = synth(true);

  it("never has Lambda retry a failed asynchronous invocation: a retried schedule would bill every query again and a retried continuation would fork", () => {
    expect(one(r, "aws_lambda_function_event_invoke_config")).toMatchObject({ function_name: expect.stringMatching(/^\$\{aws_lambda_function\.\w+\.function_name\}$/), maximum_retry_attempts: 0 });
  });

  it("deploys an arm64 Node.js 22 function with its settings in the environment", () => {
    const fn = one(r, "aws_lambda_function");
    // 192 MB of runtime plus the default row budget (6,000,000 rows at 300 bytes), rounded up to 64 MB.
    expect(fn).toMatchObject({ function_name: "flowlogs-dev-detector", runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", timeout: 900, memory_size: 1920 });
    // The timeout: 22 SQL queries on the log group in five waves of up to 3 minutes each and a minute to deliver, capped at Lambda's 900 s (a longer run continues in a new invocation).
    expect(fn.filename).toMatch(/^assets\/.+\/detector\.zip$/);
    const vars = (fn.environment as { variables: Record<string, string> }).variables;
    expect(vars).toMatchObject({ FLOWLOG_ENVIRONMENT: "dev", FLOWLOG_ACCOUNT: "123456789012", FLOWLOG_LOG_GROUP: "/flowlog-kit/dev/vpc-flow-logs", FLOWLOG_FORMAT: "default", FLOWLOG_LOOKBACK_SECONDS: "1800" });
    expect(JSON.parse(vars.FLOWLOG_THRESHOLDS!).portScanPortsPerHost).toBe(12);
    expect(fn.dead_letter_config).toEqual({ target_arn: expect.stringMatching(/aws_sqs_queue\./) });
  });

  it("gives the role only what the detector needs", () => {
    const st = JSON.parse(one(r, "aws_iam_role_policy").policy as string).Statement as { Sid: string; Action: string | string[]; Resource: string | string[] }[];
    const bySid = Object.fromEntries(st.map((s) => [s.Sid, s]));
    expect(bySid.StartQueriesOnTheFlowLogGroup!.Resource).toEqual(["arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs", "arn:aws:logs:eu-west-1:123456789012:log-group:/flowlog-kit/dev/vpc-flow-logs:*"]);
    expect(bySid.ReadArchiveObjects).toMatchObject({ Action: "s3:GetObject", Resource: "arn:aws:s3:::flowlogs-dev-archive/*" });
    expect(bySid.ImportFindings).toMatchObject({ Action: "securityhub:BatchImportFindings", Resource: "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default" });
    expect(bySid.PublishFindings).toMatchObject({ Action: "sns:Publish", Resource: "arn:aws:sns:eu-west-1:123456789012:flowlogs-dev-findings" });
    // "*" only where AWS offers no resource: query results are addressed by query id.
    const wildcard = st.filter((s) => s.Resource === "*");
    expect(wildcard.map((s) => s.Sid)).toEqual(["ReadQueryResultsNoResourceLevel"]);
    expect(JSON.stringify(st)).not.toMatch(/"s3:(Put|Delete)|"logs:(Delete|Put)RetentionPolicy|"\*"\]?,"Resource"/);
    const trust = JSON.parse(one(r, "aws_iam_role").assume_role_policy as string).Statement[0];
    expect(trust).toMatchObject({ Principal: { Service: "lambda.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } });
  });

  it("runs on the schedule and on new archive objects, plain text and Parquet, each in the folder AWS delivers it to", () => {
    expect(one(r, "aws_cloudwatch_event_rule").schedule_expression).toBe("rate(15 minutes)");
    expect(one(r, "aws_s3_bucket_notification").lambda_function).toEqual([
      expect.objectContaining({ events: ["s3:ObjectCreated:*"], filter_prefix: "AWSLogs/", filter_suffix: ".log.gz" }),
      expect.objectContaining({ events: ["s3:ObjectCreated:*"], filter_prefix: "parquet/AWSLogs/", filter_suffix: ".log.parquet" }),
    ]);
    const permissions = Object.values(r.aws_lambda_permission!);
    expect(permissions.map((p) => p.principal).sort()).toEqual(["events.amazonaws.com", "s3.amazonaws.com"]);
  });

  it("fires for exactly the keys AWS delivers VPC flow logs to, in either layout, and not for transit-gateway or incident objects", () => {
    const filters = one(r, "aws_s3_bucket_notification").lambda_function as { filter_prefix: string; filter_suffix: string }[];
    const fires = (key: string) => filters.some((f) => key.startsWith(f.filter_prefix) && key.endsWith(f.filter_suffix));
    const key = (fileFormat: "plain-text" | "parquet", prefix: string, hive: boolean) =>
      s3ObjectKey({ prefix, fileFormat, hiveCompatiblePartitions: hive, perHourPartition: hive, account: ctx.account, region: ctx.region, flowLogId: "fl-1234abcd", at: new Date("2026-11-01T10:07:00Z"), hash: "0a1b2c3d" });
    for (const fmt of ["plain-text", "parquet"] as const) {
      for (const hive of [false, true]) {
        expect(fires(key(fmt, archiveFolder("vpc", fmt), hive))).toBe(true);
        expect(fires(key(fmt, archiveFolder("tgw", fmt), hive))).toBe(false);
      }
    }
    expect(fires(key("parquet", "incidents/inc-1/", false))).toBe(false);
  });

  it("has no S3 trigger when not asked to run on archive objects", () => {
    const noS3 = synth(false);
    expect(noS3.aws_s3_bucket_notification).toBeUndefined();
    expect(Object.values(noS3.aws_lambda_permission!)).toHaveLength(1);
  });

  it("keeps its own logs encrypted for the environment's retention, and alarms on errors and dead letters", () => {
    expect(one(r, "aws_cloudwatch_log_group")).toMatchObject({ name: "/aws/lambda/flowlogs-dev-detector", retention_in_days: 7, kms_key_id: "arn:aws:kms:eu-west-1:123456789012:key/k" });
    const alarms = Object.values(r.aws_cloudwatch_metric_alarm!);
    expect(alarms.map((a) => `${a.namespace}/${a.metric_name}`).sort()).toEqual(["AWS/Lambda/Errors", "AWS/SQS/ApproximateNumberOfMessagesVisible"]);
    for (const a of alarms) expect(a.alarm_actions).toEqual(["arn:aws:sns:eu-west-1:123456789012:flowlogs-dev-findings"]);
    expect(one(r, "aws_sqs_queue").sqs_managed_sse_enabled).toBe(true);
  });
});

describe("Detector environment size", () => {
  const vars = (thresholds: object) => ({ FLOWLOG_ENVIRONMENT: "dev", FLOWLOG_THRESHOLDS: JSON.stringify(thresholds) });

  it("passes thresholds that fit Lambda's 4 KB", () => {
    expect(() => checkDetectorEnvironment("dev", vars(DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS)).not.toThrow();
    expect(environmentSize(vars(DEFAULT_THRESHOLDS))).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
  });

  it("refuses more, naming the threshold that takes the most room", () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, allowedSources: Array.from({ length: 400 }, (_, i) => `2001:db8::${i.toString(16)}`) };
    let error: unknown;
    try {
      checkDetectorEnvironment("dev", vars(thresholds), thresholds);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const [problem] = (error as ConfigError).problems;
    expect(problem).toMatch(/^dev\.detectors\.thresholds\.allowedSources: the detector's environment variables would take \d+ bytes, more than Lambda's 4096-byte limit, and this threshold takes the most room \(got 400 entries, \d+ bytes: \["2001:db8::0",/);
    expect(problem).toMatch(/\)\. Shorten it by at least \d+ bytes; every threshold, the network context, the suppressions and the threat lists' entries travel in the one FLOWLOG_THRESHOLDS variable \(a long threat list belongs to flowlog-kit detect --env\)\.$/);
  });

  it("counts a reference unresolved at synth (the topic ARN) as a long ARN, not as its placeholder", () => {
    expect(environmentSize({ A: "${TfToken[TOKEN.1]}" })).toBe(environmentSize({ A: "x" }) - 1 + 256);
  });
});

describe("Lambda bundle", () => {
  it("is deterministic: the same code gives the same zip bytes and hash", () => {
    const entry = path.join(__dirname, "..", "..", "functions", "handlers", "handler.ts");
    const a = bundleHandler(entry, "detector");
    const bytes = fs.readFileSync(a.zipPath);
    expect(bytes.subarray(0, 4).toString("hex")).toBe("504b0304");
    expect(deterministicZip([{ name: "a.js", data: Buffer.from("x") }])).toEqual(deterministicZip([{ name: "a.js", data: Buffer.from("x") }]));
    const nameLength = bytes.readUInt16LE(26);
    const code = zlib.inflateRawSync(bytes.subarray(30 + nameLength, 30 + nameLength + bytes.readUInt32LE(18))).toString("utf8");
    expect(bytes.subarray(30, 30 + nameLength).toString()).toBe("index.js");
    expect(code).toContain("handler");
    expect(code).not.toContain(process.cwd());
  });

  it("looks back one schedule period plus five minutes of delivery delay", () => {
    // The period, the longest aggregation interval (AWS's 10 minutes by default) and five minutes of delivery to CloudWatch Logs.
    expect(lookbackSeconds("rate(15 minutes)")).toBe(1800);
    expect(lookbackSeconds("rate(15 minutes)", 60)).toBe(1260);
    expect(lookbackSeconds("rate(1 hour)")).toBe(4500);
    expect(lookbackSeconds("cron(0/15 * * * ? *)")).toBe(4500);
  });
});

describe("the detector on Athena", () => {
  const props: DetectorsProps = {
    ...ctx, name: "dev", logGroupName: "/flowlog-kit/dev/vpc-flow-logs", logFormat: LogFormat.DEFAULT,
    archiveBucket: "flowlogs-dev-archive", archiveBucketId: "flowlogs-dev-archive", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
    topicArn: "arn:aws:sns:eu-west-1:123456789012:flowlogs-dev-findings", thresholds: DEFAULT_THRESHOLDS, schedule: "rate(15 minutes)", logRetentionDays: 7,
    athena: {
      workgroup: "flowlogs-dev", database: "flowlogs_dev", resultsBucket: "flowlogs-dev-ath-123456789012-eu-west-1", resultsFolder: "results/",
      tables: [
        { name: "flow_logs", partitionKeys: ["year", "month", "day", "hour"], regions: ["eu-west-1"], fileFormat: "parquet", fields: LogFormat.DEFAULT.names },
        { name: "flow_logs_2", partitionKeys: ["aws_region", "year", "month", "day"], regions: ["eu-west-1", "eu-central-1"], fileFormat: "plain-text", fields: ["srcaddr", "dstaddr", "dstport", "start"] },
      ],
    },
    threatLists: [{ name: "abuse", s3: "s3://secops-intel/lists/abuse.txt" }, { name: "own", s3: "s3://flowlogs-dev-archive/threat-intel/own.txt" }],
  };
  const r = JSON.parse(Testing.synthScope((scope) => new Detectors(scope, "Detectors", props))).resource as Record<string, R>;
  const fn = one(r, "aws_lambda_function");
  const vars = (fn.environment as { variables: Record<string, string> }).variables;
  const st = JSON.parse(one(r, "aws_iam_role_policy").policy as string).Statement as { Sid: string; Action: string | string[]; Resource: string | string[] }[];
  const bySid = Object.fromEntries(st.map((x) => [x.Sid, x]));

  it("tells the function its workgroup, tables and S3 threat lists; a table in the log group's format travels without its fields", () => {
    expect(JSON.parse(vars.FLOWLOG_ATHENA!)).toEqual({
      workgroup: "flowlogs-dev", database: "flowlogs_dev",
      tables: [
        { name: "flow_logs", partitionKeys: ["year", "month", "day", "hour"], regions: ["eu-west-1"], fileFormat: "parquet" },
        { name: "flow_logs_2", partitionKeys: ["aws_region", "year", "month", "day"], regions: ["eu-west-1", "eu-central-1"], fileFormat: "plain-text", fields: ["srcaddr", "dstaddr", "dstport", "start"] },
      ],
    });
    expect(JSON.parse(vars.FLOWLOG_THREAT_LISTS!)).toEqual(props.threatLists);
  });

  it("lets the role query in its workgroup over its tables, with results in its results folder, read exactly its threat lists, and invoke itself", () => {
    expect(bySid.RunQueriesInTheWorkgroup).toMatchObject({ Action: ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"], Resource: "arn:aws:athena:eu-west-1:123456789012:workgroup/flowlogs-dev" });
    expect(bySid.ReadTheFlowLogTables!.Resource).toEqual([
      "arn:aws:glue:eu-west-1:123456789012:catalog", "arn:aws:glue:eu-west-1:123456789012:database/flowlogs_dev",
      "arn:aws:glue:eu-west-1:123456789012:table/flowlogs_dev/flow_logs", "arn:aws:glue:eu-west-1:123456789012:table/flowlogs_dev/flow_logs_2",
    ]);
    expect(bySid.ListTheArchiveAndResults!.Resource).toEqual(["arn:aws:s3:::flowlogs-dev-archive", "arn:aws:s3:::flowlogs-dev-ath-123456789012-eu-west-1"]);
    expect(bySid.WriteAndReadQueryResults!.Resource).toBe("arn:aws:s3:::flowlogs-dev-ath-123456789012-eu-west-1/results/*");
    expect(bySid.ReadThreatLists).toMatchObject({ Action: "s3:GetObject", Resource: ["arn:aws:s3:::secops-intel/lists/abuse.txt", "arn:aws:s3:::flowlogs-dev-archive/threat-intel/own.txt"] });
    expect(bySid.ContinueInANewInvocation).toMatchObject({ Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:eu-west-1:123456789012:function:flowlogs-dev-detector" });
    expect(st.filter((x) => x.Resource === "*").map((x) => x.Sid)).toEqual(["ReadQueryResultsNoResourceLevel"]);
  });

  it("is sized for its longest run: an hour-long rule's range reaches almost two hours one second before an hour boundary", () => {
    const jobs = scheduledQueries(props, 1800);
    // Every rule on each of the two tables.
    expect(jobs.length).toBeGreaterThanOrEqual(2 * 10);
    expect(new Set(jobs.map((j) => j.table!.name))).toEqual(new Set(["flow_logs", "flow_logs_2"]));
    const longest = Math.max(...scheduledQueries(props, 1800, LONGEST_RANGES_END).map((j) => j.end - j.start));
    expect(longest).toBe(7199);
    const sizing = detectorSizing({ queries: jobs.length, longestRangeSeconds: longest, rowBudget: DEFAULT_THRESHOLDS.rowBudget });
    // 60 s plus 60 s per hour of range, rounded up: 3 minutes a query.
    expect(sizing.queryTimeoutMs).toBe(180_000);
    expect([fn.memory_size, fn.timeout, vars.FLOWLOG_QUERY_TIMEOUT_MS, vars.FLOWLOG_QUERY_CONCURRENCY]).toEqual([sizing.memoryMb, sizing.timeoutSeconds, String(sizing.queryTimeoutMs), String(sizing.concurrency)]);
  });
});

describe("detectorSizing", () => {
  it("gives a query 60 s plus 60 s per hour of its range, at least 120 s", () => {
    expect(detectorSizing({ queries: 17, longestRangeSeconds: 1500, rowBudget: 2_500_000 })).toEqual({ memoryMb: 960, timeoutSeconds: 4 * 120 + 60, queries: 17, concurrency: 5, queryTimeoutMs: 120_000 });
    expect(detectorSizing({ queries: 17, longestRangeSeconds: 7200, rowBudget: 2_500_000 }).timeoutSeconds).toBe(4 * 180 + 60);
  });

  it("stops at Lambda's 900 s and lets the run continue beyond it, and keeps room for one query when there are none to plan", () => {
    expect(detectorSizing({ queries: 40, longestRangeSeconds: 7200, rowBudget: 2_500_000 }).timeoutSeconds).toBe(900);
    expect(detectorSizing({ queries: 0, longestRangeSeconds: 1200, rowBudget: 2_500_000 }).timeoutSeconds).toBe(300);
  });

  it("grows memory with the engine's row budget only, never with the record count", () => {
    expect(detectorSizing({ queries: 17, longestRangeSeconds: 1200, rowBudget: 10_000_000 }).memoryMb).toBe(3072);
    expect(detectorSizing({ queries: 17, longestRangeSeconds: 1200, rowBudget: 10_000 }).memoryMb).toBe(256);
  });
});

describe("threat lists in S3 (detectors.threatIntel[].s3)", () => {
  const lists = (threatIntel: unknown[]) => validate(baseInput({ detectors: { threatIntel } }));

  it("takes an s3://bucket/key list and reads nothing at synth", () => {
    const { env, problems } = lists([{ name: "abuse", s3: "s3://secops-intel/lists/abuse.txt" }]);
    expect(problems).toEqual([]);
    expect(env!.detectors.threatIntel).toEqual([{ name: "abuse", s3: "s3://secops-intel/lists/abuse.txt" }]);
    expect(env!.detectors.thresholds.threatIntel).toEqual([]);
  });

  it("refuses a list with neither a path nor an S3 object, or with both, or a URI that names no object", () => {
    expect(lists([{ name: "abuse" }]).problems).toEqual(['test.detectors.threatIntel[0].path: is required: a list needs a file or an S3 object (got nothing). Give path: "threat-intel/abuse.txt" or s3: "s3://secops-intel/lists/abuse.txt".']);
    expect(lists([{ name: "abuse", path: "a.txt", s3: "s3://secops-intel/a.txt" }]).problems).toEqual(['test.detectors.threatIntel[0].s3: is set next to path: a list is read from one place (got "s3://secops-intel/a.txt"). Keep path (read at synth) or s3 (read on every run), not both.']);
    expect(lists([{ name: "abuse", s3: "s3://secops-intel/" }]).problems).toEqual(['test.detectors.threatIntel[0].s3: is not an s3://bucket/key URI of one object (got "s3://secops-intel/"). Write e.g. "s3://secops-intel/lists/abuse.txt": a bucket name, then the object\'s key.']);
  });
});
