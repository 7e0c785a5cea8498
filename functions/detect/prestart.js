// Starts detect's parsing worker (parse-worker.js) as the first thing a `flowlog-kit detect` run
// does, so that its start-up (a second Node isolate loading the kit, about a quarter of a second)
// overlaps this thread's own. Plain JavaScript, loaded before the TypeScript hook: nothing to
// wait for. The worker waits for its input (parallel.ts `startParsing`); it is unreferenced, so
// it never keeps a run alive, and a run that reads on one thread stops it.
"use strict";
const path = require("path");
const { Worker } = require("worker_threads");

const KEY = Symbol.for("flowlog-kit.parse-worker");

function prestartParsing() {
  if (globalThis[KEY]) return;
  const worker = new Worker(path.join(__dirname, "parse-worker.js"));
  worker.unref();
  // Errors before it is taken surface when it is (startParsing attaches its handlers then).
  const early = [];
  worker.on("error", (error) => early.push({ error }));
  worker.on("exit", (exit) => early.push({ exit }));
  globalThis[KEY] = { worker, early };
}

module.exports = { prestartParsing, KEY };
