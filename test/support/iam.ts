import type { PolicyDocument, Statement } from "../../policies/iam";

const glob = (pattern: string, value: string) =>
  new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(value);
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const matches = (st: Statement, action: string, resource: string) =>
  list(st.Action).some((a) => glob(a, action)) && (st.Resource === undefined || list(st.Resource).some((r) => glob(r, resource)));

/** IAM's evaluation for one identity policy, conditions ignored: an explicit Deny wins, else any Allow. */
export function allows(doc: PolicyDocument, action: string, resource: string): boolean {
  if (doc.Statement.some((st) => st.Effect === "Deny" && matches(st, action, resource))) return false;
  return doc.Statement.some((st) => st.Effect === "Allow" && matches(st, action, resource));
}
