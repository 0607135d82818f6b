import type { SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import {
  MalformedInputError,
  openReader,
  ReaderError,
  type ColumnType,
  type Problem,
  type Row,
  type SourceReader,
  type TableShape,
  type Value,
} from '../readers';
import { encodeCopyField } from './copy-meter';
import { SyncFailure, type SyncOptions, type SyncOutcome, type SyncReporter } from './outcome';
import { runTableSourceSync, type LoadColumn, type TableSource } from './source-load';

export interface ReaderSyncOptions extends SyncOptions {
  /** DLX_FILE_STORAGE_DIR and FILE_MAX_BYTES (the worker's file storage). */
  fileStorage: { root: string; maxBytes: number };
}

/** How many malformed records a step lists (all are counted). */
const LISTED_PROBLEMS = 10;

/** A row value (typed by the reader) as the text of a PostgreSQL value of `type`. */
function valueText(v: Value | undefined, type: ColumnType): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'jsonb') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

const noun = (config: SourceSyncJobV1['payload']['config']) => (config.type === 'REST_API' ? 'record' : 'line');

/**
 * `source.sync` of a FILE (CSV, JSON, JSON Lines) or REST_API (OpenAPI collections) connection:
 * the connection's reader (`openReader`) discovers the tables (a table of the job is a reader
 * table name: a file's name without its extension, a flattened child table `<table>__<field>`, a
 * REST collection), each table loaded with inferred types and the pipeline's schema drift policy
 * against the existing table, its batches streamed into COPY FROM STDIN. FULL: staging table +
 * swap. INCREMENTAL (`records`, the job's table naming `primaryKey` and `cursorColumn`): every
 * record is read and the warehouse upserts, batch by batch, the ones whose cursor is above the
 * table's high-water mark (`incrementalLoad`); a redelivered job skips the records of a FILE an
 * earlier attempt consumed (the uploaded file, named by its fileId, never changes) and reads a
 * REST collection again from the start (it may have changed; the upsert by key keeps it
 * duplicate-free). Malformed records: SKIP_AND_REPORT loads the good rows and reports a step
 * "N malformed lines skipped" with the first line numbers and reasons; FAIL fails the run with
 * INPUT_MALFORMED naming the first bad line (FULL: nothing swapped in; INCREMENTAL: the batch
 * holding it rolled back, the high-water mark unchanged).
 */
export function runReaderSync(job: SourceSyncJobV1, o: ReaderSyncOptions, report: SyncReporter): Promise<SyncOutcome> {
  const p = job.payload;
  return runTableSourceSync(job, o, report, async () => {
    let skipped: Problem[] = [];
    let skippedCount = 0;
    let reader: SourceReader;
    let shapes: TableShape[];
    try {
      reader = await openReader(p.config, o.secrets, {
        workspaceId: job.workspaceId,
        fileStorageRoot: o.fileStorage.root,
        maxFileBytes: o.fileStorage.maxBytes,
        onMalformed: p.onMalformed,
        onProblem: (problem) => {
          skippedCount++;
          if (skipped.length < LISTED_PROBLEMS) skipped.push(problem);
        },
      });
      shapes = await reader.discover();
    } catch (err) {
      if (err instanceof ReaderError || err instanceof MalformedInputError)
        throw new SyncFailure(err instanceof ReaderError ? err.code : 'INPUT_MALFORMED', err.message);
      throw err;
    }
    const c = p.config;
    const description = c.type === 'FILE' ? `file ${c.fileName}` : c.type === 'REST_API' ? `REST API ${c.baseUrl}` : `${c.type} source`;
    const shapeOf = (t: SyncTableV1) => {
      const shape = shapes.find((s) => s.name === t.name);
      if (!shape)
        throw new SyncFailure(
          'TABLE_NOT_FOUND',
          `The ${description} has no table ${t.name}; its tables are: ${shapes.map((s) => s.name).join(', ') || 'none'}.`,
        );
      return shape;
    };
    const reads: AsyncIterator<Row[]>[] = [];
    /** A read of the table (its malformed-record tally restarted) and its rows as COPY text lines of the columns to load (the drift policy may leave new ones out). */
    const read = (t: SyncTableV1, columns: LoadColumn[]) => {
      skipped = [];
      skippedCount = 0;
      const byName = new Map(shapeOf(t).columns.map((c) => [c.name, c.type]));
      const types = columns.map((c) => byName.get(c.name)!);
      return {
        rows: reader.read(t.name, { batchRows: 1000 }),
        encode: (batch: Row[]) =>
          Buffer.from(batch.map((row) => `${columns.map((c, i) => encodeCopyField(valueText(row[c.name], types[i]))).join('\t')}\n`).join(''), 'utf8'),
      };
    };
    const source: TableSource = {
      description,
      columns: (t) => Promise.resolve(shapeOf(t).columns.map((c): LoadColumn => ({ name: c.name, type: c.type }))),
      lines: async function* (t, columns) {
        const { rows, encode } = read(t, columns);
        for await (const batch of rows) yield encode(batch);
      },
      records: (t, columns) => ({
        description,
        replayable: c.type === 'FILE',
        open: (skip) => {
          const { rows, encode } = read(t, columns);
          const it = rows[Symbol.asyncIterator]();
          reads.push(it);
          let pending: Row[] = [];
          let toSkip = skip;
          let ended = false;
          return {
            // Pulls from the one read (never ends it early: the next batch goes on where this one stopped).
            batch: async function* (limit) {
              for (let n = 0; n < limit;) {
                if (!pending.length) {
                  if (ended) return;
                  const r = await it.next();
                  if (r.done) {
                    ended = true;
                    return;
                  }
                  pending = r.value.slice(Math.min(toSkip, r.value.length));
                  toSkip -= r.value.length - pending.length;
                  continue;
                }
                const take = pending.slice(0, limit - n);
                pending = pending.slice(take.length);
                n += take.length;
                yield encode(take);
              }
            },
          };
        },
      }),
      afterLoad: async (_t, label) => {
        if (!skippedCount) return undefined;
        const what = `${skippedCount} malformed ${noun(p.config)}${skippedCount === 1 ? '' : 's'} skipped`;
        const listed = skipped.map((s) => `${noun(p.config)} ${s.line}: ${s.reason}`).join('; ');
        await report.step(
          `${label}: malformed input`,
          'SUCCESS',
          `${what}${skippedCount > skipped.length ? ` (the first ${skipped.length} listed)` : ''}: ${listed}`,
          0,
        );
        return `${what} (see the steps)`;
      },
      failure: (err, label, dest, t) => {
        if (err instanceof MalformedInputError) {
          const outcome =
            t?.mode === 'INCREMENTAL'
              ? `the batch holding it was rolled back (the batches committed before it stay in ${p.destination.schema}.${dest}) and the table's high-water mark is unchanged, so the next run reads those records again`
              : `nothing was loaded and ${p.destination.schema}.${dest} is unchanged`;
          return {
            code: 'INPUT_MALFORMED',
            message: `${label}: malformed input at ${noun(p.config)} ${err.line}: ${err.reason} (${err.code}). The pipeline fails on malformed input, so ${outcome}. Fix the source, or set the pipeline to skip and report malformed input.`,
          };
        }
        if (err instanceof ReaderError) return { code: err.code, message: err.message };
        return null;
      },
      // A read left open by a failed load (its file stream is released).
      close: async () => {
        await Promise.all(reads.map((it) => it.return?.().catch(() => undefined)));
      },
    };
    return source;
  });
}
