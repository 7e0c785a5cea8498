import * as fs from "fs";
import * as path from "path";
import { ConfigError, showValue } from "../../policies/errors";
import { environmentsDir } from "..";
import { IncidentRecord, IncidentSchema } from "./schema";

/** Where incident records live: `incidents/` in the environments folder. */
export const incidentsDir = (envDir: string = environmentsDir()) => path.join(envDir, "incidents");

/** Reads and validates every incident record; a broken record is a ConfigError naming it. */
export function loadIncidents(dir: string = incidentsDir()): readonly IncidentRecord[] {
  if (!fs.existsSync(dir)) return [];
  const problems: string[] = [];
  const records: IncidentRecord[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const full = path.join(dir, file);
    let input: unknown;
    try {
      input = JSON.parse(fs.readFileSync(full, "utf8"));
    } catch (err) {
      problems.push(`incidents/${file}: cannot be loaded (got ${showValue((err as Error).message)}). Fix the record or restore it from version control.`);
      continue;
    }
    const r = IncidentSchema.safeParse(input);
    if (!r.success) {
      for (const issue of r.error.issues) {
        problems.push(`incidents/${file}.${issue.path.join(".")}: ${issue.message} (got ${showValue((input as Record<PropertyKey, unknown>)?.[issue.path[0] ?? ""])}). Fix the record; flowlog-kit incident open writes valid ones.`);
      }
      continue;
    }
    if (`${r.data.id}.json` !== file) {
      problems.push(`incidents/${file}.id: does not match the file name (got "${r.data.id}"). Rename the file to ${r.data.id}.json.`);
      continue;
    }
    records.push(Object.freeze(r.data));
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(records);
}

/** An incident's state at `now`: open, expired (open past its TTL) or closed. */
export function incidentState(i: IncidentRecord, now: Date): "open" | "expired" | "closed" {
  if (i.status === "closed") return "closed";
  return Date.parse(i.expiresAt) <= now.getTime() ? "expired" : "open";
}

/** The record as the file a colleague reviews: JSON, checked against IncidentSchema on every load. */
export function incidentSource(i: IncidentRecord): string {
  return `${JSON.stringify(i, null, 2)}\n`;
}

/** Writes a record atomically: a temp file in the same folder, then a rename. */
export function writeIncident(dir: string, i: IncidentRecord): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${i.id}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, incidentSource(i));
  fs.renameSync(tmp, file);
  return file;
}
