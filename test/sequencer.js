// Runs the slowest suites first, whatever jest remembers: a fresh clone has no timings cached,
// and the two Terraform suites (about 45 s and 30 s of plans) started late would finish last,
// alone on one worker.
"use strict";
const Sequencer = require("@jest/test-sequencer").default;

const FIRST = ["/test/terraform/plan.test.ts", "/test/terraform/incident.test.ts"];
const rank = (p) => {
  const i = FIRST.findIndex((f) => p.replace(/\\/g, "/").endsWith(f));
  return i < 0 ? FIRST.length : i;
};

class SlowestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted].sort((a, b) => rank(a.path) - rank(b.path));
  }
}

module.exports = SlowestFirst;
