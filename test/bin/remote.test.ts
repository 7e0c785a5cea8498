import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { chunkRanges, chunkSeconds, invokeDetector, parseSince } from "../../bin/remote";
import { env } from "../support/env";
import { runCli } from "../support/cli";

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const payload = (v: unknown) => Buffer.from(JSON.stringify(v)) as never;
const NO_RECORDS = { read: 0, analysed: 0, skipped: {} };
const athena = (queries: number, bytesScanned: number, continued: string[] = []) => ({ engine: "athena", queries, bytesScanned, continued, queriesWithoutData: 0 });
const finding = {
  id: "0f3c", rule: "ssh-brute-force", title: "SSH brute force", severity: "HIGH", src: "10.0.9.9", dst: "10.0.1.20", port: 22,
  interfaceId: "eni-0c4d6e8f0a2b4c6d8", window: { start: 1793494800, end: 1793495100 }, evidence: { attempts: 48 }, description: "48 short SSH connections",
};

describe("flowlog-kit detect --env <env> --since <duration> (deployed detector)", () => {
  it("invokes the environment's detector synchronously over the range, a chunk at a time, and prints the findings its queries found", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ stats: NO_RECORDS, findings: [finding], truncated: [], queries: athena(25, 150 * 1024 ** 2) }) });
    const r = await runCli("detect", "--env", "prod", "--since", "30m");
    expect(r.code).toBe(0);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe("flowlogs-prod-detector");
    expect(input.InvocationType).toBe("RequestResponse");
    const event = JSON.parse(Buffer.from(input.Payload as Uint8Array).toString());
    expect(event).toEqual({ mode: "on-demand", start: expect.any(Number), end: expect.any(Number) });
    expect(event.end - event.start).toBe(1800);
    expect(r.out).toMatch(/HIGH\s+ssh-brute-force\s+10\.0\.9\.9\s+10\.0\.1\.20\s+22\s+eni-0c4d6e8f0a2b4c6d8\s+2026-11-01 01:00\s+attempts=48/);
    expect(r.out).toContain("1 finding. Queries run 25 (athena) over 1 chunk, 150.0 MiB scanned; only rows past thresholds read.");
    expect(r.err).toMatch(/^\.\.\. 1 of 1: \d{4}-\d\d-\d\d \d\d:\d\d to .* UTC$/m);
    // Sized from prod's own plan: every windowed rule at both horizons, beaconing, anomaly and log-skipped.
    expect(r.err).toContain("flowlogs-prod-detector: 1 chunk of up to 2 h, 1 at a time (25 queries each, 5 at a time; up to 180 s a query, 900 s an invocation)");
  });

  it("says when the masked log group's records were capped", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: { read: 1, analysed: 1, skipped: {} }, findings: [], truncated: [{ start: 1, end: 61 }], queries: { engine: "insights", queries: 1, bytesScanned: 0, continued: [], recordsScanned: 0 } }) });
    const r = await runCli("detect", "--env", "dev", "--since", "30m");
    expect(r.out).toContain("Records read for the engine (masked log group) 1, analysed 1, skipped: none. Warning: 1 one-minute range hit the Logs Insights 10,000-row cap; records in it were left out.");
  });

  it("prints the JSON document with --json", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: NO_RECORDS, findings: [finding], queries: athena(25, 1) }) });
    const doc = JSON.parse((await runCli("detect", "--env", "prod", "--since", "15m", "--json")).out);
    expect(doc.findings[0].rule).toBe("ssh-brute-force");
    expect(doc.queries).toMatchObject({ engine: "athena", queries: 25, chunks: 1 });
    expect(doc.failed).toEqual([]);
  });

  it("gives no all-clear when the queries scanned no data", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: NO_RECORDS, findings: [], queries: athena(25, 0) }) });
    const r = await runCli("detect", "--env", "prod", "--since", "1h");
    expect(r.code).toBe(1);
    expect(r.err).toContain("detect: the deployed detector of prod found no flow-log data in the last 1h (got 25 queries, 0 bytes scanned, 0 records read).");
  });

  it("surfaces a function error with the function's own message", async () => {
    lambda.on(InvokeCommand).resolves({ FunctionError: "Unhandled", Payload: payload({ errorType: "DetectorError", errorMessage: "Logs Insights query q1 on /flowlog-kit/prod/vpc-flow-logs ended Failed" }) });
    const r = await runCli("detect", "--env", "prod", "--since", "1h");
    expect(r.code).toBe(1);
    expect(r.err).toContain("flowlogs-prod-detector failed: DetectorError: Logs Insights query q1 on /flowlog-kit/prod/vpc-flow-logs ended Failed");
  });

  it("explains an invoke that AWS refuses", async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error("Function not found: flowlogs-prod-detector"), { name: "ResourceNotFoundException" }));
    const r = await runCli("detect", "--env", "prod", "--since", "1h");
    expect(r.code).toBe(1);
    expect(r.err).toContain("flowlogs-prod-detector: invoke failed (got ResourceNotFoundException: Function not found: flowlogs-prod-detector). Check your AWS credentials for account 410987654323 and that the flowlogs-prod stack is applied.");
  });

  it("rejects --since without --env, with files, or with a bad duration", async () => {
    expect((await runCli("detect", "--since", "1h")).err).toContain("--since: needs --env (got --since 1h alone).");
    expect((await runCli("detect", "x.log", "--env", "dev", "--since", "1h")).err).toContain("--since: runs the deployed detector, not local files (got x.log).");
    expect((await runCli("detect", "--env", "dev", "--since", "soon")).err).toContain('--since: not a duration (got "soon"). Write a whole number with s, m, h or d, from 1m to 7d, e.g. 30m.');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it("parses durations from one minute to seven days", () => {
    expect(parseSince("90s")).toBe(90);
    expect(parseSince("45m")).toBe(2700);
    expect(parseSince("7d")).toBe(604800);
    expect(() => parseSince("30s")).toThrow('--since: shorter than 1m (got "30s"). Write a whole number with s, m, h or d, from 1m to 7d, e.g. 30m.');
    expect(() => parseSince("8d")).toThrow('--since: longer than 7d (got "8d").');
    expect(() => parseSince("0m")).toThrow('--since: must be longer than zero (got "0m").');
  });
});

describe("invokeDetector", () => {
  it("refuses an environment whose detector is switched off", async () => {
    const off = env({ detectors: { enabled: false } });
    await expect(invokeDetector(off, 900, { client: new LambdaClient({}) })).rejects.toThrow(
      "test.detectors.enabled: the detector is not deployed in this environment (got false). Set it to true and apply the flowlogs-test stack, or run detect on downloaded files.",
    );
  });
});

describe("invokeDetector: a long --since in chunks", () => {
  const NOW = new Date("2026-12-06T09:20:00Z");
  const SIZING = { memoryMb: 2048, timeoutSeconds: 900, queries: 23, concurrency: 5, queryTimeoutMs: 420_000 };
  const events = () => lambda.commandCalls(InvokeCommand).map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()));
  const at = (iso: string) => Date.parse(iso) / 1000;
  const prod = env({ name: "prod", detectors: { enabled: true } });

  it("sizes a chunk by the function's query timeout: the longest whole number of long windows whose query fits it", () => {
    expect(chunkSeconds({ queryTimeoutMs: 180_000 }, 3600)).toBe(2 * 3600);
    expect(chunkSeconds({ queryTimeoutMs: 420_000 }, 3600)).toBe(6 * 3600);
    expect(chunkSeconds({ queryTimeoutMs: 120_000 }, 3600)).toBe(3600);
    // A long window longer than any query that fits: one window a chunk, never less.
    expect(chunkSeconds({ queryTimeoutMs: 120_000 }, 86_400)).toBe(86_400);
  });

  it("splits 2 days into contiguous, non-overlapping ranges on long-window boundaries that cover it", () => {
    const start = at("2026-12-04T09:20:00Z");
    const end = at("2026-12-06T09:20:00Z");
    const ranges = chunkRanges(start, end, 6 * 3600, 3600);
    expect(ranges[0]).toEqual({ start, end: at("2026-12-04T15:00:00Z") });
    expect(ranges[ranges.length - 1]).toEqual({ start: at("2026-12-06T09:00:00Z"), end });
    ranges.slice(1).forEach((r, i) => expect(r.start).toBe(ranges[i]!.end));
    expect(ranges.slice(1, -1).every((r) => r.end - r.start === 6 * 3600 && r.start % 3600 === 0)).toBe(true);
    expect(ranges).toHaveLength(9);
  });

  it("invokes each chunk, reports progress, merges findings by id keeping the more severe, and continues a chunk whose queries did not fit", async () => {
    const critical = { ...finding, severity: "CRITICAL" };
    const other = { ...finding, id: "9a9a", rule: "port-scan", severity: "MEDIUM" };
    let n = 0;
    lambda.on(InvokeCommand).callsFake(() => {
      n++;
      // The second chunk's first invocation leaves 3 queries to a next one.
      const queries = n === 2 ? athena(20, 10, ["a", "b", "c"]) : athena(n === 3 ? 3 : 23, 10);
      const findings = n === 1 ? [finding] : n === 2 ? [critical, other] : [];
      return { Payload: payload({ stats: NO_RECORDS, findings, queries }) };
    });
    const lines: string[] = [];
    const r = await invokeDetector(prod, 2 * 86_400, { client: new LambdaClient({}), now: NOW, sizing: SIZING, progress: (l) => lines.push(l) });
    const ev = events();
    expect(ev).toHaveLength(10);
    const firsts = ev.filter((e) => e.pending === undefined);
    expect(firsts).toHaveLength(9);
    const sorted = [...firsts].sort((a, b) => a.start - b.start);
    expect(sorted[0].start).toBe(at("2026-12-04T09:20:00Z"));
    expect(sorted[sorted.length - 1].end).toBe(at("2026-12-06T09:20:00Z"));
    sorted.slice(1).forEach((e, i) => expect(e.start).toBe(sorted[i].end));
    const again = ev.find((e) => e.pending !== undefined);
    expect(again).toEqual({ mode: "on-demand", start: ev[1].start, end: ev[1].end, pending: ["a", "b", "c"], hop: 1 });
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([["0f3c", "CRITICAL"], ["9a9a", "MEDIUM"]]);
    expect(r.queries).toMatchObject({ queries: 20 + 3 + 23 * 8, chunks: 9 });
    expect(r.failed).toEqual([]);
    expect(lines[0]).toBe("flowlogs-prod-detector: 9 chunks of up to 6 h, 2 at a time (23 queries each, 5 at a time; up to 420 s a query, 900 s an invocation)");
    expect(lines).toContain("... 1 of 9: 2026-12-04 09:20 to 15:00 UTC");
    expect(lines).toContain("... 9 of 9: 2026-12-06 09:00 to 09:20 UTC");
    expect(lines).toContain("2 of 9: 2026-12-04 15:00 to 21:00 UTC continues: 3 queries did not fit the function's timeout");
  });

  it("names a failed chunk's range and how to rerun it, and keeps the other chunks' findings", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: NO_RECORDS, findings: [finding], queries: athena(23, 10) }) });
    lambda
      .on(InvokeCommand, { Payload: Buffer.from(JSON.stringify({ mode: "on-demand", start: at("2026-12-06T03:00:00Z"), end: at("2026-12-06T09:00:00Z") })) as never })
      .resolves({ FunctionError: "Unhandled", Payload: payload({ errorType: "DetectorError", errorMessage: "1 of 23 detector queries failed: Athena query q7 (port-scan on flow_logs) ended FAILED" }) });
    const r = await invokeDetector(prod, 86_400, { client: new LambdaClient({}), now: NOW, sizing: SIZING });
    expect(r.findings).toHaveLength(1);
    expect(r.failed).toEqual([
      `chunk 4 of 5: 2026-12-06 03:00 to 09:00 UTC failed: flowlogs-prod-detector failed: DetectorError: 1 of 23 detector queries failed: Athena query q7 (port-scan on flow_logs) ended FAILED. Its findings are missing from this report; rerun that range alone with: aws lambda invoke --region ${prod.region} --function-name flowlogs-prod-detector --cli-read-timeout 0 --cli-connect-timeout 10 --cli-binary-format raw-in-base64-out --payload '{"mode":"on-demand","start":${at("2026-12-06T03:00:00Z")},"end":${at("2026-12-06T09:00:00Z")}}' out.json (if out.json's queries.continued is not empty, invoke again adding "pending": <that list> to the payload)`,
    ]);
  });

  it("exits 1 after the report when a chunk failed, naming it, and prints no all-clear when every chunk failed", async () => {
    lambda.on(InvokeCommand).resolves({ FunctionError: "Unhandled", Payload: payload({ errorType: "DetectorError", errorMessage: "boom" }) });
    const r = await runCli("detect", "--env", "prod", "--since", "30m");
    expect(r.code).toBe(1);
    expect(r.out).not.toContain("No findings");
    expect(r.err).toMatch(/1 of 1 chunks failed:\nchunk 1 of 1: .* UTC failed: flowlogs-prod-detector failed: DetectorError: boom\. Its findings are missing from this report; rerun that range alone with: aws lambda invoke/);
  });
});
