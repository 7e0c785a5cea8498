import * as fs from "fs";
import * as path from "path";
import type { z } from "zod";
import { ConfigError, showValue } from "../../policies/errors";
import { environmentsDir, valueAt } from "..";
import { INCIDENT_STATUSES, IncidentRecord, IncidentSchema } from "./schema";

/** Where incident records live: `incidents/` in the environments folder. */
export const incidentsDir = (envDir: string = environmentsDir()) => path.join(envDir, "incidents");

/** A record file that cannot be used, with the environment it names when that can be read. */
export interface BrokenIncident {
  /** The file, as `incidents/<name>.json`. */
  readonly file: string;
  /** The environment the record names, when it is readable; undefined when it is not. */
  readonly environment?: string;
  /** Each problem in the usual form: `<file>.<field>: <problem> (got <value>). <fix>`. */
  readonly problems: readonly string[];
}

export interface IncidentFiles {
  readonly records: readonly IncidentRecord[];
  readonly broken: readonly BrokenIncident[];
}

const FIX = "Fix the record (flowlog-kit incident open writes valid ones) or restore it from version control.";

/** What each field must hold, for messages: no schema library's wording reaches the user. */
const FIELD_RULES: Readonly<Record<string, string>> = {
  id: "must be the ticket's slug: 2 to 32 lowercase letters, digits and dashes, starting and ending with a letter or digit",
  environment: "must name an environment (a <name>.ts file in the environments folder)",
  enis: 'must list the interfaces as ENI ids, "eni-" followed by 8 or 17 lowercase hex digits',
  reason: "must say why logging was turned on, as text",
  ticket: "must be the incident ticket, as text",
  openedAt: "must be a UTC timestamp such as 2026-12-05T10:00:00.000Z",
  expiresAt: "must be a UTC timestamp such as 2026-12-08T10:00:00.000Z",
  closingAt: "must be a UTC timestamp such as 2026-12-06T10:00:00.000Z",
  closedAt: "must be a UTC timestamp such as 2026-12-06T11:00:00.000Z",
  status: `must be one of ${INCIDENT_STATUSES.map((s) => `"${s}"`).join(", ")}`,
};

const CUSTOM: Readonly<Record<string, string>> = {
  duplicate: "names an interface that the record already names",
  "before-open": "is not after openedAt",
  missing: 'is required when status is "closed"',
};


function issueText(file: string, input: unknown, issue: z.core.$ZodIssue): string {
  const where = `${file}${issue.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("")}`;
  if (issue.code === "unrecognized_keys") {
    return `${where}: unknown field${issue.keys.length === 1 ? "" : "s"} (got ${issue.keys.map((k) => `"${k}"`).join(", ")}). Remove ${issue.keys.length === 1 ? "it" : "them"}; environments/incidents/schema.ts lists the fields.`;
  }
  const value = valueAt(input, issue.path);
  const field = String(issue.path[0] ?? "");
  const problem =
    issue.code === "custom"
      ? (CUSTOM[issue.message] ?? issue.message)
      : value === undefined
        ? "is required"
        : issue.code === "too_small" && Array.isArray(value)
          ? "must list at least one interface"
          : (FIELD_RULES[field] ?? "is not valid here");
  return `${where}: ${problem} (got ${showValue(value)}). ${FIX}`;
}

/**
 * Reads every incident record. A record that cannot be used is returned as broken, with the
 * environment it names when that can be read, so that it holds up only that environment.
 */
export function readIncidents(dir: string = incidentsDir()): IncidentFiles {
  if (!fs.existsSync(dir)) return { records: [], broken: [] };
  const records: IncidentRecord[] = [];
  const broken: BrokenIncident[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const file = `incidents/${name}`;
    let text = "";
    let input: unknown;
    try {
      text = fs.readFileSync(path.join(dir, name), "utf8");
      input = JSON.parse(text);
    } catch (err) {
      // The environment can often still be read from a record with a typo elsewhere.
      const environment = /"environment"\s*:\s*"([^"\\]+)"/.exec(text)?.[1];
      broken.push({ file, environment, problems: [`${file}: is not valid JSON (got ${showValue((err as Error).message)}). ${FIX}`] });
      continue;
    }
    const named = (input as { environment?: unknown } | null)?.environment;
    const environment = typeof named === "string" && named.length > 0 ? named : undefined;
    const r = IncidentSchema.safeParse(input);
    if (!r.success) {
      broken.push({ file, environment, problems: r.error.issues.map((issue) => issueText(file, input, issue)) });
      continue;
    }
    if (`${r.data.id}.json` !== name) {
      broken.push({ file, environment, problems: [`${file}.id: does not match the file name (got "${r.data.id}"). Rename the file to ${r.data.id}.json, or set id to "${name.slice(0, -5)}".`] });
      continue;
    }
    records.push(Object.freeze(r.data));
  }
  return { records: Object.freeze(records), broken: Object.freeze(broken) };
}

/** Every incident record; any broken record is a ConfigError naming its file. */
export function loadIncidents(dir: string = incidentsDir()): readonly IncidentRecord[] {
  const { records, broken } = readIncidents(dir);
  if (broken.length) throw new ConfigError(broken.flatMap((b) => b.problems));
  return records;
}

/** Whether an incident's stack is still synthesized: until the kit has seen its state empty. */
export const isLive = (i: IncidentRecord) => i.status !== "closed";

/** An incident's state at `now`: open, expired (open past its TTL), closing or closed. */
export function incidentState(i: IncidentRecord, now: Date): "open" | "expired" | "closing" | "closed" {
  if (i.status !== "open") return i.status;
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
  try {
    fs.writeFileSync(tmp, incidentSource(i));
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new ConfigError([`${path.relative(process.cwd(), file)}: cannot be written (got ${showValue((err as Error).message)}). Make the environments folder writable and run the command again.`], { cause: err });
  }
  return file;
}
