import * as fs from "fs";
import * as path from "path";
import { complianceChanges, ComplianceChange, planSummaryLine } from "../policies/plan-changes";
import { stackDir } from "./synth";
import { renderTable } from "./table";
import { runTerraform, TerraformError, terraformInit, writeOfflineOverride } from "./terraform";

export interface PlanResult {
  readonly summary: string;
  readonly changes: readonly ComplianceChange[];
  /** Terraform's full human-readable plan. */
  readonly output: string;
}

/**
 * Plans one synthesized stack. With `offline`, an override file lets the plan run with no
 * credentials and no network; the synthesized cdk.tf.json is not touched. `initialized`: the
 * caller has just run terraform init in the stack's folder with the same backend, so it is
 * not run again.
 */
export function planStack(outdir: string, stackName: string, opts: { offline: boolean; destroy?: boolean; initialized?: boolean }): PlanResult {
  const dir = stackDir(outdir, stackName);
  if (!fs.existsSync(path.join(dir, "cdk.tf.json"))) {
    throw new TerraformError(`${stackName}: no synthesized stack in ${dir} (got nothing). Run "flowlog-kit synth" first.`);
  }
  if (opts.offline) writeOfflineOverride(dir);
  if (!opts.initialized) terraformInit(dir);
  let plan;
  try {
    // -detailed-exitcode: 0 for a plan without changes, 2 for one with changes.
    plan = runTerraform(["plan", "-input=false", "-lock=false", "-no-color", "-detailed-exitcode", ...(opts.destroy ? ["-destroy"] : []), "-out=tfplan"], { cwd: dir, okExitCodes: [0, 2] });
  } catch (err) {
    // Without credentials the provider fails after several retries; say what to do first.
    if (!opts.offline && err instanceof TerraformError && /credential|NoCredentialProviders|no valid credential sources|failed to refresh cached credentials/i.test(err.message)) {
      throw new TerraformError(
        `${stackName}: terraform plan needs AWS credentials for account and region of the stack (got none that work). Set AWS_PROFILE or AWS credentials for the stack's account, or plan without them using --offline.\n${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  // A plan without changes has no compliance-relevant ones: `show -json` would load the
  // provider's whole schema (seconds of CPU for hashicorp/aws) to say so.
  const changes = plan.status === 0 ? [] : complianceChanges(JSON.parse(runTerraform(["show", "-json", "tfplan"], { cwd: dir }).stdout));
  return {
    summary: planSummaryLine(plan.stdout),
    changes,
    output: plan.stdout,
  };
}

/** The compliance-relevant changes as a table; risky rows are marked with "!". */
export function changesTable(changes: readonly ComplianceChange[]): string {
  if (changes.length === 0) return "No compliance-relevant changes.";
  return renderTable(
    ["", "action", "aspect", "before", "after", "resource"],
    changes.map((c) => [c.risk ? "!" : "", c.action, c.aspect, c.before, c.after, c.address]),
  );
}
