// Runs the kit's TypeScript without a build step: ts-node in transpile-only mode with the swc
// transpiler, so start-up stays well under a second. Type checking is `npm run typecheck`.
"use strict";
const path = require("path");
require("ts-node").register({
  project: path.join(__dirname, "..", "tsconfig.json"),
  transpileOnly: true,
  swc: true,
});
