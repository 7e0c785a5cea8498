// The detector's WebAssembly module: the ingest loop and the aggregation (see each file).
export * from "./ingest";
export * from "./aggregate";
