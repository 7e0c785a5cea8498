import { PartitionedRows, RowTable } from "../../../functions/flowlog/row-table";

describe("RowTable", () => {
  it("keeps each row's fields through growth, finds every key and only those", () => {
    const t = new RowTable(6, 16);
    for (let i = 0; i < 5000; i++) {
      const r = t.upsert(i % 97, i, 7);
      expect(t.isNew).toBe(true);
      t.i32[r + 3] = i * 2;
      t.f64[(r + 4) >> 1] = i + 0.5;
    }
    expect(t.size).toBe(5000);
    for (let i = 0; i < 5000; i++) {
      const r = t.find(i % 97, i, 7);
      expect([t.i32[r + 3], t.f64[(r + 4) >> 1]]).toEqual([i * 2, i + 0.5]);
      t.upsert(i % 97, i, 7);
      expect(t.isNew).toBe(false);
    }
    expect(t.find(1, 1, 8)).toBe(-1);
    let rows = 0;
    t.each(() => rows++);
    expect(rows).toBe(5000);
  });

  it("refuses a stride that would misalign its doubles", () => {
    expect(() => new RowTable(5)).toThrow("RowTable: stride must be even and at least 4 (got 5)");
  });
});

describe("PartitionedRows", () => {
  it("reads tables split by first key as one: every row found in its part, each visited once", () => {
    const parts = Array.from({ length: 4 }, (_, p) => new RowTable(4, p === 0 ? 2 : 16));
    for (let i = 0; i < 3000; i++) {
      const t = parts[i & 3]!;
      const r = t.upsert(i, i % 13, 5);
      t.i32[r + 3] = i * 3;
    }
    const joined = new PartitionedRows(parts);
    expect(joined.size).toBe(3000);
    for (let i = 0; i < 3000; i++) expect(joined.get(i, i % 13, 5, (base, i32) => i32[base + 3])).toBe(i * 3);
    expect(joined.has(4, 4, 5)).toBe(true);
    expect(joined.has(4, 5, 5)).toBe(false);
    expect(joined.get(3001, 11, 5, () => 1)).toBeUndefined();
    const seen = new Set<number>();
    joined.each((base, i32) => seen.add(i32[base]!));
    expect(seen.size).toBe(3000);
  });

  it("needs a power-of-two number of parts", () => {
    expect(() => new PartitionedRows([new RowTable(4), new RowTable(4), new RowTable(4)])).toThrow("PartitionedRows: parts must be a power of two (got 3)");
    expect(() => new PartitionedRows([])).toThrow("PartitionedRows: parts must be a power of two (got 0)");
  });
});
