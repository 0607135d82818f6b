import type { ConnectionConfig, ConnectionSecrets, DiscoveredForeignKey } from '@datalinx/contracts';
import type { FileStorage } from '../connectors/file';
import { MalformedInputError, openReader, ReaderError, type SourceReader, type TableShape, type Value } from '../readers';
import type { CatalogColumn, CatalogOpener, SourceCatalog, TableRef } from './catalog';
import { unknownEstimate } from './row-estimate';

/** The schema a reader's tables are discovered in (readers have none of their own). */
export const readerSchema = (config: ConnectionConfig) => (config.type === 'FILE' ? 'files' : 'api');

/** Files: rows counted past the profile sample, up to this many; a longer table's estimate is unknown (null). */
export const FILE_ROW_COUNT_CAP = 1_000_000;

/** A row value as the profiler's text (null for a missing value); jsonb as its JSON text. */
function valueText(v: Value | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A reader's table as discovery shapes it: columns in order, no keys but a child's `_dlx_parent_id` → its parent. */
function structureOf(shape: TableShape, schema: string): { columns: CatalogColumn[]; primaryKey: string[]; foreignKeys: DiscoveredForeignKey[] } {
  const p = shape.parent;
  return {
    columns: shape.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    primaryKey: [],
    foreignKeys: p
      ? [
          {
            name: `${shape.name}_${p.column}_fkey`.slice(0, 255),
            columns: [p.column],
            referencedTable: `${schema}.${p.table}`,
            referencedColumns: [p.parentKey],
          },
        ]
      : [],
  };
}

/**
 * Discovery of a FILE or REST_API connection through its reader (`openReader`, as the sync opens
 * it): the reader's tables, their inferred columns, and samples read with `read()`. Files: the
 * rows are counted while sampling (up to FILE_ROW_COUNT_CAP) for the row estimate; REST: unknown.
 * A source that cannot be read (missing file, bad document, wrong credentials) is a typed error.
 */
export function readerCatalog(
  config: ConnectionConfig,
  secrets: ConnectionSecrets,
  o: { workspaceId: string; fileStorage: FileStorage; timeoutMs: number },
): CatalogOpener {
  return async () => {
    const schema = readerSchema(config);
    let reader: SourceReader;
    let shapes: TableShape[];
    try {
      reader = await openReader(config, secrets, { workspaceId: o.workspaceId, fileStorageRoot: o.fileStorage.root, maxFileBytes: o.fileStorage.maxBytes });
      shapes = await reader.discover();
    } catch (err) {
      if (err instanceof ReaderError) return { error: { ok: false, code: err.code, message: err.message } };
      if (err instanceof MalformedInputError) return { error: { ok: false, code: 'INPUT_MALFORMED', message: err.message } };
      throw err;
    }
    const byName = new Map(shapes.map((s) => [s.name, s]));
    const isFile = config.type === 'FILE';
    const catalog: SourceCatalog = {
      describe: () =>
        config.type === 'FILE'
          ? `${config.format} file ${config.fileName}: ${shapes.length === 1 ? '1 table' : `${shapes.length} tables`}`
          : config.type === 'REST_API'
            ? `OpenAPI of ${config.baseUrl}: ${shapes.length === 1 ? '1 collection' : `${shapes.length} collections`}`
            : config.type,
      // Until a file is read (sample), its count is unknown; a REST collection is never paged through for one.
      tables: () =>
        Promise.resolve(
          shapes.map((s): TableRef => ({
            ref: s.name,
            schema,
            name: s.name,
            kind: 'TABLE',
            estimate: {
              estimate: unknownEstimate(
                isFile ? 'The file was not read for a count (discovery sampled no rows).' : 'A REST API collection is not paged through to count its records.',
              ),
            },
          })),
        ),
      structure: (tables) => Promise.resolve(new Map(tables.map((t) => [t.ref, structureOf(byName.get(t.ref)!, schema)]))),
      sample: async (t, columns, limit, clip, onRow) => {
        if (!columns.length || limit <= 0) return {};
        // Files are counted on past the sample (cheap: local reads); a REST collection is not paged through for a count.
        const upTo = isFile ? Math.max(limit, FILE_ROW_COUNT_CAP) : limit;
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(new ReaderError('TIMEOUT', `Reading ${t.name} took longer than ${o.timeoutMs} ms.`)), o.timeoutMs);
        let rows = 0;
        let ended = true;
        try {
          outer: for await (const batch of reader.read(t.ref, { batchRows: 1000, signal: ac.signal })) {
            for (const row of batch) {
              if (rows >= upTo) {
                ended = false;
                break outer;
              }
              if (rows < limit) onRow(columns.map((c) => valueText(row[c])?.slice(0, clip) ?? null));
              rows++;
            }
            if (!isFile && rows >= limit) {
              ended = false;
              break;
            }
          }
        } finally {
          clearTimeout(timer);
        }
        if (!isFile) return {};
        return {
          estimate: ended
            ? { rowEstimate: rows, rowEstimateSource: 'FILE_READ', rowEstimateNote: 'Every row of the file counted while it was read.' }
            : unknownEstimate(`More than ${FILE_ROW_COUNT_CAP.toLocaleString('en-US')} rows: discovery stops counting a file there.`),
        };
      },
      close: () => Promise.resolve(),
    };
    return { catalog };
  };
}
