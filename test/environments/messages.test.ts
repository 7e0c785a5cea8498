import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { configErrorMap, formatIssues, loadEnvironments } from "../../environments";
import { ConfigError } from "../../policies/errors";
import { baseInput, tempDir } from "../support/env";

/** zod's own English, which must never reach a user (zod 3 and 4 wordings). */
const ZOD_TEXT =
  /Too small|Too big|Invalid input|[Ee]xpected .* received|must be int\b|Invalid string|Invalid enum|Invalid option|Invalid element|Invalid key|Invalid union|Unrecognized key|\bRequired\b|(String|Number|Array) must|must be (string|number|boolean|array|object|record|int)\b/;

/** `<what>: <problem> (got <value>). <fix>` */
const USUAL_FORM = /^\S[^\n]*?: \S[^\n]* \(got [^\n]*\)\. \S[^\n]*$/;

/** The file's source: JSON cannot write NaN, Infinity or undefined. */
function toSource(value: unknown): string {
  const specials: string[] = [];
  const json = JSON.stringify(
    value,
    (_key, v) => {
      if (v === undefined || (typeof v === "number" && !Number.isFinite(v))) {
        specials.push(String(v));
        return `@@${specials.length - 1}@@`;
      }
      return v;
    },
    2,
  );
  return json === undefined ? "undefined" : json.replace(/"@@(\d+)@@"/g, (_m, i: string) => specials[Number(i)]!);
}

const scope = { resource: "vpc", id: "vpc-0123456789abcdef0", destinations: ["cloudwatch", "s3"] };
const withScope = (s: Record<string, unknown>) => ({ flowLogs: [{ ...scope, ...s }] });
const exception = { control: "CWL-365", justification: "j", compensatingControl: "c", approver: "a", approved: "2026-10-01", expires: "2027-09-30" };
const whole = (input: unknown) => ({ whole: input });

// Each row: what the config gets wrong, and the overrides of a valid environment (or `whole`).
const BAD_CONFIGS: [string, Record<string, unknown>][] = [
  ["the environment file exports a number", whole(5)],
  ["the environment file exports null", whole(null)],
  ["the environment file exports a list", whole([])],
  ["the environment file exports a string", whole("dev")],
  ["the environment file exports an empty object", whole({})],
  ["name is missing", { name: undefined }],
  ["name is a number", { name: 5 }],
  ["name is empty", { name: "" }],
  ["account is missing", { account: undefined }],
  ["account is null", { account: null }],
  ["account is a number", { account: 123456789012 }],
  ["region is missing", { region: undefined }],
  ["region is a number", { region: 1 }],
  ["region is empty", { region: "" }],
  ["region does not exist", { region: "eu-west-9" }],
  ["owner is missing", { owner: undefined }],
  ["owner is a number", { owner: 7 }],
  ["owner is empty", { owner: "" }],
  ["owner is 5,000 characters", { owner: "o".repeat(5000) }],
  ["tags is a list", { tags: [] }],
  ["tags is a string", { tags: "CostCenter=1" }],
  ["a tag value is null", { tags: { Team: null } }],
  ["a tag value is a number", { tags: { Team: 1 } }],
  ["60 tags", { tags: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`Tag${i}`, "x"])) }],
  ["an aws: tag key", { tags: { "aws:x": "y" } }],
  ["retention is null", { retention: null }],
  ["retention is a string", { retention: "production" }],
  ["retention values of the wrong types", { retention: { cloudwatch: true, archive: [] } }],
  ["retention without its classes", { retention: {} }],
  ["retention with an unknown key", { retention: { cloudwatch: "small", archive: "internal", s3: 90 } }],
  ["flowLogs is missing", { flowLogs: undefined }],
  ["flowLogs is an object", { flowLogs: {} }],
  ["a scope is null", { flowLogs: [null] }],
  ["a scope is a number", { flowLogs: [5] }],
  ["a scope is empty", { flowLogs: [{}] }],
  ["destinations is a string", withScope({ destinations: "s3" })],
  ["a destination is a number", withScope({ destinations: [5] })],
  ["trafficType is a number", withScope({ trafficType: 5 })],
  ["aggregationSeconds is a string", withScope({ aggregationSeconds: "60" })],
  ["aggregationSeconds is fractional", withScope({ aggregationSeconds: 60.5 })],
  ["logFormat is a number", withScope({ logFormat: 5 })],
  ["a logFormat field is a number", withScope({ logFormat: [5] })],
  ["s3 options are a string", withScope({ s3: "parquet" })],
  ["s3 fileFormat is a number", withScope({ s3: { fileFormat: 5 } })],
  ["s3 partitions flag is a string", withScope({ s3: { hiveCompatiblePartitions: "yes" } })],
  ["s3 options with an unknown key", withScope({ s3: { compression: "gzip" } })],
  ["kms is null", { kms: null }],
  ["kms is empty", { kms: {} }],
  ["kms create is a string", { kms: { create: "yes" } }],
  ["kms keyArn is empty", { kms: { keyArn: "" } }],
  ["kms has both forms", { kms: { create: true, keyArn: "x" } }],
  ["backend is null", { backend: null }],
  ["backend is empty", { backend: {} }],
  ["backend type is a number", { backend: { type: 5 } }],
  ["an S3 backend without a bucket", { backend: { type: "s3" } }],
  ["an S3 backend bucket that is a number", { backend: { type: "s3", bucket: 5 } }],
  ["an empty S3 backend key", { backend: { type: "s3", bucket: "state-bucket", key: "" } }],
  ["an S3 backend key that is a number", { backend: { type: "s3", bucket: "state-bucket", key: 5 } }],
  ["an S3 backend region that is a number", { backend: { type: "s3", bucket: "state-bucket", region: 5 } }],
  ["an S3 backend lock flag that is a string", { backend: { type: "s3", bucket: "state-bucket", useLockfile: "yes" } }],
  ["a local backend path that is a number", { backend: { type: "local", path: 5 } }],
  ["a local backend with an S3 key", { backend: { type: "local", bucket: "state-bucket" } }],
  ["vpcs is a string", { vpcs: "vpc-0123456789abcdef0" }],
  ["a vpcs entry is a number", { vpcs: [5] }],
  ["exceptions is an object", { exceptions: {} }],
  ["an exception is null", { exceptions: [null] }],
  ["an exception is empty", { exceptions: [{}] }],
  ["exception dates are numbers", { exceptions: [{ ...exception, approved: 20261001, expires: 20270930 }] }],
  ["an exception with an unknown key", { exceptions: [{ ...exception, ticket: "SEC-1" }] }],
  ["rbac is null", { rbac: null }],
  ["rbac is empty", { rbac: {} }],
  ["rbac roles is a list", { rbac: { roles: [] } }],
  ["an rbac role is null", { rbac: { roles: { Auditor: null } } }],
  ["principals is a string", { rbac: { roles: { Auditor: { principals: "arn:aws:iam::123456789012:root" } } } }],
  ["a principal is a number", { rbac: { roles: { Auditor: { principals: [5] } } } }],
  ["maxSessionHours is 13.5", { rbac: { roles: {}, maxSessionHours: 13.5 } }],
  ["maxSessionHours is a string", { rbac: { roles: {}, maxSessionHours: "1" } }],
  ["maxSessionHours is zero", { rbac: { roles: {}, maxSessionHours: 0 } }],
  ["permissionsBoundaryArn is a number", { rbac: { roles: {}, permissionsBoundaryArn: 5 } }],
  ["analytics is null", { analytics: null }],
  ["athena enabled is a string", { analytics: { athena: { enabled: "yes" } } }],
  ["the Athena cutoff is a string", { analytics: { athena: { bytesScannedCutoffGb: "10" } } }],
  ["the Athena cutoff is negative", { analytics: { athena: { bytesScannedCutoffGb: -1 } } }],
  ["an alarm threshold is a string", { analytics: { alarms: { rejectedAdminThreshold: "100" } } }],
  ["an email subscription is a number", { analytics: { subscriptions: { email: [5] } } }],
  ["https subscriptions is a string", { analytics: { subscriptions: { https: "https://hooks.example.com" } } }],
  ["maskIpAddresses is a number", { analytics: { maskIpAddresses: 1 } }],
  ["dashboard is a string", { analytics: { dashboard: "yes" } }],
  ["detectors is null", { detectors: null }],
  ["detectors enabled is a number", { detectors: { enabled: 1 } }],
  ["the schedule is a number", { detectors: { schedule: 15 } }],
  ["the schedule is empty", { detectors: { schedule: "" } }],
  ["the schedule is rate(0 minutes)", { detectors: { schedule: "rate(0 minutes)" } }],
  ["the schedule is cron(a b c d e f)", { detectors: { schedule: "cron(a b c d e f)" } }],
  ["thresholds is a list", { detectors: { thresholds: [] } }],
  ["a threshold is NaN", { detectors: { thresholds: { windowSeconds: NaN } } }],
  ["a threshold is Infinity", { detectors: { thresholds: { exfiltrationBytes: Infinity } } }],
  ["a threshold is a string", { detectors: { thresholds: { windowSeconds: "60" } } }],
  ["a threshold is fractional", { detectors: { thresholds: { windowSeconds: 0.5 } } }],
  ["sensitivePorts is a string", { detectors: { thresholds: { sensitivePorts: "22" } } }],
  ["a sensitive port is fractional", { detectors: { thresholds: { sensitivePorts: [22.5] } } }],
  ["a sensitive port is negative", { detectors: { thresholds: { sensitivePorts: [-1] } } }],
  ["a sensitive port is over 65535", { detectors: { thresholds: { sensitivePorts: [70000] } } }],
  ["an unusual protocol is over 255", { detectors: { thresholds: { unusualProtocols: [300] } } }],
  ["an allowed source is a number", { detectors: { thresholds: { allowedSources: [5] } } }],
  ["allowedSources is a string", { detectors: { thresholds: { allowedSources: "10.0.0.1" } } }],
  ["the anomaly score is above 1", { detectors: { thresholds: { anomalyScore: 2 } } }],
  ["the row budget is enormous", { detectors: { thresholds: { rowBudget: 1e12 } } }],
  ["an unknown threshold", { detectors: { thresholds: { portScan: 5 } } }],
  ["a network CIDR is no address", { network: { cidrs: ["10.0.0/16"] } }],
  ["a network CIDR has host bits set", { network: { cidrs: ["10.0.0.1/16"] } }],
  ["an IPv6 CIDR is longer than 128", { network: { cidrs: ["2600:1f18::/129"] } }],
  ["network cidrs is empty", { network: { cidrs: [] } }],
  ["a NAT gateway is a hostname", { network: { natGateways: ["nat.example.com"] } }],
  ["a load balancer is a number", { network: { loadBalancers: [5] } }],
  ["a resolver is an IPv4 with a leading zero", { network: { resolvers: ["10.0.0.02"] } }],
  ["an unknown network key", { network: { vpcCidr: "10.0.0.0/16" } }],
  ["a suppression names an unknown rule", { detectors: { suppress: [{ rule: "portscan", reason: "x" }] } }],
  ["a suppression has no reason", { detectors: { suppress: [{ rule: "port-scan", sources: ["10.0.0.0/8"] }] } }],
  ["a suppression source is no CIDR", { detectors: { suppress: [{ sources: ["10.0.0.0/33"], reason: "x" }] } }],
  ["a suppression port is over 65535", { detectors: { suppress: [{ ports: [70000], reason: "x" }] } }],
  ["a threat list has no path", { detectors: { threatIntel: [{ name: "abuse" }] } }],
  ["a threat list name has spaces", { detectors: { threatIntel: [{ name: "abuse ch", path: "a.txt" }] } }],
  ["listenerPeers is 1", { detectors: { thresholds: { listenerPeers: 1 } } }],
  ["archive is null", { archive: null }],
  ["the archive bucket name is a number", { archive: { bucketName: 5 } }],
  ["the archive bucket name has capitals", { archive: { bucketName: "Flowlogs" } }],
  ["an unknown top-level key", { retension: {} }],
];

function problemsOf(title: string, overrides: Record<string, unknown>): readonly string[] {
  const dir = tempDir("messages");
  const input = "whole" in overrides ? overrides.whole : baseInput(overrides);
  fs.writeFileSync(path.join(dir, "test.ts"), `export default ${toSource(input)};\n`);
  try {
    loadEnvironments(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`${title}: expected the loader to refuse it`);
}

describe("every configuration message is in the usual form, never zod's own text", () => {
  it.each(BAD_CONFIGS)("%s", (title, overrides) => {
    const problems = problemsOf(title, overrides);
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) {
      expect(problem).not.toMatch(ZOD_TEXT);
      expect(problem).toMatch(USUAL_FORM);
    }
  });

  it("shows NaN and Infinity as they were written, not as null", () => {
    expect(problemsOf("NaN", { detectors: { thresholds: { windowSeconds: NaN } } })).toEqual([
      "test.detectors.thresholds.windowSeconds: must be a number of seconds (got NaN). Write a positive number.",
    ]);
  });

  it("says what to write for a whole file of the wrong shape", () => {
    expect(problemsOf("null", whole(null))).toEqual([
      "test: must be an object (got null). Write it as an object in { }; environments/schema.ts documents every field.",
    ]);
  });

  // Issue codes the environment schema words itself today still get the kit's form if a
  // future field relies on the fallback.
  it.each<[string, z.ZodType, unknown, string]>([
    ["a missing value", z.object({ a: z.string() }), {}, "x.a: is required (got nothing). Add it; environments/schema.ts documents every field."],
    ["a value of the wrong type", z.object({ a: z.boolean() }), { a: "yes" }, 'x.a: must be true or false (got "yes"). Write true or false, without quotes.'],
    ["a fraction where a whole number goes", z.object({ a: z.number().int() }), { a: 1.5 }, "x.a: must be a whole number (got 1.5). Write a whole number, without a fraction."],
    ["an empty string", z.object({ a: z.string().min(1) }), { a: "" }, 'x.a: is empty (got ""). Give a value; environments/schema.ts documents every field.'],
    ["a string too long", z.object({ a: z.string().max(2) }), { a: "abc" }, 'x.a: is longer than 2 characters (got "abc"). Shorten it to at most 2 characters.'],
    ["a list too short", z.object({ a: z.array(z.number()).min(2) }), { a: [1] }, "x.a: needs at least 2 entries (got [1]). Add more; environments/schema.ts documents every field."],
    ["a list too long", z.object({ a: z.array(z.number()).max(1) }), { a: [1, 2] }, "x.a: has more than 1 entry (got [1,2]). Keep at most 1 entry."],
    ["a number too small", z.object({ a: z.number().min(3) }), { a: 1 }, "x.a: is below the minimum of 3 (got 1). Use at least 3."],
    ["a number too large", z.object({ a: z.number().lt(3) }), { a: 3 }, "x.a: is above the maximum of 3 (got 3). Use less than 3."],
    ["a string of the wrong format", z.object({ a: z.string().regex(/^x$/) }), { a: "y" }, 'x.a: is not in the regex format (got "y"). See environments/schema.ts for the field and its format.'],
    ["a number that is not a multiple", z.object({ a: z.number().multipleOf(5) }), { a: 7 }, "x.a: is not a multiple of 5 (got 7). Use a multiple of 5."],
    ["a value outside an enum", z.object({ a: z.enum(["on", "off"]) }), { a: "up" }, 'x.a: is not one of the accepted values (got "up"). Use "on", "off".'],
    ["a value that fits no form of a union", z.object({ a: z.union([z.string(), z.number()]) }), { a: true }, "x.a: matches none of the forms this field takes (got true). See environments/schema.ts for the field and its forms."],
    ["a key a record does not take", z.object({ a: z.record(z.string().min(2), z.string()) }), { a: { j: "v" } }, 'x.a.j: has a key that is not accepted (got "j"). See environments/schema.ts for the field.'],
    ["an unknown key", z.strictObject({ a: z.string() }), { a: "v", b: 1 }, "x: unknown key (got b). Remove it or correct the spelling; environments/schema.ts lists the keys."],
  ])("words %s in the usual form", (_title, schema, input, expected) => {
    const result = schema.safeParse(input, { error: configErrorMap });
    const problems = formatIssues("x", input, result.error!.issues);
    expect(problems.join("\n")).toContain(expected);
    for (const problem of problems) {
      expect(problem).not.toMatch(ZOD_TEXT);
      expect(problem).toMatch(USUAL_FORM);
    }
  });
});
