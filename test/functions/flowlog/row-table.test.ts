import { RowTable } from "../../../functions/flowlog/row-table";

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
