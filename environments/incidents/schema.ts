import { z } from "zod";

/** ENI ids: eni- followed by 8 or 17 lowercase hex digits. */
export const ENI_PATTERN = /^eni-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** Incident ids are slugs of the ticket: they name a Terraform stack and a file. */
export const INCIDENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;

/**
 * Where an incident is in its life:
 * - `open`: its stack is synthesized and meant to be applied;
 * - `closing`: `incident close` planned the destroy; the stack is still synthesized (so the
 *   destroy plan can be made and applied) until the kit has seen the stack's state empty;
 * - `closed`: the kit saw the state empty; the stack is no longer synthesized.
 */
export const INCIDENT_STATUSES = ["open", "closing", "closed"] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

const timestamp = z.string().datetime();

/** One incident's ENI-scoped logging, as reviewed in a pull request. */
export const IncidentSchema = z
  .strictObject({
    /** Slug of the ticket; the stack is `flowlogs-<environment>-incident-<id>`. */
    id: z.string().regex(INCIDENT_ID_PATTERN),
    environment: z.string().min(1),
    /** The interfaces to log in full, each once. */
    enis: z.array(z.string().regex(ENI_PATTERN)).min(1),
    reason: z.string().min(1),
    ticket: z.string().min(1),
    /** ISO timestamps (UTC). */
    openedAt: timestamp,
    expiresAt: timestamp,
    status: z.enum(INCIDENT_STATUSES),
    /** When `incident close` first planned the destroy. */
    closingAt: timestamp.optional(),
    /** When the kit saw the stack's state empty. */
    closedAt: timestamp.optional(),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.enis.forEach((eni, i) => {
      if (seen.has(eni)) ctx.addIssue({ code: "custom", path: ["enis", i], message: "duplicate" });
      seen.add(eni);
    });
    if (Date.parse(r.expiresAt) <= Date.parse(r.openedAt)) ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "before-open" });
    if (r.status === "closed" && r.closedAt === undefined) ctx.addIssue({ code: "custom", path: ["closedAt"], message: "missing" });
  });

export type IncidentRecord = z.output<typeof IncidentSchema>;
