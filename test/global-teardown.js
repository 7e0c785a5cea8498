// Runs once after the test suites: removes what test/global-setup.js made for the run.
"use strict";
const fs = require("fs");

module.exports = async () => {
  const dir = process.env.FLOWLOG_KIT_TEST_ESBUILD_CACHE;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
