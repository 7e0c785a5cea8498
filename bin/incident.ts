import * as fs from "fs";
import * as path from "path";
import { environmentsDir, loadEnvironments } from "../environments";
import { incidentsDir, incidentState, IncidentFiles, isLive, readIncidents, writeIncident } from "../environments/incidents";
import { ENI_PATTERN, INCIDENT_ID_PATTERN, IncidentRecord } from "../environments/incidents/schema";
import { Environment, MAX_FLOW_LOGS_PER_RESOURCE } from "../environments/schema";
import { ConfigError, showValue } from "../policies/errors";
import { RESERVED_TAG_PREFIX, TAG_CHARACTERS, TAG_LIMITS, tagLength } from "../policies/tags";
import { incidentNames } from "../stacks/incident-stack";
import { parseDuration } from "./duration";
import { PlanResult, planStack } from "./plan";
import { runTerraform, TerraformError, terraformInit } from "./terraform";
import { localStateFile, stackDir, synthesize } from "./synth";
import { renderTable } from "./table";

import { DEFAULT_TTL, outFlag } from "./options";
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
  // Both become tag values on every resource of the incident stack: AWS's tag rules apply.
  for (const [flag, value] of [["--reason", reason], ["--ticket", ticket]] as const) {
    if (tagLength(value) > TAG_LIMITS.valueLength) problems.push(`${flag}: longer than a tag value may be, ${TAG_LIMITS.valueLength} characters (got ${tagLength(value)} characters). Shorten it; put the detail in the ticket.`);
    else if (!TAG_CHARACTERS.test(value) || RESERVED_TAG_PREFIX.test(value)) problems.push(`${flag}: has characters a tag value may not hold, or starts with "aws:" (got ${showValue(value)}). Use letters, digits, spaces and _ . : / = + - @ only.`);
  }
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
  const existing = readIncidents();
  const env = envs.find((e) => e.name === opts.env);
  if (env) {
    for (const eni of new Set(opts.enis)) {
      const held = flowLogsOnInterface(env, existing.records, eni);
      if (held.count + INCIDENT_FLOW_LOGS_PER_ENI > MAX_FLOW_LOGS_PER_RESOURCE) {
        problems.push(
          `--eni: ${eni} already has ${held.count} flow log${held.count === 1 ? "" : "s"} (${held.by.join(", ")}), and AWS allows ${MAX_FLOW_LOGS_PER_RESOURCE} per network interface, a quota it cannot raise; the incident adds ${INCIDENT_FLOW_LOGS_PER_ENI} (got "${eni}"). ` +
            (held.by.some((b) => b.startsWith("incident "))
              ? "Its traffic is already logged by that incident: query its log group, or close it first."
              : "Its traffic is already logged by the environment's own scope: query that scope's log group."),
        );
      }
    }
  }
  const twin = existing.records.find((i) => i.id === id);
  if (id && twin) {
    const state = incidentState(twin, opts.now);
    const since = state === "closed" ? `closed at ${twin.closedAt}` : state === "closing" ? `closing since ${twin.closingAt}` : `${state}, opened at ${twin.openedAt}`;
    const fix = state === "closed" ? "Use a new ticket (or a suffix such as SEC-1234-2) to log these interfaces again." : "Plan or close it, or use the ticket of the new incident.";
    problems.push(`--ticket: incident "${id}" already exists (got "${ticket}", ${since}). ${fix}`);
  } else if (id && existing.broken.some((b) => b.file === `incidents/${id}.json`)) {
    problems.push(`--ticket: incidents/${id}.json exists but cannot be loaded (got "${ticket}"). Fix or remove that record first: ${existing.broken.find((b) => b.file === `incidents/${id}.json`)!.problems[0]}`);
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

/** An incident logs each interface to CloudWatch and to the archive: two flow logs. */
const INCIDENT_FLOW_LOGS_PER_ENI = 2;

/** The flow logs an interface already has from the environment's own scopes and from live incidents. */
function flowLogsOnInterface(env: Environment, incidents: readonly IncidentRecord[], eni: string): { count: number; by: string[] } {
  const by: string[] = [];
  let count = 0;
  env.flowLogs.forEach((s, index) => {
    if (s.id !== eni) return;
    count += s.destinations.length;
    by.push(`${env.name}.flowLogs[${index}] to ${s.destinations.join(" and ")}`);
  });
  for (const i of incidents) {
    if (i.environment !== env.name || !isLive(i) || !i.enis.includes(eni)) continue;
    count += INCIDENT_FLOW_LOGS_PER_ENI;
    by.push(`incident ${i.id}`);
  }
  return { count, by };
}

/** The record with this id; a broken record or an unknown id is a ConfigError with the way out. */
function findIncident(id: string, files: IncidentFiles): IncidentRecord {
  const record = files.records.find((i) => i.id === id);
  if (record) return record;
  const broken = files.broken.find((b) => b.file === `incidents/${id}.json`);
  if (broken) throw new ConfigError(broken.problems);
  const ids = files.records.map((i) => `"${i.id}"`).join(", ") || "none";
  throw new ConfigError([`${id}: unknown incident (got "${id}"). Known incidents: ${ids}; see flowlog-kit incident list.`]);
}

/** The stack of a live incident, synthesized with every environment; refuses closed and orphaned records. */
function synthesizeIncident(id: string, outdir: string, closedFix: string): { record: IncidentRecord; stack: string; outdir: string } {
  const files = readIncidents();
  const record = findIncident(id, files);
  if (record.status === "closed") throw new ConfigError([`${id}: incident is closed (got closed at ${record.closedAt}). ${closedFix}`]);
  const all = loadEnvironments();
  const env = all.find((e) => e.name === record.environment);
  if (!env) {
    throw new ConfigError([
      `incidents/${id}.json.environment: no such environment (got "${record.environment}"). Restore environments/${record.environment}.ts (from version control) so that the incident's stack can be planned; if its stack was never applied or is already destroyed, delete the record.`,
    ]);
  }
  const result = synthesize({ outdir, all, envNames: [env.name], incidents: files.records });
  return { record, stack: incidentNames(env, record).stack, outdir: result.outdir };
}

/** Synthesizes, then plans only the incident's stack (its destroy, once the incident is closing). */
export function planIncident(id: string, opts: { offline: boolean; outdir: string }): { record: IncidentRecord; stack: string; plan: PlanResult; stackDir: string } {
  const { record, stack, outdir } = synthesizeIncident(id, opts.outdir, "Open a new incident to log these interfaces again.");
  const plan = planStack(outdir, stack, { offline: opts.offline, destroy: record.status === "closing" });
  return { record, stack, plan, stackDir: stackDir(outdir, stack) };
}

/** What `incident close` found and did. */
export interface CloseResult {
  readonly record: IncidentRecord;
  readonly stack: string;
  readonly stackDir: string;
  /**
   * `closed`: the stack's real state holds no resources, so the record is closed.
   * `closing`: the destroy is planned (with credentials: `tfplan`, to apply; offline: a
   * preview only) and the record stays `closing` until a later close sees the state empty.
   */
  readonly outcome: "closed" | "closing";
  /** The destroy plan; absent when the state was already empty. */
  readonly plan?: PlanResult;
  /** Managed resources still in the stack's state (with credentials only). */
  readonly remaining?: readonly string[];
}

/** Reads the managed resources in a stack's real state (terraform init with its own backend, then state list). */
export type StateReader = (stackDir: string) => readonly string[];

export const readStackState: StateReader = (dir) => {
  terraformInit(dir);
  return stateAddresses(dir);
};

/**
 * The managed resources in the state of a stack already initialised: `state list` reads the
 * state alone, where `show -json` first loads the provider's whole schema (seconds of CPU for
 * hashicorp/aws) to render attributes this check never reads.
 */
function stateAddresses(dir: string): readonly string[] {
  let listed: string;
  try {
    listed = runTerraform(["state", "list", "-no-color"], { cwd: dir }).stdout;
  } catch (err) {
    // No state at all (a local file not there, or an empty remote one) holds no resources.
    if (err instanceof TerraformError && /No state file was found/.test(err.message)) return [];
    throw err;
  }
  // Data sources are read again on every plan; only managed resources are real things to destroy.
  return listed
    .split("\n")
    .map((l) => l.trim())
    .filter((a) => a !== "" && !isDataSource(a));
}

/** Whether a state address (`module.a["k"].data.aws_x.y[0]`) names a data source: its resource step starts with `data.`. */
function isDataSource(address: string): boolean {
  const step = /^module\.[A-Za-z0-9_-]+(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\./;
  let rest = address;
  for (let m = step.exec(rest); m; m = step.exec(rest)) rest = rest.slice(m[0].length);
  return rest.startsWith("data.");
}

/**
 * Ends an incident's logging without ever stranding it: the record goes from open to closing
 * when the destroy is planned, and to closed only when the stack's real state (read with the
 * stack's own backend and credentials) holds no resources. The stack is synthesized until then.
 * `offline` previews the destroy with dummy credentials: it can never confirm, so it never
 * closes the record.
 */
export function closeIncident(id: string, opts: { offline: boolean; outdir: string; now: Date; readState?: StateReader; neverApplied?: boolean }): CloseResult {
  const { record, stack, outdir } = synthesizeIncident(id, opts.outdir, "Nothing to do.");
  const dir = stackDir(outdir, stack);
  if (!opts.offline) {
    const missing = missingLocalState(dir);
    // A local state lives beside the output folder it was applied from: a missing file means
    // "never applied" or "applied from another --out", and only the user can tell which.
    if (missing !== undefined && !opts.neverApplied) {
      throw new ConfigError([
        `${id}: no state file for ${stack} (got nothing at ${path.relative(process.cwd(), missing) || missing}). ` +
          `If you applied it from another output folder, run flowlog-kit incident close ${id} --out <that folder>; ` +
          `if its stack was never applied, say so: flowlog-kit incident close ${id} --never-applied${outFlag(opts.outdir)}.`,
      ]);
    }
    const remaining = (opts.readState ?? readStackState)(dir);
    if (remaining.length === 0) {
      const closed: IncidentRecord = { ...record, status: "closed", closingAt: record.closingAt ?? opts.now.toISOString(), closedAt: opts.now.toISOString() };
      writeIncident(incidentsDir(), closed);
      return { record: closed, stack, stackDir: dir, outcome: "closed", remaining };
    }
    // readStackState has just run terraform init with this backend: the plan reuses it.
    const plan = planStack(outdir, stack, { offline: false, destroy: true, initialized: opts.readState === undefined });
    return { record: markClosing(record, opts.now), stack, stackDir: dir, outcome: "closing", plan, remaining };
  }
  const plan = planStack(outdir, stack, { offline: true, destroy: true });
  return { record: markClosing(record, opts.now), stack, stackDir: dir, outcome: "closing", plan };
}

/** The state file of a stack with a local backend, when it does not exist; undefined otherwise (or for remote backends). */
function missingLocalState(dir: string): string | undefined {
  const file = localStateFile(dir)?.file;
  return file === undefined || fs.existsSync(file) ? undefined : file;
}

function markClosing(record: IncidentRecord, now: Date): IncidentRecord {
  if (record.status === "closing") return record;
  const closing: IncidentRecord = { ...record, status: "closing", closingAt: now.toISOString() };
  writeIncident(incidentsDir(), closing);
  return closing;
}

/** The command that moves an incident on, for `incident list`. */
export function nextStep(i: IncidentRecord, now: Date): string {
  switch (incidentState(i, now)) {
    case "open":
      return `incident plan ${i.id}, then apply; incident close ${i.id} when done`;
    case "expired":
      return `incident close ${i.id} (past its TTL)`;
    case "closing":
      return `apply the destroy plan, then incident close ${i.id} to confirm`;
    case "closed":
      return "-";
  }
}

const span = (ms: number) => {
  const h = Math.floor(Math.abs(ms) / 3_600_000);
  return h >= 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${h}h ${Math.floor((Math.abs(ms) % 3_600_000) / 60_000)}m`;
};

/** Every incident with its state, the time left and the next command; broken records are listed with their problem. */
export function incidentTable(now: Date): string {
  const { records, broken } = readIncidents();
  if (records.length === 0 && broken.length === 0) return `No incidents in ${path.relative(process.cwd(), incidentsDir(environmentsDir())) || "incidents/"}.`;
  const table = renderTable(
    ["id", "environment", "state", "interfaces", "ticket", "opened (UTC)", "expires (UTC)", "time left", "next"],
    records.map((i) => {
      const state = incidentState(i, now);
      const left = Date.parse(i.expiresAt) - now.getTime();
      const when = (t?: string) => t?.slice(0, 16).replace("T", " ");
      return [
        i.id,
        i.environment,
        state,
        i.enis.join(" "),
        i.ticket,
        when(i.openedAt)!,
        when(i.expiresAt)!,
        state === "closed" ? `closed ${when(i.closedAt)}` : left <= 0 ? `expired ${span(left)} ago` : span(left),
        nextStep(i, now),
      ];
    }),
  );
  const problems = broken.flatMap((b) => b.problems.map((p) => `cannot be loaded: ${p}`));
  return problems.length ? `${table}\n\n${problems.join("\n")}` : table;
}
