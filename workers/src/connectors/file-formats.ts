/**
 * Reading a sample of an uploaded file: text decoding and the CSV, JSON and JSON Lines checks.
 * Everything here works on the first bytes of the file only (bounded memory): a sample that was
 * cut short is trimmed to its last complete line/record, never reported as malformed for that.
 */

export type TextEncoding = 'utf-8' | 'latin1' | 'utf-16le';

export type Checked<T> = ({ ok: true } & T) | { ok: false; code: string; message: string };

export interface DecodedSample {
  text: string;
  encoding: TextEncoding;
  bom: boolean;
}

/** BOM first (it is authoritative), then the configured encoding, then UTF-8 if valid, else Latin-1. */
export function decodeSample(buf: Buffer, truncated: boolean, hint?: TextEncoding): Checked<DecodedSample> {
  let encoding: TextEncoding | undefined;
  let start = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) [encoding, start] = ['utf-8', 3];
  else if (buf[0] === 0xff && buf[1] === 0xfe) [encoding, start] = ['utf-16le', 2];
  else if (buf[0] === 0xfe && buf[1] === 0xff) {
    return { ok: false, code: 'ENCODING_UNSUPPORTED', message: 'The file is UTF-16 big-endian, which is not supported. Save it as UTF-8 and upload it again.' };
  }
  const bom = start > 0;
  encoding ??= hint;
  let body = buf.subarray(start);
  if (truncated) body = trimToLastNewline(body, encoding === 'utf-16le');
  if (encoding === 'utf-16le') return { ok: true, text: new TextDecoder('utf-16le').decode(body), encoding, bom };
  if (encoding === 'latin1') return { ok: true, text: body.toString('latin1'), encoding, bom };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(body), encoding: 'utf-8', bom };
  } catch {
    if (encoding === 'utf-8') {
      return {
        ok: false,
        code: 'ENCODING_MISMATCH',
        message: 'The file is not valid UTF-8. Save it as UTF-8, or set its encoding to latin1 if it comes from an older system.',
      };
    }
    // Not UTF-8 and nothing configured: every byte sequence is valid Latin-1 (Windows exports).
    return { ok: true, text: body.toString('latin1'), encoding: 'latin1', bom };
  }
}

function trimToLastNewline(b: Buffer, utf16: boolean): Buffer {
  if (!utf16) {
    const i = b.lastIndexOf(0x0a);
    return i >= 0 ? b.subarray(0, i + 1) : b;
  }
  for (let i = b.length - 2 - (b.length % 2); i >= 0; i -= 2) if (b[i] === 0x0a && b[i + 1] === 0) return b.subarray(0, i + 2);
  return b.subarray(0, b.length - (b.length % 2));
}

export const lineOf = (text: string, index: number) => {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
};

// ---------------------------------------------------------------- CSV

interface CsvRecord {
  fields: string[];
  line: number;
}

/** RFC 4180: quoted fields may hold delimiters, doubled quotes and line breaks. */
function parseCsv(text: string, delimiter: string, maxRecords: number): { records: CsvRecord[]; openQuoteLine?: number } {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 0;
  for (let i = 0; i < text.length && records.length < maxRecords; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      records.push({ fields, line: recordLine });
      fields = [];
      field = '';
      recordLine = ++line;
    } else field += c;
  }
  if (quoted) return { records, openQuoteLine: quoteLine };
  if (records.length < maxRecords && (field !== '' || fields.length > 0)) {
    fields.push(field);
    records.push({ fields, line: recordLine });
  }
  return { records };
}

const isBlank = (r: CsvRecord) => r.fields.length === 1 && r.fields[0].trim() === '';
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;
const delimiterName = (d: string) => (d === '\t' ? 'tab' : `"${d}"`);

/**
 * The delimiter that splits the first lines into the same number (> 1) of fields most
 * consistently; a tie goes to the one giving more columns.
 */
export function detectDelimiter(text: string): string {
  const head = text.slice(0, 64 * 1024);
  let best = { d: ',', score: -1, cols: 0 };
  for (const d of CSV_DELIMITERS) {
    const records = parseCsv(head, d, 50).records.filter((r) => !isBlank(r));
    if (records.length === 0) continue;
    const cols = records[0].fields.length;
    if (cols < 2) continue;
    const score = records.filter((r) => r.fields.length === cols).length / records.length;
    if (score > best.score || (score === best.score && cols > best.cols)) best = { d, score, cols };
  }
  return best.d;
}

export function checkCsv(
  text: string,
  truncated: boolean,
  configured?: string,
): Checked<{ columns: number; rows: number; delimiter: string; header: string[] }> {
  const delimiter = configured ?? detectDelimiter(text);
  const { records: all, openQuoteLine } = parseCsv(text, delimiter, 100_000);
  if (openQuoteLine !== undefined && !truncated) {
    return {
      ok: false,
      code: 'CSV_MALFORMED',
      message: `A quoted field opened on line ${openQuoteLine} is never closed. Fix the quotes on that line (a " inside a quoted field is written "").`,
    };
  }
  const records = all.filter((r) => !isBlank(r));
  if (records.length === 0) return { ok: false, code: 'FILE_EMPTY', message: 'The file has no header row. Upload a CSV whose first line names the columns.' };
  const header = records[0].fields.map((h) => h.trim());
  const bad = records.find((r) => r.fields.length !== header.length);
  if (bad) {
    return {
      ok: false,
      code: 'CSV_MALFORMED',
      message: `Line ${bad.line} has ${bad.fields.length} field(s) but the header has ${header.length} (delimiter ${delimiterName(delimiter)}). Check the delimiter and the quoting on that line.`,
    };
  }
  return { ok: true, columns: header.length, rows: records.length - 1, delimiter, header };
}

export const describeDelimiter = delimiterName;

// ---------------------------------------------------------------- JSON

const isRecord = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The records of a JSON document: a top-level array, or the first array-valued property of a
 * top-level object ({"data": [...]}). Scans the text instead of parsing it whole so that a sample
 * cut off in the middle of the array still yields its complete leading records.
 */
export function checkJson(text: string, truncated: boolean, maxRecords = 1000): Checked<{ records: number; key?: string }> {
  const stack: string[] = [];
  let inString = false;
  let stringStart = -1;
  let lastKey: string | undefined;
  let arrayDepth = -1; // depth of the records array once found
  let elementStart = -1;
  let key: string | undefined;
  let records = 0;
  const element = (end: number): Checked<object> => {
    const raw = text.slice(elementStart, end).trim();
    const line = lineOf(text, elementStart);
    elementStart = -1;
    if (raw === '') return { ok: true };
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      return {
        ok: false,
        code: 'JSON_MALFORMED',
        message: `Record ${records + 1} (line ${line}) is not valid JSON: ${(err as Error).message}. Fix that record or export the file again.`,
      };
    }
    if (!isRecord(v))
      return {
        ok: false,
        code: 'JSON_SHAPE',
        message: `Record ${records + 1} (line ${line}) is ${Array.isArray(v) ? 'an array' : typeof v}, not an object. Each record must be a JSON object ({"column": value, …}).`,
      };
    records++;
    return { ok: true };
  };
  for (let i = 0; i < text.length && records < maxRecords; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (stack.length === 1 && stack[0] === '{' && arrayDepth < 0) lastKey = text.slice(stringStart + 1, i);
      }
      continue;
    }
    if (arrayDepth > 0 && stack.length === arrayDepth && elementStart < 0 && !/\s/.test(c) && c !== ',' && c !== ']') elementStart = i;
    if (c === '"') {
      inString = true;
      stringStart = i;
    } else if (c === '{' || c === '[') {
      if (c === '[' && arrayDepth < 0 && (stack.length === 0 || (stack.length === 1 && stack[0] === '{'))) {
        arrayDepth = stack.length + 1;
        key = stack.length === 1 ? lastKey : undefined;
      }
      stack.push(c);
    } else if (c === '}' || c === ']') {
      if (c === ']' && stack.length === arrayDepth && elementStart >= 0) {
        const r = element(i);
        if (!r.ok) return r;
      }
      const open = stack.pop();
      if (open !== (c === '}' ? '{' : '['))
        return { ok: false, code: 'JSON_MALFORMED', message: `Unexpected "${c}" on line ${lineOf(text, i)}. Fix the brackets there or export the file again.` };
      if (stack.length < arrayDepth - 1 || (stack.length === arrayDepth - 1 && c === ']')) break; // the records array is closed
    } else if (c === ',' && stack.length === arrayDepth && elementStart >= 0) {
      const r = element(i);
      if (!r.ok) return r;
    }
  }
  if (arrayDepth < 0) {
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[')
      return {
        ok: false,
        code: 'JSON_MALFORMED',
        message: 'The file does not start with a JSON array or object. Check that it is a JSON file (for one record per line, choose JSON Lines).',
      };
    return {
      ok: false,
      code: 'JSON_SHAPE',
      message: 'The file is a JSON object without a list of records. Expected an array of objects, or an object holding one (e.g. {"data": [ … ]}).',
    };
  }
  if (!truncated && records < maxRecords) {
    // The whole file is in the sample: it must also be valid JSON after the records.
    try {
      JSON.parse(text);
    } catch (err) {
      return { ok: false, code: 'JSON_MALFORMED', message: `The file is not valid JSON: ${(err as Error).message}. Fix it or export it again.` };
    }
  }
  return { ok: true, records, key };
}

export function checkJsonLines(text: string, truncated: boolean, maxRecords = 1000): Checked<{ records: number }> {
  const lines = text.split('\n');
  if (truncated) lines.pop(); // decodeSample trimmed to a newline: the last element is empty
  let records = 0;
  for (let n = 0; n < lines.length && records < maxRecords; n++) {
    const line = lines[n].trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      return {
        ok: false,
        code: 'JSONL_MALFORMED',
        message: `Line ${n + 1} is not valid JSON (${(err as Error).message}). Fix or remove that line; JSON Lines needs one complete JSON object per line.`,
      };
    }
    if (!isRecord(v))
      return {
        ok: false,
        code: 'JSONL_MALFORMED',
        message: `Line ${n + 1} is ${Array.isArray(v) ? 'an array' : typeof v}, not a JSON object. Each line must be one record ({"column": value, …}).`,
      };
    records++;
  }
  if (records === 0) return { ok: false, code: 'FILE_EMPTY', message: 'The file holds no records. Upload a file with one JSON object per line.' };
  return { ok: true, records };
}
