// The parsing worker of `detectFiles` (parallel.ts): runs the kit's TypeScript as the CLI does.
"use strict";
require("../../bin/register.js");
require("./parse-worker.ts");
