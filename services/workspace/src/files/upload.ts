import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Express, Request, Response } from 'express';
import type { Logger } from '@datalinx/common';
import { isUuid } from '@datalinx/common';
import { storedFilePath } from '@datalinx/contracts';
import { actorIdOf, AssertionError, VIEWER_HEADER, hasWorkspacePermission, workspaceRoleOf, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { WorkspaceDao } from '../daos/workspace.dao';
import type { FileDao } from '../daos/file.dao';
import type { FileContentType } from '../entities/file.entity';

export const FILES_PATH = '/files';
export const FILE_CONTENT_TYPES: readonly FileContentType[] = ['text/csv', 'application/json', 'application/x-ndjson'];

export interface FileStorageSettings {
  /** DLX_FILE_STORAGE_DIR: shared with the workers, which read what is written here. */
  dir: string;
  /** FILE_MAX_BYTES. */
  maxBytes: number;
}

/** How many leading bytes the content check looks at. */
const SNIFF_BYTES = 4096;

/** Signatures of common binary formats that are never CSV / JSON text. */
const BINARY_MAGIC: Buffer[] = [
  Buffer.from('%PDF'),
  Buffer.from([0x50, 0x4b, 0x03, 0x04]), // zip, xlsx, docx
  Buffer.from([0x1f, 0x8b]), // gzip
  Buffer.from([0x89, 0x50, 0x4e, 0x47]), // png
  Buffer.from('GIF8'),
  Buffer.from([0xff, 0xd8, 0xff]), // jpeg
  Buffer.from('BZh'),
  Buffer.from([0x37, 0x7a, 0xbc, 0xaf]), // 7z
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]), // ELF
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), // OLE (xls, doc)
  Buffer.from('SQLite format 3'),
];

/**
 * Judges the first bytes against the declared content type: text (no NUL outside a UTF-16 file,
 * no known binary signature), and JSON / JSON Lines starting with `{` or `[`. Returns why not, or null.
 */
export function sniffMismatch(contentType: FileContentType, head: Buffer): string | null {
  if (BINARY_MAGIC.some((m) => head.subarray(0, m.length).equals(m))) return 'it is a binary file (its first bytes are a known binary format)';
  const utf16 = head[0] === 0xff && head[1] === 0xfe;
  if (utf16) return contentType === 'text/csv' ? null : 'JSON must be UTF-8';
  if (head.includes(0)) return 'it contains NUL bytes, so it is not text';
  const text = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (contentType !== 'text/csv' && text.length > 0 && text[0] !== '{' && text[0] !== '[') return 'JSON and JSON Lines must start with { or [';
  return null;
}

const fail = (res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
  res.status(status).json({ errors: [{ message, extensions: { code, ...extra } }] });

/**
 * Ends a refused upload whose body is still arriving: the answer goes out at once with
 * `Connection: close`, and node closes the socket after it instead of reading the rest.
 */
function refuseMidStream(req: Request, res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  if (!req.complete) res.set('connection', 'close');
  fail(res, status, code, message, extra);
}

/**
 * `POST /files?workspaceId=…&name=…` — the raw body (not multipart) is one CSV, JSON or JSON
 * Lines file. Reachable only with a valid viewer assertion (the gateway's `POST /files` signs one
 * after authenticating the caller like GraphQL); the viewer needs `connections:write` on the
 * workspace (another org's workspace answers 404, like GraphQL's "not found = not yours").
 *
 * The body is streamed to a temporary file next to its destination while its size is counted and
 * its sha256 computed; over FILE_MAX_BYTES it stops at once with 413 and nothing is kept. Then
 * it is renamed to `<dir>/<workspaceId>/<fileId>` (atomic: readers never see a partial file) and
 * recorded in `workspace.file`. Answers 201 `{ fileId, name, contentType, sizeBytes, sha256 }`.
 */
export function mountFileUploads(
  app: Express,
  o: { verifier: ViewerAssertionVerifier; workspaces: WorkspaceDao; files: FileDao; settings: FileStorageSettings; log: Logger },
) {
  app.post(FILES_PATH, async (req: Request, res: Response) => {
    let viewer;
    try {
      const header = req.headers[VIEWER_HEADER];
      viewer = (await o.verifier.verify(Array.isArray(header) ? header[0] : header)).viewer;
    } catch (err) {
      const reason = err instanceof AssertionError ? err.reason : 'invalid';
      o.log.warn({ reason, ip: req.ip }, 'rejected file upload without a valid viewer assertion');
      return refuseMidStream(req, res, 401, 'UNAUTHENTICATED', (err as Error).message, { reason: `ASSERTION_${reason.toUpperCase()}` });
    }
    if (viewer.kind === 'anonymous') return refuseMidStream(req, res, 401, 'UNAUTHENTICATED', 'Sign in (or use an API key) to upload files.');

    const workspaceId = typeof req.query.workspaceId === 'string' ? req.query.workspaceId : '';
    const name = typeof req.query.name === 'string' ? req.query.name.trim() : '';
    if (!isUuid(workspaceId))
      return refuseMidStream(req, res, 400, 'INVALID_REQUEST', 'Name the workspace: POST /files?workspaceId=<workspace id>&name=<file name>.');
    // eslint-disable-next-line no-control-regex
    if (name.length < 1 || name.length > 255 || /[\u0000-\u001f\u007f/\\]/.test(name)) {
      return refuseMidStream(req, res, 400, 'INVALID_REQUEST', 'Give the file a name (?name=…): 1 to 255 characters, no slashes or control characters.');
    }
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase() as FileContentType;
    if (!FILE_CONTENT_TYPES.includes(contentType)) {
      return refuseMidStream(
        req,
        res,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `Upload CSV (text/csv), JSON (application/json) or JSON Lines (application/x-ndjson); Content-Type was "${contentType || 'missing'}".`,
        {
          allowed: FILE_CONTENT_TYPES,
        },
      );
    }
    const [ws] = await o.workspaces.findByIds(viewer.orgId, [workspaceId]);
    if (!ws || !workspaceRoleOf(viewer, ws.id))
      return refuseMidStream(req, res, 404, 'WORKSPACE_NOT_FOUND', 'No such workspace, or you cannot upload files to it.');
    if (!hasWorkspacePermission(viewer, ws.id, 'connections:write')) {
      return refuseMidStream(req, res, 403, 'FORBIDDEN', 'Uploading files needs the EDITOR role in this workspace. Ask a workspace editor or an org admin.');
    }
    const tooLarge = () =>
      refuseMidStream(
        req,
        res,
        413,
        'FILE_TOO_LARGE',
        `The file is larger than ${o.settings.maxBytes} bytes, the upload limit (FILE_MAX_BYTES). Split it into smaller files.`,
        { limit: o.settings.maxBytes },
      );
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > o.settings.maxBytes) return tooLarge();

    const fileId = randomUUID();
    const finalPath = storedFilePath(o.settings.dir, ws.id, fileId);
    const tmpPath = path.join(path.dirname(finalPath), `.upload-${fileId}`);
    await mkdir(path.dirname(finalPath), { recursive: true, mode: 0o750 });
    const fh = await open(tmpPath, 'wx', 0o640);
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    let sniffed = false;
    let refusal: (() => void) | null = null;
    let kept = false;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > o.settings.maxBytes) {
          refusal = tooLarge;
          break;
        }
        if (!sniffed) {
          head = Buffer.concat([head, chunk]).subarray(0, SNIFF_BYTES);
          if (head.length >= SNIFF_BYTES) {
            sniffed = true;
            const why = sniffMismatch(contentType, head);
            if (why) {
              refusal = () => refuseMidStream(req, res, 415, 'UNSUPPORTED_MEDIA_TYPE', `The content does not match ${contentType}: ${why}.`);
              break;
            }
          }
        }
        hash.update(chunk);
        await fh.write(chunk);
      }
      if (!refusal && !sniffed) {
        const why = size === 0 ? null : sniffMismatch(contentType, head);
        if (size === 0) refusal = () => fail(res, 400, 'EMPTY_FILE', 'The file is empty. Upload a file with data.');
        else if (why) refusal = () => fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `The content does not match ${contentType}: ${why}.`);
      }
      if (refusal) return refusal();
      await fh.sync();
      await fh.close();
      await rename(tmpPath, finalPath);
      kept = true;
      const sha256 = hash.digest('hex');
      const createdBy = actorIdOf(viewer);
      try {
        await o.files.insert(viewer.orgId, { id: fileId, workspaceId: ws.id, name, contentType, sizeBytes: String(size), sha256, createdBy });
      } catch (err) {
        await unlink(finalPath).catch(() => undefined);
        throw err;
      }
      o.log.info({ workspaceId: ws.id, fileId, sizeBytes: size, contentType }, 'file uploaded');
      return res.status(201).json({ fileId, name, contentType, sizeBytes: size, sha256 });
    } catch (err) {
      // A client that went away mid-upload ('aborted'): nothing to answer, nothing kept.
      o.log.warn({ workspaceId: ws.id, fileId, err: (err as Error).message }, 'file upload failed');
      if (!res.headersSent && !req.destroyed)
        refuseMidStream(req, res, 500, 'INTERNAL_SERVER_ERROR', 'The upload could not be stored. Try again; if it keeps failing, tell your administrator.');
    } finally {
      await fh.close().catch(() => undefined);
      if (!kept) await unlink(tmpPath).catch(() => undefined);
    }
  });
}
