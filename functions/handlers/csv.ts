/**
 * Athena's query result file: CSV as RFC 4180 writes it. Athena quotes every value of a SELECT
 * result ("a","b"), doubles a quote inside one, and may hold a comma or a line break inside
 * quotes; an empty unquoted field is a NULL. The first record names the columns.
 * @see https://docs.aws.amazon.com/athena/latest/ug/querying.html#saving-query-results
 * @see https://www.rfc-editor.org/rfc/rfc4180
 */
import { DetectorError } from "../detect/errors";

/**
 * Records of a CSV text, each a list of fields. `name` (the file) is only for the error, which
 * names the record and what was found: an unterminated quote or text after a closing quote is
 * a file cut short or not CSV, never a row to guess at.
 */
export function parseCsvRecords(text: string, name: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let i = 0;
  const fail = (problem: string): never => {
    throw new DetectorError(`${name}:${line}: ${problem} (got ${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))}). The result file is not the CSV Athena writes: run the query again; if it persists, read the file with aws s3 cp.`);
  };
  const endField = () => {
    record.push(field);
    field = "";
    afterQuote = false;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        afterQuote = true;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== "" || afterQuote) fail("a quote inside an unquoted field");
      quoted = true;
    } else if (c === ",") {
      endField();
    } else if (c === "\n" || c === "\r") {
      endField();
      records.push(record);
      record = [];
      if (c === "\r" && text[i + 1] === "\n") i++;
      line++;
    } else {
      if (afterQuote) fail("text after a closing quote");
      field += c;
    }
    i++;
  }
  if (quoted) fail("a quoted field that never ends");
  if (field !== "" || afterQuote || record.length) {
    endField();
    records.push(record);
  }
  return records;
}

/**
 * Rows of a CSV text with a header, as objects by column name. A file without even a header is
 * refused (Athena writes one for every SELECT, with or without rows), and so is a row whose
 * field count differs from the header's.
 */
export function parseCsv(text: string, name: string): Record<string, string>[] {
  const records = parseCsvRecords(text, name);
  const header = records[0];
  if (!header || (header.length === 1 && header[0] === "")) {
    throw new DetectorError(`${name}: the result file is empty (got ${text.length} bytes). Athena writes a header line for every SELECT, so the file was cut short or replaced: run the query again.`);
  }
  return records.slice(1).map((r, i) => {
    if (r.length !== header.length) {
      throw new DetectorError(`${name}:${i + 2}: has ${r.length} fields where the header has ${header.length} (got ${JSON.stringify(r.join(",").slice(0, 80))}). The result file is not the CSV Athena writes: run the query again.`);
    }
    return Object.fromEntries(header.map((h, j) => [h, r[j]!]));
  });
}
