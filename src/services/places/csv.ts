/**
 * A small RFC 4180 CSV reader: comma-separated fields, records ended by CRLF, LF or CR, fields
 * optionally enclosed in double quotes (which may then hold commas, line breaks and `""` for a
 * quote). Blank lines are skipped. Every record carries the line it starts on, so errors can
 * point the user at the line their spreadsheet shows.
 */

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const BOM = "\uFEFF";

export function parseCsv(input: string): CsvRecord[] {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  /** The current field was quoted and its closing quote has been read. */
  let closed = false;
  let line = 1;
  let recordLine = 1;

  const endRecord = () => {
    const blank = fields.length === 0 && field.trim() === "" && !closed;
    if (!blank) records.push({ line: recordLine, fields: [...fields, field] });
    fields = [];
    field = "";
    closed = false;
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
          closed = true;
        }
      } else {
        if (ch === "\n" || (ch === "\r" && text[i + 1] !== "\n")) line++;
        field += ch;
      }
      continue;
    }
    if (ch === ",") {
      fields.push(field);
      field = "";
      closed = false;
    } else if (ch === "\r" || ch === "\n") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else if (closed) {
      if (ch !== " " && ch !== "\t") {
        throw new CsvSyntaxError(line, "only a comma or a line break may follow a closing quote");
      }
    } else if (ch === '"') {
      if (field.trim() !== "") {
        throw new CsvSyntaxError(
          line,
          'a field with a quote in it must be quoted whole, with "" for the quote',
        );
      }
      field = "";
      inQuotes = true;
    } else {
      field += ch;
    }
  }
  if (inQuotes) throw new CsvSyntaxError(recordLine, "a quoted field is not closed");
  endRecord();
  return records;
}
