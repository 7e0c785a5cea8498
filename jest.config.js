/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }],
    // hyparquet ships only ES modules, which jest's CommonJS loader cannot require: compile them.
    "/node_modules/hyparquet/.+\\.js$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!hyparquet/)"],
  // The real esbuild, its bundles shared by the test files of a run (see the file).
  moduleNameMapper: { "^esbuild$": "<rootDir>/test/esbuild-memo.js" },
  globalSetup: "<rootDir>/test/global-setup.js",
  globalTeardown: "<rootDir>/test/global-teardown.js",
  testSequencer: "<rootDir>/test/sequencer.js",
  setupFilesAfterEnv: ["<rootDir>/test/setup.ts"],
  testTimeout: 120000,
  // Two workers on two cores: the Terraform suites spend most of their time in terraform child
  // processes, so unit suites run beside them instead of after them.
  maxWorkers: 2,
};
