#!/usr/bin/env node
"use strict";
require("./register.js");
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
