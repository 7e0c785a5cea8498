import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { invokeDetector, parseSince } from "../../bin/remote";
import { env } from "../support/env";
import { runCli } from "../support/cli";

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const payload = (v: unknown) => Buffer.from(JSON.stringify(v)) as never;
const finding = {
  id: "0f3c", rule: "ssh-brute-force", title: "SSH brute force", severity: "HIGH", src: "10.0.9.9", dst: "10.0.1.20", port: 22,
  interfaceId: "eni-0c4d6e8f0a2b4c6d8", window: { start: 1793494800, end: 1793495100 }, evidence: { attempts: 48 }, description: "48 short SSH connections",
};

describe("flowlog-kit detect --env <env> --since <duration> (deployed detector)", () => {
  it("invokes the environment's detector synchronously with the window and prints its findings", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ stats: { read: 5120, analysed: 5100, skipped: { nodata: 20 } }, findings: [finding], truncated: [] }) });
    const r = await runCli("detect", "--env", "prod", "--since", "2h");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe("flowlogs-prod-detector");
    expect(input.InvocationType).toBe("RequestResponse");
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({ mode: "on-demand", sinceSeconds: 7200 });
    expect(r.out).toMatch(/HIGH\s+ssh-brute-force\s+10\.0\.9\.9\s+10\.0\.1\.20\s+22\s+eni-0c4d6e8f0a2b4c6d8\s+2026-11-01 01:00\s+attempts=48/);
    expect(r.out).toContain("1 finding. Records read 5120, analysed 5100, skipped: nodata 20.");
  });

  it("says when Logs Insights results were capped", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: { read: 1, analysed: 1, skipped: {} }, findings: [], truncated: [{ start: 1, end: 61 }] }) });
    const r = await runCli("detect", "--env", "dev", "--since", "30m");
    expect(r.out).toContain("Warning: 1 one-minute range hit the Logs Insights 10,000-row cap; records in it were left out.");
  });

  it("prints the JSON document with --json", async () => {
    lambda.on(InvokeCommand).resolves({ Payload: payload({ stats: { read: 1, analysed: 1, skipped: {} }, findings: [finding] }) });
    const doc = JSON.parse((await runCli("detect", "--env", "prod", "--since", "15m", "--json")).out);
    expect(doc.findings[0].rule).toBe("ssh-brute-force");
    expect(doc.stats.read).toBe(1);
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
    await expect(invokeDetector(off, 900, new LambdaClient({}))).rejects.toThrow(
      "test.detectors.enabled: the detector is not deployed in this environment (got false). Set it to true and apply the flowlogs-test stack, or run detect on downloaded files.",
    );
  });
});
