#!/usr/bin/env node
// Gateway overhead (ARCHITECTURE.md §10: ≤ 2 ms p50 over calling the subgraph directly).
// Runs the compiled auth subgraph and gateway in this process on a throwaway database, then times
// the same query sent straight to the subgraph (with a signed viewer assertion) and through the
// gateway, interleaved so machine noise hits both alike. Prints the p50/p95 of each, the added
// p50 and the ratio. Needs `npm run build` and DATABASE_URL (an admin URL; `npm test` style).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
if (!process.env.DATABASE_URL) {
  console.error('bench: set DATABASE_URL to a PostgreSQL admin URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)');
  process.exit(2);
}
const N = Number(process.env.BENCH_ITERATIONS ?? 2000);
const { createLogger } = require('@datalinx/common');
const { createTestDatabase } = require('@datalinx/db');
const kit = require('@datalinx/graphql-kit');
const { authDataSource } = require(path.join(root, 'services/auth/dist/data-source.js'));
const { migrate } = require(path.join(root, 'services/auth/dist/migrate.js'));
const { createAuthServer } = require(path.join(root, 'services/auth/dist/app.js'));
const { createGateway } = require(path.join(root, 'gateway/dist/app.js'));
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');
const { readFileSync } = require('node:fs');

const log = createLogger('bench', 'silent');
const db = await createTestDatabase();
await migrate(db.url);
const ds = await authDataSource(db.url, 4).initialize();
const [{ id: orgId }] = await ds.query(`INSERT INTO auth.organization (slug,name,region,time_zone) VALUES ('bench','Bench','eu','UTC') RETURNING id`);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = new kit.ViewerAssertionSigner(await kit.importAssertionPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));
const verifier = new kit.ViewerAssertionVerifier(await kit.importAssertionPublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()));
const viewer = { kind: 'user', userId: randomUUID(), orgId, orgRole: 'ADMIN', grants: [], sessionId: 'bench', authMethod: 'bearer' };
const sub = await createAuthServer({ ds, verifier, log });
const subHttp = await sub.listen(0, '127.0.0.1');
const subUrl = `http://127.0.0.1:${subHttp.address().port}/graphql`;
// A supergraph of the auth subgraph alone: the bench measures gateway overhead, not other services.
const composed = composeServices([{ name: 'auth', url: subUrl, typeDefs: parse(readFileSync(path.join(root, 'services/auth/schema.graphql'), 'utf8')) }]);
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
const gw = await createGateway({
  supergraphSdl: composed.supergraphSdl,
  subgraphUrls: { auth: subUrl },
  signer,
  log,
  limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 1_000_000 },
  authenticate: async () => viewer,
});
const gwHttp = await gw.listen(0, '127.0.0.1');
const gwUrl = `http://127.0.0.1:${gwHttp.address().port}/graphql`;

const body = JSON.stringify({ query: `query($id: ID!){ organization(id: $id) { id slug name } }`, variables: { id: orgId } });
async function once(url, headers) {
  const t = process.hrtime.bigint();
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const j = await r.json();
  if (!j.data?.organization) throw new Error(`bad answer from ${url}: ${JSON.stringify(j)}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const direct = [];
const via = [];
for (let i = 0; i < 200; i++) {
  await once(subUrl, { [kit.VIEWER_HEADER]: await signer.sign(viewer, randomUUID()) });
  await once(gwUrl, {});
}
for (let i = 0; i < N; i++) {
  direct.push(await once(subUrl, { [kit.VIEWER_HEADER]: await signer.sign(viewer, randomUUID()) }));
  via.push(await once(gwUrl, {}));
}
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) * p)];
const [d50, d95, g50, g95] = [pct(direct, 0.5), pct(direct, 0.95), pct(via, 0.5), pct(via, 0.95)];
console.log(`direct   p50=${d50.toFixed(2)}ms p95=${d95.toFixed(2)}ms`);
console.log(`gateway  p50=${g50.toFixed(2)}ms p95=${g95.toFixed(2)}ms`);
await gw.stop();
await sub.stop();
await ds.destroy();
await db.drop();
console.log(`bench:gateway ratio=${(g50 / d50).toFixed(2)} added_p50_ms=${(g50 - d50).toFixed(2)} budget_ms=2 n=${N}`);
