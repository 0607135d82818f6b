import type { SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import { MalformedInputError, openReader, ReaderError, type ColumnType, type Problem, type SourceReader, type TableShape, type Value } from '../readers';
import { encodeCopyField } from './copy-meter';
import { SyncFailure, type SyncOptions, type SyncOutcome, type SyncReporter } from './postgres-sync';
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
 * REST collection), each table is loaded as a FULL refresh (inferred types; the pipeline's schema
 * drift policy against the existing table; staging table + swap),
 * its batches streamed into COPY FROM STDIN. Malformed records: SKIP_AND_REPORT loads the good
 * rows and reports a step "N malformed lines skipped" with the first line numbers and reasons;
 * FAIL fails the run with INPUT_MALFORMED naming the first bad line (nothing swapped in).
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
      if (err instanceof ReaderError || err instanceof MalformedInputError) throw new SyncFailure(err instanceof ReaderError ? err.code : 'INPUT_MALFORMED', err.message);
      throw err;
    }
    const c = p.config;
    const description = c.type === 'FILE' ? `file ${c.fileName}` : c.type === 'REST_API' ? `REST API ${c.baseUrl}` : `${c.type} source`;
    const shapeOf = (t: SyncTableV1) => {
      const shape = shapes.find((s) => s.name === t.name);
      if (!shape) throw new SyncFailure('TABLE_NOT_FOUND', `The ${description} has no table ${t.name}; its tables are: ${shapes.map((s) => s.name).join(', ') || 'none'}.`);
      return shape;
    };
    const source: TableSource = {
      description,
      columns: (t) => Promise.resolve(shapeOf(t).columns.map((c): LoadColumn => ({ name: c.name, type: c.type }))),
      lines: async function* (t, columns) {
        skipped = [];
        skippedCount = 0;
        // The columns to load (the drift policy may leave new ones out), each with the reader's type.
        const byName = new Map(shapeOf(t).columns.map((c) => [c.name, c.type]));
        const types = columns.map((c) => byName.get(c.name)!);
        for await (const batch of reader.read(t.name, { batchRows: 1000 })) {
          let text = '';
          for (const row of batch) text += `${columns.map((c, i) => encodeCopyField(valueText(row[c.name], types[i]))).join('\t')}\n`;
          yield Buffer.from(text, 'utf8');
        }
      },
      afterLoad: async (_t, label) => {
        if (!skippedCount) return undefined;
        const what = `${skippedCount} malformed ${noun(p.config)}${skippedCount === 1 ? '' : 's'} skipped`;
        const listed = skipped.map((s) => `${noun(p.config)} ${s.line}: ${s.reason}`).join('; ');
        await report.step(`${label}: malformed input`, 'SUCCESS', `${what}${skippedCount > skipped.length ? ` (the first ${skipped.length} listed)` : ''}: ${listed}`, 0);
        return `${what} (see the steps)`;
      },
      failure: (err, label, dest) => {
        if (err instanceof MalformedInputError) {
          return {
            code: 'INPUT_MALFORMED',
            message: `${label}: malformed input at ${noun(p.config)} ${err.line}: ${err.reason} (${err.code}). The pipeline fails on malformed input, so nothing was loaded and ${p.destination.schema}.${dest} is unchanged. Fix the source, or set the pipeline to skip and report malformed input.`,
          };
        }
        if (err instanceof ReaderError) return { code: err.code, message: err.message };
        return null;
      },
      close: () => Promise.resolve(),
    };
    return source;
  });
}
