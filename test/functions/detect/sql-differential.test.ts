import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { AddressContext } from "../../../functions/detect/context";
import { DECLARATIONS } from "../../../functions/detect/declarations";
import { DetectionEngine } from "../../../functions/detect/engine";
import { Finding, RuleId } from "../../../functions/detect/findings";
import { beaconQuery, CLOUDWATCH_SYNTH_MAX_QUERY_CHARS, cloudwatchRuleQueries, cloudwatchRuleSet, findingsFromRows, INSIGHTS_MAX_QUERY_CHARS, mergeHorizons, ruleQueries, RuleQuery } from "../../../functions/detect/sql";
import { DetectorThresholds, resolveThresholds } from "../../../functions/detect/thresholds";
import { athenaColumn } from "../../../functions/flowlog/athena";
import { fieldByName } from "../../../functions/flowlog/fields";
import { LogFormat } from "../../../functions/flowlog/format";
import { Flow, line, range, TgwFlow, tgwLine } from "../../support/flows";
import { seededRandom as random } from "../../../functions/detect/isolation-forest";
import { loadEnvironments } from "../../../environments";

/*
 * Differential test: the engine and the rules' SQL in DuckDB (one thread) on the same records
 * must give the same findings. The inputs hold an attack and its benign twin per rule, plus
 * seeded background traffic. Both definitions are fixed where they could differ (sql.ts says
 * how): records are written in start order, a group's records share their interface or the
 * earliest comes first, and the listeners (servers answering clients) answer external clients
 * whose counts are part of no finding, so that the engine counting a listener's first answers
 * as probes changes no finding.
 */

const W = 300;
/** A window start, plus a few seconds into it. */
const T0 = 1_700_000_100 - (1_700_000_100 % W) + 5;

/** Rules only the engine has (declarations.ts says why). */
const ENGINE_ONLY: readonly RuleId[] = ["anomaly", "log-skipped", "detector-saturated"];


const THRESHOLDS: DetectorThresholds = resolveThresholds({
  network: { cidrs: ["10.0.0.0/16", "2600:1f18:6a3:e100::/56"], natGateways: ["10.0.0.200"], loadBalancers: ["10.0.0.10", "10.0.0.20/30"], resolvers: ["10.0.0.53"] },
  threatIntel: [{ name: "feed-a", entries: ["192.0.2.0/24", "2001:db8:bad::/48"] }, { name: "feed-b", entries: ["198.51.100.250"] }],
  allowedSources: ["10.0.99.99"],
  suppress: [{ rule: "rejected-spike", sources: ["203.0.113.78"], reason: "our own scanner" }],
  inboundFloodFlows: 400,
  inboundFloodPackets: 1_000_000,
  outboundFloodFlows: 300,
  exfiltrationBytes: 50 * 1024 * 1024,
});

const MiB = 1024 * 1024;

/** Every scenario: an attack per rule and its benign twin, in address ranges of their own. */
function scenarios(): Flow[] {
  const rnd = random(14);
  const out: Flow[] = [];
  const at = (i: number) => T0 + (i % 200);
  const add = (flows: Flow[]) => out.push(...flows);
  // port-scan on one host; twin: a client using ten services of one host.
  add(range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT", start: at(i) })));
  add([22, 80, 443, 5432, 6379, 8080, 9090, 9100, 3000, 8443].map((p, i) => ({ src: "10.0.2.7", dst: "10.0.1.6", dstport: p, start: at(i) })));
  // port-scan across hosts (120 ports, at most 3 per host); twin: 10 ports.
  add(range(120).map((i) => ({ src: "198.51.100.20", dst: `10.0.4.${i % 50}`, dstport: 2000 + i, packets: 1, action: "REJECT", start: at(i) })));
  add(range(10).map((i) => ({ src: "198.51.100.21", dst: `10.0.4.${i}`, dstport: 2000 + i, packets: 1, action: "REJECT", start: at(i) })));
  // sensitive-port-scan; twin: two sensitive ports.
  add([22, 23, 3389, 445, 5900].map((p, i) => ({ src: "198.51.100.7", dst: "10.0.1.7", dstport: p, packets: 1, action: "REJECT", start: at(i) })));
  add([22, 443].map((p, i) => ({ src: "198.51.100.9", dst: "10.0.1.7", dstport: p, packets: 1, action: "REJECT", start: at(i) })));
  // port-sweep; twin: full connections to many hosts (a health checker that is not configured as a load balancer).
  add(range(40).map((i) => ({ src: "198.51.100.8", dst: `10.0.3.${i}`, dstport: 3306, packets: 1, action: "REJECT", start: at(i) })));
  add(range(60).map((i) => ({ src: "10.0.0.99", dst: `10.0.3.${i}`, dstport: 8080, packets: 8, bytes: 900, start: at(i) })));
  // Load-balancer health checks with probe-sized flows: never probes.
  add(range(60).map((i) => ({ src: "10.0.0.10", dst: `10.0.3.${i}`, dstport: 8081, packets: 2, bytes: 120, start: at(i) })));
  add(range(60).map((i) => ({ src: "10.0.0.21", dst: `10.0.3.${i}`, dstport: 8082, packets: 2, bytes: 120, start: at(i) })));
  // Brute force: SSH from outside (MEDIUM), RDP from inside (HIGH), WinRM; twins: a few sessions, long sessions.
  add(range(40).map((i) => ({ src: "203.0.113.50", dst: "10.0.1.8", srcport: 40000 + i, dstport: 22, packets: 12, bytes: 2100, start: at(i) })));
  add(range(25).map((i) => ({ src: "10.0.9.9", dst: "10.0.1.9", srcport: 40000 + i, dstport: 3389, packets: 12, bytes: 2100, start: at(i) })));
  add(range(25).map((i) => ({ src: "203.0.113.51", dst: "10.0.1.10", srcport: 40000 + i, dstport: 5985, packets: 10, bytes: 1500, start: at(i) })));
  add(range(5).map((i) => ({ src: "203.0.113.52", dst: "10.0.1.8", srcport: 40000 + i, dstport: 22, packets: 12, start: at(i) })));
  add(range(40).map((i) => ({ src: "203.0.113.53", dst: "10.0.1.8", srcport: 40000 + i, dstport: 22, packets: 4000, bytes: 4_000_000, start: at(i) })));
  // distributed-scan: 25 sources, 5 ports each; twin: 30 sources on one port.
  add(range(125).map((i) => ({ src: `198.18.0.${Math.floor(i / 5)}`, dst: "10.0.5.5", dstport: 3000 + i, packets: 1, action: "REJECT", start: at(i) })));
  add(range(30).map((i) => ({ src: `198.18.1.${i}`, dst: "10.0.5.6", dstport: 443, start: at(i) })));
  // inbound-flood from random sources; twin: a quarter of it.
  add(range(420).map((i) => ({ src: `198.19.${Math.floor(rnd() * 200)}.${Math.floor(rnd() * 250)}`, srcport: 1024 + Math.floor(rnd() * 60000), dst: "10.0.6.6", dstport: 80, packets: 2, start: at(i) })));
  add(range(100).map((i) => ({ src: `198.19.${Math.floor(rnd() * 200)}.${Math.floor(rnd() * 250)}`, srcport: 1024 + Math.floor(rnd() * 60000), dst: "10.0.6.7", dstport: 80, packets: 2, start: at(i) })));
  // outbound-flood; twin: the NAT gateway's own records of the same traffic.
  add(range(320).map((i) => ({ src: "10.0.7.7", dst: `203.0.114.${i % 250}`, srcport: 50000 + i, dstport: 9000 + (i % 7), packets: 3, bytes: 100_000, start: at(i) })));
  add(range(320).map((i) => ({ src: "10.0.0.200", dst: `203.0.114.${i % 250}`, srcport: 50000 + i, dstport: 443, packets: 12, bytes: 500, start: at(i) })));
  // dns-unapproved-resolver: one resolver, then two; twins: the configured resolver and the VPC resolver (base + 2).
  add(range(40).map((i) => ({ src: "10.0.8.8", dst: "8.8.8.8", srcport: 30000 + i, dstport: 53, protocol: 17, packets: 1, bytes: 80, start: at(i) })));
  add(range(40).map((i) => ({ src: "10.0.8.10", dst: i % 2 === 0 ? "1.1.1.1" : "9.9.9.9", srcport: 30000 + i, dstport: 853, protocol: 6, packets: 4, bytes: 400, start: at(i) })));
  add(range(40).map((i) => ({ src: "10.0.8.9", dst: i % 2 ? "10.0.0.53" : "10.0.0.2", srcport: 30000 + i, dstport: 53, protocol: 17, packets: 1, bytes: 80, start: at(i) })));
  // crypto-mining; twin: rejected.
  add(range(3).map((i) => ({ src: "10.0.9.10", dst: "203.0.113.99", srcport: 45000 + i, dstport: 3333, start: at(i) })));
  add(range(3).map((i) => ({ src: "10.0.9.11", dst: "203.0.113.99", srcport: 45000 + i, dstport: 3333, action: "REJECT", start: at(i) })));
  // exfiltration: HIGH, CRITICAL, and over IPv6 from a global VPC address; twin: 10 MiB.
  add(range(6).map((i) => ({ src: "10.0.10.10", dst: "203.0.113.80", dstport: 443, bytes: 10 * MiB, packets: 7000, start: at(i) })));
  add(range(6).map((i) => ({ src: "10.0.10.12", dst: "203.0.113.82", dstport: 443, bytes: 100 * MiB, packets: 70000, start: at(i) })));
  add(range(6).map((i) => ({ src: "2600:1f18:6a3:e100::20", dst: "2a00:1450:4001::1", dstport: 443, bytes: 10 * MiB, packets: 7000, start: at(i) })));
  add([{ src: "10.0.10.11", dst: "203.0.113.81", dstport: 443, bytes: 10 * MiB, packets: 7000, start: at(0) }]);
  // c2-fan-out; twin: the same from the NAT gateway's address range neighbour with big flows.
  add(range(60).map((i) => ({ src: "10.0.11.11", dst: `203.0.115.${i}`, dstport: 443, bytes: 500, packets: 5, start: at(i) })));
  add(range(60).map((i) => ({ src: "10.0.11.12", dst: `203.0.115.${i}`, dstport: 443, bytes: 50_000, packets: 40, start: at(i) })));
  // lateral-movement; twin: 5 hosts.
  add(range(12).map((i) => ({ src: "10.0.12.12", dst: `10.0.13.${i}`, dstport: i % 2 ? 445 : 22, start: at(i) })));
  add(range(5).map((i) => ({ src: "10.0.12.13", dst: `10.0.13.${i}`, dstport: 22, start: at(i) })));
  // rejected-spike; twins: 100 rejects, and a suppressed source.
  add(range(250).map((i) => ({ src: "203.0.113.77", dst: "10.0.1.20", srcport: 20000 + i, dstport: 80, action: "REJECT", packets: 1, start: at(i) })));
  add(range(100).map((i) => ({ src: "203.0.113.76", dst: "10.0.1.20", srcport: 20000 + i, dstport: 80, action: "REJECT", packets: 1, start: at(i) })));
  add(range(250).map((i) => ({ src: "203.0.113.78", dst: "10.0.1.20", srcport: 20000 + i, dstport: 80, action: "REJECT", packets: 1, start: at(i) })));
  // unusual-protocol (GRE); twin: TCP.
  add(range(3).map((i) => ({ src: "10.0.14.14", dst: "203.0.113.90", dstport: 0, protocol: 47, start: at(i) })));
  add(range(3).map((i) => ({ src: "10.0.14.15", dst: "203.0.113.90", dstport: 443, protocol: 6, start: at(i) })));
  // threat-intel: accepted (HIGH), blocked (LOW), IPv6; twin: a neighbour of a listed address.
  add(range(2).map((i) => ({ src: "10.0.15.15", dst: "192.0.2.66", dstport: 443, start: at(i) })));
  add(range(2).map((i) => ({ src: "198.51.100.250", dst: "10.0.15.16", dstport: 22, action: "REJECT", packets: 1, start: at(i) })));
  add([{ src: "2600:1f18:6a3:e100::15", dst: "2001:db8:bad::1", dstport: 443, start: at(3) }]);
  add([{ src: "10.0.15.17", dst: "198.51.100.251", dstport: 443, start: at(4) }]);
  // IPv6 sweep of VPC neighbours on SSH.
  add(range(30).map((i) => ({ src: "2600:1f18:6a3:e100::30", dst: `2600:1f18:6a3:e100::${(0x100 + i).toString(16)}`, dstport: 22, packets: 1, action: "REJECT", start: at(i) })));
  // An allowed source scanning: nothing.
  add(range(40).map((i) => ({ src: "10.0.99.99", dst: `10.0.3.${i}`, dstport: 3306, packets: 1, action: "REJECT", start: at(i) })));
  // A busy server answering external clients from port 443 (a listener learned from the traffic).
  add(range(200).map((i) => ({ src: "10.0.1.30", srcport: 443, dst: `203.0.116.${i % 250}`, dstport: 32768 + i, bytes: 5000, start: at(i) })));
  // Background: clients to web services, in every window of the hour.
  add(range(1500).map((i) => ({ src: `10.0.20.${i % 40}`, srcport: 32768 + Math.floor(rnd() * 28000), dst: `10.0.21.${Math.floor(rnd() * 10)}`, dstport: [80, 443, 5432][i % 3]!, bytes: Math.floor(rnd() * 20000), packets: 5 + Math.floor(rnd() * 20), start: T0 + Math.floor((i * 3600) / 1500) })));
  // Slow attacks over the hour after, each under every short window's thresholds: 120 ports of
  // one host (10 per window), 70 hosts on one port, 70 SSH attempts (6 per window); a fast scan
  // inside that hour is reported once, by its short window.
  const H = T0 + 3 * 3600 - ((T0 + 3 * 3600) % 3600) + 7;
  add(range(120).map((i) => ({ src: "203.0.113.120", dst: "10.0.30.5", dstport: 5000 + i, packets: 1, action: "REJECT", start: H + i * 29 })));
  add(range(70).map((i) => ({ src: "203.0.113.121", dst: `10.0.31.${i}`, dstport: 5432, packets: 2, start: H + i * 50 })));
  add(range(70).map((i) => ({ src: "203.0.113.122", dst: "10.0.30.6", srcport: 40000 + i, dstport: 22, packets: 12, bytes: 2100, start: H + i * 50 })));
  add(range(80).map((i) => ({ src: "203.0.113.123", dst: "10.0.30.7", dstport: 6000 + i, packets: 1, action: "REJECT", start: H + 600 + i })));
  // Twin: a slow scan of 40 ports (under the long threshold too).
  add(range(40).map((i) => ({ src: "203.0.113.124", dst: "10.0.30.8", dstport: 5000 + i, packets: 1, action: "REJECT", start: H + i * 80 })));
  // The same attacks again, an hour later, land in their own windows.
  add(range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT", start: T0 + 3600 + i })));
  return out.map((f) => ({ ...f, start: f.start ?? T0 }));
}

/** Records in start order (stable), as AWS delivers them within a capture window. */
const inStartOrder = <T extends { start?: number }>(flows: readonly T[]) => [...flows].sort((a, b) => a.start! - b.start!);

/** A DuckDB table `name` of the lines, with the catalog's underscored columns for `format`. */
async function load(c: DuckDBConnection, dir: string, name: string, format: LogFormat, lines: readonly string[]): Promise<void> {
  const file = join(dir, `${name}.log`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  const columns = format.names.map((n) => `'${athenaColumn(n)}': '${fieldByName(n)!.type === "string" ? "VARCHAR" : "BIGINT"}'`).join(", ");
  await c.run(`CREATE TABLE ${name} AS SELECT * FROM read_csv('${file}', delim=' ', header=false, nullstr='-', quote='', escape='', columns={${columns}})`);
}

/** Rows of a query as a CSV result reads them: every value a string, NULL as "". */
async function rowsOf(c: DuckDBConnection, sql: string): Promise<Record<string, string>[]> {
  const r = await c.runAndReadAll(sql);
  return r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)])));
}

async function sqlFindings(c: DuckDBConnection, queries: readonly RuleQuery[]): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const q of queries) out.push(...findingsFromRows(q, await rowsOf(c, q.sql)));
  return mergeHorizons(out);
}

/*
 * CloudWatch Logs Insights' OpenSearch SQL, run in DuckDB after only these mechanical
 * substitutions (the queries are otherwise unchanged):
 * - the log group in FROM, `logGroups(logGroupIdentifier: ['<name>'])` (AWS's form for a name
 *   with slashes), becomes "<name>": the log group is a DuckDB table of that very name holding
 *   "@message" and "@timestamp";
 * - a backtick-quoted identifier (`@message`) becomes double-quoted;
 * - regexp_replace(s, p, '$1') becomes regexp_replace(s, p, '\1', 'g'): Spark's replacement
 *   names a group with $ and replaces every match, DuckDB's with a backslash and the g option.
 * Every other function and operator is spelled the same in both.
 */
const LOG_GROUP = "/flowlog-kit/test/vpc-flow-logs";

/** A log group of these lines, as Logs Insights' SQL sees it: `@message` and `@timestamp` (the record's start, as AWS sets it). */
async function loadLogGroup(c: DuckDBConnection, dir: string, format: LogFormat, lines: readonly string[]): Promise<void> {
  const file = join(dir, "log-group.log");
  writeFileSync(file, `${lines.join("\n")}\n`);
  await c.run(`CREATE OR REPLACE TABLE "${LOG_GROUP}" AS SELECT m AS "@message", to_timestamp(CAST(split_part(m, ' ', ${format.names.indexOf("start") + 1}) AS BIGINT)) AS "@timestamp" FROM read_csv('${file}', delim='\t', header=false, quote='', escape='', columns={'m': 'VARCHAR'})`);
}

const inDuckdb = (sql: string) => sql.replace(/`logGroups\(logGroupIdentifier: \['([^']*)'\]\)`/g, '"$1"').replace(/`([^`]*)`/g, '"$1"').replace(/, '\$1'\)/g, ", '\\1', 'g')");

/** The CloudWatch dialect's findings over every record (a range that holds them all). */
async function cloudwatchFindings(c: DuckDBConnection, dir: string, t: DetectorThresholds, format: LogFormat, lines: readonly string[]): Promise<Finding[]> {
  await loadLogGroup(c, dir, format, lines);
  const queries = cloudwatchRuleQueries({ logGroupName: LOG_GROUP, fields: format.names, thresholds: t, start: 0, end: 2_000_000_000 });
  for (const q of queries) expect([q.rule, q.sql.length <= INSIGHTS_MAX_QUERY_CHARS]).toEqual([q.rule, true]);
  const out: Finding[] = [];
  for (const q of queries) out.push(...findingsFromRows(q, await rowsOf(c, inDuckdb(q.sql))));
  return mergeHorizons(out);
}

/** Findings comparable across the two: engine-only rules left out, in one order. */
const comparable = (fs: readonly Finding[]) =>
  fs.filter((f) => !ENGINE_ONLY.includes(f.rule)).sort((a, b) => a.id.localeCompare(b.id) || a.rule.localeCompare(b.rule));

function engineFindings(t: DetectorThresholds, format: LogFormat, lines: readonly string[]): Finding[] {
  const engine = new DetectionEngine(t, format);
  for (const l of lines) engine.addLine(l);
  return [...engine.finish().findings];
}

let dir: string;
let db: DuckDBInstance;
let c: DuckDBConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flowlog-sql-"));
  db = await DuckDBInstance.create(":memory:", { threads: "1" });
  c = await db.connect();
});

afterAll(() => {
  c.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

describe("the rules' SQL in DuckDB against the engine", () => {
  it("finds exactly the engine's findings on every rule's attack and benign twin (default format)", async () => {
    const lines = inStartOrder(scenarios()).map(line);
    await load(c, dir, "v2", LogFormat.DEFAULT, lines);
    const expected = comparable(engineFindings(THRESHOLDS, LogFormat.DEFAULT, lines));
    // A caller's filter that keeps every record: each query runs (so parses) with it.
    const queries = ruleQueries({ dialect: "duckdb", table: "v2", where: '"start" >= 0', thresholds: THRESHOLDS });
    expect(queries.map((q) => `${q.rule} ${q.horizon} ${q.horizonSeconds}`).sort()).toEqual(
      [...DECLARATIONS.flatMap((d) => d.horizons.map((h) => `${d.id} ${h} ${h === "long" ? 3600 : 300}`)), "c2-beaconing long 3600", "anomaly long 3600", "log-skipped long 3600"].sort(),
    );
    for (const q of queries) expect(q.sql).toContain(q.rule === "log-skipped" ? `WHERE "log_status" = 'SKIPDATA' AND ("start" >= 0)` : 'WHERE coalesce(NULLIF("log_status", \'-\'), \'OK\') = \'OK\' AND ("start" >= 0)');
    const actual = comparable(await sqlFindings(c, queries));
    expect(actual).toEqual(expected);
    // Logs Insights' OpenSearch SQL over the raw lines of a log group finds the same.
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, LogFormat.DEFAULT, lines))).toEqual(expected);
    // Every rule fired on its attack (so equality is no agreement on nothing)...
    const rules = new Set(actual.map((f) => f.rule));
    expect(actual.filter((f) => f.evidence.horizonSeconds === 3600).map((f) => `${f.rule} ${f.src}`).sort()).toEqual([
      "port-scan 203.0.113.120", "port-sweep 203.0.113.121", "ssh-brute-force 203.0.113.122",
    ]);
    for (const r of ["port-scan", "sensitive-port-scan", "port-sweep", "ssh-brute-force", "rdp-brute-force", "brute-force", "distributed-scan", "inbound-flood", "outbound-flood",
      "dns-unapproved-resolver", "crypto-mining", "exfiltration", "c2-fan-out", "lateral-movement", "rejected-spike", "unusual-protocol", "threat-intel"] as const) {
      expect([r, rules.has(r)]).toEqual([r, true]);
    }
    // ...and no benign twin raised one.
    const twins = ["10.0.2.7", "198.51.100.21", "198.51.100.9", "10.0.0.99", "10.0.0.10", "10.0.0.21", "203.0.113.52", "203.0.113.53", "10.0.0.200", "10.0.8.9", "10.0.9.11", "10.0.10.11", "10.0.11.12", "10.0.12.13", "203.0.113.76", "203.0.113.78", "10.0.14.15", "10.0.15.17", "10.0.99.99", "10.0.1.30"];
    expect(actual.filter((f) => twins.includes(f.src ?? "") || ["10.0.5.6", "10.0.6.7"].includes(f.dst ?? ""))).toEqual([]);
    expect(actual.filter((f) => f.rule === "exfiltration").map((f) => [f.src, f.severity])).toEqual(
      expect.arrayContaining([["10.0.10.10", "HIGH"], ["10.0.10.12", "CRITICAL"], ["2600:1f18:6a3:e100::20", "HIGH"]]),
    );
  });

  it("finds the engine's findings when tcp-flags, flow-direction and packet-level addresses decide", async () => {
    const names = ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "tcp-flags", "flow-direction", "pkt-srcaddr", "pkt-dstaddr"];
    const format = LogFormat.custom(names, "vpc");
    type V5 = Flow & { flags: number; direction: "ingress" | "egress"; pktSrc?: string };
    const v5 = (f: V5) => [5, f.eni ?? "eni-0aaaaaaaaaaaaaaa1", f.src, f.dst, f.srcport ?? 49152, f.dstport, f.protocol ?? 6, f.packets ?? 10, f.bytes ?? 840, f.start!, f.start! + 30, f.action ?? "ACCEPT", "OK", f.flags, f.direction, f.pktSrc ?? "-", "-"].join(" ");
    const flows: V5[] = [
      // A scan from source port 53 with SYN (accepted): tcp-flags say these open connections.
      ...range(40).map((i) => ({ src: "203.0.113.40", srcport: 53, dst: "10.0.1.40", dstport: 100 + i, flags: 2, direction: "ingress" as const, packets: 1, start: T0 + i })),
      // An SSH server on 2222 answering a brute force with SYN-ACK: answers, never a scan of the attacker.
      ...range(40).map((i) => ({ src: "10.0.1.41", srcport: 2222, dst: "203.0.113.41", dstport: 40000 + i, flags: 19, direction: "egress" as const, packets: 12, start: T0 + i })),
      // Records of an interface behind a NAT: the packet-level source is the client.
      ...range(30).map((i) => ({ src: "10.0.0.200", pktSrc: "10.0.1.42", dst: `10.0.2.${i}`, dstport: 22, flags: 2, direction: "egress" as const, packets: 1, action: "REJECT" as const, start: T0 + i })),
      // A SYN-only sweep of bigger packets: probes by their flags.
      ...range(30).map((i) => ({ src: "203.0.113.45", dst: `10.0.3.${i}`, dstport: 8443, flags: 2, direction: "ingress" as const, packets: 6, start: T0 + i })),
      // Egress marked ingress is not egress: no exfiltration.
      ...range(6).map((i) => ({ src: "10.0.1.43", dst: "203.0.113.43", dstport: 443, flags: 2, direction: "ingress" as const, bytes: 20 * MiB, start: T0 + i })),
      ...range(6).map((i) => ({ src: "10.0.1.44", dst: "203.0.113.44", dstport: 443, flags: 2, direction: "egress" as const, bytes: 20 * MiB, start: T0 + i })),
    ];
    const lines = inStartOrder(flows).map(v5);
    await load(c, dir, "v5", format, lines);
    const expected = comparable(engineFindings(THRESHOLDS, format, lines));
    const actual = comparable(await sqlFindings(c, ruleQueries({ dialect: "duckdb", table: "v5", thresholds: THRESHOLDS, fields: names })));
    expect(actual).toEqual(expected);
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, format, lines))).toEqual(expected);
    expect(actual.map((f) => `${f.rule} ${f.src}`).sort()).toEqual(
      expect.arrayContaining(["port-scan 203.0.113.40", "port-sweep 10.0.1.42", "port-sweep 203.0.113.45", "exfiltration 10.0.1.44"]),
    );
    expect(actual.filter((f) => ["10.0.1.41", "10.0.1.43"].includes(f.src ?? ""))).toEqual([]);
  });

  it("finds the engine's findings when pkt-src-aws-service and pkt-dst-aws-service name AWS services", async () => {
    const names = ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "flow-direction", "pkt-src-aws-service", "pkt-dst-aws-service"];
    const format = LogFormat.custom(names, "vpc");
    type V5 = Flow & { direction: "ingress" | "egress"; srcService?: string; dstService?: string };
    const v5 = (f: V5) => [5, "eni-0aaaaaaaaaaaaaaa1", f.src, f.dst, f.srcport ?? 49152, f.dstport, 6, f.packets ?? 10, f.bytes ?? 840, f.start!, f.start! + 30, f.action ?? "ACCEPT", "OK", f.direction, f.srcService ?? "-", f.dstService ?? "-"].join(" ");
    const backup = (src: string, dst: string, dstService?: string): V5[] => range(6).map((i) => ({ src, dst, dstport: 443, bytes: 256 * MiB, packets: 180_000, direction: "egress", dstService, start: T0 + i }));
    const api = (src: string, dstService: string): V5[] => range(60).map((i) => ({ src, dst: `52.94.${i}.10`, dstport: 443, bytes: 900, packets: 6, direction: "egress", dstService, start: T0 + i }));
    const checks = (src: string, srcService: string): V5[] => range(40).map((i) => ({ src, dst: "10.0.3.7", dstport: 8000 + i, packets: 2, bytes: 120, direction: "ingress", srcService, start: T0 + i }));
    const sweep = (src: string, srcService: string): V5[] => range(30).map((i) => ({ src, dst: `10.0.4.${i}`, dstport: 3306, packets: 1, action: "REJECT", direction: "ingress", srcService, start: T0 + i }));
    const flows: V5[] = [
      // Backups to S3: no exfiltration; twins to an address that is no service, and to an EC2 instance.
      ...backup("10.0.1.5", "52.216.8.21", "S3"), ...backup("10.0.1.6", "52.216.8.22"), ...backup("10.0.1.7", "3.80.1.7", "EC2"),
      // Small API calls to 60 AWS endpoints: no c2-fan-out; twin to 60 addresses that are not.
      ...api("10.0.2.9", "AMAZON"), ...api("10.0.2.10", "-"),
      // From an AWS service: Route 53 health checks on 40 ports, and a sweep of 30 hosts, are no probes; twins from elsewhere.
      ...checks("15.177.2.10", "ROUTE53_HEALTHCHECKS"), ...checks("15.177.2.11", "-"),
      ...sweep("52.95.1.1", "GLOBALACCELERATOR"), ...sweep("52.95.1.2", "EC2"),
    ];
    const lines = inStartOrder(flows).map(v5);
    await load(c, dir, "services", format, lines);
    const expected = comparable(engineFindings(THRESHOLDS, format, lines));
    const actual = comparable(await sqlFindings(c, ruleQueries({ dialect: "duckdb", table: "services", thresholds: THRESHOLDS, fields: names })));
    expect(actual).toEqual(expected);
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, format, lines))).toEqual(expected);
    expect(actual.map((f) => `${f.rule} ${f.src}`).sort()).toEqual(["c2-fan-out 10.0.2.10", "exfiltration 10.0.1.6", "exfiltration 10.0.1.7", "port-scan 15.177.2.11", "port-sweep 52.95.1.2"]);
    // Athena's rendering reads the same columns.
    const athena = ruleQueries({ dialect: "athena", table: "flows", thresholds: THRESHOLDS, fields: names }).find((q) => q.rule === "exfiltration")!;
    expect(athena.sql).toContain(`coalesce(NULLIF("pkt_dst_aws_service", '-') <> 'EC2', FALSE) AS dst_aws_service`);
  });

  it("finds the engine's findings with listeners counted by window functions (Athena's form), at 2 and 3 listener peers", async () => {
    const flows: Flow[] = inStartOrder([
      // A server answering clients from 443 (a listener), its first answers to two clients only.
      ...range(120).map((i) => ({ src: "10.0.1.30", srcport: 443, dst: `203.0.116.${i % 100}`, dstport: 32768 + i, bytes: 5000, start: T0 + i })),
      ...range(2).map((i) => ({ src: "10.0.1.31", srcport: 8443, dst: `203.0.116.${i}`, dstport: 40000 + i, bytes: 5000, start: T0 + i })),
      // A scanner whose source port is below the ports it probes: never a listener, its flows rejected.
      ...range(40).map((i) => ({ src: "203.0.113.60", srcport: 53, dst: "10.0.1.32", dstport: 1000 + i, action: "REJECT" as const, packets: 1, start: T0 + i })),
      ...scenarios().filter((f) => f.src === "203.0.113.9" || f.src === "198.51.100.8"),
    ]);
    const lines = flows.map(line);
    await load(c, dir, "listeners", LogFormat.DEFAULT, lines);
    for (const listenerPeers of [2, 3]) {
      const t = resolveThresholds({ ...THRESHOLDS, listenerPeers, network: THRESHOLDS.network, long: THRESHOLDS.long });
      const expected = comparable(engineFindings(t, LogFormat.DEFAULT, lines));
      // The queries that tell probes from answers (the others read no listener).
      const queries = ruleQueries({ dialect: "duckdb", table: "listeners", thresholds: t, listeners: "window" }).filter((q) => q.sql.includes("peer_mid"));
      expect(queries.length).toBeGreaterThan(10);
      expect([listenerPeers, comparable(await sqlFindings(c, queries))]).toEqual([listenerPeers, expected]);
      // Logs Insights' SQL counts the peers with dense_rank: the same.
      expect([listenerPeers, comparable(await cloudwatchFindings(c, dir, t, LogFormat.DEFAULT, lines))]).toEqual([listenerPeers, expected]);
      expect(expected.map((f) => f.src)).not.toContain("10.0.1.30");
    }
  });

  it("finds the engine's transit-gateway packet-loss findings per attachment", async () => {
    const format = LogFormat.TRANSIT_GATEWAY_DEFAULT;
    const flows: TgwFlow[] = [
      ...range(20).map((i) => ({ src: "10.1.0.5", dst: `10.2.0.${i}`, dstport: 443, start: T0 + i, lost: { noRoute: 80, blackhole: i % 2 ? 3 : 0 } })),
      ...range(20).map((i) => ({ src: "10.1.0.6", dst: `10.2.0.${i}`, dstport: 443, start: T0 + i, attachment: "tgw-attach-0bbbb2222cccc3333", lost: { mtuExceeded: 1200, ttlExpired: 1 } })),
      ...range(20).map((i) => ({ src: "10.1.0.7", dst: `10.2.0.${i}`, dstport: 443, start: T0 + i, attachment: "tgw-attach-0dddd4444eeee5555", lost: { noRoute: 10 } })),
    ];
    const lines = inStartOrder(flows).map(tgwLine);
    await load(c, dir, "tgw", format, lines);
    const expected = comparable(engineFindings(THRESHOLDS, format, lines));
    const actual = comparable(await sqlFindings(c, ruleQueries({ dialect: "duckdb", table: "tgw", thresholds: THRESHOLDS, fields: format.names })));
    expect(actual).toEqual(expected);
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, format, lines))).toEqual(expected);
    expect(actual.filter((f) => f.rule === "tgw-packet-loss").map((f) => [f.interfaceId, f.severity])).toEqual(
      expect.arrayContaining([["tgw-attach-0aaaa1111bbbb2222", "LOW"], ["tgw-attach-0bbbb2222cccc3333", "MEDIUM"]]),
    );
  });
});

describe("c2-beaconing in SQL (lag over each series) against the engine", () => {
  /** A series of small web flows from `src` to `dst`:`dstport`, one at each start. */
  const series = (src: string, dst: string, dstport: number, starts: readonly number[], more: Partial<Flow> = {}): Flow[] =>
    starts.map((start, i) => ({ src, dst, dstport, srcport: 45000 + i, packets: 5, bytes: 320, start, eni: "eni-0beacon000000000", ...more }));
  const every = (n: number, seconds: number, from = T0, jitter: (i: number) => number = () => 0) => range(n).map((i) => from + i * seconds + jitter(i));
  const rnd = random(7);
  /** A busy web client: 16 requests at irregular gaps (5 s to 6 minutes). */
  const irregular = range(16).reduce<number[]>((a) => [...a, (a[a.length - 1] ?? T0) + 5 + Math.floor(rnd() * 355)], []);
  const beacons = (fs: readonly Finding[]) => fs.filter((f) => f.rule === "c2-beaconing").map((f) => `${f.src} ${f.dst}:${f.port} ${f.evidence.flows} ${f.evidence.intervalSeconds} ${f.evidence.jitterPercent}`).sort();

  it("finds the engine's beacons, field for field, and none of their benign twins (default format)", async () => {
    const flows = inStartOrder([
      // Every 4 minutes for 44 minutes, a few seconds early or late.
      ...series("10.0.40.1", "198.18.40.1", 443, every(12, 240, T0, (i) => ((i % 3) - 1) * 3)),
      // Every minute exactly, 16 times, to 8080.
      ...series("10.0.40.2", "198.18.40.2", 8080, every(16, 60)),
      // Twins: a metrics agent every 60 s as the NAT gateway's records carry it; a busy web client;
      // too few points; flows too big to be small.
      ...series("10.0.0.200", "198.18.40.3", 443, every(16, 60)),
      ...series("10.0.40.4", "198.18.40.4", 443, irregular),
      ...series("10.0.40.5", "198.18.40.5", 443, every(6, 240)),
      ...series("10.0.40.6", "198.18.40.6", 443, every(16, 60), { bytes: 50_000 }),
    ]);
    const lines = flows.map(line);
    await load(c, dir, "beacons", LogFormat.DEFAULT, lines);
    const expected = comparable(engineFindings(THRESHOLDS, LogFormat.DEFAULT, lines));
    expect(beacons(expected)).toEqual(["10.0.40.1 198.18.40.1:443 12 241 1.7", "10.0.40.2 198.18.40.2:8080 16 60 0"]);
    const q = beaconQuery({ dialect: "duckdb", table: "beacons", thresholds: THRESHOLDS });
    expect(findingsFromRows(q, await rowsOf(c, q.sql))).toEqual(expected.filter((f) => f.rule === "c2-beaconing"));
    expect(comparable(await sqlFindings(c, ruleQueries({ dialect: "duckdb", table: "beacons", thresholds: THRESHOLDS })))).toEqual(expected);
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, LogFormat.DEFAULT, lines))).toEqual(expected);
  });

  it("finds the engine's beacons when tcp-flags, flow-direction and AWS services decide (v5)", async () => {
    const names = ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "tcp-flags", "flow-direction", "pkt-srcaddr", "pkt-dstaddr", "pkt-src-aws-service", "pkt-dst-aws-service"];
    const format = LogFormat.custom(names, "vpc");
    type V5 = Flow & { flags?: number; dstService?: string };
    const v5 = (f: V5) => [5, f.eni, f.src, f.dst, f.srcport, f.dstport, 6, f.packets, f.bytes, f.start!, f.start! + 30, "ACCEPT", "OK", f.flags ?? 3, "egress", "-", "-", "-", f.dstService ?? "-"].join(" ");
    const flows: V5[] = inStartOrder<V5>([
      // A beacon every 4 minutes for 44 minutes (the client's records: SYN and FIN).
      ...series("10.0.41.1", "198.18.41.1", 443, every(12, 240, T0, (i) => (i % 2) * 4)),
      // Twins: a metrics agent every 60 s to an AWS service; a busy web client; a server's answers from 443 (SYN-ACK) every 4 minutes.
      ...series("10.0.41.2", "52.94.1.10", 443, every(16, 60)).map((f) => ({ ...f, dstService: "AMAZON" })),
      ...series("10.0.41.3", "198.18.41.3", 443, irregular),
      ...series("10.0.41.5", "198.18.41.5", 443, every(12, 240), { srcport: 443 }).map((f) => ({ ...f, flags: 19 })),
    ]);
    const lines = flows.map(v5);
    await load(c, dir, "beacons_v5", format, lines);
    const expected = comparable(engineFindings(THRESHOLDS, format, lines));
    expect(beacons(expected)).toEqual(["10.0.41.1 198.18.41.1:443 12 240 1.7"]);
    expect(comparable(await sqlFindings(c, ruleQueries({ dialect: "duckdb", table: "beacons_v5", thresholds: THRESHOLDS, fields: names })))).toEqual(expected);
    expect(comparable(await cloudwatchFindings(c, dir, THRESHOLDS, format, lines))).toEqual(expected);
  });

  it("judges every point in the range where the engine keeps the first 16: the same id, the evidence of all the points", async () => {
    const lines = series("10.0.42.1", "198.18.42.1", 443, every(30, 240, T0, (i) => (i % 2) * 6)).map(line);
    await load(c, dir, "long_beacon", LogFormat.DEFAULT, lines);
    const engine = engineFindings(THRESHOLDS, LogFormat.DEFAULT, lines).filter((f) => f.rule === "c2-beaconing");
    const q = beaconQuery({ dialect: "duckdb", table: "long_beacon", thresholds: THRESHOLDS });
    const sql = findingsFromRows(q, await rowsOf(c, q.sql));
    expect(sql.map((f) => f.id)).toEqual(engine.map((f) => f.id));
    expect(engine[0]!.description).toBe("10.0.42.1 contacted 198.18.42.1:443 30 times every ~240s (jitter 2.5% over the first 16).");
    expect(sql[0]!.description).toBe("10.0.42.1 contacted 198.18.42.1:443 30 times every ~240s (jitter 2.5%).");
    expect([engine[0]!.window.end, sql[0]!.window.end]).toEqual([T0 + 15 * 240 + 6 + 1, T0 + 29 * 240 + 6 + 1]);
  });

  it("keeps the caller's partition and time filter, and fits Logs Insights' 10,000 characters with the test's threat lists", () => {
    const athena = beaconQuery({ dialect: "athena", table: "flows", where: "year = 2026 AND month = 12", thresholds: THRESHOLDS });
    expect(athena.sql).toContain("(year = 2026 AND month = 12)");
    expect(athena.sql).toContain('"start" - lag("start") OVER (PARTITION BY src, dst, port ORDER BY "start") AS gap');
    const cw = cloudwatchRuleQueries({ logGroupName: LOG_GROUP, fields: LogFormat.DEFAULT.names, thresholds: THRESHOLDS, start: 1_764_547_200, end: 1_764_550_800 }).find((x) => x.rule === "c2-beaconing")!;
    expect(cw.sql).toContain("coalesce(CAST(NULLIF(split_part(`@message`, ' ', 11), '-') AS BIGINT), 0) BETWEEN 1764547200 AND 1764550799 AND ");
    expect(cw.sql).toContain(" FROM `logGroups(logGroupIdentifier: ['/flowlog-kit/test/vpc-flow-logs'])` WHERE ");
    expect(cw.sql.endsWith("\nLIMIT 10001")).toBe(true);
    expect(cw.sql.length).toBeLessThanOrEqual(INSIGHTS_MAX_QUERY_CHARS);
  });
});

describe("the rendered queries", () => {
  it("place IPv4 and IPv6 addresses in prefixes as the engine's prefix trie does, whatever their notation (DuckDB keys)", async () => {
    const lists = ["192.0.2.0/24", "10.1.2.3", "2001:db8:bad::/48", "::1", "fe80::/10", "1:2:3:4:5:6:7:0/112", "0.0.0.0/1"];
    const addresses = ["192.0.2.0", "192.0.2.255", "192.0.3.0", "10.1.2.3", "10.1.2.4", "127.255.255.255", "128.0.0.0", "2001:db8:bad::", "2001:DB8:BAD:ffff:ffff:ffff:ffff:ffff",
      "2001:db8:bae::1", "::1", "::", "::2", "fe80::1", "febf:ffff::", "fec0::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:8:0", "1:2::"];
    const t = resolveThresholds({ threatIntel: [{ name: "mixed", entries: lists }] });
    await c.run(`CREATE TABLE notations AS SELECT * FROM (VALUES ${addresses.map((a) => `('200.9.9.9', '${a}', 443, ${T0}, 'ACCEPT', 'OK')`).join(", ")}) v(srcaddr, dstaddr, dstport, "start", action, log_status)`);
    const q = ruleQueries({ dialect: "duckdb", table: "notations", thresholds: t, fields: ["srcaddr", "dstaddr", "dstport", "start", "action", "log-status"] }).find((x) => x.rule === "threat-intel")!;
    const listed = findingsFromRows(q, await rowsOf(c, q.sql)).map((f) => f.dst).sort();
    const context = new AddressContext(t);
    expect(listed).toEqual(addresses.filter((a) => context.threatList(a) !== undefined).sort());
    expect(listed.length).toBeGreaterThan(8);
  });

  const where = "year = 2026 AND month = 12";

  it("render the network context as Athena's IP functions, with the filter in every query, each query parsing as SQL", async () => {
    for (const q of ruleQueries({ dialect: "athena", table: "flows", where, thresholds: THRESHOLDS })) {
      // DuckDB's parser without binding (Athena's types and IP functions are not DuckDB's): the syntax, not the meaning.
      const parsed = await c.runAndReadAll(`SELECT json_serialize_sql('${q.sql.replace(/'/g, "''")}')::JSON->>'error'`);
      expect([q.rule, parsed.getRows()[0]![0]]).toEqual([q.rule, "false"]);
      expect(q.sql).toContain(`(${where})`);
      // The SKIPDATA count reads no address.
      if (q.rule === "log-skipped") continue;
      expect(q.sql).toContain("contains('10.0.0.0/16', TRY_CAST(src AS IPADDRESS))");
      expect(q.sql).toContain("contains('2600:1f18:6a3:e100:0:0:0:0/56', TRY_CAST(dst AS IPADDRESS))");
      expect(q.sql).not.toContain("list_transform");
      // One read of the table: no CTE referenced twice (anomaly pairs each row with its two sides, a join with two constant rows).
      expect(q.sql.replace("FROM g CROSS JOIN (VALUES (TRUE), (FALSE)) AS s(outward)", "FROM g")).not.toContain("JOIN");
      expect([q.rule, q.sql.match(/\bFROM (r|f|g|l|m)\b/g)!.length]).toEqual([q.rule, new Set(q.sql.match(/\bFROM (r|f|g|l|m)\b/g)).size]);
    }
  });

  it("refuse a threat list too long for one Athena query, naming the rules and the limit", () => {
    const entries = range(3000).map((i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    const t = resolveThresholds({ threatIntel: [{ name: "big", entries }] });
    expect(() => ruleQueries({ dialect: "athena", table: "flows", thresholds: t })).toThrow(
      /^detectors\.threatIntel: the rules' Athena queries would exceed Athena's 262144 bytes \(got port-scan-host \d+, .*\)\. Merge the threat lists' addresses into fewer CIDRs/,
    );
  });

  it("refuse a threshold that is no finite number", () => {
    const t = resolveThresholds({ portScanPortsPerHost: Number.NaN });
    expect(() => ruleQueries({ dialect: "duckdb", table: "flows", thresholds: t })).toThrow(
      "detectors.thresholds: a threshold the rules' SQL compares with must be a finite number (got NaN). Set it to a number.",
    );
  });

  it("refuse a network entry that is no address or CIDR", () => {
    const t = resolveThresholds({ network: { natGateways: ["10.0.0.300"] } });
    expect(() => ruleQueries({ dialect: "athena", table: "flows", thresholds: t })).toThrow(
      'network: an entry is not an IPv4 or IPv6 address or CIDR (got "10.0.0.300"). Give an IPv4 or IPv6 address or CIDR.',
    );
  });

  it("refuse rows of a query no declaration made", () => {
    const q: RuleQuery = { rule: "nonsense", horizon: "short", horizonSeconds: 300, sql: "SELECT 1", thresholds: THRESHOLDS };
    expect(() => findingsFromRows(q, [])).toThrow('detector: no rule declaration "nonsense" (got "nonsense"). Use a RuleQuery from ruleQueries().');
  });
});

/** The top-level items of a select list (commas inside parentheses or quotes are no separators). */
function selectItems(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let item = "";
  for (const ch of list) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === "(") depth++;
    if (!quoted && ch === ")") depth--;
    if (!quoted && depth === 0 && ch === ",") {
      out.push(item.trim());
      item = "";
    } else item += ch;
  }
  return [...out, item.trim()];
}

/** The reviewer's production format (version 5 fields, packet-level addresses and AWS services). */
const PROD_FIELDS = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id", "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"];
const PROD_GROUP = "/flowlog-kit/prod/vpc-flow-logs";
const cwSet = (fields: readonly string[], t: DetectorThresholds, maxChars?: number) =>
  cloudwatchRuleSet({ logGroupName: PROD_GROUP, fields, thresholds: t, start: 1_764_547_200, end: 1_764_550_800, ...(maxChars !== undefined ? { maxChars } : {}) });
/** Each statement a query runs: its SQL, or each of its parts (the anomaly rule's two on Logs Insights). */
const statementsOf = (qs: readonly RuleQuery[]) => qs.flatMap((q) => (q.parts ?? [q.sql]).map((sql) => ({ ...q, sql })));
const longest = (qs: readonly RuleQuery[]) => Math.max(...statementsOf(qs).map((q) => q.sql.length));

describe("the CloudWatch OpenSearch SQL queries", () => {
  it("select no constant: every column of the subquery reads @message, every column of the outer query a column (every environment's format, the default, v5, transit gateway)", () => {
    const formats = new Map<string, readonly string[]>([
      ["default", LogFormat.DEFAULT.names], ["v5", ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status", "tcp-flags", "flow-direction", "pkt-srcaddr", "pkt-dstaddr"]], ["prod", PROD_FIELDS], ["transit gateway", LogFormat.TRANSIT_GATEWAY_DEFAULT.names],
    ]);
    for (const env of loadEnvironments()) for (const s of env.flowLogs) formats.set(`${env.name} ${s.resource}`, s.logFormat.names);
    expect(formats.size).toBeGreaterThan(4);
    const constant = /^\(?(NULL|TRUE|FALSE|-?\d+|'[^']*'|CAST\((NULL|-?\d+) AS \w+\))\)?( AS \w+)?$/i;
    for (const [name, fields] of formats) {
      for (const q of statementsOf(cwSet(fields, THRESHOLDS).queries)) {
        const inner = /FROM \(SELECT (.*) FROM `logGroups\(logGroupIdentifier: \['[^']*'\]\)` WHERE /.exec(q.sql);
        expect([name, q.rule, inner !== null]).toEqual([name, q.rule, true]);
        const innerItems = selectItems(inner![1]!);
        expect([name, q.rule, innerItems.filter((x) => !x.includes("`@message`"))]).toEqual([name, q.rule, []]);
        const outer = selectItems(/^SELECT (.*)\nFROM \(/.exec(q.sql)![1]!);
        expect([name, q.rule, outer.filter((x) => constant.test(x))]).toEqual([name, q.rule, []]);
        // Packet-loss columns only where they are counted.
        if (q.rule !== "tgw-packet-loss") expect([name, q.rule, inner![1]!.includes(" AS lost_")]).toEqual([name, q.rule, false]);
      }
    }
  });

  it("name the log group as AWS documents a name with slashes, and end with the row LIMIT that tells a capped result", () => {
    for (const q of statementsOf(cwSet(PROD_FIELDS, resolveThresholds({}), undefined).queries)) {
      expect(q.sql).toContain(" FROM `logGroups(logGroupIdentifier: ['/flowlog-kit/prod/vpc-flow-logs'])` WHERE ");
      expect(q.sql.endsWith("\nLIMIT 10001")).toBe(true);
    }
  });

  it("fit synth's 9,000 characters with the production format, the defaults and allowed sources", () => {
    for (const allowedSources of [[], ["10.0.0.1"], ["10.0.0.1", "10.0.0.2", "10.0.0.3"]]) {
      const set = cwSet(PROD_FIELDS, resolveThresholds({ allowedSources }), CLOUDWATCH_SYNTH_MAX_QUERY_CHARS);
      expect([allowedSources.length, set.tooLong]).toEqual([allowedSources.length, []]);
      expect(longest(set.queries)).toBeLessThanOrEqual(CLOUDWATCH_SYNTH_MAX_QUERY_CHARS);
    }
  });

  it("leave out only the queries a long threat list makes too long, naming the list and a fix it allows; the other rules still run", () => {
    const entries = range(130).map((i) => `100.64.${i}.0/24`);
    const t = resolveThresholds({ threatIntel: [{ name: "s3-feed", entries }] });
    const synth = cwSet(PROD_FIELDS, t, CLOUDWATCH_SYNTH_MAX_QUERY_CHARS);
    expect(synth.tooLong.map((x) => `${x.rule} ${x.horizon}`)).toEqual(["threat-intel short"]);
    expect(synth.tooLong[0]!.message).toMatch(
      /^detectors\.threatIntel: makes the Logs Insights SQL query of threat-intel \(short horizon\) \d+ characters, over the 9000 allowed \(StartQuery accepts 10000; synth keeps the rest for threat lists read from S3 at run time\) \(got 130 entries in 1 list, taking \d+ characters\)\. Merge the lists' addresses into fewer, wider CIDRs/,
    );
    expect(synth.queries.map((q) => q.rule)).toContain("c2-beaconing");
    // Every declaration at each horizon, beaconing, anomaly and log-skipped, but the one left out.
    expect(synth.queries).toHaveLength(DECLARATIONS.reduce((n, d) => n + d.horizons.length, 0) + 2);
    // At run time (10,000) the same list fits; 150 entries do not, and only threat-intel is left out.
    expect(cwSet(PROD_FIELDS, t).tooLong).toEqual([]);
    const run = cwSet(PROD_FIELDS, resolveThresholds({ threatIntel: [{ name: "s3-feed", entries: range(150).map((i) => `100.64.${i}.0/24`) }] }));
    expect(run.tooLong.map((x) => x.rule)).toEqual(["threat-intel"]);
    expect(() => cloudwatchRuleQueries({ logGroupName: PROD_GROUP, fields: PROD_FIELDS, thresholds: resolveThresholds({ threatIntel: [{ name: "s3-feed", entries: range(150).map((i) => `100.64.${i}.0/24`) }] }), start: 0, end: 1 })).toThrow(
      /^detectors\.threatIntel: makes the Logs Insights SQL query of threat-intel \(short horizon\) \d+ characters, over the 10000 StartQuery accepts/,
    );
  });

  it("name allowed sources when they make a query too long, with a fix other than wider CIDRs", () => {
    const allowedSources = range(60).map((i) => `10.0.${i}.1`);
    const set = cwSet(PROD_FIELDS, resolveThresholds({ allowedSources }), CLOUDWATCH_SYNTH_MAX_QUERY_CHARS);
    expect(set.tooLong.length).toBeGreaterThan(0);
    for (const x of set.tooLong) {
      expect(x.message).toMatch(/^detectors\.thresholds\.allowedSources: makes the Logs Insights SQL query of .* \(got 60 addresses, taking \d+ characters[^)]*\)\. Allow fewer sources: .*detectors\.suppress/);
    }
  });
});

describe("the run-wide rules as queries (anomaly, log-skipped) against the engine", () => {
  const t = resolveThresholds({ network: { cidrs: ["10.0.0.0/16"] } });
  const ODD = "10.0.50.99";
  /** 80 internal hosts alike (clients of three web servers outside, which answer them), one that is not, and 3 SKIPDATA records. */
  function traffic(): string[] {
    const rnd = random(7);
    // Each server first answers external clients, so the engine knows it for a listener before the hosts' own answers (sql.ts says why).
    const flows: Flow[] = range(9).map((i) => ({ src: `203.0.113.${1 + (i % 3)}`, dst: `198.18.9.${i}`, srcport: 443, dstport: 33000 + i, start: T0 - 1 }));
    range(80).forEach((h) => range(10).forEach((j) => {
      const server = `203.0.113.${1 + (j % 3)}`;
      const srcport = 40000 + h * 16 + j;
      const bytes = 1500 + Math.floor(rnd() * 1500);
      flows.push({ src: `10.0.40.${h}`, dst: server, srcport, dstport: 443, bytes, packets: 6, start: T0 + h * 10 + j });
      flows.push({ src: server, dst: `10.0.40.${h}`, srcport: 443, dstport: srcport, bytes: bytes * 4, packets: 8, start: T0 + h * 10 + j });
    }));
    // The odd host: 300 probes of 150 addresses on random ports, most rejected, and 2.5 GB out to one of them.
    range(300).forEach((i) => flows.push({ src: ODD, dst: `198.51.100.${i % 150}`, srcport: 50000 + i, dstport: 1 + Math.floor(rnd() * 9000), packets: 1, bytes: 60, action: i % 3 ? "REJECT" : "ACCEPT", start: T0 + i }));
    range(5).forEach((i) => flows.push({ src: ODD, dst: "198.51.100.7", srcport: 51000 + i, dstport: 443, packets: 400_000, bytes: 500 * 1024 * 1024, start: T0 + 400 + i }));
    const skipdata = (start: number, eni = "eni-0123456789abcdef0") => [2, "123456789012", eni, "-", "-", "-", "-", "-", "-", "-", start, start + 60, "-", "SKIPDATA"].join(" ");
    return [...inStartOrder(flows).map(line), skipdata(T0 + 100), skipdata(T0 + 700), skipdata(T0 + 1300, "eni-0aaaabbbbccccdddd")];
  }
  const runWide = (qs: readonly RuleQuery[]) => qs.filter((q) => q.rule === "anomaly" || q.rule === "log-skipped");

  it("score the same odd host from the same flows, bytes and rejections, and count the engine's SKIPDATA records", async () => {
    const lines = traffic();
    const engine = engineFindings(t, LogFormat.DEFAULT, lines);
    const engineOdd = engine.find((f) => f.rule === "anomaly" && f.src === ODD)!;
    expect(engine.filter((f) => f.rule === "anomaly").map((f) => f.src)).toEqual([ODD]);
    await load(c, dir, "runwide", LogFormat.DEFAULT, lines);
    const athena = runWide(ruleQueries({ dialect: "duckdb", table: "runwide", thresholds: t }));
    expect(athena.map((q) => [q.rule, q.horizonSeconds])).toEqual([["anomaly", 3600], ["log-skipped", 3600]]);
    const duck: Finding[] = [];
    for (const q of athena) duck.push(...findingsFromRows(q, await rowsOf(c, q.sql)));
    await loadLogGroup(c, dir, LogFormat.DEFAULT, lines);
    const cw = runWide(cloudwatchRuleQueries({ logGroupName: LOG_GROUP, fields: LogFormat.DEFAULT.names, thresholds: t, start: 0, end: 2_000_000_000 }));
    expect(cw.map((q) => [q.rule, q.parts?.length ?? 1])).toEqual([["anomaly", 2], ["log-skipped", 1]]);
    const logs: Finding[] = [];
    for (const q of cw) {
      const rows: Record<string, string>[] = [];
      for (const sql of q.parts ?? [q.sql]) rows.push(...(await rowsOf(c, inDuckdb(sql))));
      logs.push(...findingsFromRows(q, rows));
    }
    for (const [engineName, found] of [["athena", duck], ["logs insights", logs]] as const) {
      // Only the odd host, with the engine's exact counts; its distinct counts exact (the engine's are sketches).
      const odd = found.filter((f) => f.rule === "anomaly");
      expect([engineName, odd.map((f) => f.src)]).toEqual([engineName, [ODD]]);
      const { flowsOut, flowsIn, bytesOut, bytesIn, rejected, peers, portsProbed } = odd[0]!.evidence;
      expect([engineName, { flowsOut, flowsIn, bytesOut, bytesIn, rejected }]).toEqual([engineName, { flowsOut: 305, flowsIn: 0, bytesOut: 300 * 60 + 5 * 500 * 1024 * 1024, bytesIn: 0, rejected: 200 }]);
      expect([engineName, ...["flowsOut", "flowsIn", "bytesOut", "bytesIn", "rejected"].map((k) => odd[0]!.evidence[k] === engineOdd.evidence[k])]).toEqual([engineName, true, true, true, true, true]);
      expect([engineName, peers, portsProbed]).toEqual([engineName, 150, new Set(lines.filter((l) => l.split(" ")[3] === ODD && l.split(" ")[6] !== "443").map((l) => l.split(" ")[6])).size + 1]);
      expect([engineName, odd[0]!.interfaceId, odd[0]!.window]).toEqual([engineName, "eni-0123456789abcdef0", { start: T0 - (T0 % 3600), end: T0 - (T0 % 3600) + 3600 }]);
      // SKIPDATA per interface (the one past capacity), together the engine's count for the run.
      const skipped = found.filter((f) => f.rule === "log-skipped");
      expect([engineName, skipped.map((f) => [f.interfaceId, f.evidence.skipdataRecords])]).toEqual([engineName, [["eni-0123456789abcdef0", 2], ["eni-0aaaabbbbccccdddd", 1]]]);
      expect(skipped.reduce((n, f) => n + f.evidence.skipdataRecords!, 0)).toBe(engine.find((f) => f.rule === "log-skipped")!.evidence.skipdataRecords);
      expect(new Set(skipped.map((f) => f.id)).size).toBe(2);
    }
  });

  it("raise nothing where the hosts are too few to score or no record was skipped", async () => {
    const lines = traffic().filter((l) => !l.includes("SKIPDATA") && !/ 10\.0\.40\.[2-7]\d /.test(l));
    await load(c, dir, "fewhosts", LogFormat.DEFAULT, lines);
    const found: Finding[] = [];
    for (const q of runWide(ruleQueries({ dialect: "duckdb", table: "fewhosts", thresholds: t }))) found.push(...findingsFromRows(q, await rowsOf(c, q.sql)));
    // The CloudWatch forms too: the parts' rows merged, and the single count of no SKIPDATA.
    await loadLogGroup(c, dir, LogFormat.DEFAULT, lines);
    for (const q of runWide(cloudwatchRuleQueries({ logGroupName: LOG_GROUP, fields: LogFormat.DEFAULT.names, thresholds: t, start: 0, end: 2_000_000_000 }))) {
      const rows: Record<string, string>[] = [];
      for (const sql of q.parts ?? [q.sql]) rows.push(...(await rowsOf(c, inDuckdb(sql))));
      if (q.rule === "anomaly") expect(new Set(rows.map((r) => r.host)).size).toBe(21);
      found.push(...findingsFromRows(q, rows));
    }
    expect(found).toEqual([]);
    expect(engineFindings(t, LogFormat.DEFAULT, lines).filter((f) => f.rule === "anomaly" || f.rule === "log-skipped")).toEqual([]);
  });
});
