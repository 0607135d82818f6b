import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Viewer } from '@datalinx/graphql-kit';
import { storedFilePath } from '@datalinx/contracts';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL } from '../../../test/support/http';

const MAX = 4096;

/**
 * File uploads through the real gateway (POST /files → the workspace service's POST /files):
 * authenticated like GraphQL, streamed to file storage with a size limit and a content check,
 * recorded in workspace.file, and isolated per org like everything else.
 */
describe('file uploads (gateway POST /files → workspace service)', () => {
  let p: Platform;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  let wsA: string;

  beforeAll(async () => {
    p = await startPlatform({ fileMaxBytes: MAX });
    const res = await postGraphQL<{ createWorkspace: { workspace: { id: string } } }>(
      p.gatewayUrl,
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      { i: { name: 'files', slug: 'files' } },
      viewerHeader(adminA),
    );
    wsA = res.body.data!.createWorkspace.workspace.id;
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
  });

  const upload = async (o: {
    viewer?: Viewer;
    workspaceId?: string;
    name?: string;
    contentType?: string;
    body: BodyInit;
    stream?: boolean;
    headers?: Record<string, string>;
  }) => {
    const url = new URL('/files', p.gatewayUrl);
    url.searchParams.set('workspaceId', o.workspaceId ?? wsA);
    url.searchParams.set('name', o.name ?? 'data.csv');
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': o.contentType ?? 'text/csv', ...(o.viewer ? viewerHeader(o.viewer) : {}), ...o.headers },
      body: o.body,
      ...(o.stream ? { duplex: 'half' } : {}),
    } as RequestInit);
    return {
      status: res.status,
      body: (await res.json()) as { fileId?: string; sizeBytes?: number; sha256?: string; errors?: Array<{ extensions: { code: string } }> },
    };
  };
  const code = (r: Awaited<ReturnType<typeof upload>>) => r.body.errors?.[0]?.extensions.code;
  const storedNames = async () => (existsSync(path.join(p.fileStorageDir, wsA)) ? readdir(path.join(p.fileStorageDir, wsA)) : []);
  const rows = async () => (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.file`))[0].n as number;

  it('stores a good CSV at <dir>/<workspaceId>/<fileId> with its sha256, and records it', async () => {
    const csv = 'id,email,country\n1,a@example.test,DE\n2,b@example.test,FR\n';
    const r = await upload({ viewer: adminA, name: 'customers.csv', body: csv });
    expect(r.status).toBe(201);
    const sha256 = createHash('sha256').update(csv).digest('hex');
    expect(r.body).toEqual({ fileId: expect.any(String), name: 'customers.csv', contentType: 'text/csv', sizeBytes: Buffer.byteLength(csv), sha256 });
    expect(await readFile(storedFilePath(p.fileStorageDir, wsA, r.body.fileId!), 'utf8')).toBe(csv);
    const [row] = await p.sources.workspace.query(
      `SELECT org_id, workspace_id, name, content_type, size_bytes, sha256, created_by FROM workspace.file WHERE id = $1`,
      [r.body.fileId],
    );
    expect(row).toEqual({
      org_id: orgA,
      workspace_id: wsA,
      name: 'customers.csv',
      content_type: 'text/csv',
      size_bytes: String(Buffer.byteLength(csv)),
      sha256,
      created_by: (adminA as { userId: string }).userId,
    });
    // JSON and JSON Lines too (charset parameters are fine); no temporary files are left behind.
    expect((await upload({ viewer: adminA, name: 'a.json', contentType: 'application/json; charset=utf-8', body: '\uFEFF [{"a": 1}]' })).status).toBe(201);
    expect((await upload({ viewer: adminA, name: 'a.jsonl', contentType: 'application/x-ndjson', body: '{"a":1}\n{"a":2}\n' })).status).toBe(201);
    expect((await storedNames()).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses a file over FILE_MAX_BYTES with 413 and keeps nothing (declared length, and streamed without one)', async () => {
    const [namesBefore, rowsBefore] = [await storedNames(), await rows()];
    const big = `id,payload\n${'1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(200)}`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX);
    const declared = await upload({ viewer: adminA, body: big });
    expect([declared.status, code(declared)]).toEqual([413, 'FILE_TOO_LARGE']);
    // Chunked: the service counts while streaming and stops at the limit.
    const chunks = [Buffer.from('id,payload\n'), ...Array.from({ length: 8 }, () => Buffer.from(`1,${'y'.repeat(1000)}\n`))];
    const streamed = await upload({
      viewer: adminA,
      stream: true,
      body: new ReadableStream({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      }),
    });
    expect([streamed.status, code(streamed)]).toEqual([413, 'FILE_TOO_LARGE']);
    // The 413 goes out before the handler's `finally` removes its temporary file: that removal is the
    // signal the handler is done, so wait (bounded) for the directory to be as it was, then assert.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && JSON.stringify(await storedNames()) !== JSON.stringify(namesBefore);)
      await new Promise((r) => setTimeout(r, 20));
    expect(await storedNames()).toEqual(namesBefore);
    expect(await rows()).toBe(rowsBefore);
  });

  it('refuses other content types with 415, judged by the header and by the first bytes', async () => {
    const rowsBefore = await rows();
    const pdf = await upload({ viewer: adminA, contentType: 'application/pdf', body: '%PDF-1.7 ...' });
    expect([pdf.status, code(pdf)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const png = await upload({
      viewer: adminA,
      contentType: 'text/csv',
      body: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(64)]),
    });
    expect([png.status, code(png)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const notJson = await upload({ viewer: adminA, contentType: 'application/json', body: 'id,email\n1,a@example.test\n' });
    expect([notJson.status, code(notJson)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const binary = await upload({ viewer: adminA, contentType: 'text/csv', body: Buffer.from('a,b\n1,\u0000\n') });
    expect([binary.status, code(binary)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(await rows()).toBe(rowsBefore);
  });

  it('gives another org’s workspace 404, a workspace VIEWER 403, and no credentials 401', async () => {
    const rowsBefore = await rows();
    const other = await upload({ viewer: adminB, body: 'a\n1\n' });
    expect([other.status, code(other)]).toEqual([404, 'WORKSPACE_NOT_FOUND']);
    const viewer = await upload({ viewer: userViewer({ orgId: orgA, grants: [{ workspaceId: wsA, role: 'VIEWER' }] }), body: 'a\n1\n' });
    expect([viewer.status, code(viewer)]).toEqual([403, 'FORBIDDEN']);
    const anonymous = await upload({ body: 'a\n1\n' });
    expect([anonymous.status, code(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
    const badRequest = await upload({ viewer: adminA, workspaceId: 'not-a-uuid', body: 'a\n1\n' });
    expect([badRequest.status, code(badRequest)]).toEqual([400, 'INVALID_REQUEST']);
    expect(await rows()).toBe(rowsBefore);
    // The workspace service itself answers only requests with a viewer assertion (straight to it: 401).
    const direct = await fetch(new URL(`/files?workspaceId=${wsA}&name=x.csv`, p.subgraphUrls.workspace), {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a\n1\n',
    });
    expect(direct.status).toBe(401);
    expect(await rows()).toBe(rowsBefore);
  });
});
