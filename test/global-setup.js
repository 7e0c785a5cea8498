// Runs once before the test suites: installs what the tests need and cannot bring themselves.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { ensureChromium } = require("../scripts/ensure-chromium.js");

module.exports = async () => {
  // Terraform and its AWS provider are Go programs, and every terraform command rebuilds the
  // provider's whole schema (13 MB as JSON): at Go's default GOGC=100 the collector takes about
  // a fifth of their CPU in the Terraform suites. 400 trades about 100 MB per process for it.
  process.env.GOGC ??= "400";
  // One folder per run for the bundles test/esbuild-memo.js shares between test files
  // (test/global-teardown.js removes it).
  process.env.FLOWLOG_KIT_TEST_ESBUILD_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), "flowlog-kit-test-esbuild-"));
  if (process.env.FLOWLOG_KIT_SKIP_BROWSER === "1") return;
  process.env.FLOWLOG_KIT_CHROMIUM = ensureChromium();
};
