import { archiveLifecycle, MINIMUM_STORAGE_DAYS } from "../../policies/retention";

describe("archive lifecycle", () => {
  it.each([
    [90, ["STANDARD_IA@30"]],
    [180, ["STANDARD_IA@30", "GLACIER_IR@90"]],
    [365, ["STANDARD_IA@30", "GLACIER_IR@90", "DEEP_ARCHIVE@180"]],
  ] as const)("for %i days transitions only into classes whose minimum duration fits", (days, expected) => {
    const lc = archiveLifecycle(days);
    expect(lc.transitions.map((t) => `${t.storageClass}@${t.days}`)).toEqual(expected);
    for (const t of lc.transitions) expect(t.days + MINIMUM_STORAGE_DAYS[t.storageClass]).toBeLessThanOrEqual(days);
    expect(lc.expirationDays).toBe(days);
  });

  it("expires noncurrent versions and aborts incomplete uploads", () => {
    expect(archiveLifecycle(90)).toMatchObject({ noncurrentExpirationDays: 7, abortIncompleteMultipartDays: 7 });
  });
});
