import { seededRandom } from "../../../functions/detect/isolation-forest";
import { distinctVectors, orderByIds } from "../../../functions/detect/wasm";

describe("the anomaly rule's group bookkeeping (WebAssembly)", () => {
  it("orders rows by (source, destination, port) ids, ties in row order, as a stable sort does", () => {
    const random = seededRandom(3);
    const n = 5000;
    const ids = (top: number) => Int32Array.from({ length: n }, () => Math.floor(random() * top));
    const [a, b, c] = [ids(40), ids(7), ids(65536)];
    const expected = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[x]! - a[y]! || b[x]! - b[y]! || c[x]! - c[y]! || x - y);
    expect(Array.from(orderByIds(a, b, c))).toEqual(expected);
    expect(Array.from(orderByIds(new Int32Array(0), new Int32Array(0), new Int32Array(0)))).toEqual([]);
  });

  it("finds the distinct feature vectors in order of first appearance, and each row's vector", () => {
    const random = seededRandom(4);
    const n = 3000;
    // Multiples of 1/64 below 64, few enough values that vectors repeat.
    const features = Float64Array.from({ length: n * 4 }, (_, k) => Math.floor(random() * (k % 4 === 0 ? 3 : 2)) * (k % 4 === 2 ? 44.375 : 1 / 64));
    const { distinct, vectorOf } = distinctVectors(features);
    const seen = new Map<string, number>();
    const expected: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = Array.from(features.subarray(i * 4, i * 4 + 4)).join(",");
      if (!seen.has(key)) seen.set(key, seen.size);
      expected.push(seen.get(key)!);
    }
    expect(Array.from(vectorOf)).toEqual(expected);
    expect(distinct.length).toBe(seen.size * 4);
    expect([...seen.keys()]).toEqual(Array.from({ length: seen.size }, (_, v) => Array.from(distinct.subarray(v * 4, v * 4 + 4)).join(",")));
    expect(seen.size).toBeGreaterThan(5);
    expect(seen.size).toBeLessThan(n);
  });
});
