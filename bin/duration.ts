import { DetectorError } from "../functions/detect/engine";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const UNIT_NAMES: Record<string, string> = { s: "seconds", m: "minutes", h: "hours", d: "days" };
const human = (seconds: number) => (seconds % 86400 === 0 ? `${seconds / 86400}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`);

/**
 * A duration such as "90m", "72h" or "7d", in seconds, within [min, max]. The error names the
 * option, the value and the accepted range.
 */
export function parseDuration(value: string, option: string, min: number, max: number, make: (message: string) => Error = (m) => new DetectorError(m)): number {
  const fix = `Write a whole number with s, m, h or d, from ${human(min)} to ${human(max)}, e.g. ${human(min * 30 <= max ? min * 30 : min)}.`;
  const m = /^(-?\d+)([smhd])$/.exec(value.trim());
  if (!m) {
    // Name the near misses ("1.5h", "90") precisely; anything else is simply not a duration.
    const fraction = /^(-?\d*\.\d+)\s*([smhd])$/.exec(value.trim());
    if (fraction) {
      const seconds = Number(fraction[1]) * UNITS[fraction[2]!]!;
      const same = Number.isInteger(seconds) && seconds >= min && seconds <= max ? `Write "${human(seconds)}" for the same time; durations take` : "Write";
      throw make(`${option}: is not a whole number of ${UNIT_NAMES[fraction[2]!]} (got "${value}"). ${same} a whole number with s, m, h or d, from ${human(min)} to ${human(max)}.`);
    }
    if (/^-?\d+(\.\d+)?$/.test(value.trim())) throw make(`${option}: has no unit (got "${value}"). ${fix}`);
    throw make(`${option}: not a duration (got "${value}"). ${fix}`);
  }
  const seconds = Number(m[1]) * UNITS[m[2]!]!;
  if (seconds <= 0) throw make(`${option}: must be longer than zero (got "${value}"). ${fix}`);
  if (seconds < min) throw make(`${option}: shorter than ${human(min)} (got "${value}"). ${fix}`);
  if (seconds > max) throw make(`${option}: longer than ${human(max)} (got "${value}"). ${fix}`);
  return seconds;
}
