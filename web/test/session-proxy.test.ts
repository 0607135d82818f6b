import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardedRequestHeaders, proxySessionToGateway } from '../lib/gateway-proxy';
import { canInOrg, canInWorkspace, workspaceRoleOf, type Person } from '../lib/permissions';

/**
 * The browser-session proxy against a real HTTP server standing in for the gateway's
 * `/auth/session` (it records what arrives and answers with two cookies), and the web app's
 * reading of the API's role → permission table.
 */
describe('proxySessionToGateway', () => {
  let server: http.Server;
  let gatewayUrl: string;
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader('set-cookie', ['dlx_session=s; HttpOnly; Path=/', 'dlx_csrf=c; Path=/']);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('POST goes to /auth/session beside the GraphQL path, with the body; both cookies come back', async () => {
    const request = new Request('http://web.local/api/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: 'r' }),
    });
    const response = await proxySessionToGateway(request, { gatewayUrl, timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual(['dlx_session=s; HttpOnly; Path=/', 'dlx_csrf=c; Path=/']);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/auth/session', body: '{"refreshToken":"r"}' });
  });

  test('DELETE carries the cookies and the CSRF header, and no body', async () => {
    const request = new Request('http://web.local/api/auth/session', { method: 'DELETE', headers: { cookie: 'dlx_session=s; dlx_csrf=c', 'x-dlx-csrf': 'c' } });
    const response = await proxySessionToGateway(request, { gatewayUrl, timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', url: '/auth/session', body: '' });
    expect(seen.at(-1)!.headers).toMatchObject({ cookie: 'dlx_session=s; dlx_csrf=c', 'x-dlx-csrf': 'c' });
  });

  test('GraphQL requests forward the CSRF and workspace headers', () => {
    const out = forwardedRequestHeaders(new Headers({ 'x-dlx-csrf': 'c', 'x-dlx-workspace': 'w', 'x-other': 'no' }));
    expect(out.get('x-dlx-csrf')).toBe('c');
    expect(out.get('x-dlx-workspace')).toBe('w');
    expect(out.has('x-other')).toBe(false);
  });
});

describe('permissions in the web app', () => {
  const ws = '11111111-1111-1111-1111-111111111111';
  const member = (role: 'EDITOR' | 'VIEWER'): Person => ({ orgRole: 'MEMBER', workspaceGrants: [{ workspaceId: ws, role }] });

  test.each([
    ['org ADMIN without a grant', { orgRole: 'ADMIN', workspaceGrants: [] } as Person, 'EDITOR', true],
    ['MEMBER with an EDITOR grant', member('EDITOR'), 'EDITOR', true],
    ['MEMBER with a VIEWER grant', member('VIEWER'), 'VIEWER', false],
    ['org VIEWER holding an EDITOR grant', { orgRole: 'VIEWER', workspaceGrants: [{ workspaceId: ws, role: 'EDITOR' }] } as Person, 'VIEWER', false],
    ['MEMBER without a grant', { orgRole: 'MEMBER', workspaceGrants: [] } as Person, null, false],
  ])('%s: the same role and connection rights as the API', (_name, person, role, writes) => {
    expect(workspaceRoleOf(person, ws)).toBe(role);
    expect(canInWorkspace(person, ws, 'connections:write')).toBe(writes);
    expect(canInWorkspace(person, ws, 'connections:read')).toBe(role !== null);
  });

  test('only an org ADMIN creates workspaces', () => {
    expect(canInOrg({ orgRole: 'ADMIN', workspaceGrants: [] }, 'workspaces:create')).toBe(true);
    expect(canInOrg(member('EDITOR'), 'workspaces:create')).toBe(false);
    expect(canInOrg(null, 'workspaces:create')).toBe(false);
  });
});
