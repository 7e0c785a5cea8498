/**
 * The same two aggregates in DuckDB with one thread (dev dependency only): distinct
 * destination ports per source over REJECT records, and bytes per (source, destination) pair,
 * read from the same space-separated file with its header line.
 *
 *   node -r ./bin/register.js bench/duckdb-aggregates.ts <file> [scan|load]
 */
import { DuckDBInstance } from "@duckdb/node-api";

async function main(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await db.connect();
  const columns =
    "{'version':'INTEGER','account-id':'VARCHAR','interface-id':'VARCHAR','srcaddr':'VARCHAR','dstaddr':'VARCHAR'," +
    "'srcport':'INTEGER','dstport':'INTEGER','protocol':'INTEGER','packets':'BIGINT','bytes':'BIGINT','start':'BIGINT'," +
    "'end':'BIGINT','action':'VARCHAR','log-status':'VARCHAR'}";
  const reader = `read_csv('${file.replace(/'/g, "''")}', delim=' ', header=true, nullstr='-', columns=${columns})`;
  const sql = (from: string) => `
    WITH ports AS (SELECT srcaddr, count(DISTINCT dstport) AS n FROM ${from} WHERE action = 'REJECT' GROUP BY srcaddr),
         bytes AS (SELECT srcaddr, dstaddr, sum(bytes) AS b FROM ${from} GROUP BY srcaddr, dstaddr)
    SELECT (SELECT count(*) FROM ports), (SELECT sum(n) FROM ports), (SELECT count(*) FROM bytes), (SELECT sum(b) FROM bytes)`;
  // Two plans: scan the file in each aggregate (projection pushdown), or load the used columns once.
  const plan = process.argv[3] ?? "scan";
  if (plan === "load") await c.run(`CREATE TEMP TABLE f AS SELECT srcaddr, dstaddr, dstport, bytes, action FROM ${reader}`);
  const r = await c.runAndReadAll(sql(plan === "load" ? "f" : reader));
  const [rejectingSources, rejectSourcePorts, pairs, totalBytes] = r.getRows()[0]!.map((v) => Number(v));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ engine: `duckdb (${plan})`, rejectingSources, rejectSourcePorts, pairs, totalBytes, ms: Math.round(ms) })}\n`);
}

void main(process.argv[2]!);
