import { baseInput, env, validate } from "../../support/env";

describe("the long horizon in an environment's detector thresholds", () => {
  it("takes its own window and thresholds, the rest from the defaults", () => {
    const t = env({ detectors: { thresholds: { long: { portScanPortsPerHost: 90, windowSeconds: 7200 } } } }).detectors.thresholds;
    expect(t.long).toEqual({ windowSeconds: 7200, portScanPortsPerHost: 90, portScanPortsAcrossHosts: 250, sensitivePortsProbed: 6, portSweepHosts: 60, bruteForceAttempts: 60 });
    expect(t.portScanPortsPerHost).toBe(25);
  });

  it("refuses a long window that is not a whole number of short windows, and unknown or non-positive thresholds", () => {
    expect(validate(baseInput({ detectors: { thresholds: { windowSeconds: 600, long: { windowSeconds: 3900 } } } })).problems).toEqual([
      "test.detectors.thresholds.long.windowSeconds: is not a whole number of short windows (got 3900 seconds with windowSeconds 600). Use a multiple of windowSeconds (600), e.g. 4200.",
    ]);
    expect(validate(baseInput({ detectors: { thresholds: { long: { windowSeconds: 200 } } } })).problems).toEqual([
      "test.detectors.thresholds.long.windowSeconds: is not a whole number of short windows (got 200 seconds with windowSeconds 300). Use a multiple of windowSeconds (300), e.g. 300.",
    ]);
    expect(validate(baseInput({ detectors: { thresholds: { long: { windowSeconds: 172_800 } } } })).problems).toEqual([
      "test.detectors.thresholds.long.windowSeconds: is longer than a day (got 172800). Use at most 86400 seconds.",
    ]);
    const problems = validate(baseInput({ detectors: { thresholds: { long: { portSweepHosts: 0, beaconMinFlows: 3 } } } })).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^test\.detectors\.thresholds\.long\.portSweepHosts: /);
    expect(problems[1]).toMatch(/^test\.detectors\.thresholds\.long.*beaconMinFlows/);
  });
});
