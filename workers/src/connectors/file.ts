import { stat } from 'node:fs/promises';
import { storedFilePath } from '@datalinx/contracts';
import { readHead } from '../readers/file-source';
import { fail, pass, plural, type ConnectorTest } from './steps';
import { checkCsv, checkJson, checkJsonLines, decodeSample, describeDelimiter, type TextEncoding } from './file-formats';

export interface FileTarget {
  workspaceId: string;
  fileId: string;
  fileName: string;
  format: 'CSV' | 'JSON' | 'JSONL';
  sizeBytes: number;
  delimiter?: string;
  encoding?: TextEncoding;
}

export interface FileStorage {
  /** DLX_FILE_STORAGE_DIR: where the workspace service stores uploads. */
  root: string;
  /** FILE_MAX_BYTES: the largest file a connection may use. */
  maxBytes: number;
}

/** How much of a file the test reads: enough to judge its format, bounded whatever the file's size. */
export const FILE_SAMPLE_BYTES = 4 * 1024 * 1024;

/** The first `bytes` of the file, and whether it goes on (one extra byte read tells). */
async function readSample(path: string, bytes: number): Promise<{ buf: Buffer; truncated: boolean }> {
  const head = await readHead(path, bytes + 1);
  return { buf: head.subarray(0, Math.min(head.length, bytes)), truncated: head.length > bytes };
}

const ENCODING_NAMES: Record<TextEncoding, string> = { 'utf-8': 'UTF-8', latin1: 'Latin-1', 'utf-16le': 'UTF-16LE' };

/**
 * connection.test for an uploaded file: it is in file storage, its size is the uploaded one and
 * within limits, and its first megabytes read as the declared format.
 */
export function fileTest(t: FileTarget, storage: FileStorage, sampleBytes = FILE_SAMPLE_BYTES): ConnectorTest {
  const path = storedFilePath(storage.root, t.workspaceId, t.fileId);
  let size = 0;
  let result = '';
  return {
    steps: [
      {
        name: 'file found',
        run: async () => {
          try {
            const s = await stat(path);
            if (!s.isFile()) return fail('FILE_NOT_FOUND', `"${t.fileName}" is not a regular file in file storage. Upload the file again.`);
            size = s.size;
            return pass(`"${t.fileName}" is in file storage`);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'EACCES' || code === 'EPERM')
              return fail(
                'PERMISSION_DENIED',
                `The worker may not read "${t.fileName}" in file storage. Make DLX_FILE_STORAGE_DIR readable by the worker process.`,
              );
            return fail(
              'FILE_NOT_FOUND',
              `"${t.fileName}" is not in file storage (${code ?? (err as Error).message}). Upload the file again; if it keeps happening, check that the workspace service and the workers share DLX_FILE_STORAGE_DIR.`,
            );
          }
        },
      },
      {
        name: 'size within limits',
        run: async () => {
          if (size > storage.maxBytes)
            return fail(
              'FILE_TOO_LARGE',
              `"${t.fileName}" is ${size} bytes; the limit is ${storage.maxBytes} (FILE_MAX_BYTES). Split the file or ask an administrator to raise the limit.`,
            );
          if (size !== t.sizeBytes)
            return fail(
              'FILE_SIZE_MISMATCH',
              `"${t.fileName}" is ${size} bytes in file storage but ${t.sizeBytes} bytes were uploaded: the upload is incomplete or the file was changed. Upload it again.`,
            );
          if (size === 0) return fail('FILE_EMPTY', `"${t.fileName}" is empty. Upload a file with data.`);
          return pass(`${size} bytes (limit ${storage.maxBytes})`);
        },
      },
      {
        name: `readable as ${t.format}`,
        run: async () => {
          const { buf, truncated } = await readSample(path, sampleBytes);
          const decoded = decodeSample(buf, truncated, t.encoding);
          if (!decoded.ok) return decoded;
          const enc = `${ENCODING_NAMES[decoded.encoding]}${decoded.bom ? ' with BOM' : ''}`;
          const scope = truncated ? `in the first ${Math.round(sampleBytes / 1024)} KiB` : 'in the whole file';
          if (t.format === 'CSV') {
            const r = checkCsv(decoded.text, truncated, t.delimiter);
            if (!r.ok) return r;
            result = `${plural(r.columns, 'column')} found`;
            return pass(`${result} (delimiter ${describeDelimiter(r.delimiter)}, ${enc}, header row, ${plural(r.rows, 'row')} ${scope})`);
          }
          if (t.format === 'JSON') {
            const r = checkJson(decoded.text, truncated);
            if (!r.ok) return r;
            result = `${plural(r.records, 'record')} sampled`;
            return pass(`${result} (${r.key ? `array "${r.key}"` : 'top-level array'}, ${enc})`);
          }
          const r = checkJsonLines(decoded.text, truncated);
          if (!r.ok) return r;
          result = `${plural(r.records, 'record')} sampled`;
          return pass(`${result} (${enc})`);
        },
      },
    ],
    summary: () => `"${t.fileName}" is readable as ${t.format}; ${result}.`,
  };
}
