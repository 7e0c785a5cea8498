import * as fs from "fs";
import { parsePrefix } from "./prefixes";

/**
 * A threat list in GuardDuty's plain-text format: one IP address or CIDR per line; blank lines
 * and lines starting with # are ignored. Returns the entries, or the problems (each naming the
 * file, the line number and the value): a list that half-loads would match less than it says.
 * @see https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_upload-lists.html
 */
export function parseThreatList(file: string, text: string): { readonly entries: string[]; readonly problems: string[] } {
  const entries: string[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const value = raw.trim();
    if (value === "" || value.startsWith("#")) return;
    const p = parsePrefix(value);
    if (typeof p === "string") {
      problems.push(`${file}:${i + 1}: ${p} (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}). Write one IPv4 or IPv6 address or CIDR per line, # for comments.`);
      return;
    }
    entries.push(value);
  });
  return { entries, problems };
}

/** Reads a threat list; a file that cannot be read is a problem, never an empty list. */
export function readThreatList(file: string): { readonly entries: string[]; readonly problems: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { entries: [], problems: [`${file}: cannot read the threat list (got ${e.code ?? e.message}). Give a readable file, its path relative to the environment's file.`] };
  }
  return parseThreatList(file, text);
}
