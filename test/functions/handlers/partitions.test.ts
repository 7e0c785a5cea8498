import { archiveLayout, REGION_PARTITION } from "../../../functions/flowlog/athena";
import { LogFormat } from "../../../functions/flowlog/format";
import { DEFAULT_THRESHOLDS } from "../../../functions/detect/thresholds";
import { parseCsv, parseCsvRecords } from "../../../functions/handlers/csv";
import { RENDERER } from "../../../functions/handlers/renderer";
import { retryable, withRetry } from "../../../functions/handlers/retry";
import { AthenaTableTarget, planJobs, timeFilter } from "../../../functions/handlers/scheduled";

/** The balanced parenthesised text that starts at `open` (an index of "("). */
function balanced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    if (text[i] === ")" && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced parentheses from ${open}`);
}

/** The partition filter of every read of `table` in a query: the partitions and Regions it names. */
function partitionFilters(sql: string, table: string): { regions?: string[]; partitions: string[] }[] {
  const out: { regions?: string[]; partitions: string[] }[] = [];
  let at = sql.indexOf(`FROM ${table} WHERE `);
  expect(at).toBeGreaterThanOrEqual(0);
  while (at >= 0) {
    // sql.ts ANDs the caller's condition, in parentheses, into the WHERE of its read of the table.
    const where = balanced(sql, sql.indexOf("AND (", at) + 4);
    const region = new RegExp(`^${REGION_PARTITION} IN \\(([^)]*)\\) AND `).exec(where);
    const dates = region ? where.slice(region[0].length) : where;
    const disjunction = balanced(dates, 0);
    const terms = disjunction.startsWith("(") ? disjunction.split(" OR ").map((t) => t.replace(/^\(|\)$/g, "")) : [disjunction];
    const partitions = terms.map((t) => t.split(" AND ").map((eq) => /^(year|month|day|hour) = (\d+)$/.exec(eq)!.slice(1).join("=")).join(" "));
    out.push({ ...(region ? { regions: region[1]!.split(", ").map((r) => r.slice(1, -1)) } : {}), partitions });
    at = sql.indexOf(`FROM ${table} WHERE `, at + 1);
  }
  return out;
}

describe("every generated Athena query reads only the look-back's partitions", () => {
  // A run at 00:10 UTC with a 20-minute look-back reaches back across midnight.
  const end = Date.parse("2026-11-01T00:10:00Z") / 1000;
  const layouts = [false, true].flatMap((hive) => [false, true].flatMap((hourly) => [["eu-central-1"], ["eu-central-1", "eu-west-1"]].flatMap((regions) => (["plain-text", "parquet"] as const).map((fileFormat) => ({ hive, hourly, regions, fileFormat })))));

  it.each(layouts)("hive $hive, hourly $hourly, Regions $regions, $fileFormat", ({ hive, hourly, regions, fileFormat }) => {
    const layout = archiveLayout("flowlogs-prod-410987654323-eu-central-1", "410987654323", regions.length === 1 ? regions[0]! : regions, { fileFormat, hiveCompatiblePartitions: hive, perHourPartition: hourly });
    const table: AthenaTableTarget = { name: "flow_logs", partitionKeys: layout.partitionKeys, regions, fileFormat, fields: LogFormat.DEFAULT.names };
    const jobs = planJobs(RENDERER, { end, lookbackSeconds: 1200, thresholds: DEFAULT_THRESHOLDS, athena: { workgroup: "wg", database: "db", tables: [table] }, format: LogFormat.DEFAULT, unmask: false });
    expect(jobs.length).toBeGreaterThan(10);
    const expected = hourly ? ["year=2026 month=10 day=31 hour=23", "year=2026 month=11 day=1 hour=0"] : ["year=2026 month=10 day=31", "year=2026 month=11 day=1"];
    for (const job of jobs) {
      const filters = partitionFilters(job.query.sql, `"db"."flow_logs"`);
      for (const f of filters) {
        expect({ rule: job.query.rule, ...f }).toEqual({ rule: job.query.rule, ...(regions.length > 1 ? { regions } : {}), partitions: expected });
      }
      expect(job.query.sql).toContain(timeFilter(job.start, job.end));
    }
  });
});

describe("Athena result files (CSV)", () => {
  it("reads quoted values with commas, doubled quotes and line breaks, and empty fields", () => {
    expect(parseCsv('"src","note","n"\n"10.0.0.1","a, ""b""\nc",\r\n', "r.csv")).toEqual([{ src: "10.0.0.1", note: 'a, "b"\nc', n: "" }]);
  });

  it("reads a header without rows as no rows", () => {
    expect(parseCsv('"src","dst"\n', "r.csv")).toEqual([]);
  });

  it("refuses a quoted field that never ends, naming the file and line", () => {
    expect(() => parseCsvRecords('"a","b\n', "s3://r/q.csv")).toThrow('s3://r/q.csv:2: a quoted field that never ends (got "\\"a\\",\\"b\\n"). The result file is not the CSV Athena writes: run the query again; if it persists, read the file with aws s3 cp.');
  });

  it("refuses text after a closing quote and a quote inside an unquoted field", () => {
    expect(() => parseCsvRecords('"a"x\n', "q.csv")).toThrow("q.csv:1: text after a closing quote");
    expect(() => parseCsvRecords('a"b\n', "q.csv")).toThrow("q.csv:1: a quote inside an unquoted field");
  });

  it("refuses a row whose field count differs from the header's", () => {
    expect(() => parseCsv('"a","b"\n"1"\n', "q.csv")).toThrow('q.csv:2: has 1 fields where the header has 2 (got "1"). The result file is not the CSV Athena writes: run the query again.');
  });
});

describe("the retry helper", () => {
  const quiet = { sleep: async () => undefined, log: () => undefined, random: () => 0.99 };

  it("retries throttling and transient server errors, never a client error", () => {
    expect(retryable({ name: "TooManyRequestsException" })).toBe(true);
    expect(retryable({ name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(retryable({ name: "AccessDeniedException", $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(retryable(undefined)).toBe(false);
  });

  it("caps each wait at maxMs", async () => {
    const waits: number[] = [];
    let calls = 0;
    await withRetry({ ...quiet, sleep: async (ms) => void waits.push(ms) }, "x", async () => {
      if (++calls < 5) throw Object.assign(new Error("slow down"), { name: "SlowDown" });
      return calls;
    }, { baseMs: 1000, maxMs: 3000 });
    expect(waits).toEqual([990, 1980, 2970, 2970]);
  });

  it("passes a non-retryable error through unchanged, after one attempt", async () => {
    const denied = Object.assign(new Error("no"), { name: "AccessDeniedException" });
    let calls = 0;
    await expect(withRetry(quiet, "x", async () => { calls++; throw denied; })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });
});
