/**
 * The compliance-relevant part of a Terraform plan (`terraform show -json`): retention,
 * scope, encryption, and deletion of any flow log, archive, archive protection or key. Pure:
 * reads the plan JSON only.
 */
import { NOT_ARCHIVE_TAG } from "./controls";

type Action = "no-op" | "create" | "read" | "update" | "delete";

interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly change: {
    readonly actions: readonly Action[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    readonly after_unknown?: Record<string, unknown>;
  };
}

export interface PlanJson {
  readonly resource_changes?: readonly ResourceChange[];
}

export interface ComplianceChange {
  /** create, update, delete or replace. */
  readonly action: string;
  readonly address: string;
  /** What the row is about: retention, scope, encryption, lifecycle, archive. */
  readonly aspect: string;
  readonly before: string;
  readonly after: string;
  /** True when the change weakens evidence: a deletion, lower retention, encryption removed. */
  readonly risk: boolean;
}

const UNKNOWN = "(known after apply)";
const NONE = "-";

function actionOf(actions: readonly Action[]): string | undefined {
  if (actions.includes("delete") && actions.includes("create")) return "replace";
  if (actions.length === 1 && actions[0] !== "no-op" && actions[0] !== "read") return actions[0];
  return undefined;
}

function show(obj: Record<string, unknown> | null, unknown: Record<string, unknown> | undefined, key: string): string {
  if (obj === null) return NONE;
  if (unknown?.[key] === true) return UNKNOWN;
  const v = obj[key];
  if (v === null || v === undefined || v === "") return NONE;
  return typeof v === "string" ? v : JSON.stringify(v);
}

function scopeOf(v: Record<string, unknown> | null): string {
  if (v === null) return NONE;
  const target = (v.vpc_id ?? v.subnet_id ?? v.eni_id ?? v.transit_gateway_id ?? v.transit_gateway_attachment_id ?? "?") as string;
  // A transit gateway's flow log has no traffic type: AWS logs all of its traffic.
  const traffic = v.traffic_type ?? (v.transit_gateway_id ?? v.transit_gateway_attachment_id ? "ALL" : "?");
  return `${target} ${traffic} -> ${v.log_destination_type ?? "?"}`;
}

function lifecycleOf(v: Record<string, unknown> | null): string {
  if (v === null) return NONE;
  const rules = (v.rule as Record<string, unknown>[] | undefined) ?? [];
  return rules
    .map((r) => {
      const transitions = [...((r.transition as { days: number; storage_class: string }[] | undefined) ?? [])]
        .sort((a, b) => a.days - b.days)
        .map((t) => `${t.storage_class}@${t.days}d`)
        .join(" ");
      const expiration = (r.expiration as { days?: number | null; expired_object_delete_marker?: boolean | null }[] | undefined)?.[0];
      // A rule that only removes expired delete markers deletes no data: say what it does.
      if (!transitions && !expiration?.days && expiration?.expired_object_delete_marker) return "remove expired delete markers";
      return `${transitions ? `${transitions} ` : ""}expire@${expiration?.days || "never"}${expiration?.days ? "d" : ""}`;
    })
    .join("; ");
}

function encryptionOf(v: Record<string, unknown> | null): string {
  if (v === null) return NONE;
  const rule = (v.rule as { apply_server_side_encryption_by_default?: { sse_algorithm?: string }[] }[] | undefined)?.[0];
  return rule?.apply_server_side_encryption_by_default?.[0]?.sse_algorithm ?? NONE;
}

const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);

/** An Object Lock configuration's default retention, e.g. "COMPLIANCE 365d". */
function objectLockOf(v: Record<string, unknown> | null): { text: string; mode?: string; days?: number } {
  if (v === null) return { text: NONE };
  const d = (v.rule as { default_retention?: { mode?: string; days?: number; years?: number }[] }[] | undefined)?.[0]?.default_retention?.[0];
  const days = d?.days ?? (d?.years !== undefined ? d.years * 365 : undefined);
  return d ? { text: `${d.mode ?? "?"} ${days ?? "?"}d`, mode: d.mode, days } : { text: "no default retention" };
}

/** The public access block's four settings: "all on", or those that are off. */
function publicAccessOf(v: Record<string, unknown> | null): { text: string; open: boolean } {
  if (v === null) return { text: NONE, open: true };
  const off = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].filter((k) => v[k] !== true);
  return off.length ? { text: `off: ${off.join(", ")}`, open: true } : { text: "all on", open: false };
}

function versioningOf(v: Record<string, unknown> | null): string {
  if (v === null) return NONE;
  return (v.versioning_configuration as { status?: string }[] | undefined)?.[0]?.status ?? NONE;
}

/**
 * The names of the buckets the kit marks as holding no evidence (Athena's query results), from
 * the plan's aws_s3_bucket entries, no-op ones included. Every other bucket is an archive:
 * fail-closed, as in the controls.
 */
function notArchiveBuckets(plan: PlanJson): Set<string> {
  const names = new Set<string>();
  for (const rc of plan.resource_changes ?? []) {
    if (rc.type !== "aws_s3_bucket") continue;
    for (const v of [rc.change.before, rc.change.after]) {
      const tags = (v?.tags_all ?? v?.tags) as Record<string, string> | null | undefined;
      if (tags?.[NOT_ARCHIVE_TAG.key] === NOT_ARCHIVE_TAG.value && typeof v?.bucket === "string") names.add(v.bucket);
    }
  }
  return names;
}

/** Rows for every change a compliance reviewer should see, in plan order. */
export function complianceChanges(plan: PlanJson): ComplianceChange[] {
  const rows: ComplianceChange[] = [];
  const notArchive = notArchiveBuckets(plan);
  for (const rc of plan.resource_changes ?? []) {
    const action = actionOf(rc.change.actions);
    if (!action) continue;
    const { before, after, after_unknown: unknown } = rc.change;
    const removed = action === "delete" || action === "replace";
    const push = (aspect: string, b: string, a: string, risk: boolean) => {
      if (action === "update" && b === a) return;
      rows.push({ action, address: rc.address, aspect, before: b, after: a, risk });
    };
    // A protection of the archive, not of Athena's results bucket (its name is known before the change).
    const ofArchive = () => !notArchive.has((before?.bucket ?? after?.bucket) as string);
    switch (rc.type) {
      case "aws_flow_log":
        push("scope", scopeOf(before), action === "delete" ? NONE : scopeOf(after), removed);
        break;
      case "aws_cloudwatch_log_group": {
        const b = show(before, undefined, "retention_in_days");
        const a = action === "delete" ? NONE : show(after, unknown, "retention_in_days");
        const lowered = num(b) !== undefined && num(a) !== undefined && num(a)! < num(b)!;
        push("retention (days)", b, a, removed || lowered || a === "0");
        push("encryption", before ? (before.kms_key_id ? "kms" : "none") : NONE, action === "delete" ? NONE : unknown?.kms_key_id || after?.kms_key_id ? "kms" : "none", removed);
        break;
      }
      case "aws_s3_bucket_lifecycle_configuration":
        push("lifecycle", lifecycleOf(before), action === "delete" ? NONE : lifecycleOf(after), removed);
        break;
      case "aws_s3_bucket_server_side_encryption_configuration":
        push("encryption", encryptionOf(before), action === "delete" ? NONE : encryptionOf(after), removed);
        break;
      case "aws_s3_bucket":
        if (removed) push("archive bucket", show(before, undefined, "bucket"), NONE, true);
        else if (action === "create") push("archive bucket", NONE, show(after, unknown, "bucket"), false);
        break;
      case "aws_s3_bucket_object_lock_configuration": {
        // Removing it leaves the bucket locked (AWS cannot turn Object Lock off) with new objects unlocked.
        const b = objectLockOf(before);
        const a = action === "delete" ? { text: NONE } : objectLockOf(after);
        const weaker = (b.mode === "COMPLIANCE" && a.mode !== "COMPLIANCE") || (b.days !== undefined && (a.days === undefined || a.days < b.days));
        push("object lock", b.text, a.text, removed || weaker);
        break;
      }
      case "aws_kms_key":
        // Deleting the key (after its deletion window) makes everything it encrypted unreadable: archived objects and log events.
        if (removed) push("kms key", show(before, undefined, "arn"), action === "delete" ? NONE : show(after, unknown, "arn"), true);
        if (action !== "delete") push("key rotation", show(before, undefined, "enable_key_rotation"), show(after, unknown, "enable_key_rotation"), removed || after?.enable_key_rotation === false);
        break;
      // Terraform deletes these before it tries (and fails) to delete a bucket that is not empty:
      // the evidence left behind is open to non-TLS access, public policies, and unversioned overwrites.
      case "aws_s3_bucket_policy":
        if (removed && ofArchive()) push("archive protection", before ? "bucket policy" : NONE, action === "delete" ? NONE : "bucket policy", true);
        break;
      case "aws_s3_bucket_public_access_block": {
        if (!ofArchive() || action === "create") break;
        const b = publicAccessOf(before);
        const a = action === "delete" ? { text: NONE, open: true } : publicAccessOf(after);
        push("archive protection", `public access block ${b.text}`, a.text === NONE ? NONE : `public access block ${a.text}`, removed || a.open);
        break;
      }
      case "aws_s3_bucket_versioning": {
        if (!ofArchive() || action === "create") break;
        const a = action === "delete" ? NONE : versioningOf(after);
        push("archive protection", `versioning ${versioningOf(before)}`, a === NONE ? NONE : `versioning ${a}`, removed || a !== "Enabled");
        break;
      }
      default:
        break;
    }
  }
  return rows;
}

/** The "Plan: N to add, ..." sentence of terraform's human output. */
export function planSummaryLine(stdout: string): string {
  const line = stdout.split("\n").find((l) => /^(Plan:|No changes\.)/.test(l.trim()));
  return line?.trim() ?? "terraform printed no plan summary";
}
