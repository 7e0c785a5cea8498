// cdktf's jest matchers (Testing.setupJest()), registered in every suite but loaded on first
// use: loading cdktf costs about 0.1 s per test file, and most suites (functions/, policies/,
// environments/) never call one of these matchers nor load cdktf otherwise.
const MATCHERS = [
  "toHaveResource",
  "toHaveResourceWithProperties",
  "toHaveDataSource",
  "toHaveDataSourceWithProperties",
  "toHaveProvider",
  "toHaveProviderWithProperties",
  "toBeValidTerraform",
  "toPlanSuccessfully",
] as const;

type Matcher = (this: jest.MatcherContext, ...args: unknown[]) => jest.CustomMatcherResult;
let loaded: Record<string, Matcher> | undefined;

/** cdktf's own matchers, captured from the expect.extend call of Testing.setupJest(). */
function cdktfMatchers(): Record<string, Matcher> {
  if (loaded) return loaded;
  const extend = expect.extend;
  let captured: Record<string, Matcher> | undefined;
  expect.extend = (matchers) => {
    captured = matchers as Record<string, Matcher>;
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("cdktf") as typeof import("cdktf")).Testing.setupJest();
  } finally {
    expect.extend = extend;
  }
  const missing = MATCHERS.filter((name) => typeof captured?.[name] !== "function");
  if (missing.length) throw new Error(`test/setup.ts: cdktf's Testing.setupJest() no longer registers ${missing.join(", ")} (got ${Object.keys(captured ?? {}).join(", ") || "nothing"}). Update MATCHERS.`);
  loaded = captured!;
  return loaded;
}

expect.extend(
  Object.fromEntries(
    MATCHERS.map((name) => [
      name,
      function (this: jest.MatcherContext, ...args: unknown[]) {
        return cdktfMatchers()[name]!.apply(this, args);
      },
    ]),
  ),
);

// Stack traces captured into plain objects, not errors, are neither source-mapped nor deeper
// than V8's usual 10 frames: cdktf captures one at full depth for every token it creates (and
// constructs for metadata), only to show where a token came from if it fails to resolve, and
// mapping each frame through jest's source-map-support was most of a synth's time in a test
// (about 1.7 of 8.8 s of CPU in test/bin/synth.test.ts). Errors, which tests print, are mapped
// as before.
const mapStack = Error.prepareStackTrace;
if (mapStack) {
  Error.prepareStackTrace = (error: unknown, frames: NodeJS.CallSite[]) =>
    Object.prototype.toString.call(error) === "[object Error]" ? mapStack(error as Error, frames) : `Error\n${frames.slice(0, 10).map((f) => `    at ${f}`).join("\n")}`;
}
