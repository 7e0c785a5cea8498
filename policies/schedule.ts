/**
 * EventBridge schedule expressions, checked to AWS's grammar so that a schedule AWS would refuse
 * fails at synth, not at apply (`terraform plan` checks only that it is a string).
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
 */

/** What is wrong with an expression, and how to write it instead. */
export interface ScheduleProblem {
  readonly problem: string;
  readonly fix: string;
}

const EXAMPLE = '"rate(15 minutes)" or "cron(0/15 * * * ? *)"';
const RATE_UNITS = { minute: "minutes", hour: "hours", day: "days" } as const;
const PLURAL_UNITS: readonly string[] = Object.values(RATE_UNITS);

/** The problem with a schedule expression, or undefined when EventBridge accepts it. */
export function scheduleProblem(expression: string): ScheduleProblem | undefined {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return rateProblem(rate[1]!);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return cronProblem(cron[1]!);
  return {
    problem: "is not an EventBridge schedule expression",
    fix: `Write "rate(<value> <unit>)" or "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)", e.g. ${EXAMPLE}.`,
  };
}

function rateProblem(body: string): ScheduleProblem | undefined {
  const parts = /^(\S+) (\S+)$/.exec(body);
  if (!parts) return { problem: 'is not a rate of the form "rate(<value> <unit>)"', fix: 'Write a whole number and a unit separated by one space, e.g. "rate(15 minutes)".' };
  const [, value, unit] = parts as unknown as [string, string, string];
  const units = "minute, hour or day for 1, minutes, hours or days above 1";
  if (!/^\d+$/.test(value)) {
    return { problem: `has the rate value "${value}", which is not a positive whole number`, fix: `Write a positive whole number with ${units}, e.g. "rate(90 minutes)" for an hour and a half.` };
  }
  const n = Number(value);
  if (n === 0) return { problem: "has a rate of zero, which EventBridge refuses", fix: 'Write a positive whole number, e.g. "rate(15 minutes)".' };
  if (/^0/.test(value)) return { problem: `has the rate value "${value}" with a leading zero`, fix: `Write "rate(${n} ${unit})".` };
  const singular = Object.keys(RATE_UNITS).find((s) => s === unit || RATE_UNITS[s as keyof typeof RATE_UNITS] === unit);
  if (!singular) return { problem: `has the rate unit "${unit}", which EventBridge does not know`, fix: `Use ${units}, e.g. "rate(2 hours)".` };
  const plural = RATE_UNITS[singular as keyof typeof RATE_UNITS];
  if (n === 1 && PLURAL_UNITS.includes(unit)) {
    return { problem: `uses the plural "${unit}" with 1`, fix: `Write "rate(1 ${singular})": EventBridge wants the singular for 1 and the plural above 1.` };
  }
  if (n > 1 && unit === singular) {
    return { problem: `uses the singular "${unit}" with ${n}`, fix: `Write "rate(${n} ${plural})": EventBridge wants the singular for 1 and the plural above 1.` };
  }
  return undefined;
}

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names that stand for min, min+1, ... (month and day-of-week). */
  readonly names?: readonly string[];
  /** Largest increment after "/"; undefined when the field takes no "/". */
  readonly maxStep?: number;
  /** "?" allowed (day-of-month, day-of-week). */
  readonly question?: boolean;
  /** The field's forms with L, W or #, which stand alone in the field. */
  readonly special?: (text: string, value: (v: string) => number | undefined) => string | undefined | false;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

// Increments follow the Quartz parser EventBridge's cron descends from: at most the field's
// largest value (59 minutes, 23 hours, 31 days, 12 months).
const FIELDS: readonly CronField[] = [
  { name: "minutes", min: 0, max: 59, maxStep: 59 },
  { name: "hours", min: 0, max: 23, maxStep: 23 },
  {
    name: "day-of-month",
    min: 1,
    max: 31,
    maxStep: 31,
    question: true,
    // L: last day of the month; LW: last weekday; <day>W: the weekday nearest that day.
    special: (text, value) => {
      if (text === "L" || text === "LW") return undefined;
      const w = /^(\d+)W$/.exec(text);
      if (!w) return false;
      return value(w[1]!) === undefined ? `the day before "W" is not in 1-31` : undefined;
    },
  },
  { name: "month", min: 1, max: 12, names: MONTHS, maxStep: 12 },
  {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: DAYS,
    question: true,
    // L: the last day of the week; <day>L: the last such day of the month; <day>#<n>: the n-th.
    special: (text, value) => {
      if (text === "L") return undefined;
      const last = /^([^#,]+)L$/.exec(text);
      if (last) return value(last[1]!) === undefined ? `the day before "L" is not in 1-7 or SUN-SAT` : undefined;
      const nth = /^([^#,]+)#([^,]*)$/.exec(text);
      if (!nth) return false;
      if (value(nth[1]!) === undefined) return `the day before "#" is not in 1-7 or SUN-SAT`;
      return /^[1-5]$/.test(nth[2]!) ? undefined : `the week after "#" is not 1 to 5`;
    },
  },
  { name: "year", min: 1970, max: 2199, maxStep: 229 },
];

const range = (f: CronField) => `${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ""}`;

/** Why one cron field is refused, or undefined when it is fine. */
function fieldProblem(f: CronField, text: string): string | undefined {
  const value = (v: string): number | undefined => {
    const named = f.names?.indexOf(v.toUpperCase()) ?? -1;
    if (named >= 0) return f.min + named;
    if (!/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n >= f.min && n <= f.max ? n : undefined;
  };
  if (text === "?") return f.question ? undefined : `"?" goes only in day-of-month or day-of-week`;
  const special = f.special?.(text.toUpperCase(), value);
  if (special !== undefined && special !== false) return special;
  if (special === undefined && f.special) return undefined;
  for (const item of text.split(",")) {
    if (item === "") return "has an empty list entry";
    if (item === "?") return `"?" stands alone in the field`;
    if (f.special && f.special(item.toUpperCase(), value) !== false) return `"${item}" stands alone in the field, not in a list`;
    const [base, step, extra] = item.split("/") as [string, string | undefined, string | undefined];
    if (extra !== undefined) return `"${item}" has more than one "/"`;
    if (step !== undefined) {
      if (f.maxStep === undefined) return `"/" is not allowed in ${f.name}`;
      if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > f.maxStep) return `the increment "${step}" is not a whole number from 1 to ${f.maxStep}`;
    }
    if (base === "*") continue;
    const ends = base.split("-");
    if (ends.length > 2 || ends.some((e) => value(e) === undefined)) return `${base === text ? "" : `"${base}" is `}not in ${range(f)}`;
  }
  return undefined;
}

function cronProblem(body: string): ScheduleProblem | undefined {
  const example = 'e.g. "cron(0/15 * * * ? *)" (every 15 minutes) or "cron(0 8 ? * MON-FRI *)" (08:00 UTC on weekdays)';
  if (!/^\S+( \S+)*$/.test(body)) return { problem: "has extra spaces between or around its fields", fix: `Separate the six fields with single spaces, ${example}.` };
  const fields = body.split(" ");
  if (fields.length !== 6) {
    return {
      problem: `has ${fields.length} field${fields.length === 1 ? "" : "s"}; an EventBridge cron has six: minutes hours day-of-month month day-of-week year`,
      fix: fields.length === 5 ? `Add the year field, and "?" in day-of-month or day-of-week: Unix "*/15 * * * *" is "cron(0/15 * * * ? *)".` : `Write six fields, ${example}.`,
    };
  }
  const bad = FIELDS.flatMap((f, i) => {
    const why = fieldProblem(f, fields[i]!);
    return why ? [{ field: f, text: `${f.name} "${fields[i]}" (${why})` }] : [];
  });
  if (bad.length) {
    return {
      problem: `has ${bad.length === 1 ? "a field" : "fields"} EventBridge does not accept: ${bad.map((b) => b.text).join(", ")}`,
      fix: `Write each field as a value, a range a-b, a list a,b, "*" or an increment start/step of its values (${bad.map((b) => `${b.field.name} ${range(b.field)}`).join(", ")}), ${example}.`,
    };
  }
  const [dom, dow] = [fields[2]!, fields[4]!];
  const days = 'e.g. "cron(0 8 * * ? *)" (every day) or "cron(0 8 ? * MON *)" (Mondays)';
  if (dom === "?" && dow === "?") return { problem: 'has "?" in both day-of-month and day-of-week', fix: `Give one of them a value or "*", ${days}.` };
  if (dom !== "?" && dow !== "?") {
    return { problem: `gives both day-of-month ("${dom}") and day-of-week ("${dow}"); EventBridge needs "?" in one of them`, fix: `Write "?" in the one you do not mean, ${days}.` };
  }
  return undefined;
}
