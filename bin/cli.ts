import { Command, CommanderError } from "commander";
import { loadEnvironments, selectEnvironments } from "../environments";
import { ConfigError } from "../policies/errors";
import { DetectorError } from "../functions/detect/engine";
import { detectLocal, findingsJson, findingsReport } from "./detect";
import { complianceReport, controlsSummary, hasFailures, renderReport, REPORT_FORMATS, ReportFormat, writeReport } from "./compliance";
import { changesTable, planStack } from "./plan";
import { invokeDetector, parseSince } from "./remote";
import { summaryTable, synthesize } from "./synth";
import { TerraformError } from "./terraform";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
};

/** Builds the `flowlog-kit` program; each action returns its exit code. */
export function program(io: Io, setCode: (code: number) => void): Command {
  const cli = new Command("flowlog-kit")
    .description("AWS VPC Flow Logs as typed, per-environment Terraform stacks.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  cli
    .command("synth")
    .description("validate every environment and synthesize stacks into cdktf.out")
    .argument("[env...]", "environments to synthesize (default: all)")
    .option("--out <dir>", "output folder", "cdktf.out")
    .action((envNames: string[], opts: { out: string }) => {
      const result = synthesize({ envNames, outdir: opts.out });
      const report = complianceReport(result.envs, result.outdir);
      io.out(summaryTable(result.envs, new Map(report.environments.map((r) => [r.environment, controlsSummary(r)]))));
      io.out(`\nSynthesized ${result.envs.length} stack${result.envs.length === 1 ? "" : "s"} into ${opts.out}/stacks.`);
      setCode(0);
    });

  cli
    .command("plan")
    .description("synthesize, then terraform plan one environment's stack")
    .argument("<env>", "environment to plan")
    .option("--offline", "plan with no AWS credentials and no network (override file: dummy keys, local state)")
    .option("--out <dir>", "output folder", "cdktf.out")
    .action((env: string, opts: { offline?: boolean; out: string }) => {
      const all = loadEnvironments();
      const [stack] = selectEnvironments(all, [env]);
      const result = synthesize({ outdir: opts.out, all });
      const plan = planStack(result.outdir, stack.stackName, { offline: opts.offline === true });
      io.out(`${stack.stackName}${opts.offline ? " (offline)" : ""}: ${plan.summary}\n`);
      io.out(changesTable(plan.changes));
      setCode(0);
    });

  cli
    .command("compliance")
    .description("evaluate the compliance controls on each environment's synthesized stack")
    .argument("[env...]", "environments to report (default: all)")
    .option("--format <format>", `report format: ${REPORT_FORMATS.join(", ")}`, "table")
    .option("--out <path>", "write the report to a file instead of standard output")
    .option("--synth-out <dir>", "output folder of the synthesized stacks", "cdktf.out")
    .action((envNames: string[], opts: { format: string; out?: string; synthOut: string }) => {
      if (!REPORT_FORMATS.includes(opts.format as ReportFormat)) {
        throw new ConfigError([`--format: unknown report format (got "${opts.format}"). Use one of ${REPORT_FORMATS.map((f) => `"${f}"`).join(", ")}.`]);
      }
      const all = loadEnvironments();
      const chosen = selectEnvironments(all, envNames);
      const result = synthesize({ outdir: opts.synthOut, all });
      const report = complianceReport(chosen, result.outdir);
      const text = renderReport(report, opts.format as ReportFormat);
      if (opts.out) {
        writeReport(opts.out, text);
        io.out(`Wrote the ${opts.format} report for ${chosen.map((e) => e.name).join(", ")} to ${opts.out}.`);
      } else io.out(text);
      for (const r of report.environments) if (r.summary.failed) io.err(`${r.environment}: ${r.summary.failed} control(s) FAIL: ${r.controls.filter((c) => c.result === "FAIL").map((c) => c.id).join(", ")}`);
      setCode(hasFailures(report) ? 1 : 0);
    });

  cli
    .command("detect")
    .description("run the detectors on downloaded flow-log files (plain, gzip, or folders of them)")
    .argument("[files...]", "flow-log files or folders")
    .option("--format <fields>", "the files' log format as catalog field names (default: the header line, else the environment's, else the AWS default)")
    .option("--env <env>", "take thresholds (and the default format) from this environment")
    .option("--since <duration>", "with --env and no files: invoke the deployed detector over the last 30m, 6h, 2d ...")
    .option("--json", "print one JSON document: { stats, findings }")
    .action(async (files: string[], opts: { format?: string; env?: string; since?: string; json?: boolean }) => {
      const env = opts.env === undefined ? undefined : selectEnvironments(loadEnvironments(), [opts.env])[0];
      let result;
      if (opts.since !== undefined) {
        if (!env) throw new DetectorError(`--since: needs --env (got --since ${opts.since} alone). Name the environment whose deployed detector to run.`);
        if (files.length > 0) throw new DetectorError(`--since: runs the deployed detector, not local files (got ${files.join(" ")}). Drop --since to analyse the files, or the files to query AWS.`);
        result = await invokeDetector(env, parseSince(opts.since));
      } else {
        if (files.length === 0) {
          throw new DetectorError("detect: no files given (got nothing). Name flow-log files or folders, e.g. flowlog-kit detect ./logs/, or use --env <env> --since 1h.");
        }
        result = await detectLocal(files, env, opts.format);
      }
      io.out(opts.json ? findingsJson(result) : findingsReport(result));
      setCode(0);
    });

  return cli;
}

/** Runs the CLI; returns the process exit code. Known errors print their message, not a stack. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code = 0;
  try {
    await program(io, (c) => (code = c)).parseAsync(argv as string[]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError || err instanceof TerraformError || err instanceof DetectorError) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}
