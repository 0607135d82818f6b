import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { API_KEY_EXCHANGE_PATH, API_KEY_PATTERN } from '@datalinx/contracts';
import { postGraphQL, type GqlResponse } from '../../test/support/http';
import { bearer, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';

const CREATE = `mutation($i: CreateServiceAccountInput!){ createServiceAccount(input: $i) { apiKey serviceAccount { id name workspaceId role apiKeys { id prefix createdAt lastUsedAt revokedAt } } errors { code field } } }`;
const ROTATE = `mutation($id: ID!){ rotateApiKey(serviceAccountId: $id) { apiKey serviceAccount { id apiKeys { id prefix revokedAt } } errors { code field } } }`;
const REVOKE = `mutation($id: ID!){ revokeApiKey(id: $id) { ok revoked { id revokedAt } errors { code field } } }`;
const LIST = `{ serviceAccounts { id name workspaceId role apiKeys { id prefix createdAt lastUsedAt revokedAt } } }`;
const ME = `{ me { kind user { id } organization { id } } }`;

type Key = { id: string; prefix: string; lastUsedAt: string | null; revokedAt: string | null };
const apiKey = (key: string) => ({ 'x-api-key': key });
const reason = (res: GqlResponse) => ({ code: res.body.errors?.[0]?.extensions?.code, reason: res.body.errors?.[0]?.extensions?.reason });

/**
 * Service accounts and API keys through the real gateway and the real auth service: the key
 * (shown once) is exchanged by the gateway for a short-lived service-account token; rotation and
 * revocation reach the gateway through the identity KV bucket and refuse the key on the next
 * request; only an org ADMIN manages them.
 */
describe('service accounts and API keys', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  const waitRevoked = async (keyId: string) => {
    const until = Date.now() + 5000;
    while (!s.revocations.isApiKeyRevoked(keyId) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(s.revocations.isApiKeyRevoked(keyId)).toBe(true);
  };

  it('create → use → rotate → revoke, each effective on the next request', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const workspaceId = await s.knowWorkspace(admin.orgId);
    const created = await postGraphQL<{
      createServiceAccount: { apiKey: string; serviceAccount: { id: string; workspaceId: string; role: string; apiKeys: Key[] }; errors: unknown[] };
    }>(s.gatewayUrl, CREATE, { i: { name: 'etl bot', workspaceId, role: 'VIEWER' } }, bearer(admin.accessToken));
    expect(created.body.errors).toBeUndefined();
    const c = created.body.data!.createServiceAccount;
    expect(c.errors).toEqual([]);
    expect(c.apiKey).toMatch(API_KEY_PATTERN);
    expect(c.serviceAccount).toMatchObject({ workspaceId, role: 'VIEWER' });
    expect(c.serviceAccount.apiKeys).toHaveLength(1);
    expect(c.apiKey.startsWith(c.serviceAccount.apiKeys[0]!.prefix)).toBe(true);
    const first = c.apiKey;
    const firstId = c.serviceAccount.apiKeys[0]!.id;

    // The key works through the gateway: the viewer is the service account of the admin's org.
    for (let i = 0; i < 2; i++) {
      const me = await postGraphQL<{ me: { kind: string; user: null; organization: { id: string } } }>(s.gatewayUrl, ME, {}, apiKey(first));
      expect(me.body.errors).toBeUndefined();
      expect(me.body.data!.me).toEqual({ kind: 'SERVICE_ACCOUNT', user: null, organization: { id: admin.orgId } });
    }
    // The exchanged token carries exactly the one grant and the key id (never the key).
    const ex = await fetch(new URL(API_KEY_EXCHANGE_PATH, s.authUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: first }),
    });
    expect(ex.status).toBe(200);
    const exBody = (await ex.json()) as { accessToken: string; expiresAt: string; keyId: string };
    const claims = decodeJwt(exBody.accessToken);
    expect(claims).toMatchObject({ sub: c.serviceAccount.id, org: admin.orgId, grants: [{ workspaceId, role: 'VIEWER' }], akid: firstId });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    expect(exBody.keyId).toBe(firstId);

    // The list shows metadata only, and the last use.
    const list = await postGraphQL<{ serviceAccounts: Array<{ id: string; apiKeys: Key[] }> }>(s.gatewayUrl, LIST, {}, bearer(admin.accessToken));
    expect(list.body.errors).toBeUndefined();
    expect(list.body.data!.serviceAccounts.map((x) => x.id)).toEqual([c.serviceAccount.id]);
    expect(list.body.data!.serviceAccounts[0]!.apiKeys[0]!.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(first);

    // Rotate: the old key is refused on the next request, the new one works.
    const rotated = await postGraphQL<{ rotateApiKey: { apiKey: string; serviceAccount: { apiKeys: Key[] }; errors: unknown[] } }>(
      s.gatewayUrl,
      ROTATE,
      { id: c.serviceAccount.id },
      bearer(admin.accessToken),
    );
    expect(rotated.body.errors).toBeUndefined();
    const second = rotated.body.data!.rotateApiKey.apiKey;
    expect(second).toMatch(API_KEY_PATTERN);
    expect(second).not.toBe(first);
    await waitRevoked(firstId);
    expect(reason(await postGraphQL(s.gatewayUrl, ME, {}, apiKey(first)))).toEqual({ code: 'UNAUTHENTICATED', reason: 'API_KEY_REVOKED' });
    const ok = await postGraphQL<{ me: { kind: string } }>(s.gatewayUrl, ME, {}, apiKey(second));
    expect(ok.body.data?.me.kind).toBe('SERVICE_ACCOUNT');

    // Revoke: refused on the next request.
    const secondId = rotated.body.data!.rotateApiKey.serviceAccount.apiKeys.find((k) => k.revokedAt === null)!.id;
    const revoked = await postGraphQL<{ revokeApiKey: { ok: boolean; errors: unknown[] } }>(s.gatewayUrl, REVOKE, { id: secondId }, bearer(admin.accessToken));
    expect(revoked.body.data?.revokeApiKey).toMatchObject({ ok: true, errors: [] });
    await waitRevoked(secondId);
    expect(reason(await postGraphQL(s.gatewayUrl, ME, {}, apiKey(second)))).toEqual({ code: 'UNAUTHENTICATED', reason: 'API_KEY_REVOKED' });
    // Revoking again: a typed payload error.
    const again = await postGraphQL<{ revokeApiKey: { ok: boolean; errors: Array<{ code: string }> } }>(
      s.gatewayUrl,
      REVOKE,
      { id: secondId },
      bearer(admin.accessToken),
    );
    expect(again.body.data?.revokeApiKey.errors.map((e) => e.code)).toEqual(['API_KEY_NOT_FOUND']);

    // Audit: created, used (once per minute), rotated, revoked.
    const actions = (
      (await s.authDs.query(`SELECT payload->>'action' AS action FROM auth.outbox WHERE subject = $1 ORDER BY seq`, [`audit.${admin.orgId}`])) as Array<{
        action: string;
      }>
    ).map((r) => r.action);
    expect(actions.filter((a) => a.startsWith('auth.api_key.'))).toEqual([
      'auth.api_key.created',
      'auth.api_key.used',
      'auth.api_key.rotated',
      'auth.api_key.used',
      'auth.api_key.revoked',
    ]);
  }, 30000);

  it("grants only a workspace of the org: another org's workspace, an unknown one and a non-id all give WORKSPACE_NOT_FOUND and create nothing", async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const other = await signUpAndLogin(s.gatewayUrl);
    const theirs = await s.knowWorkspace(other.orgId);
    for (const workspaceId of [theirs, randomUUID(), 'not-a-uuid']) {
      const res = await postGraphQL<{
        createServiceAccount: { apiKey: string | null; serviceAccount: unknown; errors: Array<{ code: string; field: string }> };
      }>(s.gatewayUrl, CREATE, { i: { name: 'sneaky', workspaceId, role: 'EDITOR' } }, bearer(admin.accessToken));
      expect(res.body.data?.createServiceAccount).toEqual({
        apiKey: null,
        serviceAccount: null,
        errors: [{ code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' }],
      });
    }
    const [{ n }] = await s.authDs.query(`SELECT count(*)::int AS n FROM auth.service_account WHERE org_id = $1`, [admin.orgId]);
    expect(n).toBe(0);
  });

  it('refuses unknown and malformed keys with API_KEY_INVALID', async () => {
    const unknown = `dlx_sk_live_${Buffer.alloc(32, 7).toString('base64url')}`;
    expect(reason(await postGraphQL(s.gatewayUrl, ME, {}, apiKey(unknown)))).toEqual({ code: 'UNAUTHENTICATED', reason: 'API_KEY_INVALID' });
    expect(reason(await postGraphQL(s.gatewayUrl, ME, {}, apiKey('dlx_sk_live_short')))).toEqual({ code: 'UNAUTHENTICATED', reason: 'API_KEY_INVALID' });
    const res = await postGraphQL(s.gatewayUrl, ME, {}, apiKey(unknown));
    expect(JSON.stringify(res.body)).not.toContain(unknown);
  });

  it('a MEMBER (or a service account) gets FORBIDDEN', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const { token } = await s.issuer.sign({ sub: randomUUID(), org: admin.orgId, role: 'MEMBER', sid: randomUUID(), ep: 0 });
    const list = await postGraphQL(s.gatewayUrl, LIST, {}, bearer(token));
    expect(list.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const create = await postGraphQL(s.gatewayUrl, CREATE, { i: { name: 'x', workspaceId: randomUUID(), role: 'EDITOR' } }, bearer(token));
    expect(create.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const rotate = await postGraphQL(s.gatewayUrl, ROTATE, { id: randomUUID() }, bearer(token));
    expect(rotate.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const revoke = await postGraphQL(s.gatewayUrl, REVOKE, { id: randomUUID() }, bearer(token));
    expect(revoke.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);

    const created = await postGraphQL<{ createServiceAccount: { apiKey: string } }>(
      s.gatewayUrl,
      CREATE,
      { i: { name: 'bot', workspaceId: await s.knowWorkspace(admin.orgId), role: 'EDITOR' } },
      bearer(admin.accessToken),
    );
    const sa = await postGraphQL(s.gatewayUrl, LIST, {}, apiKey(created.body.data!.createServiceAccount.apiKey));
    expect(sa.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  }, 30000);
});
