import { archiveLifecycle, athenaReadable, MINIMUM_STORAGE_DAYS, notQueryableDays } from "../../policies/retention";

describe("archive lifecycle", () => {
  it.each([
    [90, ["STANDARD_IA@30"]],
    [180, ["STANDARD_IA@30", "GLACIER_IR@90"]],
    [365, ["STANDARD_IA@30", "GLACIER_IR@90"]],
  ] as const)("for %i days transitions only into classes whose minimum duration fits and that Athena reads", (days, expected) => {
    const lc = archiveLifecycle(days);
    expect(lc.transitions.map((t) => `${t.storageClass}@${t.days}`)).toEqual(expected);
    for (const t of lc.transitions) {
      expect(t.days + MINIMUM_STORAGE_DAYS[t.storageClass]).toBeLessThanOrEqual(days);
      expect(athenaReadable(t.storageClass)).toBe(true);
    }
    expect(lc.expirationDays).toBe(days);
    expect(lc.notQueryable).toBeUndefined();
  });

  it.each([
    [90, ["STANDARD_IA@30"], undefined],
    [180, ["STANDARD_IA@30", "GLACIER_IR@90"], undefined],
    [365, ["STANDARD_IA@30", "GLACIER_IR@90", "DEEP_ARCHIVE@180"], { fromDay: 180, toDay: 365, storageClass: "DEEP_ARCHIVE" }],
  ] as const)("for %i days with cold storage also uses Deep Archive where it fits, and says which days Athena cannot read", (days, expected, gap) => {
    const lc = archiveLifecycle(days, "cold");
    expect(lc.transitions.map((t) => `${t.storageClass}@${t.days}`)).toEqual(expected);
    expect(lc.notQueryable).toEqual(gap);
  });

  it("treats Glacier Flexible Retrieval and Deep Archive as out of Athena's reach, and Glacier Instant Retrieval as readable", () => {
    expect(["STANDARD", "STANDARD_IA", "GLACIER_IR"].map(athenaReadable)).toEqual([true, true, true]);
    expect(["GLACIER", "DEEP_ARCHIVE"].map(athenaReadable)).toEqual([false, false]);
    expect(notQueryableDays([{ days: 90, storageClass: "GLACIER" }, { days: 30, storageClass: "STANDARD_IA" }], 365)).toEqual({ fromDay: 90, toDay: 365, storageClass: "GLACIER" });
  });

  it("expires noncurrent versions, aborts incomplete uploads and removes expired delete markers", () => {
    expect(archiveLifecycle(90)).toMatchObject({ noncurrentExpirationDays: 7, abortIncompleteMultipartDays: 7, removeExpiredDeleteMarkers: true });
  });
});
