import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../policies/errors";

/**
 * The file the kit writes into every output folder it creates. A folder is replaced only when
 * it is missing, empty, or holds this marker: the kit never deletes what it did not write.
 */
export const OUTPUT_MARKER = ".flowlog-kit-output";
const MARKER_TEXT = `${JSON.stringify({ writtenBy: "flowlog-kit", note: "flowlog-kit replaces this folder on every synth; do not keep your own files here." })}\n`;

/** What a folder written by cdktf before the kit had a marker holds: its manifest and stacks/ only. */
function isEarlierKitOutput(dir: string, entries: readonly string[]): boolean {
  if (!entries.every((e) => e === "manifest.json" || e === "stacks")) return false;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { version?: unknown; stacks?: unknown };
    return typeof manifest.version === "string" && typeof manifest.stacks === "object" && manifest.stacks !== null;
  } catch {
    return false;
  }
}

const FOLDER_FIX = "Choose a folder that is missing, empty, or a previous flowlog-kit output (it holds a .flowlog-kit-output marker), e.g. --out cdktf.out.";

const WRITABLE_FOLDER_FIX = "Choose a folder you can write to, e.g. --out cdktf.out.";

/** Why `what` cannot be written: the system's words, made readable. */
function fsProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ENOENT: "a folder on the way does not exist and cannot be created",
    ENOTDIR: "a part of the path is a file, not a folder",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EISDIR: "it is a folder",
    EEXIST: "something is already there",
  };
  return (e.code && reasons[e.code]) ?? e.message ?? String(err);
}

/** A ConfigError for an output path the system refused. */
export function outputError(flag: string, target: string, err: unknown, fix: string): ConfigError {
  return new ConfigError([`${flag}: cannot write there: ${fsProblem(err)} (got "${target}"). ${fix}`], { cause: err });
}

/**
 * Creates `dir` and any missing parents one level at a time. (Node's recursive mkdir spins
 * forever on some paths under /proc; a plain mkdir per level fails cleanly instead.)
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  while (!fs.existsSync(cur)) {
    missing.unshift(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  if (!fs.statSync(cur).isDirectory()) {
    throw Object.assign(new Error(`${cur} is a file`), { code: "ENOTDIR" });
  }
  for (const d of missing) fs.mkdirSync(d);
}

/**
 * Refuses, before anything is written, an output folder the kit may not replace: an existing
 * file, the folder the command runs in (or one that contains it), or a folder holding anything
 * but a previous output of the kit.
 */
export function checkOutputFolder(outdir: string, flag = "--out"): void {
  const dir = path.resolve(outdir);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw outputError(flag, outdir, err, FOLDER_FIX);
  }
  if (!stat.isDirectory()) {
    throw new ConfigError([`${flag}: is ${stat.isSymbolicLink() ? "a symbolic link" : "a file"}, not an output folder (got "${outdir}"). ${FOLDER_FIX}`]);
  }
  const cwd = path.resolve(process.cwd());
  if (cwd === dir || cwd.startsWith(`${dir}${path.sep}`)) {
    throw new ConfigError([`${flag}: is the folder this command runs in, or holds it (got "${outdir}"). ${FOLDER_FIX}`]);
  }
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    throw outputError(flag, outdir, err, FOLDER_FIX);
  }
  if (entries.length === 0 || entries.includes(OUTPUT_MARKER) || isEarlierKitOutput(dir, entries)) return;
  const shown = entries.sort().slice(0, 3).join(", ") + (entries.length > 3 ? ", ..." : "");
  throw new ConfigError([
    `${flag}: the folder holds files flowlog-kit did not write, which it will not replace (got "${outdir}" with ${entries.length} entr${entries.length === 1 ? "y" : "ies"}: ${shown}). ${FOLDER_FIX}`,
  ]);
}

/**
 * Writes an output folder atomically: `fill` writes into a fresh temporary folder beside
 * `outdir`, which then takes its place. The previous output is removed only after the swap,
 * and only because checkOutputFolder has shown it to be the kit's. If `fill` throws, the
 * temporary folder is removed and `outdir` is untouched.
 */
export function replaceOutputFolder(outdir: string, fill: (tmp: string) => void, flag = "--out"): void {
  checkOutputFolder(outdir, flag);
  const dir = path.resolve(outdir);
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let tmp: string;
  try {
    makeFolders(parent);
    tmp = fs.mkdtempSync(path.join(parent, `.${base}.tmp-`));
  } catch (err) {
    throw outputError(flag, outdir, err, WRITABLE_FOLDER_FIX);
  }
  try {
    fill(tmp);
    fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), MARKER_TEXT);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  let old: string | undefined;
  try {
    if (fs.existsSync(dir)) {
      old = fs.mkdtempSync(path.join(parent, `.${base}.old-`));
      fs.renameSync(dir, path.join(old, base));
    }
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Put the previous output back where it was, then report.
    if (old !== undefined && !fs.existsSync(dir) && fs.existsSync(path.join(old, base))) fs.renameSync(path.join(old, base), dir);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (old !== undefined) fs.rmSync(old, { recursive: true, force: true });
    throw outputError(flag, outdir, err, WRITABLE_FOLDER_FIX);
  }
  if (old !== undefined) fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Writes `text` to `file` through a temporary file beside it and a rename, so that no reader
 * sees half a file; a failed write leaves no temporary file behind, and the error is thrown.
 */
export function writeFileAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

const FILE_FIX = "Give a file path in a folder you can write to, e.g. --out reports/compliance.md.";

/**
 * Writes one file atomically (writeFileAtomically). A folder is refused; missing parent
 * folders are created.
 */
export function writeOutputFile(file: string, text: string, flag = "--out", isOwn?: (existing: string) => boolean): void {
  checkOutputFile(file, flag, isOwn);
  const target = path.resolve(file);
  try {
    makeFolders(path.dirname(target));
    writeFileAtomically(target, text);
  } catch (err) {
    throw outputError(flag, file, err, FILE_FIX);
  }
}

/**
 * Refuses, before any work is done, a file path the kit may not write: a folder, something
 * that is not a regular file, or an existing file that `isOwn` does not recognise as an earlier
 * output of the same command (without `isOwn`, any existing file may be replaced).
 */
export function checkOutputFile(file: string, flag = "--out", isOwn?: (existing: string) => boolean): void {
  const target = path.resolve(file);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw outputError(flag, file, err, FILE_FIX);
  }
  if (stat?.isDirectory()) throw new ConfigError([`${flag}: is a folder, not a file (got "${file}"). ${FILE_FIX}`]);
  if (stat && !stat.isFile()) throw new ConfigError([`${flag}: is not a regular file (got "${file}"). ${FILE_FIX}`]);
  if (stat && isOwn !== undefined) {
    let existing = "";
    try {
      existing = fs.readFileSync(target, "utf8");
    } catch (err) {
      throw outputError(flag, file, err, FILE_FIX);
    }
    if (!isOwn(existing)) {
      throw new ConfigError([`${flag}: the file exists and is not an earlier report of this command, so it is kept (got "${file}"). Give a new file name, or delete the file yourself if it may go.`]);
    }
  }
  // A parent that is a file, or a path under /proc, is found now rather than after the work.
  let parent = path.dirname(target);
  while (!fs.existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  if (!fs.statSync(parent).isDirectory()) {
    throw outputError(flag, file, Object.assign(new Error(`${parent} is a file`), { code: "ENOTDIR" }), FILE_FIX);
  }
}
