// The detector's WebAssembly module: the ingest loop, the aggregation, and the anomaly rule's group ordering and scoring (see each file).
export * from "./ingest";
export * from "./aggregate";
export * from "./forest";
export * from "./groups";
