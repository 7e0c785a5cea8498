import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join } from "path";
import { gzipSync } from "zlib";
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { DetectionEngine } from "../../../functions/detect/engine";
import { Finding, RuleId } from "../../../functions/detect/findings";
import { findingsFromRows, mergeHorizons, ruleQueries, RuleQuery as SqlRuleQuery } from "../../../functions/detect/sql";
import { DetectorThresholds, resolveThresholds } from "../../../functions/detect/thresholds";
import { ArchiveLayout, archiveLayout, ArchiveOptions, athenaColumns } from "../../../functions/flowlog/athena";
import { LogFormat } from "../../../functions/flowlog/format";
import { RENDERER } from "../../../functions/handlers/renderer";
import { AthenaTableTarget, planJobs, QueryJob, QueryRenderer, timeFilter } from "../../../functions/handlers/scheduled";
import { s3ObjectKey } from "../../../policies/delivery-paths";
import { Flow, line, range } from "../../support/flows";
import { writeParquet } from "../../support/parquet";
import { seededRandom as random } from "../../../functions/detect/isolation-forest";

/*
 * The rules' SQL over the archive as AWS lays it out: the same records written as AWS writes
 * them in three layouts (Hive hourly gzip text with its header line, in two Regions; plain daily
 * gzip text; Hive hourly Parquet), each read by a DuckDB view built the way the Athena table
 * reads it (its location template, partition types and projection, Glue column types), and
 * queried with the very queries the scheduled run plans (planJobs: partition filter, time filter
 * and ranges from the real code, rendered in DuckDB's dialect). The findings must be the engine's
 * on the records whose start is in the run's range. The records are placed where AWS would put
 * them: in the object of the 5-minute period after they end, so a record of 23:58 is in the
 * next day's first hour, and a record of 22:58 in the look-back's first partition.
 */

const ACCOUNT = "410987654323";
const BUCKET = "flowlogs-prod-410987654323-eu-central-1";
const FLOW_LOG_ID = "fl-0123456789abcdef0";
/** A Region that writes to the same bucket but is no Region of any table. */
const OTHER_REGION = "us-east-1";
const MiB = 1024 * 1024;

const H = 3600;
const at = (iso: string) => Date.parse(iso) / 1000;
/** Midnight UTC on New Year: year, month and day all turn over. */
const MIDNIGHT = at("2027-01-01T00:00:00Z");
/** The scheduled run: 45 minutes' schedule plus 5, ending three minutes before the hour's partition closes. */
const END = at("2027-01-01T00:57:00Z");
const LOOKBACK = 3000;
/** The ranges planJobs gives each horizon (asserted below): the look-back plus the archive's 10 minutes, and the hour it starts in. */
const RANGES: Readonly<Record<number, { start: number; end: number }>> = { 300: { start: at("2026-12-31T23:55:00Z"), end: END }, 3600: { start: at("2026-12-31T23:00:00Z"), end: END } };

/** Rules only the engine has (declarations.ts says why). */
const ENGINE_ONLY: readonly RuleId[] = ["c2-beaconing", "anomaly", "log-skipped", "detector-saturated"];

const THRESHOLDS: DetectorThresholds = resolveThresholds({ network: { cidrs: ["10.0.0.0/16"] }, exfiltrationBytes: 50 * MiB });


/** A record and the Region whose flow log wrote it (undefined: the table's Regions share them). */
type Placed = { readonly flow: Flow; readonly region?: string } | { readonly nodata: number };

const NODATA = (start: number) => `2 123456789012 eni-0123456789abcdef0 - - - - - - - ${start} ${start + 60} - NODATA`;
const lineOf = (p: Placed) => ("nodata" in p ? NODATA(p.nodata) : line(p.flow));
const startOf = (p: Placed) => ("nodata" in p ? p.nodata : p.flow.start!);

/** Attacks in and around the range, and benign traffic from 21:00 to 02:00 and on the day before. */
function records(): Placed[] {
  const rnd = random(15);
  const out: Placed[] = [];
  const add = (flows: Flow[], region?: string) => out.push(...flows.map((flow) => ({ flow, ...(region ? { region } : {}) })));
  // In the short range. A port scan in its last three minutes, every record in the next hour's object (delivered at 01:00).
  add(range(30).map((i) => ({ src: "203.0.113.9", dst: "10.0.1.5", dstport: 1000 + i, packets: 1, bytes: 44, action: "REJECT" as const, start: END - 110 + i * 3 })));
  // SSH brute force before midnight (in the new year's first object), exfiltration after.
  add(range(40).map((i) => ({ src: "203.0.113.50", dst: "10.0.1.8", srcport: 40000 + i, dstport: 22, packets: 12, bytes: 2100, start: MIDNIGHT - 240 + i * 5 })));
  add(range(6).map((i) => ({ src: "10.0.10.10", dst: "203.0.113.80", dstport: 443, bytes: 10 * MiB, packets: 7000, start: MIDNIGHT + 300 + i * 10 })));
  // In the long range. A slow scan over the hour before midnight (10 ports a window): only the long horizon finds it.
  add(range(120).map((i) => ({ src: "203.0.113.120", dst: "10.0.30.5", dstport: 5000 + i, packets: 1, action: "REJECT" as const, start: RANGES[3600]!.start + 7 + i * 29 })));
  // A fast scan at 23:30, before the short range: under the long horizon's thresholds, so no finding of either.
  add(range(30).map((i) => ({ src: "203.0.113.12", dst: "10.0.1.12", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: MIDNIGHT - 1800 + i * 4 })));
  // Before both ranges, in their first partition (22:57, delivered at 23:00): the time filter leaves it out.
  add(range(30).map((i) => ({ src: "203.0.113.10", dst: "10.0.1.6", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: RANGES[3600]!.start - 180 + i * 4 })));
  // After the ranges, in their last partition (00:58 and 01:07): left out too.
  add(range(6).map((i) => ({ src: "10.0.10.12", dst: "203.0.113.82", dstport: 443, bytes: 100 * MiB, packets: 70000, start: END + 60 + i * 10 })));
  add(range(40).map((i) => ({ src: "203.0.113.51", dst: "10.0.1.9", srcport: 40000 + i, dstport: 22, packets: 12, bytes: 2100, start: END + 600 + i * 5 })));
  // The day before, and another Region writing into the same bucket during the range: never read.
  add(range(30).map((i) => ({ src: "203.0.113.11", dst: "10.0.1.7", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: MIDNIGHT - 27 * H + i * 4 })));
  add(range(30).map((i) => ({ src: "203.0.113.66", dst: "10.0.1.66", dstport: 1000 + i, packets: 1, action: "REJECT" as const, start: MIDNIGHT - 120 + i * 4 })), OTHER_REGION);
  // Benign: clients of web services, 21:00 to 02:00 and an hour the day before; a few NODATA records.
  const benign = (n: number, from: number, seconds: number) =>
    add(range(n).map((i) => ({ src: `10.0.20.${i % 40}`, srcport: 32768 + Math.floor(rnd() * 28000), dst: `10.0.21.${Math.floor(rnd() * 10)}`, dstport: [80, 443, 5432][i % 3]!, bytes: Math.floor(rnd() * 20000), packets: 5 + Math.floor(rnd() * 20), start: from + Math.floor((i * seconds) / n) })));
  benign(3000, MIDNIGHT - 3 * H, 5 * H);
  benign(300, MIDNIGHT - 27 * H, H);
  out.push(...range(6).map((i) => ({ nodata: MIDNIGHT - 2 * H + i * 1500 })));
  return out;
}

/** When AWS publishes a record: in the file of the 5-minute period after it ends (line() ends records 30 s after start). */
const publishedAt = (start: number) => (Math.floor((start + 30) / 300) + 1) * 300;

interface Layout {
  readonly name: string;
  readonly options: ArchiveOptions;
  readonly regions: readonly string[];
  /** The partitions the run's filter must read, as `YYYY-MM-DD[THH]`. */
  readonly partitions: readonly string[];
}

const LAYOUTS: readonly Layout[] = [
  { name: "hive_hourly_text", options: { fileFormat: "plain-text", hiveCompatiblePartitions: true, perHourPartition: true }, regions: ["eu-central-1", "eu-west-1"], partitions: ["2026-12-31T23", "2027-01-01T00", "2027-01-01T01"] },
  { name: "plain_daily_text", options: { fileFormat: "plain-text", hiveCompatiblePartitions: false, perHourPartition: false }, regions: ["eu-central-1"], partitions: ["2026-12-31", "2027-01-01"] },
  { name: "hive_hourly_parquet", options: { fileFormat: "parquet", hiveCompatiblePartitions: true, perHourPartition: true }, regions: ["eu-central-1"], partitions: ["2026-12-31T23", "2027-01-01T00", "2027-01-01T01"] },
];

const layoutOf = (l: Layout): ArchiveLayout => archiveLayout(BUCKET, ACCOUNT, l.regions.length === 1 ? l.regions[0]! : l.regions, l.options);
const tableOf = (l: Layout): AthenaTableTarget => ({ name: "flow_logs", partitionKeys: layoutOf(l).partitionKeys, regions: l.regions, fileFormat: l.options.fileFormat, fields: LogFormat.DEFAULT.names });

/** The label of the partition (folder) an object key is in. */
function partitionOfKey(key: string): string {
  const m = /(?:year=)?(\d{4})\/(?:month=)?(\d{2})\/(?:day=)?(\d{2})\/(?:(?:hour=)?(\d{2})\/)?[^/]+$/.exec(key)!;
  return `${m[1]}-${m[2]}-${m[3]}${m[4] ? `T${m[4]}` : ""}`;
}

/**
 * Writes the records as AWS would for a layout: per Region and hour one object, named by
 * s3ObjectKey (the kit's model of AWS's keys), text with the format's header line, gzipped, or
 * Parquet with underscored columns of the catalog's Parquet types and GZIP pages. The table's
 * Regions take turns at the records without a Region of their own. Returns the keys written.
 */
async function writeArchive(root: string, l: Layout, placed: readonly Placed[]): Promise<string[]> {
  const objects = new Map<string, { hour: number; region: string; lines: string[] }>();
  placed.forEach((p, i) => {
    const region = ("region" in p ? p.region : undefined) ?? l.regions[i % l.regions.length]!;
    const hour = publishedAt(startOf(p)) - (publishedAt(startOf(p)) % H);
    const o = objects.get(`${region}|${hour}`) ?? { hour, region, lines: [] };
    o.lines.push(lineOf(p));
    objects.set(`${region}|${hour}`, o);
  });
  const keys: string[] = [];
  for (const o of objects.values()) {
    const hash = createHash("sha256").update(`${l.name}${o.region}${o.hour}`).digest("hex").slice(0, 8);
    const key = s3ObjectKey({ prefix: "", account: ACCOUNT, region: o.region, flowLogId: FLOW_LOG_ID, at: new Date(o.hour * 1000), hash, ...l.options });
    const file = join(root, key);
    mkdirSync(dirname(file), { recursive: true });
    const lines = [...o.lines].sort((a, b) => Number(a.split(" ")[10]) - Number(b.split(" ")[10]));
    if (l.options.fileFormat === "parquet") await writeParquet(file, lines);
    else writeFileSync(file, gzipSync(`${LogFormat.DEFAULT.names.join(" ")}\n${lines.join("\n")}\n`));
    keys.push(key);
  }
  return keys.sort();
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const SQL_TYPE: Readonly<Record<string, string>> = { int: "INTEGER", bigint: "BIGINT", string: "VARCHAR" };

/**
 * A DuckDB view `schema.flow_logs` that reads the archive under `root` as the Athena table of
 * the layout does: the files under its location template (each `${key}` any folder), the
 * partition values from the path (Hive keys through DuckDB's hive_partitioning, plain folders
 * by a regular expression from the template, as projection fills the template), only the
 * Regions the projection enumerates, the Glue column types (text read as LazySimpleSerDe reads
 * it: the header skipped, a value that is no number NULL), and Athena's "$path".
 *
 * DuckDB refuses a glob that matches no file ("No files found"), where Athena reads a table
 * without objects as no rows: for a location with no objects at all the view is the table's
 * columns without rows. A look-back with no objects in a table that has some elsewhere needs
 * nothing: the partition filter leaves every file out.
 */
async function createView(c: DuckDBConnection, schema: string, root: string, layout: ArchiveLayout, fileFormat: ArchiveOptions["fileFormat"]): Promise<void> {
  const columns = athenaColumns(LogFormat.DEFAULT);
  const template = layout.locationTemplate.replace(/^s3:\/\/[^/]+\//, `${root}/`);
  const glob = `${template.replace(/\$\{[a-z_]+\}/g, "*")}*${fileFormat === "parquet" ? ".log.parquet" : ".log.gz"}`;
  const partitions = layout.partitionColumns.map((p) => ({ ...p, sqlType: SQL_TYPE[p.type]! }));
  const hive = /=\$\{/.test(template);
  const hiveKey = (name: string) => new RegExp(`([^/=]+)=\\$\\{${name}\\}`).exec(template)![1]!;
  const groups = [...template.matchAll(/\$\{([a-z_]+)\}/g)].map((m) => m[1]!);
  const pathPattern = `^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\\$\{[a-z_]+\}/g, "([^/]+)")}[^/]+$`;
  const partitionSql = partitions.map((p) =>
    hive ? `CAST("${hiveKey(p.name)}" AS ${p.sqlType}) AS ${p.name}` : `CAST(regexp_extract(filename, ${quote(pathPattern)}, ${groups.indexOf(p.name) + 1}) AS ${p.sqlType}) AS ${p.name}`,
  );
  const enums = partitions.filter((p) => layout.projection[`projection.${p.name}.type`] === "enum").map((p) => `${p.name} IN (${layout.projection[`projection.${p.name}.values`]!.split(",").map(quote).join(", ")})`);
  const files = Number((await c.runAndReadAll(`SELECT count(*) FROM glob(${quote(glob)})`)).getRows()[0]![0]);
  if (files === 0) {
    const empty = [...columns.map((col) => `CAST(NULL AS ${SQL_TYPE[col.type]}) AS "${col.name}"`), ...partitions.map((p) => `CAST(NULL AS ${p.sqlType}) AS ${p.name}`), `CAST(NULL AS VARCHAR) AS "$path"`];
    await c.run(`CREATE VIEW ${schema}.flow_logs AS SELECT ${empty.join(", ")} WHERE FALSE`);
    return;
  }
  const hiveTypes = hive ? `, hive_partitioning=true, hive_types={${partitions.map((p) => `${quote(hiveKey(p.name))}: ${p.sqlType}`).join(", ")}}` : ", hive_partitioning=false";
  const source =
    fileFormat === "parquet"
      ? `read_parquet(${quote(glob)}, filename=true${hiveTypes})`
      : `read_csv(${quote(glob)}, delim=' ', header=true, auto_detect=false, quote='', escape='', filename=true, columns={${columns.map((col) => `${quote(col.name)}: 'VARCHAR'`).join(", ")}}${hiveTypes})`;
  const cast = (col: { name: string; type: string }) => (col.type === "string" ? `CAST("${col.name}" AS VARCHAR)` : `${fileFormat === "parquet" ? "CAST" : "TRY_CAST"}("${col.name}" AS ${SQL_TYPE[col.type]})`);
  await c.run(
    `CREATE VIEW ${schema}.flow_logs AS SELECT * FROM (SELECT ${[...columns.map((col) => `${cast(col)} AS "${col.name}"`), ...partitionSql, `filename AS "$path"`].join(", ")} FROM ${source})` +
      (enums.length ? ` WHERE ${enums.join(" AND ")}` : ""),
  );
}

/** Rows of a query as Athena's CSV result reads: every value a string, NULL as "". */
async function rowsOf(c: DuckDBConnection, sql: string): Promise<Record<string, string>[]> {
  const r = await c.runAndReadAll(sql);
  return r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)])));
}

/** The scheduled run's queries over a layout's table `database.flow_logs` (Athena's dialect unless another renderer is given). */
function plan(database: string, l: Layout, end: number, renderer: QueryRenderer = RENDERER): QueryJob[] {
  return planJobs(renderer, { end, lookbackSeconds: LOOKBACK, thresholds: THRESHOLDS, athena: { workgroup: "wg", database, tables: [tableOf(l)] }, format: LogFormat.DEFAULT, unmask: false });
}

/** The deployed renderer's queries in DuckDB's dialect; `wheres` collects the filters planJobs hands it. */
function duckdbRenderer(wheres: string[]): QueryRenderer {
  return {
    athena: (o) => {
      wheres.push(o.where);
      return ruleQueries({ dialect: "duckdb", table: o.table, where: o.where, thresholds: o.thresholds, fields: o.fields });
    },
    insights: () => [],
    findings: (q, rows) => findingsFromRows(q as SqlRuleQuery, rows),
  };
}

/** Runs every job of a plan in DuckDB and merges the findings as the scheduled run does. */
async function runJobs(c: DuckDBConnection, jobs: readonly QueryJob[]): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const job of jobs) out.push(...findingsFromRows(job.query as SqlRuleQuery, await rowsOf(c, job.query.sql)));
  return mergeHorizons(out);
}

const comparable = (fs: readonly Finding[]) => fs.filter((f) => !ENGINE_ONLY.includes(f.rule)).sort((a, b) => a.id.localeCompare(b.id) || a.rule.localeCompare(b.rule));

/** The engine's findings on the table's records (its Regions) whose start is in [start, end), in start order. */
function engineFindings(placed: readonly Placed[], start: number, end: number): Finding[] {
  const engine = new DetectionEngine(THRESHOLDS, LogFormat.DEFAULT);
  const inRange = placed.filter((p) => !("region" in p && p.region === OTHER_REGION) && startOf(p) >= start && startOf(p) < end);
  for (const p of [...inRange].sort((a, b) => startOf(a) - startOf(b))) engine.addLine(lineOf(p));
  return comparable(engine.finish().findings);
}

const PLACED = records();
/** The engine on each horizon's range, that horizon's findings (its long findings already left out where a short window found the same). */
const EXPECTED = comparable([
  ...engineFindings(PLACED, RANGES[300]!.start, END).filter((f) => f.evidence.horizonSeconds === undefined),
  ...engineFindings(PLACED, RANGES[3600]!.start, END).filter((f) => f.evidence.horizonSeconds === 3600),
]);
/** The engine on every record of the table's Regions. */
const EVERYTHING = engineFindings(PLACED, 0, END + 24 * H);

let root: string;
let db: DuckDBInstance;
let c: DuckDBConnection;
const written = new Map<string, string[]>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flowlog-layouts-"));
  db = await DuckDBInstance.create(":memory:", { threads: "1" });
  c = await db.connect();
  for (const l of LAYOUTS) {
    const dir = join(root, l.name);
    written.set(l.name, await writeArchive(dir, l, PLACED));
    await c.run(`CREATE SCHEMA ${l.name}`);
    await createView(c, l.name, dir, layoutOf(l), l.options.fileFormat);
  }
});

afterAll(() => {
  c.closeSync();
  db.closeSync();
  rmSync(root, { recursive: true, force: true });
});

describe.each(LAYOUTS)("the scheduled run's queries over $name, in DuckDB", (l) => {
  it("read the archive AWS wrote: the table's location template names the folder of every object", () => {
    const layout = layoutOf(l);
    const keys = written.get(l.name)!;
    expect(keys.length).toBeGreaterThan(8);
    for (const key of keys.filter((k) => !k.includes(OTHER_REGION))) {
      const [, y, mo, d, h] = /(\d{4})\/(?:month=)?(\d{2})\/(?:day=)?(\d{2})\/(?:(?:hour=)?(\d{2})\/)?[^/]+$/.exec(key)!;
      const region = /_vpcflowlogs_([a-z0-9-]+)_/.exec(key)![1]!;
      // Projection fills the template with the values, padded to projection.<key>.digits.
      const values: Record<string, string> = { year: y!, month: String(Number(mo)), day: String(Number(d)), ...(h ? { hour: String(Number(h)) } : {}), aws_region: region };
      const folder = layout.locationTemplate.replace(/\$\{([a-z_]+)\}/g, (_, k: string) => values[k]!.padStart(Number(layout.projection[`projection.${k}.digits`] ?? 0), "0"));
      expect(`s3://${BUCKET}/${key}`.startsWith(folder)).toBe(true);
      expect(key.slice(folder.length - `s3://${BUCKET}/`.length)).toMatch(new RegExp(`^${ACCOUNT}_vpcflowlogs_${region}_${FLOW_LOG_ID}_\\d{8}T\\d{4}Z_[0-9a-f]{8}\\.log\\.${l.options.fileFormat === "parquet" ? "parquet" : "gz"}$`));
    }
  });

  it("find exactly the engine's findings on the records of each horizon's range, partitions beyond the range read and left out by the time filter", async () => {
    const wheres: string[] = [];
    const jobs = plan(l.name, l, END, duckdbRenderer(wheres));
    expect(new Set(jobs.map((j) => `${j.query.horizonSeconds} ${j.start}-${j.end}`))).toEqual(new Set(Object.entries(RANGES).map(([h, r]) => `${h} ${r.start}-${r.end}`)));
    for (const r of Object.values(RANGES)) {
      const where = wheres.find((w) => w.includes(timeFilter(r.start, r.end)))!;
      // The partition filter (the time filter made always true) selects exactly the objects of the range's partitions, the next hour's included.
      const paths = await rowsOf(c, `SELECT DISTINCT "$path" AS path FROM ${l.name}.flow_logs WHERE ${where.replace(timeFilter(r.start, r.end), "TRUE")}`);
      const read = paths.map((p) => p.path!.slice(join(root, l.name).length + 1)).sort();
      expect(read).toEqual(written.get(l.name)!.filter((k) => l.partitions.includes(partitionOfKey(k)) && !k.includes(OTHER_REGION)));
      expect([...new Set(read.map(partitionOfKey))]).toEqual(l.partitions);
      expect([...new Set(read.map((k) => /_vpcflowlogs_([a-z0-9-]+)_/.exec(k)![1]))].sort()).toEqual([...l.regions].sort());
    }

    const actual = comparable(await runJobs(c, jobs));
    expect(actual).toEqual(EXPECTED);
    // The attacks in the ranges were found (the late port scan only in the next hour's object)...
    expect(actual.map((f) => `${f.rule} ${f.src}${f.evidence.horizonSeconds ? " long" : ""}`).sort()).toEqual([
      "exfiltration 10.0.10.10", "port-scan 203.0.113.120 long", "port-scan 203.0.113.9", "ssh-brute-force 203.0.113.50",
    ]);
    // ...and those outside them, in the partitions read, were not: the engine over every record finds them.
    expect(EVERYTHING.map((f) => f.src)).toEqual(expect.arrayContaining(["203.0.113.10", "203.0.113.12", "10.0.10.12", "203.0.113.51", "203.0.113.11"]));
  });

  it("read no rows, without error, for a look-back whose partitions hold no objects", async () => {
    const jobs = plan(l.name, l, at("2027-01-03T12:00:00Z"), duckdbRenderer([]));
    expect(jobs.length).toBeGreaterThan(10);
    for (const job of jobs) expect([job.query.rule, await rowsOf(c, job.query.sql)]).toEqual([job.query.rule, []]);
  });

  it("are, in Athena's dialect, the same queries with the very filter DuckDB ran", () => {
    // test/functions/handlers/partitions.test.ts parses every Athena query's partition filter, for every layout.
    const wheres: string[] = [];
    const duckdb = plan(l.name, l, END, duckdbRenderer(wheres));
    const athena = plan(l.name, l, END);
    expect(athena.map((j) => j.key)).toEqual(duckdb.map((j) => j.key));
    for (const job of athena) {
      const where = wheres.find((w) => w.includes(timeFilter(job.start, job.end)))!;
      expect([job.query.rule, job.query.sql]).toEqual([job.query.rule, expect.stringContaining(`FROM "${l.name}"."flow_logs" WHERE `)]);
      expect([job.query.rule, job.query.sql]).toEqual([job.query.rule, expect.stringContaining(`(${where})`)]);
    }
  });
});

it("reads a table whose location holds no objects yet as no rows, where DuckDB alone refuses the empty glob", async () => {
  const l = LAYOUTS[2]!;
  const dir = join(root, "empty");
  mkdirSync(dir);
  await expect(c.run(`SELECT * FROM read_parquet(${quote(`${dir}/*.log.parquet`)})`)).rejects.toThrow(/No files found/);
  await c.run("CREATE SCHEMA empty");
  await createView(c, "empty", dir, layoutOf(l), l.options.fileFormat);
  const jobs = plan("empty", l, END, duckdbRenderer([]));
  for (const job of jobs) expect(await rowsOf(c, job.query.sql)).toEqual([]);
});
