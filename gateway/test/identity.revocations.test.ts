import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { gqlClient } from '../../test/support/http';
import { bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack, type Tokens } from '../../test/support/identity';
import { hashPassword } from '../../services/auth/src/managers/passwords';

/**
 * Revocations survive a failed KV write ("nothing lost"): here the auth service's direct writes
 * to the `dlx-identity` bucket all fail (as if NATS went away right after the commit). The
 * mutations still succeed (their change is committed), and the gateway still refuses the revoked
 * session, the deactivated user's token and the revoked API key on a following request, because
 * each commit also wrote the revocation to the outbox, which the relay delivered to the bucket.
 */
describe('revocations through the outbox when the direct KV write fails', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack({ kvWritesFail: true });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  type Err = { code: string; field: string | null };
  const gql = gqlClient(() => s.gatewayUrl);
  const meKind = async (headers: Record<string, string>) => {
    const res = await gql<{ me: { kind: string } }>(`{ me { kind } }`, {}, headers);
    return res.body.data?.me.kind ?? (res.body.errors?.[0]?.extensions?.reason as string) ?? res.body.errors?.[0]?.extensions?.code;
  };
  /** Polls (bounded) until `check` gives `expected`: the relay publishes asynchronously after the commit. */
  const eventually = async (check: () => Promise<unknown>, expected: unknown) => {
    const end = Date.now() + 10_000;
    for (;;) {
      const got = await check();
      if (got === expected || Date.now() > end) return expect(got).toBe(expected);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const outboxSent = async (subject: string) =>
    ((await s.authDs.query(`SELECT sent_at FROM auth.outbox WHERE subject = $1`, [subject])) as Array<{ sent_at: Date | null }>).map((r) => r.sent_at !== null);

  it('a revoked session is refused on a following request', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const other: Tokens = await login(s.gatewayUrl, a.input.email, a.input.password);
    const sid = decodeJwt(a.accessToken).sid as string;
    expect(await meKind(bearer(a.accessToken))).toBe('USER');
    const res = await gql<{ revokeSession: { ok: boolean; errors: Err[] } }>(
      `mutation($id: ID!){ revokeSession(id: $id) { ok errors { code field } } }`,
      { id: sid },
      bearer(other.accessToken),
    );
    expect(res.body.data!.revokeSession).toEqual({ ok: true, errors: [] });
    await eventually(() => meKind(bearer(a.accessToken)), 'TOKEN_REVOKED');
    // Marked sent once JetStream acknowledged it (which may be just after the gateway saw it).
    await eventually(async () => (await outboxSent(`$KV.dlx-identity.session.${sid}`)).join(), 'true');
    expect(await meKind(bearer(other.accessToken))).toBe('USER');
  });

  it("a deactivated user's token is refused on a following request (the epoch arrives through the outbox)", async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const email = `member-${randomUUID()}@example.test`;
    const [{ id }] = await s.authDs.query(
      `INSERT INTO auth."user" (org_id, email, display_name, org_role, password_hash) VALUES ($1, $2, 'M', 'MEMBER', $3) RETURNING id`,
      [admin.orgId, email, await hashPassword(admin.input.password)],
    );
    const member = await login(s.gatewayUrl, email, admin.input.password);
    expect(await meKind(bearer(member.accessToken))).toBe('USER');
    const res = await gql<{ deactivateUser: { errors: Err[] } }>(
      `mutation($id: ID!){ deactivateUser(id: $id) { errors { code field } } }`,
      { id },
      bearer(admin.accessToken),
    );
    expect(res.body.data!.deactivateUser.errors).toEqual([]);
    await eventually(async () => s.revocations.currentEpoch(id), 1);
    expect(await meKind(bearer(member.accessToken))).not.toBe('USER');
    await eventually(async () => (await outboxSent(`$KV.dlx-identity.epoch.${id}.1`)).join(), 'true');
  });

  it('a revoked API key is refused on a following request', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const created = await gql<{ createServiceAccount: { apiKey: string; serviceAccount: { apiKeys: Array<{ id: string }> } } }>(
      `mutation($i: CreateServiceAccountInput!){ createServiceAccount(input: $i) { apiKey serviceAccount { apiKeys { id } } errors { code } } }`,
      { i: { name: 'bot', workspaceId: await s.knowWorkspace(admin.orgId), role: 'VIEWER' } },
      bearer(admin.accessToken),
    );
    const { apiKey, serviceAccount } = created.body.data!.createServiceAccount;
    const keyId = serviceAccount.apiKeys[0]!.id;
    expect(await meKind({ 'x-api-key': apiKey })).toBe('SERVICE_ACCOUNT');
    const revoked = await gql<{ revokeApiKey: { ok: boolean } }>(
      `mutation($id: ID!){ revokeApiKey(id: $id) { ok } }`,
      { id: keyId },
      bearer(admin.accessToken),
    );
    expect(revoked.body.data!.revokeApiKey.ok).toBe(true);
    await eventually(async () => s.revocations.isApiKeyRevoked(keyId), true);
    expect(await meKind({ 'x-api-key': apiKey })).not.toBe('SERVICE_ACCOUNT');
  });

  it('an older epoch delivered late never lowers the one the gateway holds', async () => {
    const userId = randomUUID();
    const { Kvm } = await import('@nats-io/kv');
    const kv = await new Kvm(s.nats.nc).open('dlx-identity');
    await kv.put(`epoch.${userId}`, '3');
    await kv.put(`epoch.${userId}.2`, '2');
    await eventually(async () => s.revocations.currentEpoch(userId), 3);
    await kv.put(`epoch.${userId}.4`, '4');
    await eventually(async () => s.revocations.currentEpoch(userId), 4);
  });
});
