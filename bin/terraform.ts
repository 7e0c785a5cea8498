import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeFileAtomically } from "./output";

/** Terraform could not be found or failed; the message says what to do. */
export class TerraformError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerraformError";
  }
}

/** The AWS provider version @cdktf/provider-aws 20.1.0 binds; plans must use exactly this one. */
export const AWS_PROVIDER_VERSION = "5.100.0";
const PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws";

/** The terraform binary: FLOWLOG_KIT_TERRAFORM, or `terraform` on PATH. */
export function terraformBinary(): string {
  return process.env.FLOWLOG_KIT_TERRAFORM ?? "terraform";
}

/** The installed Terraform version, or undefined when the binary cannot be run. */
export function terraformVersion(): string | undefined {
  const r = spawnSync(terraformBinary(), ["version", "-json"], { encoding: "utf8", env: terraformEnv() });
  if (r.error || r.status !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { terraform_version: string }).terraform_version;
  } catch {
    return undefined;
  }
}

export const INSTALL_HINT =
  "Install Terraform 1.5 or later (https://developer.hashicorp.com/terraform/install, or your package manager) " +
  "and put it on PATH, or set FLOWLOG_KIT_TERRAFORM to its path.";

const osArch = () => `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;

function hasProvider(mirror: string): boolean {
  return fs.existsSync(path.join(mirror, PROVIDER_SOURCE, AWS_PROVIDER_VERSION, osArch()));
}

/** Folders Terraform itself treats as implied local mirrors, plus the usual shared ones. */
function impliedMirrors(): string[] {
  const home = os.homedir();
  const dataDirs = (process.env.XDG_DATA_DIRS ?? "/usr/local/share:/usr/share").split(":");
  return [
    path.join(home, ".terraform.d", "plugins"),
    path.join(process.env.XDG_DATA_HOME ?? path.join(home, ".local", "share"), "terraform", "plugins"),
    ...dataDirs.map((d) => path.join(d, "terraform", "plugins")),
  ];
}

const SKIP = new Set(["proc", "sys", "dev", "run", "tmp", "var", "boot", "lib", "lib64", "bin", "sbin", "etc", "node_modules", ".git"]);

/** Breadth-first look, a few levels below the filesystem root, for a `registry.terraform.io` mirror. */
function scanForMirror(root: string, depth: number): string | undefined {
  let level = [root];
  for (let d = 0; d < depth; d++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory() || SKIP.has(e.name)) continue;
        const full = path.join(dir, e.name);
        if (e.name === "registry.terraform.io") {
          if (hasProvider(dir)) return dir;
          continue;
        }
        next.push(full);
      }
    }
    level = next;
  }
  return undefined;
}

let mirrorCache: { value: string | undefined } | undefined;

/**
 * A local copy of hashicorp/aws 5.100.0 in the filesystem-mirror layout, for machines that
 * cannot reach the Terraform registry: FLOWLOG_KIT_TF_PLUGIN_DIR when set, else Terraform's
 * implied mirror folders, else a shallow search of the filesystem. Undefined when none is
 * found: Terraform then downloads the provider from the registry as usual.
 */
export function localProviderMirror(): string | undefined {
  if (mirrorCache) return mirrorCache.value;
  const explicit = process.env.FLOWLOG_KIT_TF_PLUGIN_DIR;
  let value: string | undefined;
  if (explicit !== undefined) {
    if (!hasProvider(explicit)) {
      throw new TerraformError(
        `FLOWLOG_KIT_TF_PLUGIN_DIR: no ${PROVIDER_SOURCE} ${AWS_PROVIDER_VERSION} for ${osArch()} under it (got "${explicit}"). ` +
          `Point it at the folder that contains registry.terraform.io/hashicorp/aws/${AWS_PROVIDER_VERSION}/${osArch()}/, or unset it.`,
      );
    }
    value = explicit;
  } else {
    value = impliedMirrors().find(hasProvider) ?? scanForMirror(path.parse(process.cwd()).root, 3);
  }
  mirrorCache = { value };
  return value;
}

/** Where the kit keeps Terraform's plugin cache and CLI config: FLOWLOG_KIT_CACHE_DIR or ~/.cache/flowlog-kit. */
export function cacheDir(): string {
  return process.env.FLOWLOG_KIT_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "flowlog-kit");
}

/**
 * The environment for terraform child processes. With a local mirror, a generated CLI config
 * installs hashicorp/aws from it and shares one plugin cache across every stack, so each init
 * links the provider instead of copying it.
 */
export function terraformEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
  const mirror = localProviderMirror();
  if (mirror === undefined) return env;
  const dir = cacheDir();
  const pluginCache = path.join(dir, "plugin-cache");
  fs.mkdirSync(pluginCache, { recursive: true });
  const config =
    `plugin_cache_dir = ${JSON.stringify(pluginCache)}\n` +
    `provider_installation {\n` +
    `  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n    include = ["${PROVIDER_SOURCE}"]\n  }\n` +
    `  direct {\n    exclude = ["${PROVIDER_SOURCE}"]\n  }\n}\n`;
  const file = path.join(dir, "terraformrc");
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== config) writeFileAtomically(file, config);
  env.TF_CLI_CONFIG_FILE = file;
  return env;
}

export const OFFLINE_OVERRIDE_FILE = "flowlog_kit_offline_override.tf.json";

/**
 * Makes a synthesized stack plannable with no credentials and no network: a Terraform
 * override file (merged over the stack, which itself stays unchanged) that skips the
 * provider's credential and account checks with dummy keys and swaps the backend for a local
 * state beside the stack.
 * @see https://developer.hashicorp.com/terraform/language/files/override
 */
export function writeOfflineOverride(stackDir: string): string {
  const text = fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8");
  const stack = JSON.parse(text) as {
    data?: { terraform_remote_state?: Record<string, unknown> };
    provider?: { aws?: { region?: string; allowed_account_ids?: string[]; alias?: string }[] };
  };
  const offline = {
    access_key: "offline-plan",
    secret_key: "offline-plan",
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    // Without an account lookup the provider sees an empty account id, which no allow-list holds.
    allowed_account_ids: null,
  };
  // Terraform merges an override provider block into the block of the same alias only: each
  // Region's aliased provider needs its own.
  const aliases = (stack.provider?.aws ?? []).flatMap((p) => (p.alias ? [p.alias] : []));
  const override: Record<string, unknown> = {
    provider: { aws: aliases.length ? [offline, ...aliases.map((alias) => ({ alias, ...offline }))] : offline },
    terraform: { backend: { local: { path: "offline.tfstate" } } },
  };
  // Remote state of another stack cannot be read offline: each is replaced by a stand-in state
  // beside the stack whose outputs are placeholders of the right shape (e.g. a KMS key ARN).
  const remote = Object.keys(stack.data?.terraform_remote_state ?? {});
  if (remote.length) {
    const aws = stack.provider?.aws?.find((p) => !p.alias) ?? {};
    override.data = { terraform_remote_state: {} as Record<string, unknown> };
    for (const name of remote) {
      const outputs: Record<string, { value: string; type: string }> = {};
      for (const m of text.matchAll(new RegExp(`data\\.terraform_remote_state\\.${name}\\.outputs\\.([a-z0-9_]+)`, "g"))) {
        const out = m[1]!;
        outputs[out] = { value: offlinePlaceholder(out, aws.region ?? "us-east-1", aws.allowed_account_ids?.[0] ?? "000000000000"), type: "string" };
      }
      const stateFile = `offline-remote-${name}.tfstate`;
      writeFileAtomically(path.join(stackDir, stateFile), JSON.stringify({ version: 4, terraform_version: "1.5.0", serial: 1, lineage: "flowlog-kit-offline", outputs, resources: [] }));
      (override.data as { terraform_remote_state: Record<string, unknown> }).terraform_remote_state[name] = { backend: "local", config: { path: stateFile } };
    }
  }
  const file = path.join(stackDir, OFFLINE_OVERRIDE_FILE);
  writeFileAtomically(file, `${JSON.stringify(override, null, 2)}\n`);
  return file;
}

/** A stand-in value for another stack's output in an offline plan, shaped as the provider validates it. */
function offlinePlaceholder(output: string, region: string, account: string): string {
  if (output.endsWith("kms_key_arn")) return `arn:aws:kms:${region}:${account}:key/00000000-0000-0000-0000-000000000000`;
  return `offline-${output}`;
}

export interface RunOptions {
  readonly cwd: string;
  /** Extra environment, e.g. TF_DATA_DIR. */
  readonly env?: NodeJS.ProcessEnv;
  /** Exit codes that mean success (`plan -detailed-exitcode` exits 2 for a plan with changes). @default [0] */
  readonly okExitCodes?: readonly number[];
}

let progress: ((line: string) => void) | undefined;

/**
 * Where to say which terraform step is running (init and plan take seconds each and print
 * nothing until they end). The CLI points it at standard error; undefined stays silent.
 */
export function onTerraformProgress(report: ((line: string) => void) | undefined): void {
  progress = report;
}

/** Runs terraform; a non-zero exit is a TerraformError carrying its output. */
export function runTerraform(args: readonly string[], opts: RunOptions): SpawnSyncReturns<string> {
  progress?.(`... terraform ${args.filter((a) => !a.startsWith("-")).join(" ")} (${path.relative(process.cwd(), opts.cwd) || "."})`);
  const r = spawnSync(terraformBinary(), ["-chdir=" + opts.cwd, ...args], {
    encoding: "utf8",
    env: terraformEnv({ ...process.env, ...opts.env }),
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) {
    throw new TerraformError(`terraform could not be run (got ${r.error.message}). ${INSTALL_HINT}`, { cause: r.error });
  }
  if (!(opts.okExitCodes ?? [0]).includes(r.status ?? -1)) {
    throw new TerraformError(`terraform ${args[0]} failed in ${opts.cwd} (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return r;
}

/** `terraform init` for offline use: no backend round-trip beyond the local override, no input. */
export function terraformInit(stackDir: string, env?: NodeJS.ProcessEnv): void {
  runTerraform(["init", "-input=false", "-no-color"], { cwd: stackDir, env });
}
