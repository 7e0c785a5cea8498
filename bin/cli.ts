import * as path from "path";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../policies/errors";
import { DetectorError } from "../functions/detect/engine";
import { ACCESS_FORMATS, AccessFormat, DEFAULT_OUTDIR, DEFAULT_TTL, outFlag, REPORT_FORMATS, ReportFormat } from "./options";
import { onTerraformProgress, TerraformError } from "./terraform";

/** The version in package.json, read at run time so that it is never a second copy. */
function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("../package.json") as { version: string }).version;
}

// Each command loads what it needs when it runs: `detect` on a laptop at incident time should
// not wait for cdktf and the AWS provider bindings to load.
const environments = () => import("../environments");
const synth = () => import("./synth");
const plan = () => import("./plan");
const compliance = () => import("./compliance");
const incident = () => import("./incident");
const access = () => import("./access");

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
};

const collect = (v: string, acc: string[]) => [...acc, v];
const ALLOW_DROP_HELP = "an archive bucket or KMS key of the previous output, already taken out of Terraform's state, that this synth may drop (repeat for several; the refusal prints each value)";

/** Builds the `flowlog-kit` program; each action returns its exit code. */
export function program(io: Io, setCode: (code: number) => void): Command {
  const cli = new Command("flowlog-kit")
    .description("AWS VPC Flow Logs as typed, per-environment Terraform stacks.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .version(packageVersion(), "-V, --version", "print the version of flowlog-kit")
    // Commander's own usage errors ("missing required argument") then carry their fix.
    .showHelpAfterError("(add --help for the command's usage and an example)");
  cli.hook("preAction", () => onTerraformProgress((line) => io.err(line)));

  cli
    .command("synth")
    .description("validate every environment and synthesize stacks into cdktf.out")
    .argument("[env...]", "environments to synthesize (default: all)")
    .option("--out <dir>", "output folder", DEFAULT_OUTDIR)
    .option("--allow-drop <stack:address>", ALLOW_DROP_HELP, collect, [] as string[])
    .action(async (envNames: string[], opts: { out: string; allowDrop: string[] }) => {
      const { archiveRowKey, summaryTable, synthesize } = await synth();
      const { complianceReport, controlsSummary } = await compliance();
      let report: ReturnType<typeof complianceReport> | undefined;
      const result = synthesize({
        envNames,
        outdir: opts.out,
        allowDrop: opts.allowDrop,
        // What the stacks make impossible is found now, not at apply, and nothing is written.
        check: (tmp, r) => {
          report = complianceReport(r.envs, tmp, new Date(), r.broken, r.archives);
          const impossible = report.environments.flatMap((e) => e.accessProblems ?? []);
          // One problem per step, each with the deciding statement and the fix; `access` shows every row.
          if (impossible.length) throw new ConfigError(impossible);
        },
      });
      for (const w of result.warnings) io.err(w);
      io.out(summaryTable(result.envs, new Map(report!.environments.map((r) => [r.kind === "archive" ? archiveRowKey({ name: r.environment }) : r.environment, controlsSummary(r)])), result.archives));
      const n = (count: number, what: string) => `${count} ${what} stack${count === 1 ? "" : "s"}`;
      const others = [result.archives.length ? n(result.archives.length, "archive") : "", result.incidents.length ? n(result.incidents.length, "incident") : ""].filter(Boolean);
      io.out(`\nSynthesized ${n(result.envs.length, "environment")}${others.map((o, i) => `${i === others.length - 1 ? " and" : ","} ${o}`).join("")} into ${opts.out}/stacks.`);
      setCode(0);
    });

  cli
    .command("plan")
    .description("synthesize, then terraform plan one stack: an environment's, or any stack synth produces")
    .argument("<env-or-stack>", "an environment name (dev) or a stack name (flowlogs-dev, flowlogs-dev-incident-sec-1, flowlogs-archive-log-archive)")
    .option("--offline", "plan with no AWS credentials and no network (override file: dummy keys, local state)")
    .option("--out <dir>", "output folder", DEFAULT_OUTDIR)
    .option("--allow-drop <stack:address>", ALLOW_DROP_HELP, collect, [] as string[])
    .action(async (target: string, opts: { offline?: boolean; out: string; allowDrop: string[] }) => {
      const { loadEnvironments } = await environments();
      const { knownArchives, resolvePlanTarget, stackDir, synthesize } = await synth();
      const { changesTable, planStack } = await plan();
      const all = loadEnvironments();
      const archives = knownArchives(all);
      const chosen = resolvePlanTarget(all, target, undefined, archives);
      io.err(`... synthesizing ${chosen.stack} into ${opts.out}`);
      const result = synthesize({ outdir: opts.out, all, archives, allowDrop: opts.allowDrop, ...chosen.synth });
      for (const w of result.warnings) io.err(w);
      const planned = planStack(result.outdir, chosen.stack, { offline: opts.offline === true, destroy: chosen.destroy });
      io.out(`${chosen.destroy ? "Destroy plan for " : ""}${chosen.stack}${opts.offline ? " (offline)" : ""}: ${planned.summary}\n`);
      io.out(changesTable(planned.changes));
      const again = `flowlog-kit plan ${target}${outFlag(opts.out)}`;
      io.out(
        opts.offline
          ? `\nThis offline plan used dummy credentials and an empty local state: it ${chosen.destroy ? "cannot see what is deployed, so it cannot show what the destroy would remove" : "shows what the stack would create, not what would change in AWS"}, and cannot be applied. With AWS credentials, run: ${again}`
          : `\nApply with: terraform -chdir=${path.relative(process.cwd(), stackDir(result.outdir, chosen.stack))} apply tfplan`,
      );
      setCode(0);
    });

  const incidents = cli.command("incident").description("incident-time ENI-scoped flow logs: open, plan, close, list");
  incidents
    .command("open")
    .description("write an incident record that turns on full logging for ENIs until it is closed or expires")
    .option("--env <env>", "environment the interfaces are in")
    .option("--eni <id>", "an interface to log (repeat for several)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--reason <text>", "why, for the record and the resource tags")
    .option("--ticket <id>", "incident ticket; its slug is the incident id")
    .option("--ttl <duration>", `how long logging stays on (1h to 30d)`, DEFAULT_TTL)
    .action(async (opts: { env?: string; eni: string[]; reason?: string; ticket?: string; ttl: string }) => {
      const { openIncident } = await incident();
      const { record, file } = openIncident({ env: opts.env, enis: opts.eni, reason: opts.reason, ticket: opts.ticket, ttl: opts.ttl, now: new Date() });
      io.out(
        [
          `Opened incident ${record.id} in ${record.environment}: ${record.enis.length} interface${record.enis.length === 1 ? "" : "s"}, logging until ${record.expiresAt}.`,
          `Record: ${path.relative(process.cwd(), file)} (commit it for review).`,
          `Stack:  flowlogs-${record.environment}-incident-${record.id}`,
          "",
          `Plan it:  npx flowlog-kit incident plan ${record.id} --offline   (without --offline to plan against AWS)`,
        ].join("\n"),
      );
      setCode(0);
    });
  incidents
    .command("plan")
    .description("synthesize, then terraform plan only the incident's stack")
    .argument("<id>", "incident id")
    .option("--offline", "plan with no AWS credentials and no network")
    .option("--out <dir>", "output folder", DEFAULT_OUTDIR)
    .action(async (id: string, opts: { offline?: boolean; out: string }) => {
      const { planIncident } = await incident();
      const { changesTable } = await plan();
      const { record, stack, plan: planned, stackDir: dir } = planIncident(id, { offline: opts.offline === true, outdir: opts.out });
      const what = record.status === "closing" ? "Destroy plan" : "Plan";
      io.out(`${what} for ${stack}${opts.offline ? " (offline)" : ""}: ${planned.summary}\n`);
      io.out(changesTable(planned.changes));
      io.out(
        opts.offline
          ? `\nThis offline plan used dummy credentials and an empty local state; it cannot be applied. With AWS credentials, run: flowlog-kit incident plan ${id}${outFlag(opts.out)}`
          : `\nApply with: terraform -chdir=${path.relative(process.cwd(), dir)} apply tfplan${record.status === "closing" ? `\nThen confirm with: flowlog-kit incident close ${id}` : ""}`,
      );
      setCode(0);
    });
  incidents
    .command("close")
    .description("plan the destruction of the incident's stack (record: closing); run again after the apply to confirm (record: closed)")
    .argument("<id>", "incident id")
    .option("--offline", "preview the destroy with no AWS credentials (never confirms, never closes the record)")
    .option("--never-applied", "with a local backend and no state file: the incident's stack was never applied, so close the record")
    .option("--out <dir>", "output folder (the one the stack was applied from)", DEFAULT_OUTDIR)
    .action(async (id: string, opts: { offline?: boolean; neverApplied?: boolean; out: string }) => {
      const { closeIncident } = await incident();
      const { changesTable } = await plan();
      const r = closeIncident(id, { offline: opts.offline === true, outdir: opts.out, now: new Date(), neverApplied: opts.neverApplied === true });
      const out = outFlag(opts.out);
      const dir = path.relative(process.cwd(), r.stackDir);
      if (r.outcome === "closed") {
        io.out(`Closed incident ${r.record.id} at ${r.record.closedAt}: the state of ${r.stack} holds no resources, so its logging has ended. The record stays for audit.`);
        io.out(`Flow logs already delivered stay in the archive under incidents/${r.record.id}/ for its retention.`);
        setCode(0);
        return;
      }
      io.out(`Incident ${r.record.id} is closing (since ${r.record.closingAt}); its stack stays in every synth until its logging is confirmed gone.`);
      io.out(`Destroy plan for ${r.stack}${opts.offline ? " (offline)" : ""}: ${r.plan!.summary}\n`);
      io.out(changesTable(r.plan!.changes));
      if (opts.offline) {
        io.out(
          [
            "",
            "This offline plan used dummy credentials and an empty local state: it cannot see what is deployed and cannot be applied.",
            "With AWS credentials:",
            `  1. flowlog-kit incident close ${id}${out}     (plans the real destroy)`,
            `  2. terraform -chdir=${dir} apply tfplan`,
            `  3. flowlog-kit incident close ${id}${out}     (sees the state empty; marks the record closed)`,
          ].join("\n"),
        );
      } else {
        io.out(`\n${r.remaining!.length} resource${r.remaining!.length === 1 ? "" : "s"} still deployed. Apply with: terraform -chdir=${dir} apply tfplan`);
        io.out(`Then confirm with: flowlog-kit incident close ${id}${out}`);
      }
      setCode(0);
    });
  incidents
    .command("list")
    .description("show open, expired and closed incidents with the time left")
    .action(async () => {
      const { incidentTable } = await incident();
      io.out(incidentTable(new Date()));
      setCode(0);
    });

  cli
    .command("cost")
    .description("estimate the monthly cost of an environment's flow logs from its actual configuration")
    .argument("<env>", "environment")
    .option("--gb-per-day <gb>", "raw flow-log volume per day")
    .option("--athena-tb <tb>", "TB scanned by Athena per month", "1")
    .action(async (envName: string, opts: { gbPerDay?: string; athenaTb: string }) => {
      const { loadEnvironments, selectEnvironments } = await environments();
      const { costReport, parseGb } = await import("./cost");
      const [env] = selectEnvironments(loadEnvironments(), [envName]);
      io.out(costReport(env!, parseGb(opts.gbPerDay, "--gb-per-day"), parseGb(opts.athenaTb, "--athena-tb")));
      setCode(0);
    });

  cli
    .command("compliance")
    .description("evaluate the compliance controls on each environment's synthesized stack")
    .argument("[env...]", "environments to report (default: all)")
    .option("--format <format>", `report format: ${REPORT_FORMATS.join(", ")}`, "table")
    .option("--out <path>", "write the report to a file instead of standard output")
    .option("--synth-out <dir>", "output folder of the synthesized stacks", DEFAULT_OUTDIR)
    .action(async (envNames: string[], opts: { format: string; out?: string; synthOut: string }) => {
      if (!REPORT_FORMATS.includes(opts.format as ReportFormat)) {
        throw new ConfigError([`--format: unknown report format (got "${opts.format}"). Use one of ${REPORT_FORMATS.map((f) => `"${f}"`).join(", ")}.`]);
      }
      const { loadEnvironments, selectEnvironments } = await environments();
      const { synthesize } = await synth();
      const { checkReportPath, complianceReport, hasFailures, renderReport, sectionName, writeReport } = await compliance();
      if (opts.out !== undefined) checkReportPath(opts.out);
      const all = loadEnvironments();
      const chosen = selectEnvironments(all, envNames);
      // No names: every environment and every central archive, each reported.
      const result = synthesize({ outdir: opts.synthOut, all, envNames: envNames.length ? chosen.map((e) => e.name) : [], flag: "--synth-out" });
      for (const w of result.warnings) io.err(w);
      const report = complianceReport(chosen, result.outdir, new Date(), result.broken, result.archives);
      const text = renderReport(report, opts.format as ReportFormat);
      if (opts.out) {
        writeReport(opts.out, text);
        io.out(`Wrote the ${opts.format} report for ${chosen.map((e) => e.name).join(", ")} to ${opts.out}.`);
      } else io.out(text);
      for (const r of report.environments) if (r.summary.failed) io.err(`${sectionName(r)}: ${r.summary.failed} control(s) FAIL: ${r.controls.filter((c) => c.result === "FAIL").map((c) => c.id).join(", ")}`);
      setCode(hasFailures(report) ? 1 : 0);
    });

  cli
    .command("access")
    .description("evaluate each role's tasks and every delivery path against the policies of the synthesized stacks")
    .argument("[env...]", "environments to evaluate, with their incident stacks (default: all)")
    .option("--format <format>", `output format: ${ACCESS_FORMATS.join(", ")}`, "table")
    .option("--synth-out <dir>", "output folder of the synthesized stacks", DEFAULT_OUTDIR)
    .action(async (envNames: string[], opts: { format: string; synthOut: string }) => {
      if (!ACCESS_FORMATS.includes(opts.format as AccessFormat)) {
        throw new ConfigError([`--format: unknown access format (got "${opts.format}"). Use one of ${ACCESS_FORMATS.map((f) => `"${f}"`).join(", ")}.`]);
      }
      const { loadEnvironments, selectEnvironments } = await environments();
      const { synthesize } = await synth();
      const { accessFailures, accessReport, renderAccess } = await access();
      const all = loadEnvironments();
      const chosen = selectEnvironments(all, envNames);
      const result = synthesize({ outdir: opts.synthOut, all, envNames: chosen.map((e) => e.name), flag: "--synth-out" });
      for (const w of result.warnings) io.err(w);
      const rows = accessReport(chosen, result.outdir);
      io.out(renderAccess(rows, opts.format as AccessFormat));
      const failures = accessFailures(rows);
      if (failures.length) io.err(`access: ${failures.length} task step(s) not as required:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
      setCode(failures.length ? 1 : 0);
    });

  cli
    .command("detect")
    .description("run the detectors on downloaded flow-log files (plain, gzip, or folders of them)")
    .argument("[files...]", "flow-log files or folders")
    .option("--format <fields>", "the files' log format as catalog field names, of VPC or of transit-gateway flow logs, or transit-gateway-default (default: the header line, else the environment's, else the AWS default)")
    .option("--env <env>", "take thresholds (and the default format) from this environment")
    .option("--since <duration>", "with --env and no files: invoke the deployed detector over the last 30m, 6h, 2d ...")
    .option("--json", "print one JSON document: { stats, findings }")
    .action(async (files: string[], opts: { format?: string; env?: string; since?: string; json?: boolean }) => {
      let env;
      if (opts.env !== undefined) {
        const { loadEnvironments, selectEnvironments } = await environments();
        env = selectEnvironments(loadEnvironments(), [opts.env])[0];
      }
      const { detectLocal, findingsJson, findingsReport, remoteReport } = await import("./detect");
      let result;
      let nothingAnalysed: string | undefined;
      if (opts.since !== undefined) {
        if (!env) throw new DetectorError(`--since: needs --env (got --since ${opts.since} alone). Name the environment whose deployed detector to run.`);
        if (files.length > 0) throw new DetectorError(`--since: runs the deployed detector, not local files (got ${files.join(" ")}). Drop --since to analyse the files, or the files to query AWS.`);
        const { invokeDetector, nothingScanned, parseSince, remoteCounts } = await import("./remote");
        const since = parseSince(opts.since);
        const remote = await invokeDetector(env, since, { progress: (line) => io.err(line) });
        if (opts.json) io.out(JSON.stringify({ stats: remote.stats, findings: remote.findings, queries: remote.queries, truncated: remote.truncated, failed: remote.failed }, null, 2));
        const empty = nothingScanned(remote, env, opts.since);
        if (empty !== undefined) throw new DetectorError([empty, ...remote.failed].join("\n"));
        // No all-clear when every chunk failed; when some did, the report covers the chunks that ran.
        const allFailed = remote.failed.length > 0 && remote.failed.length >= remote.queries.chunks;
        if (!opts.json && !allFailed) {
          const report = remoteReport(remote, remoteCounts(remote));
          io.out(remote.failed.length && remote.findings.length === 0 ? report.replace(/^No findings\./, `No findings in the ${remote.queries.chunks - remote.failed.length} of ${remote.queries.chunks} chunks that ran.`) : report);
        }
        if (remote.queries.findingsLeftOut) {
          io.err(`detect: ${remote.queries.findingsLeftOut} findings were delivered to Security Hub (and SNS) but left out of this report: Lambda returns at most 6 MB from one invoke. See them in Security Hub, or give a shorter --since.`);
          if (!remote.failed.length) throw new DetectorError(`detect: the report is incomplete (got ${remote.queries.findingsLeftOut} findings left out). See them in Security Hub, or give a shorter --since.`);
        }
        if (remote.failed.length) throw new DetectorError(`${remote.failed.length} of ${remote.queries.chunks} chunks failed:\n${remote.failed.join("\n")}`);
        setCode(0);
        return;
      } else {
        if (files.length === 0) {
          throw new DetectorError("detect: no files given (got nothing). Name flow-log files or folders, e.g. flowlog-kit detect ./logs/, or use --env <env> --since 1h.");
        }
        const local = await detectLocal(files, env, opts.format);
        for (const notice of local.notices) io.err(notice);
        result = local;
        nothingAnalysed = local.nothingAnalysed;
      }
      // --json stays one document on stdout, also when nothing was analysed (its stats say so).
      if (opts.json) io.out(findingsJson(result));
      // No all-clear without records analysed: the reasons and a hint, exit 1.
      if (nothingAnalysed !== undefined) throw new DetectorError(nothingAnalysed);
      if (!opts.json) io.out(findingsReport(result));
      setCode(0);
    });

  return cli;
}

/** Errors that are the user's input or environment, not the kit's bug: their message is the whole story. */
const isKnown = (err: unknown) => err instanceof ConfigError || err instanceof TerraformError || err instanceof DetectorError;

/**
 * Runs the CLI; returns the process exit code. Known errors print their message, exit 1. Any
 * other error is a bug in the kit: one line says so, then its stack trace, exit 2.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code = 0;
  try {
    await program(io, (c) => (code = c)).parseAsync(argv as string[]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (isKnown(err)) {
      io.err((err as Error).message);
      return 1;
    }
    io.err(`flowlog-kit: internal error, a bug in flowlog-kit (please report it with the trace below): ${(err as Error)?.message ?? String(err)}`);
    io.err((err as Error)?.stack ?? String(err));
    return 2;
  } finally {
    onTerraformProgress(undefined);
  }
}
