#!/usr/bin/env node
"use strict";
// detect on local files may read large ones on two threads: the parsing worker starts now, while
// this thread loads the kit (functions/detect/prestart.js; stopped when the run stays on one).
const argv = process.argv.slice(2);
const remoteOrHelp = argv.some((a) => a === "--since" || a.startsWith("--since=") || a === "--help" || a === "-h");
if (argv[0] === "detect" && !remoteOrHelp && process.env.FLOWLOG_KIT_DETECT_THREADS !== "1") {
  require("../functions/detect/prestart.js").prestartParsing();
}
require("./register.js");

// Piping into `head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on("error", (err) => {
  if (err && err.code === "EPIPE") process.exit(0);
  throw err;
});
const { main } = require("./cli.ts");

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 2;
  },
);
