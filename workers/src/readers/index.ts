/**
 * Readers for the file and REST connections: `openReader` maps a connection's config (and its
 * opened secrets) onto the reader of its type. PostgreSQL and MySQL sources are read by the sync
 * engine directly.
 */
import { storedFilePath, type ConnectionConfig, type ConnectionSecrets } from '@datalinx/contracts';
import { CsvReader } from './csv';
import { JsonReader } from './json';
import { authHeaders, loadOpenApiDocument, RestReader } from './rest';
import { ReaderError, type OnMalformed, type Problem, type SourceReader } from './types';

export * from './types';
export { CsvReader, type CsvReaderOptions } from './csv';
export { JsonReader, type JsonReaderOptions } from './json';
export { RestReader, authHeaders, loadOpenApiDocument, type RestReaderOptions } from './rest';

export interface OpenReaderOptions {
  workspaceId: string;
  /** DLX_FILE_STORAGE_DIR. */
  fileStorageRoot: string;
  /** FILE_MAX_BYTES. */
  maxFileBytes: number;
  /** The pipeline's setting for malformed records (default SKIP_AND_REPORT). */
  onMalformed?: OnMalformed;
  onProblem?: (p: Problem) => void;
  /** The table a file becomes (default: the file name without its extension). */
  table?: string;
}

const tableOfFile = (fileName: string) =>
  fileName
    .replace(/\.[^.]*$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '') || 'file';

export async function openReader(config: ConnectionConfig, secrets: ConnectionSecrets | null, o: OpenReaderOptions): Promise<SourceReader> {
  switch (config.type) {
    case 'FILE': {
      const path = storedFilePath(o.fileStorageRoot, o.workspaceId, config.fileId);
      const table = o.table ?? tableOfFile(config.fileName);
      const common = { path, table, encoding: config.encoding, onMalformed: o.onMalformed, onProblem: o.onProblem, maxBytes: o.maxFileBytes };
      return config.format === 'CSV' ? new CsvReader({ ...common, delimiter: config.delimiter }) : new JsonReader({ ...common, format: config.format });
    }
    case 'REST_API': {
      const auth = { auth: config.auth, apiKeyHeader: config.apiKeyHeader, username: config.username, secrets: secrets ?? {} };
      // The document is fetched with the same credentials (own origin only) the reader uses.
      const document = await loadOpenApiDocument({ ...config, workspaceId: o.workspaceId }, authHeaders(auth), o.fileStorageRoot);
      return new RestReader({ baseUrl: config.baseUrl, ...auth, document, onMalformed: o.onMalformed, onProblem: o.onProblem });
    }
    default:
      throw new ReaderError('READER_UNSUPPORTED', `${config.type} sources are read by the sync engine, not by a reader.`);
  }
}
