import { scheduleProblem } from "../../policies/schedule";
import { env, validate, baseInput } from "../support/env";

const schedule = (expression: string) => validate(baseInput({ detectors: { schedule: expression } })).problems;

describe("detector schedules follow EventBridge's grammar", () => {
  it.each([
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "cron(0/15 * * * ? *)",
    "cron(0 10 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 12 ? JAN,FEB,MAR MON *)",
    "cron(0 0 ? * sun *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 3W * ? *)",
    "cron(0 0 ? * 6L *)",
    "cron(0 0 ? * L *)",
    "cron(0 0 1,15 * ? *)",
    "cron(30 2 * 1-12/2 ? 2027-2030)",
    "cron(* * * * ? *)",
  ])("accepts %s", (expression) => {
    expect(scheduleProblem(expression)).toBeUndefined();
    expect(env({ detectors: { schedule: expression } }).detectors.schedule).toBe(expression);
  });

  describe("refuses, saying what is wrong and how to write it", () => {
    it.each<[string, string, string, string]>([
      ["a rate of zero", "rate(0 minutes)", "has a rate of zero, which EventBridge refuses", 'Write a positive whole number, e.g. "rate(15 minutes)".'],
      ["a negative rate", "rate(-1 minutes)", 'has the rate value "-1", which is not a positive whole number', 'e.g. "rate(90 minutes)" for an hour and a half.'],
      ["a fractional rate", "rate(1.5 hours)", 'has the rate value "1.5", which is not a positive whole number', "Write a positive whole number with minute, hour or day for 1, minutes, hours or days above 1"],
      ["a plural unit with 1", "rate(1 minutes)", 'uses the plural "minutes" with 1', 'Write "rate(1 minute)": EventBridge wants the singular for 1 and the plural above 1.'],
      ["a singular unit above 1", "rate(5 hour)", 'uses the singular "hour" with 5', 'Write "rate(5 hours)": EventBridge wants the singular for 1 and the plural above 1.'],
      ["an unknown unit", "rate(2 weeks)", 'has the rate unit "weeks", which EventBridge does not know', 'Use minute, hour or day for 1, minutes, hours or days above 1, e.g. "rate(2 hours)".'],
      ["a leading zero", "rate(05 minutes)", 'has the rate value "05" with a leading zero', 'Write "rate(5 minutes)".'],
      ["a rate with two spaces", "rate(5  minutes)", 'is not a rate of the form "rate(<value> <unit>)"', 'Write a whole number and a unit separated by one space, e.g. "rate(15 minutes)".'],
      ["letters in every cron field", "cron(a b c d e f)",
        'has fields EventBridge does not accept: minutes "a" (not in 0-59), hours "b" (not in 0-23), day-of-month "c" (not in 1-31), month "d" (not in 1-12 or JAN-DEC), day-of-week "e" (not in 1-7 or SUN-SAT), year "f" (not in 1970-2199)',
        'Write each field as a value, a range a-b, a list a,b, "*" or an increment start/step of its values (minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT, year 1970-2199), e.g. "cron(0/15 * * * ? *)" (every 15 minutes) or "cron(0 8 ? * MON-FRI *)" (08:00 UTC on weekdays).'],
      ["a five-field Unix cron", "cron(*/15 * * * *)", "has 5 fields; an EventBridge cron has six: minutes hours day-of-month month day-of-week year",
        'Add the year field, and "?" in day-of-month or day-of-week: Unix "*/15 * * * *" is "cron(0/15 * * * ? *)".'],
      ["a seven-field cron", "cron(0 0 0 * * ? *)", "has 7 fields; an EventBridge cron has six", 'Write six fields, e.g. "cron(0/15 * * * ? *)"'],
      ["both day fields given", "cron(0 10 * * MON *)", 'gives both day-of-month ("*") and day-of-week ("MON"); EventBridge needs "?" in one of them',
        'Write "?" in the one you do not mean, e.g. "cron(0 8 * * ? *)" (every day) or "cron(0 8 ? * MON *)" (Mondays).'],
      ["both day fields left open", "cron(0 10 ? * ? *)", 'has "?" in both day-of-month and day-of-week', 'Give one of them a value or "*", e.g. "cron(0 8 * * ? *)" (every day)'],
      ["minute 60", "cron(60 * * * ? *)", 'has a field EventBridge does not accept: minutes "60" (not in 0-59)', "(minutes 0-59)"],
      ["hour 24", "cron(0 24 * * ? *)", 'hours "24" (not in 0-23)', "(hours 0-23)"],
      ["day 32", "cron(0 0 32 * ? *)", 'day-of-month "32" (not in 1-31)', "(day-of-month 1-31)"],
      ["month 13", "cron(0 0 ? 13 * *)", 'month "13" (not in 1-12 or JAN-DEC)', "(month 1-12 or JAN-DEC)"],
      ["weekday 8", "cron(0 0 ? * 8 *)", 'day-of-week "8" (not in 1-7 or SUN-SAT)', "(day-of-week 1-7 or SUN-SAT)"],
      ["year 1969", "cron(0 0 * * ? 1969)", 'year "1969" (not in 1970-2199)', "(year 1970-2199)"],
      ["a range with two dashes", "cron(0 0 1-2-3 * ? *)", 'day-of-month "1-2-3" (not in 1-31)', "(day-of-month 1-31)"],
      ["a value out of range inside a list", "cron(0 0 1,40 * ? *)", 'day-of-month "1,40" ("40" is not in 1-31)', "(day-of-month 1-31)"],
      ["an increment of zero", "cron(0/0 * * * ? *)", 'minutes "0/0" (the increment "0" is not a whole number from 1 to 59)', "(minutes 0-59)"],
      ["an increment of 60 minutes", "cron(0/60 * * * ? *)", 'minutes "0/60" (the increment "60" is not a whole number from 1 to 59)', "(minutes 0-59)"],
      ["an increment in day-of-week", "cron(0 0 ? * */2 *)", 'day-of-week "*/2" ("/" is not allowed in day-of-week)', "(day-of-week 1-7 or SUN-SAT)"],
      ["two # expressions", "cron(0 0 ? * 3#1,6#3 *)", 'day-of-week "3#1,6#3" ("3#1" stands alone in the field, not in a list)', "(day-of-week 1-7 or SUN-SAT)"],
      ["a sixth week", "cron(0 0 ? * 2#6 *)", 'day-of-week "2#6" (the week after "#" is not 1 to 5)', "(day-of-week 1-7 or SUN-SAT)"],
      ["L in a list", "cron(0 0 L,1 * ? *)", 'day-of-month "L,1" ("L" stands alone in the field, not in a list)', "(day-of-month 1-31)"],
      ["W after day 32", "cron(0 0 32W * ? *)", 'day-of-month "32W" (the day before "W" is not in 1-31)', "(day-of-month 1-31)"],
      ["? in the minutes", "cron(? 0 * * ? *)", 'minutes "?" ("?" goes only in day-of-month or day-of-week)', "(minutes 0-59)"],
      ["? in a list", "cron(0 0 * * ?,1 *)", 'day-of-week "?,1" ("?" stands alone in the field)', "(day-of-week 1-7 or SUN-SAT)"],
      ["two spaces in a cron", "cron(0  0 * * ? *)", "has extra spaces between or around its fields", 'Separate the six fields with single spaces, e.g. "cron(0/15 * * * ? *)"'],
      ["plain words", "every 5 minutes", "is not an EventBridge schedule expression",
        'Write "rate(<value> <unit>)" or "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)", e.g. "rate(15 minutes)" or "cron(0/15 * * * ? *)".'],
      ["RATE in capitals", "RATE(5 minutes)", "is not an EventBridge schedule expression", 'Write "rate(<value> <unit>)"'],
      ["an empty string", "", "is not an EventBridge schedule expression", 'Write "rate(<value> <unit>)"'],
    ])("%s: %s", (_title, expression, problem, fix) => {
      const found = scheduleProblem(expression)!;
      expect(found.problem).toContain(problem);
      expect(found.fix).toContain(fix);
    });
  });

  it("reports a refused schedule in the usual form, on detectors.schedule", () => {
    expect(schedule("rate(0 minutes)")).toEqual([
      'test.detectors.schedule: has a rate of zero, which EventBridge refuses (got "rate(0 minutes)"). Write a positive whole number, e.g. "rate(15 minutes)".',
    ]);
    expect(schedule("cron(a b c d e f)")).toHaveLength(1);
    expect(schedule("cron(a b c d e f)")[0]).toMatch(/^test\.detectors\.schedule: has fields EventBridge does not accept: .* \(got "cron\(a b c d e f\)"\)\. Write each field as /);
  });

  it("refuses a schedule that is not a string", () => {
    expect(schedule(15 as unknown as string)).toEqual([
      'test.detectors.schedule: must be a schedule expression (got 15). Write e.g. "rate(15 minutes)" or "cron(0/15 * * * ? *)".',
    ]);
  });
});
