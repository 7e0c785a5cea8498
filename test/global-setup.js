// Runs once before the test suites: installs what the tests need and cannot bring themselves.
"use strict";
const { ensureChromium } = require("../scripts/ensure-chromium.js");

module.exports = async () => {
  if (process.env.FLOWLOG_KIT_SKIP_BROWSER === "1") return;
  process.env.FLOWLOG_KIT_CHROMIUM = ensureChromium();
};
