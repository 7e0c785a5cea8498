/**
 * Isolation Forest fit plus score on 100,000 rows of 4 features (seeded uniform data), as
 * the comparison with scikit-learn (about 0.7 s on this machine) is stated.
 *
 *   node -r ./bin/register.js bench/iforest.ts
 */
import { IsolationForest, seededRandom } from "../functions/detect/isolation-forest";

const random = seededRandom(1);
const rows = Array.from({ length: 100_000 }, () => [random(), random(), random(), random()]);
const start = process.hrtime.bigint();
const scores = new IsolationForest({ trees: 100, sampleSize: 256, seed: 42 }).fit(rows).scoreAll(rows);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ rows: scores.length, ms: Math.round(ms) })}\n`);
