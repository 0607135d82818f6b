import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { createLogger } from '@datalinx/common';
import { ANONYMOUS, viewerSchema, type Viewer } from '@datalinx/graphql-kit';
import { connectNats, type Nats } from '@datalinx/messaging';
import { createGateway, type Gateway } from '../src/app';
import { loadSupergraph } from '../src/supergraph';
import { ApiLimitView } from '../src/quota/api-limit-view';
import { ApiRateLimiter } from '../src/quota/api-rate-limiter';
import { apiQuotaMiddleware, WORKSPACE_HEADER } from '../src/quota/middleware';
import { startPlatform, TEST_VIEWER_HEADER, viewerHeader, type Platform } from '../../test/support/platform';
import { userViewer } from '../../test/support/viewers';
import { postGraphQL, urlOf, gqlClient } from '../../test/support/http';
import { CREATE_CONNECTION, postgresConnectionInput } from '../../test/support/connections';
import { ManualClock } from '../../test/support/clock';

/**
 * API requests per minute per workspace, enforced at the gateway and shared across gateway
 * instances: two real gateways — each with its own NATS connection, its own
 * KV-watched view of the limits and its own counter — over the five real subgraphs. The limit is
 * set through the API (workspace service → `dlx-quotas` KV bucket → both gateways), and the
 * count lives in the `dlx-api-counts` bucket that both update with compare-and-set.
 */
describe('API requests per minute at the gateway (shared by every gateway instance)', () => {
  let p: Platform;
  const log = createLogger('gateway-quotas-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const instances: Array<{ nats: Nats; limits: ApiLimitView; counter: ApiRateLimiter; gateway: Gateway; url: string }> = [];
  let orgId: string;
  let admin: Viewer;
  let ws1: string;
  let ws2: string;
  // The minute both gateways' counters and the platform's workspace service (which shows the count)
  // name their window by: 10 s into a minute, moved by hand, so a case's requests share one window
  // without waiting for the wall clock, and Retry-After is known to the second.
  const clock = new ManualClock('2030-01-01T00:00:10Z');

  beforeAll(async () => {
    p = await startPlatform({ clock });
    for (let i = 0; i < 2; i++) {
      const nats = await connectNats(process.env.NATS_URL!, `gateway-quotas-test-${i}`);
      const limits = await ApiLimitView.start(nats.nc, log, { defaultLimit: 600 });
      const counter = await ApiRateLimiter.open(nats.nc, { clock });
      const gateway = await createGateway({
        supergraphSdl: loadSupergraph(),
        subgraphUrls: p.subgraphUrls,
        signer: p.keys.signer,
        log,
        limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
        authenticate: async (req: Request): Promise<Viewer> => {
          const raw = req.headers[TEST_VIEWER_HEADER];
          return typeof raw === 'string' ? viewerSchema.parse(JSON.parse(raw)) : ANONYMOUS;
        },
        apiQuota: apiQuotaMiddleware({ limits, counter, log }),
      });
      const h: http.Server = await gateway.listen(0, '127.0.0.1');
      instances.push({ nats, limits, counter, gateway, url: urlOf(h) });
    }
    orgId = randomUUID();
    await p.sources.auth.query(`INSERT INTO auth.organization (id, slug, name, region, time_zone) VALUES ($1, $2, 'Quota Org', 'eu', 'UTC')`, [
      orgId,
      `quota-${orgId.slice(0, 8)}`,
    ]);
    admin = userViewer({ orgId, orgRole: 'ADMIN' });
    const create = async (slug: string) => {
      const res = await postGraphQL<{ createWorkspace: { workspace: { id: string } } }>(
        p.gatewayUrl,
        `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
        { i: { name: slug, slug } },
        viewerHeader(admin),
      );
      return res.body.data!.createWorkspace.workspace.id;
    };
    ws1 = await create('api-limited');
    ws2 = await create('api-other');
  });

  afterAll(async () => {
    for (const i of instances) {
      await i.gateway.stop();
      await i.limits.stop();
      await i.nats.close();
    }
    await p?.stop();
  });

  const QUERY = `query($id: ID!){ workspace(id: $id) { id } }`;
  const ask = (instance: number, viewer: Viewer, workspaceId: string | null, queryWs = workspaceId ?? ws1) =>
    fetch(instances[instance]!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...viewerHeader(viewer), ...(workspaceId ? { [WORKSPACE_HEADER]: workspaceId } : {}) },
      body: JSON.stringify({ query: QUERY, variables: { id: queryWs } }),
    });

  it('refuses the (N+1)th request across both instances with 429 QUOTA_EXCEEDED naming the limit and usage, with Retry-After; other workspaces are unaffected', async () => {
    const N = 3;
    const set = await postGraphQL<{ updateWorkspaceQuotas: { errors: unknown[] } }>(
      p.gatewayUrl,
      `mutation($ws: ID!, $i: UpdateWorkspaceQuotasInput!){ updateWorkspaceQuotas(workspaceId: $ws, input: $i) { errors { code field message } } }`,
      { ws: ws1, i: { apiRequestsPerMinute: N } },
      viewerHeader(admin),
    );
    expect(set.body.data?.updateWorkspaceQuotas.errors).toEqual([]);
    // Both gateways learn the new limit from the KV bucket they watch.
    for (const deadline = Date.now() + 10_000; instances.some((i) => i.limits.limitFor(orgId, ws1) !== N);) {
      if (Date.now() > deadline) throw new Error('the gateways did not learn the new limit');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(instances.map((i) => i.limits.limitFor(orgId, ws2))).toEqual([600, 600]);

    // N requests, spread over both instances: all answered.
    for (let k = 0; k < N; k++) {
      const res = await ask(k % 2, admin, ws1);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { workspace: { id: ws1 } } });
    }
    // The (N+1)th, on either instance: refused before any subgraph is asked.
    for (const instance of [1, 0]) {
      const res = await ask(instance, admin, ws1);
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      // 50 s left of the minute the clock stands in.
      expect(retryAfter).toBe(50);
      const body = (await res.json()) as { data?: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.extensions).toEqual({
        code: 'QUOTA_EXCEEDED',
        quota: 'API_REQUESTS_PER_MINUTE',
        limit: N,
        used: N,
        retryAfterSeconds: retryAfter,
      });
      expect(body.errors[0]!.message).toMatch(new RegExp(`may make ${N} API requests per minute and ${N} were made this minute\\. Retry in ${retryAfter} s`));
    }
    // A service account's API key spends its one workspace: refused too.
    const bot: Viewer = {
      kind: 'service-account',
      serviceAccountId: randomUUID(),
      orgId,
      grants: [{ workspaceId: ws1, role: 'VIEWER' }],
      keyId: randomUUID(),
      authMethod: 'api-key',
    };
    expect((await ask(0, bot, null, ws1)).status).toBe(429);

    // Another workspace of the same org has its own window.
    const other = await ask(1, admin, ws2);
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual({ data: { workspace: { id: ws2 } } });
    // A request naming no workspace is not workspace-limited.
    expect((await ask(0, admin, null, ws1)).status).toBe(200);
    // Naming a workspace the caller has no role in spends nothing of it: a member without a grant,
    // or another org's admin (counted under their own org), are not refused.
    const stranger = userViewer({ orgId, orgRole: 'MEMBER' });
    expect((await ask(1, stranger, ws1)).status).toBe(200);
    expect((await ask(0, userViewer({ orgId: randomUUID(), orgRole: 'ADMIN' }), ws1)).status).toBe(200);

    // The workspace shows this minute's shared count (the platform's gateway counts nothing).
    const shown = await postGraphQL<{ workspace: { quotas: { apiRequestsPerMinute: { limit: number; used: number } } } }>(
      p.gatewayUrl,
      `query($id: ID!){ workspace(id: $id) { quotas { apiRequestsPerMinute { limit used } } } }`,
      { id: ws1 },
      viewerHeader(admin),
    );
    expect(shown.body.data?.workspace.quotas.apiRequestsPerMinute).toEqual({ limit: N, used: N });

    // The next minute is a new window: admitted again, and the workspace shows that minute's count.
    clock.advance(60_000);
    const next = await ask(1, admin, ws1);
    expect(next.status).toBe(200);
    expect(await next.json()).toEqual({ data: { workspace: { id: ws1 } } });
    const shownNext = await postGraphQL<{ workspace: { quotas: { apiRequestsPerMinute: { limit: number; used: number } } } }>(
      p.gatewayUrl,
      `query($id: ID!){ workspace(id: $id) { quotas { apiRequestsPerMinute { limit used } } } }`,
      { id: ws1 },
      viewerHeader(admin),
    );
    expect(shownNext.body.data?.workspace.quotas.apiRequestsPerMinute).toEqual({ limit: N, used: 1 });
  });

  it('a subgraph’s quota error reaches the client through the gateway in the same shape (CONCURRENT_RUNS)', async () => {
    const ws = ws2;
    const client = gqlClient(() => p.gatewayUrl, { headers: () => viewerHeader(admin) });
    const gql = (query: string, variables: Record<string, unknown>) =>
      client<Record<string, { errors?: unknown[]; connection?: { id: string } }>>(query, variables);
    const created = await gql(CREATE_CONNECTION, {
      i: postgresConnectionInput({ workspaceId: ws, name: 'paused', databaseUrl: 'postgres://loader:pw@db.example:5432/paused' }),
    });
    const connectionId = created.body.data?.createConnection?.connection?.id;
    expect(connectionId).toEqual(expect.any(String));
    // 0 concurrent runs pauses the workspace's runs.
    const paused = await gql(
      `mutation($ws: ID!, $i: UpdateWorkspaceQuotasInput!){ updateWorkspaceQuotas(workspaceId: $ws, input: $i) { errors { code field message } } }`,
      { ws, i: { concurrentRuns: 0 } },
    );
    expect(paused.body.data?.updateWorkspaceQuotas?.errors).toEqual([]);
    const refused = await gql(`mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`, { id: connectionId });
    expect(refused.status).toBe(200);
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'CONCURRENT_RUNS', limit: 0, used: 0 });
    expect(refused.body.errors![0]!.message).toMatch(/may have 0 run\(s\) active at once/);
  });

  it('counts exactly across instances under concurrency (compare-and-set), with one KV round trip per request', async () => {
    // Two counters (one per instance's NATS connection) on one hand-moved clock, 10 s into a minute:
    // every request below falls in the same window without waiting for the wall clock.
    const clock = new ManualClock('2030-01-01T00:00:10Z');
    const counters = await Promise.all(instances.map((i) => ApiRateLimiter.open(i.nats.nc, { clock })));
    const ws = randomUUID();
    const org = randomUUID();
    // 60 concurrent requests, half on each instance's counter, limit 25: exactly 25 admitted.
    const decisions = await Promise.all(Array.from({ length: 60 }, (_v, k) => counters[k % 2]!.consume(org, ws, 25)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.used)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 25 }, (_v, k) => k + 1));
    for (const d of decisions.filter((x) => !x.allowed)) expect(d.used).toBe(25);

    // Sequential requests on one instance: the added latency, printed for the reader (a figure of a
    // shared machine, never asserted).
    const wsSeq = randomUUID();
    const times: number[] = [];
    for (let k = 0; k < 200; k++) {
      const t = process.hrtime.bigint();
      await counters[0]!.consume(org, wsSeq, 10_000);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const p50 = times[100]!;
    const p95 = times[190]!;
    process.stdout.write(`API quota counter: p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms per request (local NATS)\n`);
  });
});
