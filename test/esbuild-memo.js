// esbuild as the tests see it (jest.config.js maps "esbuild" here): the real esbuild, with
// buildSync's in-memory bundles shared by every test file of one jest run.
//
// modules/lambda-bundle.ts caches the detector's bundle per process, but jest gives each test
// file a module registry of its own, so every suite that synthesizes a stack with the detector
// (about twenty) bundled the same 640 files again: 0.5-0.8 s each. Here a bundle is kept on disk
// for the run (the folder test/global-setup.js makes) under the build options, with the hash of
// every input file esbuild read; a later build with the same options returns it only when every
// input is unchanged, so an edit during the run is bundled afresh. Output bytes are esbuild's own.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const real = require(path.join(__dirname, "..", "node_modules", "esbuild", "lib", "main.js"));

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");

function inputsUnchanged(inputs, cwd) {
  for (const [file, hash] of inputs) {
    let data;
    try {
      data = fs.readFileSync(path.resolve(cwd, file));
    } catch {
      return false;
    }
    if (sha256(data) !== hash) return false;
  }
  return true;
}

const outputFile = (p, contents) => ({
  path: p,
  contents,
  get text() {
    return Buffer.from(contents).toString("utf8");
  },
});

function buildSync(options) {
  const dir = process.env.FLOWLOG_KIT_TEST_ESBUILD_CACHE;
  // Only in-memory builds without plugins or a metafile of the caller's are shared.
  if (!dir || options.write !== false || options.metafile || options.plugins) return real.buildSync(options);
  const cwd = options.absWorkingDir ?? process.cwd();
  const file = path.join(dir, `${sha256(JSON.stringify({ esbuild: real.version, cwd, options }))}.json`);
  let entry;
  try {
    entry = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    entry = undefined;
  }
  if (entry && inputsUnchanged(entry.inputs, cwd)) {
    return { errors: [], warnings: entry.warnings, outputFiles: entry.outputs.map((o) => outputFile(o.path, new Uint8Array(Buffer.from(o.contents, "base64")))) };
  }
  const result = real.buildSync({ ...options, metafile: true });
  const inputs = Object.keys(result.metafile.inputs).map((f) => {
    let hash = "";
    try {
      hash = sha256(fs.readFileSync(path.resolve(cwd, f)));
    } catch {
      // An input that is not a plain file (a namespace of a plugin) never matches: no reuse.
    }
    return [f, hash];
  });
  const stored = {
    inputs,
    warnings: result.warnings,
    outputs: result.outputFiles.map((o) => ({ path: o.path, contents: Buffer.from(o.contents).toString("base64") })),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(stored));
  fs.renameSync(tmp, file);
  const { metafile: _unasked, ...asked } = result;
  return asked;
}

module.exports = { ...real, buildSync };
