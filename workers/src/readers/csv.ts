/**
 * CSV reader: detects the encoding, delimiter, quote character and header row, infers each
 * column's type over the whole file (one streaming pass in `discover`), then streams rows with
 * csv-parse. Malformed records (a field count that differs from the header's, an unterminated
 * or stray quote) are reported with their line numbers; parsing resumes on the next line, so one
 * bad quote never swallows the rest of the file.
 */
import { createReadStream } from 'node:fs';
import { parse, type Parser } from 'csv-parse';
import { detectDelimiter } from '../connectors/file-formats';
import { CHUNK_BYTES, checkFile, detectEncoding, nodeEncoding, readHead, type DetectedEncoding, type FileEncoding } from './file-source';
import {
  checkAborted,
  ProblemLog,
  ReaderError,
  type ColumnShape,
  type ColumnType,
  type OnMalformed,
  type Problem,
  type ReadOptions,
  type Row,
  type SourceReader,
  type TableShape,
} from './types';
import { classify, convertText, widen } from './values';

export interface CsvReaderOptions {
  path: string;
  /** The table the file becomes. */
  table: string;
  encoding?: FileEncoding;
  delimiter?: string;
  quote?: string;
  /** Whether the first row names the columns (detected when absent). */
  header?: boolean;
  onMalformed?: OnMalformed;
  /** FILE_MAX_BYTES. */
  maxBytes?: number;
  /** Data rows used to infer types (default: all of them). */
  inferenceRows?: number;
  onProblem?: (p: Problem) => void;
}

export interface CsvDialect extends DetectedEncoding {
  delimiter: string;
  quote: string;
  header: boolean;
}

const SAMPLE_BYTES = 64 * 1024;
const HEADER_SAMPLE = 20;

/** The quote character: `"` unless the sample only quotes fields with `'`. */
function detectQuote(text: string, delimiter: string): string {
  const esc = delimiter.replace(/[|\\]/g, '\\$&').replace('\t', '\\t');
  const quotedWith = (q: string) => (text.match(new RegExp(`(^|[${esc}\\n])${q}[^${q}\\n]*${q}(?=[${esc}\\r\\n]|$)`, 'gm')) ?? []).length;
  return quotedWith('"') === 0 && quotedWith("'") > 0 ? "'" : '"';
}

// ------------------------------------------------------------------ records with line numbers

type Rec = { bad: false; fields: string[]; line: number; raw: string } | { bad: true; line: number; raw: string; reason: string };

/** Bytes read from the file but not yet consumed by records (absolute offsets). */
class ByteWindow {
  private chunks: Buffer[] = [];
  constructor(private base: number) {}
  get end(): number {
    return this.chunks.reduce((n, c) => n + c.length, this.base);
  }
  push(b: Buffer): void {
    this.chunks.push(b);
  }
  slice(from: number, to = this.end): Buffer {
    const parts: Buffer[] = [];
    let off = this.base;
    for (const c of this.chunks) {
      const a = Math.max(from - off, 0);
      const b = Math.min(to - off, c.length);
      if (b > a) parts.push(c.subarray(a, b));
      off += c.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
  drop(upTo: number): void {
    while (this.chunks.length > 0 && this.base + this.chunks[0].length <= upTo) this.base += this.chunks.shift()!.length;
  }
}

/** Line bookkeeping over raw bytes: newline is 0x0a (0x0a 0x00 in UTF-16LE). */
class Lines {
  constructor(private readonly unit: number) {}
  isNewline(b: Buffer, i: number): boolean {
    return b[i] === 0x0a && (this.unit === 1 || b[i + 1] === 0);
  }
  isBlank(b: Buffer, i: number): boolean {
    return (b[i] === 0x0a || b[i] === 0x0d) && (this.unit === 1 || b[i + 1] === 0);
  }
  /** Leading blank bytes and newlines among them. */
  leading(b: Buffer): { skip: number; newlines: number } {
    let i = 0;
    let newlines = 0;
    while (i < b.length && this.isBlank(b, i)) {
      if (this.isNewline(b, i)) newlines++;
      i += this.unit;
    }
    return { skip: i, newlines };
  }
  count(b: Buffer, from = 0): number {
    let n = 0;
    for (let i = from; i < b.length; i += this.unit) if (this.isNewline(b, i)) n++;
    return n;
  }
  /** Index just past the first newline at or after `from`, or -1. */
  after(b: Buffer, from: number): number {
    for (let i = from; i < b.length; i += this.unit) if (this.isNewline(b, i)) return i + this.unit;
    return -1;
  }
}

/**
 * Every record of the file with the line it starts on, and every malformed one as a bad record.
 * `expected` (the header's field count, once known) lets a record spanning several lines with the
 * wrong field count be recognised as a quote gone wrong: it is reported on its first line and
 * parsing resumes on the line after.
 */
async function* csvRecords(path: string, d: Omit<CsvDialect, 'header'>, expected: () => number | undefined, signal?: AbortSignal): AsyncGenerator<Rec> {
  const enc = nodeEncoding(d.encoding);
  const lines = new Lines(d.encoding === 'utf-16le' ? 2 : 1);
  const file = createReadStream(path, { start: d.bomBytes, highWaterMark: CHUNK_BYTES });
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const win = new ByteWindow(d.bomBytes);
  let eof = false;
  let pos = d.bomBytes; // first byte not yet consumed by a record
  let line = 1; // the line `pos` is on
  let queue: { record: string[]; bytes: number }[] = [];
  let parser: Parser;
  let parserBase = pos;
  let ended = false;
  const newParser = () => {
    queue = [];
    ended = false;
    parserBase = pos;
    const p = parse({
      delimiter: d.delimiter,
      quote: d.quote,
      escape: d.quote,
      encoding: enc,
      bom: false,
      relax_column_count: true,
      // Strict quotes: a quote that opens a field and is never properly closed is an error (reported,
      // parsing resumes on the next line) rather than a field silently swallowing the lines after it.
      relax_quotes: false,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      on_record: (record: string[], context: { bytes: number }) => {
        queue.push({ record, bytes: context.bytes });
        return null;
      },
    });
    p.on('error', () => undefined); // read from p.errored
    return p;
  };
  const pull = async (): Promise<Buffer | null> => {
    const r = await chunks.next();
    if (r.done) {
      eof = true;
      return null;
    }
    win.push(r.value);
    return r.value;
  };
  /** Consume bytes up to `to`: returns the first line of the consumed record and its raw text. */
  const consume = (to: number) => {
    const seg = win.slice(pos, to);
    const lead = lines.leading(seg);
    const start = line + lead.newlines;
    line += lines.count(seg);
    pos = to;
    return { start, seg: seg.subarray(lead.skip), lead: lead.skip };
  };
  /** Skip the bad line starting at `pos` (after blank lines); parsing resumes after it. */
  const skipBadLine = async (): Promise<{ line: number; raw: string }> => {
    for (;;) {
      const seg = win.slice(pos);
      const lead = lines.leading(seg);
      const next = lines.after(seg, lead.skip);
      if (next >= 0 || eof) {
        const to = next >= 0 ? pos + next : win.end;
        const c = consume(to);
        return { line: c.start, raw: c.seg.toString(enc).trimEnd() };
      }
      if ((await pull()) === null) continue;
    }
  };
  const restart = () => {
    parser.destroy();
    parser = newParser();
    return win.slice(pos);
  };

  parser = newParser();
  let pending: Buffer | null = null;
  try {
    for (;;) {
      checkAborted(signal);
      win.drop(pos);
      if (pending === null && !eof) pending = await pull();
      if (pending !== null) {
        if (pending.length > 0) parser.write(pending);
        pending = null;
      } else if (!ended) {
        ended = true;
        const p = parser;
        await new Promise<void>((resolve) => {
          p.once('finish', resolve);
          p.once('close', resolve);
          p.end();
        });
      }
      let restarted = false;
      const batch = queue;
      queue = [];
      for (const q of batch) {
        const to = parserBase + q.bytes;
        const c = consume(to);
        const raw = c.seg.toString(enc).replace(/\r?\n$/, '');
        const want = expected();
        if (want !== undefined && q.record.length !== want && lines.count(c.seg.subarray(0, Math.max(0, c.seg.length - 1))) > 0) {
          // A quoted field ran over line ends and the count is off: a quote is not closed where it should be.
          pos -= c.seg.length - (lines.after(c.seg, 0) >= 0 ? lines.after(c.seg, 0) : c.seg.length);
          line = c.start + 1;
          yield {
            bad: true,
            line: c.start,
            raw: raw.split(/\r?\n/)[0],
            reason: `${q.record.length} fields where ${want} are expected, in a quoted field running over several lines: a quote opened on this line is probably not closed`,
          };
          pending = restart();
          restarted = true;
          break;
        }
        yield { bad: false, fields: q.record, line: c.start, raw };
      }
      if (restarted) continue;
      if (parser.errored) {
        const e = parser.errored as Error & { code?: string };
        const bad = await skipBadLine();
        const reason =
          e.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted field opened on this line is never closed' : `${e.message.split(':')[0]} (${e.code ?? 'parse error'})`;
        yield { bad: true, line: bad.line, raw: bad.raw, reason };
        pending = restart();
        continue;
      }
      if (ended) return;
    }
  } finally {
    parser!.destroy();
    file.destroy();
  }
}

// ------------------------------------------------------------------ reader

function columnNames(header: string[]): string[] {
  const seen = new Set<string>();
  return header.map((h, i) => {
    let name = h.trim() || `column_${i + 1}`;
    if (seen.has(name)) {
      let n = 2;
      while (seen.has(`${name}_${n}`)) n++;
      name = `${name}_${n}`;
    }
    seen.add(name);
    return name;
  });
}

/** A header row: no field that reads as a number, boolean or date, and no two the same. */
export function looksLikeHeader(first: string[]): boolean {
  const named = first.map((f) => f.trim()).filter((f) => f !== '');
  if (named.length === 0) return false;
  return new Set(named).size === named.length && named.every((f) => classify(f) === 'text');
}

export class CsvReader implements SourceReader {
  private readonly log: ProblemLog;
  private dialect?: CsvDialect;
  private shape?: TableShape;

  constructor(private readonly opts: CsvReaderOptions) {
    this.log = new ProblemLog(opts.onMalformed ?? 'SKIP_AND_REPORT', 'CSV_MALFORMED', opts.onProblem);
  }

  get problems(): Problem[] {
    return this.log.problems;
  }
  get problemCount(): number {
    return this.log.count;
  }

  /** Encoding, delimiter, quote (header decided in discover). */
  async detect(): Promise<Omit<CsvDialect, 'header'>> {
    await checkFile(this.opts.path, this.opts.maxBytes);
    const enc = await detectEncoding(this.opts.path, this.opts.encoding);
    const head = (await readHead(this.opts.path, SAMPLE_BYTES + enc.bomBytes)).subarray(enc.bomBytes);
    let sample = head.toString(nodeEncoding(enc.encoding));
    if (head.length >= SAMPLE_BYTES) sample = sample.slice(0, Math.max(sample.lastIndexOf('\n'), 0));
    const delimiter = this.opts.delimiter ?? detectDelimiter(sample);
    const quote = this.opts.quote ?? detectQuote(sample, delimiter);
    return { ...enc, delimiter, quote };
  }

  async discover(): Promise<TableShape[]> {
    if (this.shape) return [this.shape];
    const d = await this.detect();
    const first: string[][] = [];
    let header = this.opts.header;
    let names: string[] = [];
    let expected: number | undefined;
    let types: (ColumnType | null)[] = [];
    let nullable: boolean[] = [];
    let sampled = 0;
    const limit = this.opts.inferenceRows ?? Infinity;
    const infer = (fields: string[]) => {
      if (fields.length !== expected || sampled >= limit) return;
      sampled++;
      fields.forEach((f, i) => {
        const v = f.trim();
        if (v === '') nullable[i] = true;
        else types[i] = widen(types[i], classify(v));
      });
    };
    const decide = () => {
      header ??= first.length > 0 && looksLikeHeader(first[0]);
      if (header) expected = first[0]?.length ?? 0;
      else {
        const counts = new Map<number, number>();
        for (const r of first) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
        expected = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 0;
      }
      names = header ? columnNames(first[0] ?? []) : Array.from({ length: expected }, (_, i) => `column_${i + 1}`);
      types = names.map(() => null);
      nullable = names.map(() => false);
      first.slice(header ? 1 : 0).forEach(infer);
    };
    for await (const r of csvRecords(this.opts.path, d, () => expected)) {
      if (r.bad) continue; // reported by read()
      if (expected === undefined) {
        first.push(r.fields);
        if (first.length >= HEADER_SAMPLE) decide();
      } else infer(r.fields);
    }
    if (expected === undefined) decide();
    if (names.length === 0) throw new ReaderError('FILE_EMPTY', 'The file has no rows.');
    this.dialect = { ...d, header: header! };
    const columns: ColumnShape[] = names.map((name, i) => ({ name, type: types[i] ?? 'text', nullable: nullable[i] || types[i] === null }));
    this.shape = { name: this.opts.table, columns };
    return [this.shape];
  }

  /** The dialect detected by discover(). */
  get detected(): CsvDialect | undefined {
    return this.dialect;
  }

  async *read(table: string, options: ReadOptions = {}): AsyncGenerator<Row[]> {
    const [shape] = await this.discover();
    if (table !== shape.name) throw new ReaderError('TABLE_NOT_FOUND', `No table "${table}" in this file (it has "${shape.name}").`);
    const d = this.dialect!;
    const batchRows = options.batchRows ?? 1000;
    const cols = shape.columns;
    let batch: Row[] = [];
    let skipHeader = d.header;
    for await (const r of csvRecords(this.opts.path, d, () => cols.length, options.signal)) {
      checkAborted(options.signal);
      if (r.bad) {
        this.log.report(table, r.line, r.reason, r.raw);
        continue;
      }
      if (skipHeader) {
        skipHeader = false;
        continue;
      }
      if (r.fields.length !== cols.length) {
        this.log.report(table, r.line, `${r.fields.length} field(s) where the header has ${cols.length} (delimiter ${JSON.stringify(d.delimiter)})`, r.raw);
        continue;
      }
      const row: Row = {};
      let misfit: string | undefined;
      for (let i = 0; i < cols.length; i++) {
        const c = cols[i];
        const v = c.type === 'text' ? r.fields[i] : r.fields[i].trim();
        const conv = convertText(v, c.type);
        if (!conv.ok) {
          misfit = `value ${JSON.stringify(v.slice(0, 50))} in column "${c.name}" is not ${c.type}`;
          break;
        }
        row[c.name] = conv.value;
      }
      if (misfit) {
        this.log.report(table, r.line, misfit, r.raw);
        continue;
      }
      batch.push(row);
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }
}
