import { parseDuration } from "../../bin/duration";
import { DetectorError } from "../../functions/detect/engine";
import { ConfigError } from "../../policies/errors";

// --ttl's range: one hour to 30 days.
const ttl = (value: string) => parseDuration(value, "--ttl", 3600, 30 * 86400, (m) => new ConfigError([m]));

describe("durations on the command line", () => {
  it.each([
    ["90m", 5400],
    ["72h", 259200],
    ["7d", 604800],
    [" 2h ", 7200],
  ])("reads %j as %d seconds", (value, seconds) => {
    expect(ttl(value)).toBe(seconds);
  });

  describe("refuses, naming the option, the value and the fix", () => {
    it.each([
      ["a fraction of an hour, with the same time in minutes", "1.5h", '--ttl: is not a whole number of hours (got "1.5h"). Write "90m" for the same time; durations take a whole number with s, m, h or d, from 1h to 30d.'],
      ["half a day, with the same time in hours", "0.5d", '--ttl: is not a whole number of days (got "0.5d"). Write "12h" for the same time;'],
      ["a fraction whose whole equivalent is out of range", "0.25m", '--ttl: is not a whole number of minutes (got "0.25m"). Write a whole number with s, m, h or d, from 1h to 30d.'],
      ["a number without a unit", "90", '--ttl: has no unit (got "90"). Write a whole number with s, m, h or d, from 1h to 30d, e.g. 30h.'],
      ["words", "a week", '--ttl: not a duration (got "a week"). Write a whole number with s, m, h or d, from 1h to 30d, e.g. 30h.'],
      ["zero", "0h", '--ttl: must be longer than zero (got "0h").'],
      ["less than the minimum", "30m", '--ttl: shorter than 1h (got "30m").'],
      ["more than the maximum", "31d", '--ttl: longer than 30d (got "31d").'],
    ])("%s: %j", (_title, value, message) => {
      expect(() => ttl(value)).toThrow(message);
    });
  });

  it("throws a DetectorError unless told otherwise", () => {
    expect(() => parseDuration("soon", "--since", 60, 604800)).toThrow(DetectorError);
  });
});
