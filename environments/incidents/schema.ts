import { z } from "zod";

/** ENI ids: eni- followed by 8 or 17 lowercase hex digits. */
export const ENI_PATTERN = /^eni-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** Incident ids are slugs of the ticket: they name a Terraform stack and a file. */
export const INCIDENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;

/** One incident's ENI-scoped logging, as reviewed in a pull request. */
export const IncidentSchema = z.strictObject({
  /** Slug of the ticket; the stack is `flowlogs-<environment>-incident-<id>`. */
  id: z.string().regex(INCIDENT_ID_PATTERN),
  environment: z.string().min(1),
  /** The interfaces to log in full. */
  enis: z.array(z.string().regex(ENI_PATTERN)).min(1),
  reason: z.string().min(1),
  ticket: z.string().min(1),
  /** ISO timestamps (UTC). */
  openedAt: z.string().datetime(),
  expiresAt: z.string().datetime(),
  status: z.enum(["open", "closed"]),
  closedAt: z.string().datetime().optional(),
});

export type IncidentRecord = z.output<typeof IncidentSchema>;
