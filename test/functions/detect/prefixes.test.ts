import { parseAddress, parsePrefix, PrefixSet } from "../../../functions/detect/prefixes";

describe("addresses and prefixes", () => {
  it("parses IPv4 and IPv6 (compressed, full, with an embedded IPv4) and refuses what is neither", () => {
    expect(parseAddress("10.0.0.1")?.v6).toBe(false);
    expect(Array.from(parseAddress("2600:1f18::1")!.bytes.slice(0, 4))).toEqual([0x26, 0x00, 0x1f, 0x18]);
    expect(parseAddress("::ffff:10.0.0.1")!.bytes[12]).toBe(10);
    for (const bad of ["10.0.0", "10.0.0.256", "10.0.0.01", "1::2::3", "2600:1f18:::1", "g::1", "nat-gw", ""]) expect(parseAddress(bad)).toBeUndefined();
  });

  it("says why a prefix is wrong", () => {
    expect(parsePrefix("10.0.0.0/33")).toBe("has a prefix length outside 0 to 32");
    expect(parsePrefix("10.0.0.1/16")).toBe("has host bits set past /16");
    expect(parsePrefix("x/8")).toBe("is not an IPv4 or IPv6 address or CIDR");
  });

  it("finds the longest prefix holding an address, IPv4 and IPv6 apart, and nothing for text that is no address", () => {
    const set = new PrefixSet();
    set.add("10.0.0.0/8", 0);
    set.add("10.1.0.0/16", 1);
    set.add("2600:1f18:6a3:e100::/56", 2);
    expect(set.lookup("10.1.2.3")).toBe(1);
    expect(set.lookup("10.2.2.3")).toBe(0);
    expect(set.lookup("11.0.0.1")).toBe(-1);
    expect(set.lookup("2600:1f18:6a3:e1ff::9")).toBe(2);
    expect(set.lookup("2600:1f18:6a3:e200::9")).toBe(-1);
    expect(set.lookup("::a00:1")).toBe(-1);
    expect(set.lookup("not-an-ip")).toBe(-1);
  });

  it("holds 100,000 entries and answers without scanning them", () => {
    const set = new PrefixSet();
    for (let i = 0; i < 100_000; i++) set.add(`100.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i);
    expect(set.size).toBe(100_000);
    expect(set.lookup("100.1.134.159")).toBe(99_999);
    expect(() => set.add("300.0.0.0/8")).toThrow('PrefixSet: "300.0.0.0/8" is not an IPv4 or IPv6 address or CIDR');
  });
});
