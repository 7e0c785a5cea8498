import { DEFAULT_FIELD_NAMES } from "../flowlog/fields";
import { AWS_SERVICE_NOT_A_SERVICE } from "../flowlog/scanner";
import { athenaColumn } from "../flowlog/athena";
import { AddressContext, approvedResolvers, Suppressions } from "./context";
import { beaconFinding, C2_BEACONING, Condition, conditionHolds, DECLARATIONS, Described, endpointsOf, evidenceOf, FlowFact, FlowNumber, Horizon, Key, Measure, Predicate, RuleDeclaration, ruleOf, severityOf, Term } from "./declarations";
import { anomalyFindings, HostCounts, skippedFinding } from "./anomaly";
import { DetectorError } from "./errors";
import { finding, Finding, SEVERITIES } from "./findings";
import { parsePrefix, ParsedPrefix } from "./prefixes";
import { DetectorThresholds, longHorizon } from "./thresholds";

/*
 * The rule declarations (declarations.ts) as SQL: one query per declaration and horizon, GROUP BY
 * its keys and window, HAVING its threshold predicate, over a table with the catalog's column
 * names as Athena names them (underscored). Two dialects: "athena" (Trino, Athena engine v3) and
 * "duckdb" (the differential test's independent engine, and the benchmark's).
 *
 * Each query reads the records through three steps:
 * - `r`: the record's fields (packet-level addresses when logged, '-' as absent, the window),
 *   only records with log-status OK (or none) and the caller's `where`;
 * - `f`: the network context as booleans per record (inside, NAT gateway, load balancer,
 *   approved resolver, threat list), records without an address or from an allowed source left out;
 * - `g` (rules that tell probes from answers): `response`, with listeners learned from `f`
 *   (QueryOptions.listeners says how).
 *
 * Set-based where the engine learns as records arrive: a port is a listener (its flows are
 * answers) when it has answered enough distinct peer ports anywhere in its long window of the
 * queried range, whereas the engine counts the answers it reads before that as probes. A
 * group's interface is that of its earliest record (ties: the smallest interface id); the
 * engine's is the first it reads (for the per-destination rules, the interface it interned
 * first). The two agree whenever records arrive in start order, a destination's records share
 * one interface, and a listener's first answers stay below every threshold, which the
 * differential test's inputs are built to hold.
 *
 * A run's findings are findingsFromRows of each query, then mergeHorizons over them all (a slow
 * finding is dropped when a short window within it found the same, as the engine does).
 *
 * c2-beaconing (declarations.ts C2_BEACONING) has a query of its own, after the declarations', at the
 * long horizon (the scheduled run gives it the hour-long range): its SMALL_WEB flows, each one's
 * gap to the series' previous start by lag() over (src, dst, port) ordered by start, and per
 * series the count of points, first and last start, and the count, sum and sum of squares of
 * the gaps; HAVING keeps the series whose jitter is past the threshold, with a margin of 1e-9,
 * and findingsFromRows (beaconFinding) does the exact test the engine does. Where it differs
 * from the engine: SQL judges every point of a series within the queried range, sorted, on
 * every run; the engine judges a series once it has been idle for a long window, on its first
 * 16 starts in input order (declarations.ts says more).
 */

export type SqlDialect = "athena" | "duckdb";

export interface QueryOptions {
  readonly dialect: SqlDialect;
  /** Table (or table expression) with the catalog's underscored column names. */
  readonly table: string;
  /** Extra SQL boolean ANDed into every WHERE (the caller's partition and time filter). */
  readonly where?: string;
  readonly thresholds: DetectorThresholds;
  /**
   * The catalog names of the fields the table has (its log format's). Fields it lacks read as
   * absent (a record without flow-direction, tcp-flags or packet-level addresses).
   * @default DEFAULT_FIELD_NAMES (the AWS default format, version 2)
   */
  readonly fields?: readonly string[];
  /**
   * How listeners are counted. "window": window functions over (host, port, long window), so
   * the table is read once (Athena bills every scan: a CTE referenced twice is read twice);
   * "join": the flows grouped by (host, port, long window) and joined back, a second read but
   * about three times faster in DuckDB. Both give the same answers.
   * @default "window" for athena, "join" for duckdb
   */
  readonly listeners?: "window" | "join";
}

export interface RuleQuery {
  /** The declaration's id (declarations.ts). */
  readonly rule: string;
  /** Which horizon: "short" (thresholds.windowSeconds) or "long" (thresholds.long). */
  readonly horizon: Horizon;
  readonly horizonSeconds: number;
  readonly sql: string;
  /**
   * The thresholds the query's rule reads (for the long horizon, longHorizon's: its window and
   * thresholds in place of the short ones): findingsFromRows reads severities, threat-list names
   * and suppressions from them.
   */
  readonly thresholds: DetectorThresholds;
  /**
   * For a list measure written as a bit mask (the CloudWatch dialect): the value of each bit,
   * lowest first. @default - list measures are comma-separated values
   */
  readonly lists?: Readonly<Record<string, readonly number[]>>;
  /**
   * Queries run together whose rows findingsFromRows reads as one (the anomaly rule on Logs
   * Insights: hosts as sources, then as destinations); `sql` is the first.
   * @default - `sql` alone
   */
  readonly parts?: readonly string[];
}

/**
 * Athena's longest query string: a threat list of tens of thousands of entries would pass it.
 * @see https://repost.aws/knowledge-center/athena-query-string-length
 */
export const ATHENA_MAX_QUERY_BYTES = 262_144;

const byId = new Map(DECLARATIONS.map((d) => [d.id, d]));

/** Every windowed rule's query, one per declaration and horizon. */
export function ruleQueries(o: QueryOptions): RuleQuery[] {
  // The common tables (the network context above all) are rendered once for every rule.
  const common = new Map<string, string>();
  const tables = (seconds: number, response: boolean) => {
    const key = `${seconds}|${response}`;
    if (!common.has(key)) common.set(key, commonTables(o, seconds, response));
    return common.get(key)!;
  };
  const skipped = skippedQuery(o);
  const out = [...DECLARATIONS.flatMap((d) => d.horizons.map((h) => ruleQuery(d, h, o, tables))), beaconQuery(o, tables), anomalyQuery(o, tables), ...(skipped ? [skipped] : [])];
  if (o.dialect === "athena") {
    const long = out.filter((q) => Buffer.byteLength(q.sql) > ATHENA_MAX_QUERY_BYTES);
    if (long.length > 0) {
      throw new DetectorError(
        `detectors.threatIntel: the rules' Athena queries would exceed Athena's ${ATHENA_MAX_QUERY_BYTES} bytes (got ${long.map((q) => `${q.rule} ${Buffer.byteLength(q.sql)}`).join(", ")}). ` +
          "Merge the threat lists' addresses into fewer CIDRs, or split them across environments.",
      );
    }
  }
  return out;
}

/** The query of one declaration at one horizon. */
export function ruleQuery(d: RuleDeclaration, horizon: Horizon, o: QueryOptions, tables = (seconds: number, response: boolean) => commonTables(o, seconds, response)): RuleQuery {
  const t = horizon === "long" ? longHorizon(o.thresholds) : o.thresholds;
  const seconds = t.windowSeconds;
  const records = horizon === "long" ? d.longRecords ?? d.records : d.records;
  return Object.freeze({ rule: d.id, horizon, horizonSeconds: seconds, sql: render(d, records, o.dialect, t, seconds, tables), thresholds: t });
}

/**
 * The c2-beaconing query (see above): one row per series of SMALL_WEB flows whose gaps' jitter
 * is within beaconMaxJitter, with the sums beaconFinding judges.
 */
export function beaconQuery(o: QueryOptions, tables = (seconds: number, response: boolean) => commonTables(o, seconds, response)): RuleQuery {
  const t = longHorizon(o.thresholds);
  const seconds = t.windowSeconds;
  const first = firstInterface(o.dialect);
  const sql = [
    `WITH ${tables(seconds, true)},`,
    // A record without a start (read as 0) is no point, as in the engine.
    `p AS (SELECT src, dst, port, iface, "start", "start" - lag("start") OVER (PARTITION BY src, dst, port ORDER BY "start") AS gap FROM g WHERE ${predicate(C2_BEACONING.records, t)} AND "start" > 0)`,
    `SELECT src, dst, port, ${first} AS interface_id, ${BEACON_MEASURES("\"start\"")}`,
    "FROM p",
    "GROUP BY src, dst, port",
    `HAVING ${beaconHaving(t, "\"start\"")}`,
    "ORDER BY src, dst, port",
  ].join("\n");
  return Object.freeze({ rule: C2_BEACONING.id, horizon: "long" as const, horizonSeconds: seconds, sql, thresholds: t });
}

/*
 * The engine's run-wide rules as queries, each over the long horizon's range (the scheduled run
 * gives it the hour-long range, from an hour boundary), so the runs of one hour judge the same
 * hosts and report one finding per host (its id keyed by the window's first hour):
 * - anomaly: one row per internal host with the counts rules.ts scores (anomaly.ts HostCounts):
 *   flows, bytes and rejected flows each way, distinct peers, distinct ports it probed and
 *   distinct ports of its own probed (responses, as `response` says, left out of both). The
 *   Lambda fits the forest on the rows (anomalyFindings), so every internal host of the range is
 *   a row: the query has no threshold. Distinct counts are exact here, HyperLogLog estimates in
 *   the engine (32 registers, about 18% error), so scores differ slightly between the two.
 * - log-skipped: the count of SKIPDATA records per interface (one count for a format without an
 *   interface field), and their first and last start.
 */

/** The run-wide rules' ids (anomaly.ts). */
export const ANOMALY_RULE = "anomaly";
export const SKIPPED_RULE = "log-skipped";

/** A host's counts (anomaly.ts HostCounts) over rows with host, outward, peer, probed, bytes, rejected and window_start. */
const HOST_MEASURES = [
  "sum(CASE WHEN outward THEN 1 ELSE 0 END) AS flows_out", "sum(CASE WHEN outward THEN 0 ELSE 1 END) AS flows_in",
  "sum(CASE WHEN outward THEN bytes ELSE 0 END) AS bytes_out", "sum(CASE WHEN outward THEN 0 ELSE bytes END) AS bytes_in",
  "count(DISTINCT peer) AS peers",
  "count(DISTINCT CASE WHEN outward THEN probed END) AS ports_probed", "count(DISTINCT CASE WHEN outward THEN NULL ELSE probed END) AS ports_probed_on",
  "sum(CASE WHEN rejected THEN 1 ELSE 0 END) AS rejected", "min(window_start) AS first_window", "max(window_start) AS last_window",
].join(", ");

/** The anomaly rule's query: a row per internal host (see above). */
export function anomalyQuery(o: QueryOptions, tables = (seconds: number, response: boolean) => commonTables(o, seconds, response)): RuleQuery {
  const t = longHorizon(o.thresholds);
  const seconds = t.windowSeconds;
  const sql = [
    `WITH ${tables(seconds, true)},`,
    // Each flow counts for its source when inside, and for its destination when inside: g read
    // once (a CTE referenced twice is read, and billed, twice), each row paired with both sides.
    "h AS (SELECT CASE WHEN outward THEN src ELSE dst END AS host, outward, CASE WHEN outward THEN dst ELSE src END AS peer, " +
      `iface, "start", window_start, bytes, rejected, CASE WHEN response THEN NULL ELSE port END AS probed FROM g CROSS JOIN (VALUES (TRUE), (FALSE)) AS s(outward) WHERE CASE WHEN outward THEN src_inside ELSE dst_inside END)`,
    `SELECT host, ${firstInterface(o.dialect)} AS interface_id, ${HOST_MEASURES}`,
    "FROM h",
    "GROUP BY host",
    "ORDER BY host",
  ].join("\n");
  return Object.freeze({ rule: ANOMALY_RULE, horizon: "long" as const, horizonSeconds: seconds, sql, thresholds: t });
}

/** The log-skipped query (see above), a row per interface with SKIPDATA records; none for a format without log-status. */
export function skippedQuery(o: QueryOptions): RuleQuery | undefined {
  if (!new Set(o.fields ?? DEFAULT_FIELD_NAMES).has("log-status")) return undefined;
  const t = longHorizon(o.thresholds);
  const fields = new Set(o.fields ?? DEFAULT_FIELD_NAMES);
  const start = `coalesce(CAST("start" AS BIGINT), 0)`;
  // Per interface (the one past flow-log capacity), so two interfaces' counts are two findings;
  // without an interface field, one count, and HAVING: no row when there is none, as every other query.
  const field = fields.has("interface-id") ? "interface-id" : fields.has("tgw-attachment-id") ? "tgw-attachment-id" : undefined;
  const iface = field && `NULLIF("${athenaColumn(field)}", '-')`;
  const sql = `SELECT ${iface ? `${iface} AS interface_id, ` : ""}count(*) AS skipdata, min(${start}) AS first_start, max(${start}) AS last_start FROM ${o.table} WHERE "log_status" = 'SKIPDATA'${o.where !== undefined ? ` AND (${o.where})` : ""}` +
    (iface ? ` GROUP BY ${iface} ORDER BY 1` : " HAVING count(*) > 0");
  return Object.freeze({ rule: SKIPPED_RULE, horizon: "long" as const, horizonSeconds: t.windowSeconds, sql, thresholds: t });
}

/** The earliest record's interface, ties to the smallest ("" when none). */
const firstInterface = (dialect: SqlDialect) =>
  dialect === "duckdb" ? `arg_min(coalesce(iface, ''), {'s': "start", 'i': coalesce(iface, '')})` : `substr(min(lpad(CAST("start" AS VARCHAR), 16, '0') || '|' || coalesce(iface, '')), 18)`;

/**
 * The anomaly rule's findings from its query's rows, through anomalyFindings as the engine's: a
 * row per internal host (anomalyQuery), or per host and side from the Logs Insights parts
 * (cloudwatchAnomalyQuery), merged by host.
 */
function anomalyFindingsFromRows(q: Pick<RuleQuery, "horizonSeconds" | "thresholds">, rows: readonly Readonly<Record<string, string>>[]): Finding[] {
  if (rows.length === 0) return [];
  let first = Infinity;
  let last = -Infinity;
  type Mutable = { -readonly [K in keyof HostCounts]: HostCounts[K] } & { seen: string };
  const hosts = new Map<string, Mutable>();
  const value = (r: Readonly<Record<string, string>>, k: string) => Number(r[k] || 0);
  for (const r of rows) {
    first = Math.min(first, Number(r.first_window));
    last = Math.max(last, Number(r.last_window));
    const name = r.host!;
    const h = hosts.get(name) ?? { name, seen: "", flowsOut: 0, flowsIn: 0, bytesOut: 0, bytesIn: 0, peers: 0, portsProbed: 0, portsProbedOn: 0, rejected: 0 };
    hosts.set(name, h);
    // The earliest record's interface: given, or the smallest "<start, 16 digits>|<interface>" of the parts.
    if (r.interface_id !== undefined) h.seen = `|${r.interface_id}`;
    else if (r.first_seen && (h.seen === "" || r.first_seen < h.seen)) h.seen = r.first_seen;
    h.flowsOut += value(r, "flows_out");
    h.flowsIn += value(r, "flows_in");
    h.bytesOut += value(r, "bytes_out");
    h.bytesIn += value(r, "bytes_in");
    h.peers = Math.max(h.peers, value(r, "peers"), value(r, "peers_out"), value(r, "peers_in"));
    h.portsProbed += value(r, "ports_probed");
    h.portsProbedOn += value(r, "ports_probed_on");
    h.rejected += value(r, "rejected") + value(r, "rejected_out") + value(r, "rejected_in");
  }
  const counts: HostCounts[] = [...hosts.values()].map(({ seen, ...h }) => ({ ...h, interfaceId: seen.slice(seen.indexOf("|") + 1) || undefined }));
  const suppressions = new Suppressions(q.thresholds.suppress);
  return anomalyFindings(counts, q.thresholds, { start: first, end: last + q.horizonSeconds }).filter((f) => !suppressions.match(f));
}

/** The log-skipped finding of its query's row (none when it counts none). */
function skippedFindingsFromRows(q: Pick<RuleQuery, "horizonSeconds" | "thresholds">, rows: readonly Readonly<Record<string, string>>[]): Finding[] {
  const suppressions = new Suppressions(q.thresholds.suppress);
  const s = q.horizonSeconds;
  return rows.flatMap((row) => {
    const skipped = Number(row.skipdata ?? 0);
    if (!(skipped > 0)) return [];
    const first = Number(row.first_start);
    const last = Number(row.last_start);
    const f = skippedFinding(skipped, { start: first - (first % s), end: last - (last % s) + s }, row.interface_id || undefined);
    return suppressions.match(f) ? [] : [f];
  });
}

/** A beacon series' measures over its points' start column and `gap` (NULL for its first point). */
const BEACON_MEASURES = (start: string) =>
  `count(*) AS flows, min(${start}) AS first_start, max(${start}) AS last_start, coalesce(sum(gap), 0) AS gap_sum, coalesce(sum(gap * gap), 0) AS gap_squares`;

/**
 * The series worth a row: enough points, not all at one time, and n * sum(g^2) - sum(g)^2 <=
 * jitter^2 * sum(g)^2 (jitter = sd / mean, squared), in DOUBLE with a relative margin: the exact
 * test is beaconFinding's, on the row's integers.
 */
function beaconHaving(t: DetectorThresholds, start: string): string {
  const jitter = num(t.beaconMaxJitter);
  return `count(*) >= ${num(C2_BEACONING.minPoints(t))} AND max(${start}) > min(${start}) AND ` +
    `CAST(count(gap) AS DOUBLE) * sum(gap * gap) - CAST(sum(gap) AS DOUBLE) * sum(gap) <= ${jitter} * ${jitter} * 1.000000001 * CAST(sum(gap) AS DOUBLE) * sum(gap)`;
}

/** Findings of the beacon query's rows (every value a string), through beaconFinding as the engine's. */
function beaconFindingsFromRows(t: DetectorThresholds, rows: readonly Readonly<Record<string, string>>[]): Finding[] {
  const suppressions = new Suppressions(t.suppress);
  const out: Finding[] = [];
  for (const row of rows) {
    const flows = Number(row.flows);
    const f = beaconFinding({
      src: row.src!, dst: row.dst!, port: Number(row.port), interfaceId: row.interface_id || undefined,
      flows, points: flows, first: Number(row.first_start), last: Number(row.last_start), gapSum: Number(row.gap_sum), gapSquares: Number(row.gap_squares),
    }, t);
    if (f && !suppressions.match(f)) out.push(f);
  }
  return out;
}

/** snake_case of a measure name: Athena returns column names in lower case. */
const column = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const KEY_COLUMN: Readonly<Record<Key, string>> = Object.freeze({ src: "src", dst: "dst", port: "port", protocol: "protocol", interface: "iface" });

function render(d: RuleDeclaration, records: RuleDeclaration["records"], dialect: SqlDialect, t: DetectorThresholds, seconds: number, tables: (seconds: number, response: boolean) => string): string {
  const needsResponse = JSON.stringify([records, d.measures]).includes('"response"');
  const from = needsResponse ? "g" : "f";
  const keys = d.keys.map((k) => KEY_COLUMN[k]);
  const pred = (p: Predicate) => predicate(p, t);
  const measure = (m: Measure) => aggregate(m, dialect, pred);
  const measures = Object.entries(d.measures).map(([name, m]) => `${measure(m)} AS ${column(name)}`);
  const term = (x: Term): string => sqlTerm(x, t, (name) => measure(d.measures[name]!));
  const iface = d.keys.includes("interface") ? "iface" : firstInterface(dialect);
  const select = [...keys.map((k, i) => `${k} AS ${d.keys[i] === "interface" ? "interface_id" : k}`), "window_start", ...(d.keys.includes("interface") ? [] : [`${iface} AS interface_id`]), ...measures];
  return [
    `WITH ${tables(seconds, needsResponse)}`,
    `SELECT ${select.join(", ")}`,
    `FROM ${from}`,
    ...(records === "every flow" ? [] : [`WHERE ${pred(records)}`]),
    `GROUP BY ${[...keys, "window_start"].join(", ")}`,
    ...("always" in d.having ? [] : [`HAVING ${condition(d.having, term)}`]),
    `ORDER BY ${["window_start", ...keys].join(", ")}`,
  ].join("\n");
}

/** The r, f (and g) tables every query starts from. */
function commonTables(o: QueryOptions, seconds: number, withResponse: boolean): string {
  const fields = new Set(o.fields ?? DEFAULT_FIELD_NAMES);
  const text = (field: string) => (fields.has(field) ? `NULLIF("${athenaColumn(field)}", '-')` : "CAST(NULL AS VARCHAR)");
  const number = (field: string) => (fields.has(field) ? `CAST("${athenaColumn(field)}" AS BIGINT)` : "CAST(NULL AS BIGINT)");
  // Packets, bytes and lost counts: a missing or negative value is 0, as in the engine.
  const nonNegative = (field: string) => (fields.has(field) ? `greatest(coalesce(${number(field)}, 0), 0)` : "CAST(0 AS BIGINT)");
  // The packet-level address when the format logs it.
  const address = (pkt: string, plain: string) => (fields.has(pkt) ? `coalesce(${text(pkt)}, ${text(plain)})` : text(plain));
  const iface = fields.has("interface-id") ? text("interface-id") : text("tgw-attachment-id");
  // An AWS service's address (FLOW_FACTS srcAwsService): any value but "-" and EC2; FALSE when not logged.
  const service = (field: string) => (fields.has(field) ? `coalesce(${text(field)} <> ${literal(AWS_SERVICE_NOT_A_SERVICE)}, FALSE)` : "FALSE");
  const start = `coalesce(${number("start")}, 0)`;
  const status = fields.has("log-status") ? `coalesce(${text("log-status")}, 'OK') = 'OK'` : "TRUE";
  const fieldsSql = [
    `${address("pkt-srcaddr", "srcaddr")} AS src`,
    `${address("pkt-dstaddr", "dstaddr")} AS dst`,
    `${iface} AS iface`,
    `${number("srcport")} AS srcport`,
    `${number("dstport")} AS port`,
    `${number("protocol")} AS protocol`,
    `${nonNegative("packets")} AS packets`,
    `${nonNegative("bytes")} AS bytes`,
    `${start} AS "start"`,
    `${start} - ${start} % ${seconds} AS window_start`,
    `${start} - ${start} % ${o.thresholds.long.windowSeconds} AS long_window`,
    `coalesce(${text("action")} = 'REJECT', FALSE) AS rejected`,
    `${text("flow-direction")} AS direction`,
    `${service("pkt-src-aws-service")} AS src_aws_service`,
    `${service("pkt-dst-aws-service")} AS dst_aws_service`,
    // Absent tcp-flags read as the engine's -1: no flag decides.
    `${fields.has("tcp-flags") ? `coalesce(${number("tcp-flags")}, -1)` : "CAST(-1 AS BIGINT)"} AS tcp_flags`,
    `${nonNegative("packets-lost-no-route")} AS lost_no_route`,
    `${nonNegative("packets-lost-blackhole")} AS lost_blackhole`,
    `${nonNegative("packets-lost-mtu-exceeded")} AS lost_mtu_exceeded`,
    `${nonNegative("packets-lost-ttl-expired")} AS lost_ttl_expired`,
  ];
  const where = [status, ...(o.where !== undefined ? [`(${o.where})`] : [])];
  const t = o.thresholds;
  const n = t.network;
  const threats = t.threatIntel.flatMap((l) => l.entries);
  const allowed = t.allowedSources.length === 0 ? "" : ` AND src NOT IN (${t.allowedSources.map(literal).join(", ")})`;
  const r = `r AS (SELECT ${fieldsSql.join(", ")} FROM ${o.table} WHERE ${where.join(" AND ")})`;
  const sets = { inside: n.cidrs, nat: n.natGateways, lb: n.loadBalancers, resolver: approvedResolvers(n), threat: threats };
  const tables: string[] = [];
  if (o.dialect === "athena") {
    const member = (a: string, entries: readonly string[]) => athenaMembership(a, entries);
    const flags = [
      `${member("src", sets.inside)} AS src_inside`,
      `${member("dst", sets.inside)} AS dst_inside`,
      `${member("src", sets.nat)} AS src_nat`,
      `${member("dst", sets.nat)} AS dst_nat`,
      `${member("src", sets.lb)} AS src_lb`,
      `${member("dst", sets.lb)} AS dst_lb`,
      `${member("dst", sets.resolver)} AS dst_resolver`,
      `${member("src", threats)} AS src_threat`,
      `${member("dst", threats)} AS dst_threat`,
    ];
    // One pass over the table: the context per record (a second reference to r would scan again).
    tables.push(r, `f AS (SELECT r.*, ${flags.join(", ")} FROM r WHERE src IS NOT NULL AND dst IS NOT NULL${allowed})`);
  } else {
    // DuckDB works the context out once per distinct address (as the engine does), and keeps
    // the addresses and f once for their two references each (measured faster than reading again).
    const flags = Object.entries(sets).map(([name, entries]) => `${duckdbMembership("k", entries)} AS ${name}`);
    tables.push(
      r,
      `addresses AS MATERIALIZED (SELECT a, ${flags.join(", ")} FROM (SELECT a, ${duckdbKey("a")} AS k FROM (SELECT src AS a FROM r UNION SELECT dst FROM r) WHERE a IS NOT NULL))`,
      `f AS MATERIALIZED (SELECT r.*, s.inside AS src_inside, d.inside AS dst_inside, s.nat AS src_nat, d.nat AS dst_nat, s.lb AS src_lb, d.lb AS dst_lb, d.resolver AS dst_resolver, s.threat AS src_threat, d.threat AS dst_threat ` +
        `FROM r JOIN addresses s ON s.a = r.src JOIN addresses d ON d.a = r.dst WHERE TRUE${allowed})`,
    );
  }
  if (withResponse) {
    const bit = (mask: number) => (o.dialect === "athena" ? `bitwise_and(tcp_flags, ${mask})` : `(tcp_flags & ${mask})`);
    // TCP flags decide when logged: SYN-ACK (flow logs record ACK only with SYN) answers, SYN alone opens.
    const flagsDecide = `(protocol = 6 AND tcp_flags > 0 AND ${bit(18)} <> 0)`;
    const peers = Math.min(t.listenerPeers, 3);
    // A listener: a port below its peers' that accepted flows to enough distinct peer ports in the long window.
    const learn = `(port IS NOT NULL AND NOT rejected AND NOT ${flagsDecide} AND srcport IS NOT NULL AND srcport < port)`;
    const answers = (listener: string) =>
      `(port IS NULL OR src_lb OR dst_lb OR (dst_nat AND NOT src_inside) OR src_aws_service OR (NOT (rejected AND (direction = 'ingress' OR (direction IS NULL AND NOT src_inside))) AND ` +
      `CASE WHEN ${flagsDecide} THEN ${bit(16)} <> 0 ELSE coalesce(srcport < port AND ${listener}, FALSE) END)) AS response`;
    if ((o.listeners ?? (o.dialect === "athena" ? "window" : "join")) === "window") {
      // Window functions over (host, port, long window): at least one distinct peer port is a
      // lowest one, two a lowest below a highest, three one strictly between them.
      const over = "OVER (PARTITION BY src, srcport, long_window)";
      tables.push(
        `l AS (SELECT f.*, min(CASE WHEN ${learn} THEN port END) ${over} AS peer_lo, max(CASE WHEN ${learn} THEN port END) ${over} AS peer_hi FROM f)`,
        `m AS (SELECT l.*, max(CASE WHEN ${learn} AND port > peer_lo AND port < peer_hi THEN 1 ELSE 0 END) ${over} AS peer_mid FROM l)`,
        `g AS (SELECT m.*, ${answers(peers <= 1 ? "peer_lo IS NOT NULL" : peers === 2 ? "peer_lo < peer_hi" : "peer_mid = 1")} FROM m)`,
      );
    } else {
      tables.push(
        `listeners AS (SELECT src AS host, srcport AS host_port, long_window AS host_window FROM f WHERE ${learn} GROUP BY src, srcport, long_window HAVING count(DISTINCT port) >= ${peers})`,
        `g AS (SELECT f.*, ${answers("l.host IS NOT NULL")} FROM f LEFT JOIN listeners l ON l.host = f.src AND l.host_port = f.srcport AND l.host_window = f.long_window)`,
      );
    }
  }
  return tables.join(",\n");
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The SQL of a flow fact (declarations.ts FLOW_FACTS). */
const FACT_SQL: Readonly<Record<FlowFact, string>> = Object.freeze({
  rejected: "rejected",
  inbound: "(direction = 'ingress' OR (direction IS NULL AND NOT src_inside))",
  response: "response",
  egress: "(src_inside AND NOT dst_inside AND NOT rejected AND coalesce(direction, '') <> 'ingress' AND NOT src_nat AND NOT dst_aws_service)",
  srcInside: "src_inside",
  dstInside: "dst_inside",
  srcNatGateway: "src_nat",
  dstApprovedResolver: "dst_resolver",
  srcAwsService: "src_aws_service",
  dstAwsService: "dst_aws_service",
  srcThreat: "src_threat",
  dstThreat: "dst_threat",
});

const NUMBER_SQL: Readonly<Record<FlowNumber, string>> = Object.freeze({
  port: "port",
  protocol: "protocol",
  packets: "packets",
  bytes: "bytes",
  tcpFlags: "tcp_flags",
  packetsLostNoRoute: "lost_no_route",
  packetsLostBlackhole: "lost_blackhole",
  packetsLostMtuExceeded: "lost_mtu_exceeded",
  packetsLostTtlExpired: "lost_ttl_expired",
});

function num(n: number): string {
  if (!Number.isFinite(n)) throw new DetectorError(`detectors.thresholds: a threshold the rules' SQL compares with must be a finite number (got ${n}). Set it to a number.`);
  return String(n);
}

function predicate(p: Predicate, t: DetectorThresholds): string {
  if (typeof p === "string") return FACT_SQL[p];
  if ("not" in p) return `NOT ${predicate(p.not, t)}`;
  if ("all" in p) return `(${p.all.map((x) => predicate(x, t)).join(" AND ")})`;
  if ("any" in p) return `(${p.any.map((x) => predicate(x, t)).join(" OR ")})`;
  const field = NUMBER_SQL[p.field];
  if ("in" in p) {
    const values = typeof p.in === "string" ? t[p.in] : p.in;
    return values.length === 0 ? "FALSE" : `coalesce(${field} IN (${values.map(num).join(", ")}), FALSE)`;
  }
  if ("equals" in p) return `coalesce(${field} = ${num(p.equals)}, FALSE)`;
  if ("above" in p) return `coalesce(${field} > ${num(p.above)}, FALSE)`;
  const limit = typeof p.atMost === "number" ? p.atMost : t[p.atMost.threshold] * (p.atMost.times ?? 1);
  return `coalesce(${field} <= ${num(limit)}, FALSE)`;
}

function aggregate(m: Measure, dialect: SqlDialect, pred: (p: Predicate) => string): string {
  const when = (where: Predicate | undefined, value: string) => (where === undefined ? value : `CASE WHEN ${pred(where)} THEN ${value} END`);
  if ("count" in m) return m.where === undefined ? "count(*)" : `count(${when(m.where, "1")})`;
  if ("sum" in m) return `coalesce(sum(${when(m.where, NUMBER_SQL[m.sum])}), 0)`;
  if ("distinct" in m) return `count(DISTINCT ${when(m.where, m.distinct)})`;
  if ("any" in m) return `max(CASE WHEN ${pred(m.any)} THEN 1 ELSE 0 END)`;
  if ("first" in m) {
    const parts = m.first.map((x) => (x === "port" ? "CAST(port AS VARCHAR)" : x));
    return `coalesce(substr(min(${when(m.where, `lpad(CAST("start" AS VARCHAR), 16, '0') || '|' || ${parts.join(" || '|' || ")}`)}), 18), '')`;
  }
  const value = when(m.where, NUMBER_SQL[m.list]);
  return dialect === "athena" ? `array_join(array_agg(DISTINCT ${value}), ',')` : `coalesce(string_agg(DISTINCT CAST(${value} AS VARCHAR), ','), '')`;
}

function sqlTerm(x: Term, t: DetectorThresholds, measure: (name: string) => string): string {
  if (typeof x === "string") return measure(x);
  if (typeof x === "number") return num(x);
  if ("threshold" in x) return num(t[x.threshold] * (x.times ?? 1));
  if ("sum" in x) return `(${x.sum.map((y) => sqlTerm(y, t, measure)).join(" + ")})`;
  if ("times" in x) return `(${sqlTerm(x.times[0], t, measure)} * ${sqlTerm(x.times[1], t, measure)})`;
  return `round(CAST(${sqlTerm(x.roundedRatio[0], t, measure)} AS DOUBLE) / ${sqlTerm(x.roundedRatio[1], t, measure)})`;
}

function condition(c: Condition, term: (x: Term) => string): string {
  if ("always" in c) return "TRUE";
  if ("all" in c) return `(${c.all.map((x) => condition(x, term)).join(" AND ")})`;
  if ("any" in c) return `(${c.any.map((x) => condition(x, term)).join(" OR ")})`;
  if ("atLeast" in c) return `${term(c.atLeast[0])} >= ${term(c.atLeast[1])}`;
  if ("above" in c) return `${term(c.above[0])} > ${term(c.above[1])}`;
  return `${term(c.atMost[0])} <= ${term(c.atMost[1])}`;
}

/*
 * Address membership. Athena: contains(cidr, CAST(address AS IPADDRESS)), IPv4 prefixes only for
 * addresses written as IPv4 and IPv6 prefixes only for addresses written as IPv6 (Trino keeps
 * IPv4 as IPv4-mapped IPv6, where the engine keeps the families apart). DuckDB has no inet
 * extension here: an address becomes a fixed-width hex key ("4" and 8 digits, or "6" and 32),
 * and a prefix is a range of keys. IPv6 written with an embedded IPv4 tail (::ffff:1.2.3.4) has
 * no key in DuckDB and matches no prefix; the engine reads it as IPv6.
 * @see https://trino.io/docs/current/functions/ipaddress.html
 */
function prefixesOf(entries: readonly string[]): ParsedPrefix[] {
  return entries.map((e) => {
    const p = parsePrefix(e);
    if (typeof p === "string") throw new DetectorError(`network: an entry ${p} (got ${JSON.stringify(e)}). Give an IPv4 or IPv6 address or CIDR.`);
    return p;
  });
}

function athenaMembership(a: string, entries: readonly string[]): string {
  const prefixes = prefixesOf(entries);
  if (prefixes.length === 0) return "FALSE";
  const ip = `TRY_CAST(${a} AS IPADDRESS)`;
  const any = (ps: ParsedPrefix[]) => ps.map((p) => `contains('${prefixText(p)}', ${ip})`).join(" OR ");
  const v4 = prefixes.filter((p) => !p.v6);
  const v6 = prefixes.filter((p) => p.v6);
  const parts = [
    ...(v4.length > 0 ? [`(strpos(${a}, ':') = 0 AND (${any(v4)}))`] : []),
    ...(v6.length > 0 ? [`(strpos(${a}, ':') > 0 AND (${any(v6)}))`] : []),
  ];
  return `coalesce(${parts.join(" OR ")}, FALSE)`;
}

/** DuckDB: whether the hex key k (duckdbKey) is in one of the prefixes. */
function duckdbMembership(k: string, entries: readonly string[]): string {
  const prefixes = prefixesOf(entries);
  if (prefixes.length === 0) return "FALSE";
  const ranges = prefixes.map((p) => {
    const [lo, hi] = keyRange(p);
    return lo === hi ? `${k} = '${lo}'` : `${k} BETWEEN '${lo}' AND '${hi}'`;
  });
  return `coalesce(${ranges.join(" OR ")}, FALSE)`;
}

/** A prefix as text (an address alone gets /32 or /128). */
function prefixText(p: ParsedPrefix): string {
  if (!p.v6) return `${Array.from(p.bytes).join(".")}/${p.length}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((p.bytes[2 * i]! << 8) | p.bytes[2 * i + 1]!).toString(16));
  return `${groups.join(":")}/${p.length}`;
}

/** The lowest and highest DuckDB key of a prefix. */
function keyRange(p: ParsedPrefix): [string, string] {
  const bits = p.v6 ? 128 : 32;
  const lo = new Uint8Array(bits / 8);
  const hi = new Uint8Array(bits / 8);
  for (let i = 0; i < bits / 8; i++) {
    const keep = Math.max(0, Math.min(8, p.length - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    lo[i] = p.bytes[i]! & mask;
    hi[i] = (p.bytes[i]! & mask) | (~mask & 0xff);
  }
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const family = p.v6 ? "6" : "4";
  return [family + hex(lo), family + hex(hi)];
}

/** DuckDB: the hex key of an address column (NULL when it is no plain IPv4 or IPv6 address). */
function duckdbKey(a: string): string {
  const v4 = `'4' || printf('%02x%02x%02x%02x', ${[1, 2, 3, 4].map((i) => `CAST(split_part(${a}, '.', ${i}) AS INTEGER)`).join(", ")})`;
  const lower = `lower(${a})`;
  const half = (i: number) => `CASE WHEN split_part(${lower}, '::', ${i}) = '' THEN []::VARCHAR[] ELSE string_split(split_part(${lower}, '::', ${i}), ':') END`;
  const v6 = `'6' || list_reduce(list_transform(list_transform([[${half(1)}, ${half(2)}]], h -> h[1] || list_transform(range(8 - len(h[1]) - len(h[2])), x -> '0') || h[2])[1], g -> lpad(g, 4, '0')), (x, y) -> x || y)`;
  return `CASE WHEN regexp_full_match(${a}, '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}') THEN ${v4} WHEN strpos(${a}, ':') > 0 AND strpos(${a}, '.') = 0 THEN ${v6} END`;
}

/** Rows as read from a query's CSV result (every value a string), to findings identical in id and fields to the engine's. */
export function findingsFromRows(q: Pick<RuleQuery, "rule" | "horizonSeconds" | "thresholds"> & { readonly horizon?: Horizon; readonly lists?: RuleQuery["lists"] }, rows: readonly Readonly<Record<string, string>>[]): Finding[] {
  if (q.rule === C2_BEACONING.id) return beaconFindingsFromRows(q.thresholds, rows);
  if (q.rule === ANOMALY_RULE) return anomalyFindingsFromRows(q, rows);
  if (q.rule === SKIPPED_RULE) return skippedFindingsFromRows(q, rows);
  const d = byId.get(q.rule);
  if (!d) throw new DetectorError(`detector: no rule declaration ${JSON.stringify(q.rule)} (got ${JSON.stringify(q.rule)}). Use a RuleQuery from ruleQueries().`);
  const t = q.thresholds;
  const context = new AddressContext(t);
  const suppressions = new Suppressions(t.suppress);
  const out: Finding[] = [];
  for (const row of rows) {
    const n: Record<string, number> = {};
    const values: Record<string, (string | number)[]> = {};
    for (const [name, m] of Object.entries(d.measures)) {
      const raw = row[column(name)] ?? "";
      if ("first" in m) {
        const parts = raw === "" ? [] : raw.split("|");
        values[name] = m.first.map((x, i) => (x === "port" ? Number(parts[i]) : parts[i] ?? ""));
      } else if ("list" in m) {
        const bits = q.lists?.[name];
        values[name] = bits ? bits.filter((_, i) => Math.floor(Number(raw || 0) / 2 ** i) % 2 === 1) : raw.split(",").filter((x) => x !== "").map(Number).sort((a, b) => a - b);
      }
      else n[name] = Number(raw);
    }
    if (!conditionHolds(d.having, n, t)) continue;
    const evidence = evidenceOf(d, n, t);
    // A long-horizon finding says so (which also keeps its id apart from the short window starting at the same time).
    if (q.horizon === "long") evidence.horizonSeconds = q.horizonSeconds;
    const severity = severityOf(d, n, t);
    const text = (k: Key) => (d.keys.includes(k) ? row[k] : undefined);
    const number = (k: Key) => (d.keys.includes(k) ? Number(row[k]) : undefined);
    const interfaceId = row.interface_id || undefined;
    const port = number("port");
    const described: Described = {
      src: text("src"), dst: text("dst"), port, protocol: number("protocol"), interfaceId,
      n: { ...n, ...evidence }, values, seconds: q.horizonSeconds, threatList: (a) => context.threatList(a),
    };
    const f = finding({
      rule: ruleOf(d, port), severity,
      // The first-destination condition reads the measures alone, as the engine's does.
      ...endpointsOf(d, { ...described, n }, t),
      interfaceId,
      window: { start: Number(row.window_start), end: Number(row.window_start) + q.horizonSeconds },
      evidence,
      description: d.describe(described),
    });
    if (!suppressions.match(f)) out.push(f);
  }
  return out;
}

/**
 * The findings of every query of a run together, as the engine reports them: a long-horizon
 * finding only when no short window within it found the same rule and endpoints (a fast scan
 * is not reported again as a slow one), and one finding per id, the most severe.
 */
export function mergeHorizons(findings: readonly Finding[]): Finding[] {
  const key = (f: Finding) => `${f.rule}|${f.src ?? ""}|${f.dst ?? ""}|${f.port ?? ""}`;
  const shortStarts = new Map<string, number[]>();
  for (const f of findings) {
    if (f.evidence.horizonSeconds !== undefined) continue;
    const starts = shortStarts.get(key(f)) ?? [];
    starts.push(f.window.start);
    shortStarts.set(key(f), starts);
  }
  const byId = new Map<string, Finding>();
  for (const f of findings) {
    if (f.evidence.horizonSeconds !== undefined && (shortStarts.get(key(f)) ?? []).some((s) => s >= f.window.start && s < f.window.end)) continue;
    const prev = byId.get(f.id);
    if (!prev || SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(prev.severity)) byId.set(f.id, f);
  }
  return [...byId.values()];
}

/*
 * CloudWatch Logs Insights in OpenSearch SQL (StartQuery queryLanguage "SQL"): every windowed
 * rule, for environments without an archive with Athena, aggregated where the data lives, so the
 * detector reads only the rows past thresholds, as on Athena.
 *
 * What AWS documents, and how the rendering keeps to it:
 * - No common table expressions ("Common table expression … CloudWatch Logs: Not supported"),
 *   "only one JOIN in a SELECT statement", "only one level of nested subqueries", no multiple
 *   statements, no two field names differing only in case; JOIN must say INNER or LEFT OUTER.
 *   So a query is one SELECT over one subquery of the log group: the subquery extracts each
 *   record's fields and works out its listener count with window functions (documented as
 *   supported); the outer SELECT groups, counts and applies the threshold. No JOIN: the log group
 *   is read, and billed, once per query (a self-join would read it twice).
 * - The log group is named in FROM as `logGroups(logGroupIdentifier: ['<name>'])`, AWS's form
 *   for a name with slashes (the kit's all have them), and StartQuery gets no logGroupName ("The
 *   exception is queries using the OpenSearch Service SQL query language, where you specify the
 *   log group names inside the querystring"); `@message` needs backticks too.
 * - "Functions and expressions must operate on field names": the subquery selects only
 *   expressions of `@message`, and only the columns its rule reads; a column whose field the
 *   format lacks is written into the outer query as its constant (NULL, 0, -1, FALSE).
 * - Fields come from `@message` by position with split_part (documented string function), so
 *   every format the kit writes works (default, custom version 3-8, transit gateway) without
 *   relying on field discovery, which covers the default VPC format only.
 * - The time range: StartQuery's startTime/endTime (required) and a WHERE on the record's
 *   `start` on every query. "In CloudWatch Logs, the timestamp field corresponds to the start
 *   time that's captured in the flow log record", so both select the same records.
 * - Query strings are at most 10,000 characters (StartQuery queryString). Synth refuses a query
 *   past 9,000 (CLOUDWATCH_SYNTH_MAX_QUERY_CHARS), keeping room for threat lists read from S3 at
 *   run time; at run time a query past 10,000 is left out and reported by rule, naming the input
 *   that made it long (cloudwatchRuleSet), and the other rules run.
 * - Rows: LIMIT 10001 in the query (StartQuery's `limit` is documented for the Logs Insights
 *   query language only), so more than 10,000 rows tells a capped result.
 * - Functions used: split_part, NULLIF, coalesce, CAST, CASE, LIKE, replace, repeat, length,
 *   lower, concat, concat_ws, regexp_replace, substr, lpad, greatest, round, the & operator,
 *   count(*), count(DISTINCT …), sum, min, max, dense_rank() and min() OVER (PARTITION BY …).
 *   count(DISTINCT) is what the documentation's aggregate example uses; AWS does not say it is
 *   approximate (approx_count_distinct is a separate Spark function), so the counts are taken as
 *   exact, like Athena's.
 * - Distinct listener peers without count(DISTINCT) OVER (Spark has none): with the record's
 *   value v (its port when it teaches a listener, else -1), dense_rank ascending plus descending
 *   minus one is the number of distinct v in the partition on every row; minus one more when a
 *   -1 is among them.
 * - Addresses become text keys for range tests (no inet type): IPv4 "4" and each octet as three
 *   decimal digits, IPv6 "6" and 32 hex digits (the "::" expanded with repeat, groups padded
 *   with regexp_replace); a prefix is a range of keys, as in the DuckDB rendering.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData_SQL.html
 * @see https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-directquery-sql.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html
 * @see https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html
 */

/** Logs Insights' longest query string (StartQuery queryString, any language). */
export const INSIGHTS_MAX_QUERY_CHARS = 10_000;

/**
 * The longest query synth accepts. The rest of the 10,000 is room for what only a run adds:
 * threat lists read from S3 on every run (detectors.threatIntel[].s3) can grow in their bucket
 * without a deployment, and a list that grows past the room stops only the queries it makes too
 * long (cloudwatchRuleSet), never the others.
 */
export const CLOUDWATCH_SYNTH_MAX_QUERY_CHARS = 9_000;

/**
 * The LIMIT of every query: one row more than Logs Insights returns of a query, so a run that
 * gets more than 10,000 rows knows groups were left out. StartQuery's `limit` parameter is
 * documented for the Logs Insights query language only; SQL says it in the query.
 */
export const CLOUDWATCH_QUERY_ROW_LIMIT = 10_001;

export interface CloudWatchQueryOptions {
  /** The log group the query reads (named in FROM, as logGroups(logGroupIdentifier: [...])). */
  readonly logGroupName: string;
  /** The catalog names of the log group's record fields, in record order (its LogFormat's names). */
  readonly fields: readonly string[];
  readonly thresholds: DetectorThresholds;
  /** Unix seconds: the records whose `start` is in [start, end). */
  readonly start: number;
  readonly end: number;
  /**
   * The longest query returned; a longer one is left out and reported (cloudwatchRuleSet).
   * @default INSIGHTS_MAX_QUERY_CHARS
   */
  readonly maxChars?: number;
}

/** A rule's query left out for its length, with what made it long and what to do. */
export interface TooLongQuery {
  readonly rule: string;
  readonly horizon: Horizon;
  readonly chars: number;
  readonly maxChars: number;
  /** `<setting>: <problem> (got <value>). <fix>`, naming the input that takes most of the query. */
  readonly message: string;
}

/**
 * Every windowed rule as an OpenSearch SQL query over a log group, one per declaration and
 * horizon, and c2-beaconing: those within maxChars, and the others reported by rule (the rules
 * that fit still run when one list makes another rule's query too long).
 */
export function cloudwatchRuleSet(o: CloudWatchQueryOptions): { readonly queries: readonly RuleQuery[]; readonly tooLong: readonly TooLongQuery[] } {
  const max = o.maxChars ?? INSIGHTS_MAX_QUERY_CHARS;
  const skipped = cloudwatchSkippedQuery(o);
  const all = [...DECLARATIONS.flatMap((d) => d.horizons.map((h) => cloudwatchRuleQuery(d, h, o))), cloudwatchBeaconQuery(o), cloudwatchAnomalyQuery(o), ...(skipped ? [skipped] : [])];
  return {
    queries: all.filter((q) => longest(q) <= max),
    tooLong: all.filter((q) => longest(q) > max).map((q) => ({ rule: q.rule, horizon: q.horizon, chars: longest(q), maxChars: max, message: tooLongMessage(o, q, max) })),
  };
}

/** A query's length: its longest part's. */
const longest = (q: RuleQuery) => Math.max(...statementsOf(q).map((x) => x.length));

/** The statements a query runs: its parts, or its SQL alone. */
export const statementsOf = (q: { readonly sql: string; readonly parts?: readonly string[] }): readonly string[] => q.parts ?? [q.sql];

/** Every rule's query (cloudwatchRuleSet), refusing the set when one is too long, with every reason. */
export function cloudwatchRuleQueries(o: CloudWatchQueryOptions): RuleQuery[] {
  const set = cloudwatchRuleSet(o);
  if (set.tooLong.length > 0) throw new DetectorError(set.tooLong.map((x) => x.message).join("\n"));
  return [...set.queries];
}

/**
 * Why a query is too long: its length without each input that grows it (threat lists, allowed
 * sources, the network's CIDRs), the largest share named first with a fix that input allows;
 * the log format when the query is too long without them all.
 */
function tooLongMessage(o: CloudWatchQueryOptions, q: RuleQuery, max: number): string {
  const length = longest(q);
  const t = o.thresholds;
  const again = (thresholds: DetectorThresholds) => {
    const p = { ...o, thresholds };
    if (q.rule === C2_BEACONING.id) return cloudwatchBeaconQuery(p).sql.length;
    if (q.rule === ANOMALY_RULE) return longest(cloudwatchAnomalyQuery(p));
    if (q.rule === SKIPPED_RULE) return cloudwatchSkippedQuery(p)!.sql.length;
    return cloudwatchRuleQuery(byId.get(q.rule)!, q.horizon, p).sql.length;
  };
  const athena = "or archive the flow logs to S3 with Athena (analytics.athena), whose queries have no such limit";
  const inputs = [
    {
      setting: "detectors.threatIntel", value: `${t.threatIntel.reduce((n, l) => n + l.entries.length, 0)} entries in ${t.threatIntel.length} list${t.threatIntel.length === 1 ? "" : "s"}`,
      share: length - again({ ...t, threatIntel: [] }),
      fix: `Merge the lists' addresses into fewer, wider CIDRs (a list read from S3 at run time too: each entry is written into the query), ${athena}.`,
    },
    {
      setting: "detectors.thresholds.allowedSources", value: `${t.allowedSources.length} address${t.allowedSources.length === 1 ? "" : "es"}`,
      share: length - again({ ...t, allowedSources: [] }),
      fix: `Allow fewer sources: for those whose findings are expected, use detectors.suppress with their sources and a reason instead (applied to the findings, not written into the query), ${athena}.`,
    },
    {
      setting: "network.cidrs", value: `${t.network.cidrs.length} CIDRs`,
      share: length - again({ ...t, network: { ...t.network, cidrs: [] } }),
      fix: `Merge the CIDRs into fewer, wider ones (e.g. the VPCs' common /16), ${athena}.`,
    },
  ].filter((x) => x.share > 0).sort((a, b) => b.share - a.share);
  const over = `${q.rule} (${q.horizon} horizon) ${length} characters, over the ${max}` +
    (max < INSIGHTS_MAX_QUERY_CHARS ? ` allowed (StartQuery accepts ${INSIGHTS_MAX_QUERY_CHARS}; synth keeps the rest for threat lists read from S3 at run time)` : " StartQuery accepts");
  const base = length - inputs.reduce((n, x) => n + x.share, 0);
  if (inputs.length === 0 || base > max) {
    return `the log format (${o.fields.length} fields): makes the Logs Insights SQL query of ${over}, with the lists and CIDRs taking ${length - base} (got ${base} characters without them). ` +
      `Archive the flow logs to S3 with Athena (analytics.athena), whose queries have no such limit; a format without pkt-srcaddr and pkt-dstaddr also writes each address once.`;
  }
  // The input without which the query fits made it long (the lists and sources, added to the
  // environment, before its network); else the one taking the most.
  const top = inputs.find((x) => x.setting !== "network.cidrs" && length - x.share <= max) ?? inputs.find((x) => length - x.share <= max) ?? inputs[0]!;
  const rest = inputs.filter((x) => x !== top);
  return `${top.setting}: makes the Logs Insights SQL query of ${over} (got ${top.value}, taking ${top.share} characters` +
    `${rest.length ? `; also ${rest.map((x) => `${x.setting} ${x.share}`).join(", ")}` : ""}). ${top.fix}`;
}

/** A group's earliest record and its interface, as "<start, 16 digits>|<interface>" (substr from 18: the interface; ties to the smallest). */
const CLOUDWATCH_FIRST_SEEN = "min(lpad(CAST(st AS STRING), 16, '0') || '|' || coalesce(iface, ''))";

function cloudwatchRuleQuery(d: RuleDeclaration, horizon: Horizon, o: CloudWatchQueryOptions): RuleQuery {
  const t = horizon === "long" ? longHorizon(o.thresholds) : o.thresholds;
  const seconds = t.windowSeconds;
  const declared = horizon === "long" ? d.longRecords ?? d.records : d.records;
  // Conditions every measure shares move to WHERE: the query names each fact once (10,000 characters go fast).
  const records = hoisted(declared, Object.values(d.measures));
  const keys = d.keys.map((k) => KEY_COLUMN[k]);
  const pred = (p: Predicate) => predicate(p, t);
  const measure = (m: Measure, values: () => readonly number[]) => cloudwatchAggregate(m, pred, values);
  const measures = Object.entries(d.measures).map(([name, m]) => `${measure(implied(m, records), () => listValues("where" in m ? m.where : undefined, t))} AS ${column(name)}`);
  // HAVING names the measures by their aliases, as AWS's own example does (the query stays short).
  const term = (x: Term): string => sqlTerm(x, t, (name) => column(name));
  const iface = d.keys.includes("interface") ? [] : [`substr(${CLOUDWATCH_FIRST_SEEN}, 18) AS interface_id`];
  const select = [...keys.map((k, i) => `${k} AS ${d.keys[i] === "interface" ? "interface_id" : k}`), "window_start", ...iface, ...measures];
  const body = [
    `SELECT ${select.join(", ")}`,
    `FROM (${"\u0000"}) t`,
    ...(records === "every flow" ? [] : [`WHERE ${pred(records)}`]),
    `GROUP BY ${[...keys, "window_start"].join(", ")}`,
  ].join("\n");
  const having = "always" in d.having ? undefined : `HAVING ${condition(d.having, term)}`;
  const sql = cloudwatchAssemble(o, seconds, expandFacts(body, o.thresholds, new Set(o.fields), records), having, Object.keys(d.measures).map(column));
  const lists = Object.entries(d.measures).filter(([, m]) => "list" in m).map(([name, m]) => [name, listValues("where" in m ? m.where : undefined, t)] as const);
  return Object.freeze({ rule: d.id, horizon, horizonSeconds: seconds, sql, thresholds: t, ...(lists.length ? { lists: Object.fromEntries(lists) } : {}) });
}

/**
 * c2-beaconing in OpenSearch SQL. With one level of subquery, the gaps come from lag() in the
 * subquery, where the `response` fact (its listeners are a window function of the same level)
 * cannot be tested: the lag's partition is (src, dst, port) and the flow's own part of SMALL_WEB
 * (not rejected, small, not to or from an AWS service, not an answer by its TCP flags), the address facts
 * being constant within a (src, dst) partition; the outer WHERE then applies SMALL_WEB whole. So
 * the gaps are Athena's and the engine's but when a series holds a flow that is an answer only
 * by the listener test (its source port below a web port and answering 3 peer ports), whose
 * start then stands between two points: a server port below 80 answering from a web port, which
 * no beacon series holds in practice.
 */
function cloudwatchBeaconQuery(o: CloudWatchQueryOptions): RuleQuery {
  const t = longHorizon(o.thresholds);
  const seconds = t.windowSeconds;
  const body = [
    `SELECT src, dst, port, substr(${CLOUDWATCH_FIRST_SEEN}, 18) AS interface_id, ${BEACON_MEASURES("st")}`,
    `FROM (${"\u0000"}) t`,
    `WHERE ${predicate(C2_BEACONING.records, t)} AND st > 0`,
    "GROUP BY src, dst, port",
  ].join("\n");
  const aliases = ["interface_id", "flows", "first_start", "last_start", "gap_sum", "gap_squares"];
  const sql = cloudwatchAssemble(o, seconds, expandFacts(body, o.thresholds, new Set(o.fields), C2_BEACONING.records), `HAVING ${beaconHaving(t, "st")}`, aliases, t.c2MaxAverageBytes * 4);
  return Object.freeze({ rule: C2_BEACONING.id, horizon: "long" as const, horizonSeconds: seconds, sql, thresholds: t });
}

/**
 * The anomaly query (anomalyQuery) in OpenSearch SQL, as two parts run together (RuleQuery.parts):
 * the internal hosts as sources, then as destinations, each GROUP BY over one read of the log
 * group. One query would need a UNION ALL of the records twice in its subquery (set operators are
 * supported for CloudWatch Logs; LATERAL VIEW and common table expressions are not), about 9,000
 * characters for the default format, past what synth allows. The two parts' rows are merged by
 * host (anomalyFindingsFromRows), and a host's distinct peers are the larger of its peers as
 * source and as destination: a lower bound of the peers either way, equal to it when its peers
 * answer it (a connection's two directions), where Athena counts them exactly.
 */
function cloudwatchAnomalyQuery(o: CloudWatchQueryOptions): RuleQuery {
  const t = longHorizon(o.thresholds);
  const seconds = t.windowSeconds;
  const part = (host: "src" | "dst", peer: "src" | "dst", side: "out" | "in") => {
    const body = [
      `SELECT ${host} AS host, ${CLOUDWATCH_FIRST_SEEN} AS first_seen, count(*) AS flows_${side}, sum(bytes) AS bytes_${side}, ` +
        `count(DISTINCT ${peer}) AS peers_${side}, count(DISTINCT CASE WHEN response THEN NULL ELSE port END) AS ${side === "out" ? "ports_probed" : "ports_probed_on"}, ` +
        `sum(CASE WHEN rejected THEN 1 ELSE 0 END) AS rejected_${side}, min(window_start) AS first_window, max(window_start) AS last_window`,
      `FROM (${"\u0000"}) t`,
      `WHERE ${host}_inside`,
      `GROUP BY ${host}`,
    ].join("\n");
    const aliases = ["host", "first_seen", `flows_${side}`, `bytes_${side}`, `peers_${side}`, "ports_probed", "ports_probed_on", `rejected_${side}`, "first_window", "last_window"];
    return cloudwatchAssemble(o, seconds, expandFacts(body, o.thresholds, new Set(o.fields)), undefined, aliases);
  };
  const parts = [part("src", "dst", "out"), part("dst", "src", "in")];
  return Object.freeze({ rule: ANOMALY_RULE, horizon: "long" as const, horizonSeconds: seconds, sql: parts[0]!, parts, thresholds: t });
}

/** The log-skipped query (skippedQuery) in OpenSearch SQL; none for a format without log-status or start. */
function cloudwatchSkippedQuery(o: CloudWatchQueryOptions): RuleQuery | undefined {
  const status = o.fields.indexOf("log-status") + 1;
  const startAt = o.fields.indexOf("start") + 1;
  if (status === 0 || startAt === 0) return undefined;
  const t = longHorizon(o.thresholds);
  const start = `coalesce(CAST(NULLIF(split_part(\`@message\`, ' ', ${startAt}), '-') AS BIGINT), 0)`;
  const ifaceAt = Math.max(o.fields.indexOf("interface-id"), o.fields.indexOf("tgw-attachment-id")) + 1;
  const from = `\`logGroups(logGroupIdentifier: [${literal(o.logGroupName)}])\``;
  // Per interface, as skippedQuery; without one, a single count (0 raises nothing: AWS documents HAVING with GROUP BY only).
  const sql = [
    `SELECT ${ifaceAt ? "iface AS interface_id, " : ""}count(*) AS skipdata, min(st) AS first_start, max(st) AS last_start`,
    `FROM (SELECT ${start} AS st${ifaceAt ? `, NULLIF(split_part(\`@message\`, ' ', ${ifaceAt}), '-') AS iface` : ""} FROM ${from} WHERE ${start} BETWEEN ${o.start} AND ${o.end - 1} AND split_part(\`@message\`, ' ', ${status}) = 'SKIPDATA') t`,
    ...(ifaceAt ? ["GROUP BY iface"] : []),
    `LIMIT ${CLOUDWATCH_QUERY_ROW_LIMIT}`,
  ].join("\n");
  return Object.freeze({ rule: SKIPPED_RULE, horizon: "long" as const, horizonSeconds: t.windowSeconds, sql, thresholds: t });
}

/**
 * The query: the outer SELECT with the record columns a format lacks written as their constant
 * (AWS: "Functions and expressions must operate on field names", so the subquery selects no
 * constant), the subquery with only the columns the outer query reads, HAVING, and the row LIMIT.
 * `aliases` are the outer query's measure names, which HAVING may use and which are no columns.
 */
function cloudwatchAssemble(o: CloudWatchQueryOptions, seconds: number, body: string, having: string | undefined, aliases: readonly string[], beaconBytes?: number): string {
  const referenced = (name: string) => new RegExp(`(?<!AS )\\b${name}\\b`).test(body) || (having !== undefined && !aliases.includes(name) && new RegExp(`\\b${name}\\b`).test(having));
  const records = cloudwatchRecords(o, seconds, referenced, beaconBytes);
  const constant = (text: string, except: readonly string[]) =>
    text.replace(/(?<!AS )\b([a-z_]+)\b/g, (word) => (!except.includes(word) && records.constants.has(word) ? `(${records.constants.get(word)})` : word));
  return [constant(body, []).replace("\u0000", records.sql), ...(having === undefined ? [] : [constant(having, aliases)]), `LIMIT ${CLOUDWATCH_QUERY_ROW_LIMIT}`].join("\n");
}

const conjuncts = (p: Predicate): Predicate[] => (typeof p !== "string" && "all" in p ? p.all.flatMap(conjuncts) : [p]);

/**
 * The records predicate with the conditions every measure holds added. A group none of whose
 * records meets them measures zero everywhere, which no threshold reports (thresholds are
 * positive), so the same groups pass; a group's interface is then its earliest such record's.
 */
function hoisted(records: RuleDeclaration["records"], measures: readonly Measure[]): RuleDeclaration["records"] {
  const wheres = measures.map((m) => ("where" in m && m.where !== undefined ? conjuncts(m.where).map((p) => JSON.stringify(p)) : []));
  const shared = wheres.length === 0 ? [] : wheres[0]!.filter((p) => wheres.every((w) => w.includes(p)));
  if (shared.length === 0) return records;
  const base = records === "every flow" ? [] : conjuncts(records).map((p) => JSON.stringify(p));
  const all = [...new Set([...base, ...shared])].map((p) => JSON.parse(p) as Predicate);
  return all.length === 1 ? all[0]! : { all };
}

/** A measure without the conditions its rule's records predicate already holds (the outer WHERE applied them): a shorter query. */
function implied(m: Measure, records: RuleDeclaration["records"]): Measure {
  if (records === "every flow" || !("where" in m) || m.where === undefined) return m;
  const held = new Set(conjuncts(records).map((p) => JSON.stringify(p)));
  const left = conjuncts(m.where).filter((p) => !held.has(JSON.stringify(p)));
  const { where: _, ...rest } = m;
  return (left.length === 0 ? rest : { ...rest, where: left.length === 1 ? left[0]! : { all: left } }) as Measure;
}

function cloudwatchAggregate(m: Measure, pred: (p: Predicate) => string, listed: () => readonly number[]): string {
  const when = (where: Predicate | undefined, value: string) => (where === undefined ? value : `CASE WHEN ${pred(where)} THEN ${value} END`);
  if ("first" in m) {
    const parts = m.first.map((x) => (x === "port" ? "CAST(port AS STRING)" : x));
    return `coalesce(substr(min(${when(m.where, `lpad(CAST(st AS STRING), 16, '0') || '|' || ${parts.join(" || '|' || ")}`)}), 18), '')`;
  }
  if ("list" in m) {
    // The distinct ports among a known set (the measure's `in`) as a bit mask, one bit a value
    // (sum of the distinct bits): the condition is written once; findingsFromRows decodes it
    // (RuleQuery.lists). No collect_set or string_agg is documented for CloudWatch Logs.
    const values = listed();
    const bit = `CASE ${m.list} ${values.map((v, i) => `WHEN ${v} THEN ${2 ** i}`).join(" ")} END`;
    return `coalesce(sum(DISTINCT ${when(m.where, bit)}), 0)`;
  }
  return aggregate(m, "athena", pred);
}

/** The values a list measure can take: the `in` of a port test among its predicate's conjuncts. */
function listValues(where: Predicate | undefined, t: DetectorThresholds): readonly number[] {
  const found: (readonly number[])[] = [];
  const visit = (p: Predicate | undefined) => {
    if (p === undefined || typeof p === "string") return;
    if ("all" in p) p.all.forEach(visit);
    else if ("field" in p && p.field === "port" && "in" in p) found.push(typeof p.in === "string" ? t[p.in] : p.in);
  };
  visit(where);
  if (found.length === 0) throw new DetectorError("detector: a list measure needs a port `in` test among its conditions to render as Logs Insights SQL (got none). Add one to its declaration.");
  return [...new Set(found[0]!)].sort((a, b) => a - b);
}

/**
 * The outer query's flow facts: the network context tested on the address keys, and the listeners.
 * `records` is the predicate the outer WHERE holds: where it requires a flow to be inside (or
 * not), `response` is written with that known, so the membership test is written once.
 */
function expandFacts(sql: string, t: DetectorThresholds, fields: ReadonlySet<string>, records: RuleDeclaration["records"] = "every flow"): string {
  const held = records === "every flow" ? [] : conjuncts(records);
  const srcInside = held.includes("srcInside") ? true : held.some((p) => typeof p !== "string" && "not" in p && p.not === "srcInside") ? false : undefined;
  const n = t.network;
  const member = (k: string, entries: readonly string[]) => keyMembership(k, entries, cloudwatchKeyRange);
  const threats = t.threatIntel.flatMap((l) => l.entries);
  const peers = Math.min(t.listenerPeers, 3);
  const flagsDecide = "(protocol = 6 AND tcp_flags > 0 AND (tcp_flags & 18) <> 0)";
  // Parts a format without the field makes constant are left out (the query stays under 10,000 characters).
  const listener = `coalesce(srcport < port AND peers >= ${peers}, FALSE)`;
  // Inbound (FLOW_FACTS): ingress, or no direction logged and from outside; undefined when it cannot hold.
  const outside = srcInside === undefined ? "NOT src_inside" : srcInside ? undefined : "TRUE";
  const inbound = fields.has("flow-direction")
    ? outside === undefined ? "direction = 'ingress'" : outside === "TRUE" ? "coalesce(direction, 'ingress') = 'ingress'" : `(direction = 'ingress' OR (direction IS NULL AND ${outside}))`
    : outside === "TRUE" ? "TRUE" : outside;
  const answer = fields.has("tcp-flags") ? `CASE WHEN ${flagsDecide} THEN (tcp_flags & 16) <> 0 ELSE ${listener} END` : listener;
  const nat = !n.natGateways.length || srcInside === true ? "" : srcInside === false ? "dst_nat OR " : "(dst_nat AND NOT src_inside) OR ";
  const notProbe = inbound === undefined ? "" : inbound === "TRUE" ? "NOT rejected AND " : `NOT (rejected AND ${inbound}) AND `;
  const response =
    `(port IS NULL OR ${n.loadBalancers.length ? "src_lb OR dst_lb OR " : ""}${nat}${fields.has("pkt-src-aws-service") ? "src_aws_service OR " : ""}` +
    `(${notProbe}${answer}))`;
  const facts: Record<string, string> = {
    src_inside: member("sk", n.cidrs), dst_inside: member("dk", n.cidrs),
    src_nat: member("sk", n.natGateways), dst_nat: member("dk", n.natGateways),
    src_lb: member("sk", n.loadBalancers), dst_lb: member("dk", n.loadBalancers),
    dst_resolver: member("dk", approvedResolvers(n)),
    src_threat: member("sk", threats), dst_threat: member("dk", threats),
  };
  return sql
    .replace(/\bresponse\b/g, response)
    .replace(/\b(src_inside|dst_inside|src_nat|dst_nat|src_lb|dst_lb|dst_resolver|src_threat|dst_threat)\b/g, (name) => facts[name]!);
}

/**
 * The subquery of a rule: the record columns the outer query reads (`used`), each from the
 * fields of `@message`, with its address keys and (when read) its listener count and beacon gap.
 * A column whose fields the format lacks is no column but a constant the outer query is written
 * with (`constants`): the subquery selects only expressions of `@message`.
 */
function cloudwatchRecords(o: CloudWatchQueryOptions, seconds: number, used: (column: string) => boolean, beaconBytes?: number): { readonly sql: string; readonly constants: ReadonlyMap<string, string> } {
  const position = new Map(o.fields.map((f, i) => [f, i + 1]));
  const has = (field: string) => position.has(field);
  const raw = (field: string) => `split_part(\`@message\`, ' ', ${position.get(field)})`;
  const text = (field: string) => `NULLIF(${raw(field)}, '-')`;
  const number = (field: string) => `CAST(${text(field)} AS BIGINT)`;
  // Packets, bytes and lost counts: a missing or negative value is 0, as in the engine.
  const nonNegative = (field: string) => `greatest(coalesce(${number(field)}, 0), 0)`;
  // split_part of a record is never NULL ('' past its last field): no coalesce needed for a test of the raw text.
  const service = (field: string) => `${raw(field)} NOT IN ('-', ${literal(AWS_SERVICE_NOT_A_SERVICE)})`;
  // The packet-level address when the format logs it; keys read the plain one without NULLIF ("-" has neither dot nor colon, so no key).
  const address = (pkt: string, plain: string, last: (f: string) => string) =>
    has(pkt) && has(plain) ? `coalesce(${text(pkt)}, ${last(plain)})` : has(pkt) ? last(pkt) : has(plain) ? last(plain) : undefined;
  const start = has("start") ? `coalesce(${number("start")}, 0)` : undefined;
  const src = address("pkt-srcaddr", "srcaddr", text);
  const dst = address("pkt-dstaddr", "dstaddr", text);
  const srcKey = address("pkt-srcaddr", "srcaddr", raw);
  const dstKey = address("pkt-dstaddr", "dstaddr", raw);
  const ifaceField = has("interface-id") ? "interface-id" : has("tgw-attachment-id") ? "tgw-attachment-id" : undefined;
  // Each column: its expression, or undefined and the constant it reads as without its fields.
  const defs: [string, string | undefined, string][] = [
    ["src", src, "NULL"],
    ["dst", dst, "NULL"],
    ["iface", ifaceField && text(ifaceField), "NULL"],
    ["srcport", has("srcport") ? number("srcport") : undefined, "NULL"],
    ["port", has("dstport") ? number("dstport") : undefined, "NULL"],
    ["protocol", has("protocol") ? number("protocol") : undefined, "NULL"],
    ["packets", has("packets") ? nonNegative("packets") : undefined, "0"],
    ["bytes", has("bytes") ? nonNegative("bytes") : undefined, "0"],
    ["st", start, "0"],
    ["window_start", start && `${start} - ${start} % ${seconds}`, "0"],
    ["rejected", has("action") ? `${raw("action")} = 'REJECT'` : undefined, "FALSE"],
    ["direction", has("flow-direction") ? text("flow-direction") : undefined, "NULL"],
    ["src_aws_service", has("pkt-src-aws-service") ? service("pkt-src-aws-service") : undefined, "FALSE"],
    ["dst_aws_service", has("pkt-dst-aws-service") ? service("pkt-dst-aws-service") : undefined, "FALSE"],
    // Absent tcp-flags read as the engine's -1: no flag decides.
    ["tcp_flags", has("tcp-flags") ? `coalesce(${number("tcp-flags")}, -1)` : undefined, "-1"],
    ["lost_no_route", has("packets-lost-no-route") ? nonNegative("packets-lost-no-route") : undefined, "0"],
    ["lost_blackhole", has("packets-lost-blackhole") ? nonNegative("packets-lost-blackhole") : undefined, "0"],
    ["lost_mtu_exceeded", has("packets-lost-mtu-exceeded") ? nonNegative("packets-lost-mtu-exceeded") : undefined, "0"],
    ["lost_ttl_expired", has("packets-lost-ttl-expired") ? nonNegative("packets-lost-ttl-expired") : undefined, "0"],
    ["sk", srcKey && cloudwatchKey(srcKey), "NULL"],
    ["dk", dstKey && cloudwatchKey(dstKey), "NULL"],
  ];
  const of = new Map(defs.map(([name, expr, constant]) => [name, expr ?? constant]));
  const e = (name: string) => of.get(name)!;
  // TCP with one of the flags in mask (flags are never negative; "-" reads as none): the outer query's
  // `protocol = 6 AND tcp_flags > 0 AND (tcp_flags & mask) <> 0`, with the field written once.
  const flagBits = (mask: number) => `coalesce(${e("protocol")} = 6 AND (${number("tcp-flags")} & ${mask}) <> 0, FALSE)`;
  const columns: string[] = [];
  const constants = new Map<string, string>();
  for (const [name, expr, constant] of defs) {
    if (!used(name)) continue;
    if (expr === undefined) constants.set(name, constant);
    else columns.push(`${expr} AS ${name}`);
  }
  if (used("peers")) {
    // Without tcp-flags no flag decides (the engine's -1), so the test is left out.
    const flagsDecide = has("tcp-flags") ? ` AND NOT ${flagBits(18)}` : "";
    // A port below its peers' that accepted a flow (the engine's listener lesson), else -1 (a NULL port or source port compares as not below).
    const v = `CASE WHEN NOT ${e("rejected")}${flagsDecide} AND ${e("srcport")} < ${e("port")} THEN ${e("port")} ELSE -1 END`;
    const over = (order: string) => `OVER (PARTITION BY ${e("src")}, ${e("srcport")}, floor(${e("st")} / ${o.thresholds.long.windowSeconds})${order})`;
    columns.push(`dense_rank() ${over(` ORDER BY ${v}`)} + dense_rank() ${over(` ORDER BY ${v} DESC`)} - CASE WHEN min(${v}) ${over("")} < 0 THEN 2 ELSE 1 END AS peers`);
  }
  if (beaconBytes !== undefined && used("gap")) {
    // The beacon's gap to the previous point of its series (cloudwatchBeaconQuery says which flows share a partition).
    const own = [
      `NOT ${e("rejected")}`, `${e("bytes")} <= ${num(beaconBytes)}`, `${e("st")} > 0`,
      ...(has("pkt-dst-aws-service") ? [`NOT ${e("dst_aws_service")}`] : []),
      ...(has("pkt-src-aws-service") ? [`NOT ${e("src_aws_service")}`] : []),
      // An answer by its flags (SYN-ACK or ACK: flagsDecide and ACK, as `response` reads them).
      ...(has("tcp-flags") ? [`NOT ${flagBits(16)}`] : []),
    ];
    columns.push(`${e("st")} - lag(${e("st")}) OVER (PARTITION BY ${e("src")}, ${e("dst")}, ${e("port")}, ${own.join(" AND ")} ORDER BY ${e("st")}) AS gap`);
  }
  const present = (pkt: string, plain: string) => {
    const given = [pkt, plain].filter(has);
    return given.length === 0 ? undefined : given.length === 1 ? `${raw(given[0]!)} <> '-'` : `${raw(pkt)} || ${raw(plain)} <> '--'`;
  };
  const t = o.thresholds;
  const where = [
    ...(has("log-status") ? [`${raw("log-status")} IN ('OK', '-')`] : []),
    ...(start !== undefined ? [`${start} BETWEEN ${o.start} AND ${o.end - 1}`] : []),
    // An address: the packet-level one or the plain one not "-" (coalesce(...) IS NOT NULL, shorter).
    ...[present("pkt-srcaddr", "srcaddr"), present("pkt-dstaddr", "dstaddr")].filter((x) => x !== undefined),
    ...(t.allowedSources.length === 0 || src === undefined ? [] : [`${src} NOT IN (${t.allowedSources.map(literal).join(", ")})`]),
  ];
  // AWS: a log group name with slashes is named through logGroups(logGroupIdentifier: [...]) (the kit's all have them).
  const from = `\`logGroups(logGroupIdentifier: [${literal(o.logGroupName)}])\``;
  return { sql: `SELECT ${columns.join(", ")} FROM ${from}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`, constants };
}

/**
 * The text key of an address expression: "4" and three decimal digits an octet, or "6" and 32
 * hex digits; NULL when it is neither dotted nor colon notation (IPv6 with an IPv4 tail included,
 * as in DuckDB's keys).
 */
function cloudwatchKey(a: string): string {
  const colons = `length(${a}) - length(replace(${a}, ':', ''))`;
  const expanded = `lower(replace(${a}, '::', concat(':', repeat('0:', 8 - (${colons})))))`;
  const v6 = `concat('6', regexp_replace(replace(concat(':', ${expanded}), ':', ':0000'), ':[0-9a-f]*([0-9a-f]{4})', '$1'))`;
  const v4 = `concat('4', regexp_replace(replace(concat('.', ${a}), '.', '.00'), '[.][0-9]*([0-9]{3})', '$1'))`;
  return `CASE WHEN ${a} LIKE '%.%' THEN CASE WHEN ${a} NOT LIKE '%:%' THEN ${v4} END WHEN ${a} LIKE '%:%' THEN ${v6} END`;
}

/** The lowest and highest key (cloudwatchKey) of a prefix. */
function cloudwatchKeyRange(p: ParsedPrefix): [string, string] {
  const [lo, hi] = keyRange(p);
  if (p.v6) return [lo, hi];
  const decimal = (k: string) => "4" + [0, 1, 2, 3].map((i) => String(parseInt(k.slice(1 + 2 * i, 3 + 2 * i), 16)).padStart(3, "0")).join("");
  return [decimal(lo), decimal(hi)];
}

/** Whether key column k is in one of the prefixes, given the key range of a prefix. */
function keyMembership(k: string, entries: readonly string[], range: (p: ParsedPrefix) => [string, string]): string {
  const prefixes = prefixesOf(entries);
  if (prefixes.length === 0) return "FALSE";
  const tests = prefixes.map((p) => {
    const [lo, hi] = range(p);
    // A prefix whose keys share their first characters and then run through every digit is a LIKE (shorter).
    const common = [...lo].findIndex((ch, i) => ch !== hi[i]);
    const full = common > 0 && /^0+$/.test(lo.slice(common)) && (p.v6 ? /^f+$/ : /^(255)+$/).test(hi.slice(common));
    return lo === hi ? `${k} = '${lo}'` : full ? `${k} LIKE '${lo.slice(0, common)}%'` : `${k} BETWEEN '${lo}' AND '${hi}'`;
  });
  return `coalesce(${tests.join(" OR ")}, FALSE)`;
}
