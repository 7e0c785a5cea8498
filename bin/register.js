// Runs the kit's TypeScript without a build step: ts-node in transpile-only mode with the swc
// transpiler, so start-up stays well under a second. Type checking is `npm run typecheck`.
"use strict";
const path = require("path");
require("ts-node").register({
  project: path.join(__dirname, "..", "tsconfig.json"),
  transpileOnly: true,
  swc: true,
});
// ts-node installs source-map-support, which maps every frame of every captured stack; cdktf
// captures a stack for each token it creates, which made synth three times slower. Stacks of
// unexpected errors show transpiled positions instead (swc keeps lines close to the source).
Error.prepareStackTrace = undefined;
