import * as path from "path";
import { environmentsDir, loadEnvironments } from "../environments";
import { incidentsDir, incidentState, loadIncidents, writeIncident } from "../environments/incidents";
import { ENI_PATTERN, INCIDENT_ID_PATTERN, IncidentRecord } from "../environments/incidents/schema";
import { ConfigError } from "../policies/errors";
import { incidentNames } from "../stacks/incident-stack";
import { parseDuration } from "./duration";
import { PlanResult, planStack } from "./plan";
import { stackDir, synthesize } from "./synth";
import { renderTable } from "./table";

import { DEFAULT_TTL } from "./options";
export { DEFAULT_TTL } from "./options";
const MAX_TTL_SECONDS = 30 * 86400;

export interface OpenOptions {
  readonly env?: string;
  readonly enis: readonly string[];
  readonly reason?: string;
  readonly ticket?: string;
  /** @default "72h" */
  readonly ttl?: string;
  readonly now: Date;
}

/** The incident id for a ticket: its lowercase slug, e.g. SEC-1234 -> sec-1234. */
export const incidentId = (ticket: string) =>
  ticket
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 32);

/**
 * Validates everything first, collecting every problem; only a fully valid request writes the
 * record (atomically). Nothing is written or changed otherwise.
 */
export function openIncident(opts: OpenOptions): { record: IncidentRecord; file: string } {
  const problems: string[] = [];
  const envs = loadEnvironments();
  const known = envs.map((e) => `"${e.name}"`).join(", ");
  if (opts.env === undefined) problems.push(`--env: is required (got nothing). Name the environment, one of ${known}.`);
  else if (!envs.some((e) => e.name === opts.env)) problems.push(`--env: unknown environment (got "${opts.env}"). Use one of ${known}.`);
  if (opts.enis.length === 0) problems.push("--eni: at least one interface is required (got nothing). Give --eni eni-0123456789abcdef0, once per interface.");
  const seen = new Set<string>();
  for (const eni of opts.enis) {
    if (!ENI_PATTERN.test(eni)) problems.push(`--eni: not an ENI id (got "${eni}"). Use "eni-" followed by 8 or 17 lowercase hex digits.`);
    else if (seen.has(eni)) problems.push(`--eni: given twice (got "${eni}"). Name each interface once.`);
    seen.add(eni);
  }
  const reason = opts.reason?.trim() ?? "";
  if (reason === "") problems.push(`--reason: is required (got ${opts.reason === undefined ? "nothing" : `"${opts.reason}"`}). Say why, e.g. --reason "suspected crypto-mining on web-3".`);
  const ticket = opts.ticket?.trim() ?? "";
  let id = "";
  if (ticket === "") problems.push(`--ticket: is required (got ${opts.ticket === undefined ? "nothing" : `"${opts.ticket}"`}). Give the incident ticket, e.g. --ticket SEC-1234.`);
  else {
    id = incidentId(ticket);
    if (!INCIDENT_ID_PATTERN.test(id)) problems.push(`--ticket: does not make an incident id (got "${ticket}"). Use letters and digits, e.g. SEC-1234.`);
  }
  let ttlSeconds = 0;
  try {
    ttlSeconds = parseDuration(opts.ttl ?? DEFAULT_TTL, "--ttl", 3600, MAX_TTL_SECONDS, (m) => new ConfigError([m]));
  } catch (err) {
    problems.push(...(err as ConfigError).problems);
  }
  const existing = loadIncidents();
  const twin = existing.find((i) => i.id === id);
  if (id && twin) {
    problems.push(`--ticket: incident "${id}" already exists (got "${ticket}", ${incidentState(twin, opts.now)} since ${twin.openedAt}). Plan or close it, or use the ticket of the new incident.`);
  }
  if (problems.length) throw new ConfigError(problems);
  const record: IncidentRecord = {
    id,
    environment: opts.env!,
    enis: [...opts.enis],
    reason,
    ticket,
    openedAt: opts.now.toISOString(),
    expiresAt: new Date(opts.now.getTime() + ttlSeconds * 1000).toISOString(),
    status: "open",
  };
  return { record, file: writeIncident(incidentsDir(), record) };
}

function findIncident(id: string, all: readonly IncidentRecord[]): IncidentRecord {
  const record = all.find((i) => i.id === id);
  if (!record) {
    const ids = all.map((i) => `"${i.id}"`).join(", ") || "none";
    throw new ConfigError([`${id}: unknown incident (got "${id}"). Known incidents: ${ids}; see flowlog-kit incident list.`]);
  }
  return record;
}

/** Synthesizes, then plans only the incident's stack. */
export function planIncident(id: string, opts: { offline: boolean; outdir: string }): { record: IncidentRecord; stack: string; plan: PlanResult } {
  const incidents = loadIncidents();
  const record = findIncident(id, incidents);
  if (record.status === "closed") throw new ConfigError([`${id}: incident is closed (got closed at ${record.closedAt}). Open a new incident to log these interfaces again.`]);
  const result = synthesize({ outdir: opts.outdir, incidents });
  const env = result.envs.find((e) => e.name === record.environment)!;
  const stack = incidentNames(env, record).stack;
  return { record, stack, plan: planStack(result.outdir, stack, { offline: opts.offline }) };
}

/**
 * Plans the destruction of the incident's stack (the archived evidence stays in the
 * environment's bucket), then marks the record closed. If planning fails, nothing changes.
 */
export function closeIncident(id: string, opts: { offline: boolean; outdir: string; now: Date }): { record: IncidentRecord; stack: string; plan: PlanResult; stackDir: string } {
  const incidents = loadIncidents();
  const record = findIncident(id, incidents);
  if (record.status === "closed") throw new ConfigError([`${id}: incident is already closed (got closed at ${record.closedAt}). Nothing to do.`]);
  const result = synthesize({ outdir: opts.outdir, incidents });
  const env = result.envs.find((e) => e.name === record.environment)!;
  const stack = incidentNames(env, record).stack;
  const plan = planStack(result.outdir, stack, { offline: opts.offline, destroy: true });
  const closed: IncidentRecord = { ...record, status: "closed", closedAt: opts.now.toISOString() };
  writeIncident(incidentsDir(), closed);
  return { record: closed, stack, plan, stackDir: stackDir(result.outdir, stack) };
}

const span = (ms: number) => {
  const h = Math.floor(Math.abs(ms) / 3_600_000);
  return h >= 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${h}h ${Math.floor((Math.abs(ms) % 3_600_000) / 60_000)}m`;
};

/** Every incident: open, expired and closed, with the time left. */
export function incidentTable(now: Date): string {
  const all = loadIncidents();
  if (all.length === 0) return `No incidents in ${path.relative(process.cwd(), incidentsDir(environmentsDir())) || "incidents/"}.`;
  return renderTable(
    ["id", "environment", "state", "interfaces", "ticket", "opened (UTC)", "expires (UTC)", "time left"],
    all.map((i) => {
      const state = incidentState(i, now);
      const left = Date.parse(i.expiresAt) - now.getTime();
      return [
        i.id,
        i.environment,
        state,
        i.enis.join(" "),
        i.ticket,
        i.openedAt.slice(0, 16).replace("T", " "),
        i.expiresAt.slice(0, 16).replace("T", " "),
        state === "closed" ? `closed ${i.closedAt?.slice(0, 16).replace("T", " ")}` : state === "expired" ? `expired ${span(left)} ago` : span(left),
      ];
    }),
  );
}
