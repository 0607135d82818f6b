/**
 * The reader layer: one interface for every source the sync engine loads from (CSV, JSON and
 * JSON Lines files, REST APIs described by OpenAPI). A reader first describes what it can read
 * (`discover`), then streams one table at a time in batches (`read`): bounded memory, and
 * backpressure by async iteration (the next batch is only produced when the consumer asks for it).
 * Input that cannot be read is never dropped silently: each bad record becomes a `Problem`
 * (kept on the reader) or, with `onMalformed: 'FAIL'`, a `MalformedInputError`.
 */

/** The column types readers infer; they are PostgreSQL type names. */
export type ColumnType = 'integer' | 'bigint' | 'numeric' | 'boolean' | 'date' | 'timestamptz' | 'text' | 'jsonb';

export interface ColumnShape {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  /** Columns identifying a row, when the source has (or the reader made) one. */
  primaryKey?: string[];
  /**
   * Child tables (JSON arrays, flattened): `column` (`_dlx_parent_id`) holds the value of the
   * parent row's `parentKey` column in table `table`.
   */
  parent?: { table: string; parentKey: string; column: string };
}

/**
 * One row: column name → value. Values by column type: integer → number; bigint and numeric →
 * string (exact); boolean → boolean; date → 'YYYY-MM-DD'; timestamptz → ISO 8601 string with an
 * offset (a timestamp without one is taken as UTC); text → string; jsonb → the parsed JSON value.
 * A missing or empty value is null.
 */
export type Value = string | number | boolean | null | unknown[] | { [key: string]: unknown };
export type Row = Record<string, Value>;

export interface ReadOptions {
  /** Rows per batch (default 1000). */
  batchRows?: number;
  /** Aborts the read: the iteration throws the signal's reason. */
  signal?: AbortSignal;
}

/** A record the reader could not use. */
export interface Problem {
  table: string;
  /** 1-based line in the file where the record starts; for REST, the record's ordinal in the collection. */
  line: number;
  reason: string;
  /** The record's raw text, truncated to RAW_LIMIT characters. */
  raw: string;
}

export const RAW_LIMIT = 200;
/** How many problems a reader keeps in `problems`; `problemCount` keeps counting beyond it. */
export const PROBLEMS_KEPT = 1000;

/** What a reader does with a malformed record: report it and go on, or stop the read. */
export type OnMalformed = 'SKIP_AND_REPORT' | 'FAIL';

export interface SourceReader {
  discover(): Promise<TableShape[]>;
  read(table: string, options?: ReadOptions): AsyncIterable<Row[]>;
  /** Malformed records reported so far (the first PROBLEMS_KEPT), in the order met. */
  readonly problems: Problem[];
  /** How many malformed records were reported in all. */
  readonly problemCount: number;
}

/** The read stopped on input it cannot use (FAIL mode, or input that cannot be recovered from). */
export class MalformedInputError extends Error {
  override readonly name = 'MalformedInputError';
  constructor(
    /** CSV_MALFORMED, JSON_MALFORMED, JSONL_MALFORMED, REST_RECORD_INVALID, … */
    readonly code: string,
    readonly table: string,
    readonly line: number,
    readonly reason: string,
    readonly raw = '',
  ) {
    super(`${table}: line ${line}: ${reason}`);
  }
}

/** A source that cannot be read at all (HTTP failure, bad configuration, missing file, …). */
export class ReaderError extends Error {
  override readonly name = 'ReaderError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const truncateRaw = (s: string) => (s.length > RAW_LIMIT ? `${s.slice(0, RAW_LIMIT)}…` : s);

/** Shared bookkeeping of problems: keeps the first PROBLEMS_KEPT, counts all, or throws in FAIL mode. */
export class ProblemLog {
  readonly problems: Problem[] = [];
  count = 0;
  constructor(
    private readonly mode: OnMalformed,
    private readonly code: string,
    private readonly onProblem?: (p: Problem) => void,
  ) {}

  report(table: string, line: number, reason: string, raw: string): void {
    const p: Problem = { table, line, reason, raw: truncateRaw(raw) };
    this.count++;
    if (this.problems.length < PROBLEMS_KEPT) this.problems.push(p);
    this.onProblem?.(p);
    if (this.mode === 'FAIL') throw new MalformedInputError(this.code, table, line, reason, p.raw);
  }
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
}
