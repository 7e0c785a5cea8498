// The detector's WebAssembly module: the ingest loop, the aggregation and Isolation Forest scoring (see each file).
export * from "./ingest";
export * from "./aggregate";
export * from "./forest";
