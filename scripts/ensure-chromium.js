#!/usr/bin/env node
/**
 * Makes sure a headless Chromium is available for the compliance report's browser test:
 * FLOWLOG_KIT_CHROMIUM, or chromium on PATH; otherwise, as root on Debian, installs Debian's
 * chromium package with apt-get. Prints the browser path. Fails with instructions when it
 * cannot; FLOWLOG_KIT_SKIP_BROWSER=1 skips the browser test on purpose.
 */
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");

function onPath(name) {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function findChromium() {
  const explicit = process.env.FLOWLOG_KIT_CHROMIUM;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`FLOWLOG_KIT_CHROMIUM: no browser at that path (got "${explicit}"). Point it at a Chromium binary, or unset it.`);
    return explicit;
  }
  return onPath("chromium") ?? onPath("chromium-browser") ?? onPath("google-chrome");
}

function ensureChromium(log = (m) => process.stderr.write(`${m}\n`)) {
  const found = findChromium();
  if (found) return found;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !onPath("apt-get")) {
    throw new Error(
      "chromium is not installed and cannot be installed here (needs root and apt-get). " +
        "Install it (Debian/Ubuntu: sudo apt-get install chromium), set FLOWLOG_KIT_CHROMIUM to a Chromium binary, " +
        "or set FLOWLOG_KIT_SKIP_BROWSER=1 to skip the browser test on purpose.",
    );
  }
  log("Installing Debian's chromium package for the compliance report's browser test (once per machine)...");
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "chromium"]]) {
    const r = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status}). Install chromium by hand or set FLOWLOG_KIT_SKIP_BROWSER=1.`);
  }
  const installed = findChromium();
  if (!installed) throw new Error("apt-get installed chromium but no chromium binary is on PATH.");
  return installed;
}

module.exports = { ensureChromium, findChromium };

if (require.main === module) {
  try {
    process.stdout.write(`${ensureChromium()}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
