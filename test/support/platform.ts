import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { DataSource } from 'typeorm';
import { createLogger, type Clock, type Logger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { ANONYMOUS, viewerSchema, type Viewer } from '@datalinx/graphql-kit';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import {
  CANONICAL_TYPE_CREATED_V1,
  DBT_PROJECT_PUBLISHED_V1,
  SOURCE_SNAPSHOT_CREATED_V1,
  STREAMS,
  TARGET_SCHEMA_CHANGED_V1,
  promotionCompletedSubject,
} from '@datalinx/contracts';
import { connectNats, ensureStreams, OutboxRelay, requestPreview, startWorkspaceReplica, type Nats } from '@datalinx/messaging';
import { authDataSource } from '../../services/auth/src/data-source';
import { migrate as migrateAuth } from '../../services/auth/src/migrate';
import { createAuthServer } from '../../services/auth/src/app';
import { WorkspaceRefDao as AuthWorkspaceRefDao } from '../../services/auth/src/daos/workspace-ref.dao';
import { workspaceDataSource } from '../../services/workspace/src/data-source';
import { migrate as migrateWorkspace } from '../../services/workspace/src/migrate';
import { createWorkspaceServer } from '../../services/workspace/src/app';
import { ConnectionDao } from '../../services/workspace/src/daos/connection.dao';
import { ActiveRunDao } from '../../services/workspace/src/daos/active-run.dao';
import { WarehouseDao } from '../../services/workspace/src/daos/warehouse.dao';
import type { WarehouseSettings } from '../../services/workspace/src/managers/warehouse.manager';
import { DEFAULT_QUOTA_LIMITS, KvApiLimitPublisher, KvApiUsage, openQuotaBuckets } from '../../services/workspace/src/managers/quota.manager';
import { startConnectionTestResultsConsumer } from '../../services/workspace/src/jobs/connection-test-results.consumer';
import { SourceSnapshotRefDao } from '../../services/workspace/src/daos/source-snapshot-ref.dao';
import { startSourceSnapshotReplica } from '../../services/workspace/src/jobs/source-snapshot-replica.consumer';
import { startDbtProjectReplica } from '../../services/workspace/src/jobs/dbt-project-replica.consumer';
import { DbtProjectRefDao } from '../../services/workspace/src/daos/dbt-project-ref.dao';
import { schemaDataSource } from '../../services/schema/src/data-source';
import { migrate as migrateSchema } from '../../services/schema/src/migrate';
import { createSchemaServer } from '../../services/schema/src/app';
import { SourceSnapshotDao } from '../../services/schema/src/daos/source-snapshot.dao';
import { startDiscoveryConsumers } from '../../services/schema/src/jobs/discovery.consumer';
import { TargetSchemaDao } from '../../services/schema/src/daos/target-schema.dao';
import { CustomCanonicalTypeDao } from '../../services/schema/src/daos/custom-canonical-type.dao';
import { TargetSchemaManager } from '../../services/schema/src/managers/target-schema.manager';
import { startPromotionConsumer as startSchemaPromotionConsumer } from '../../services/schema/src/jobs/promotion.consumer';
import { mappingDataSource } from '../../services/mapping/src/data-source';
import { migrate as migrateMapping } from '../../services/mapping/src/migrate';
import { createMappingServer } from '../../services/mapping/src/app';
import { WorkspaceRefDao } from '../../services/mapping/src/daos/workspace-ref.dao';
import { startWorkspaceEventsConsumer } from '../../services/mapping/src/jobs/workspace-events.consumer';
import { PromotionDao as MappingPromotionDao } from '../../services/mapping/src/daos/promotion.dao';
import { startPromotionConsumer } from '../../services/mapping/src/jobs/promotion.consumer';
import { CatalogDao as MappingCatalogDao } from '../../services/mapping/src/daos/catalog.dao';
import { MappingDao } from '../../services/mapping/src/daos/mapping.dao';
import { DriftRecorder } from '../../services/mapping/src/jobs/drift';
import { DbtProjectDao } from '../../services/mapping/src/daos/dbt-project.dao';
import { DbtProjectPublisher } from '../../services/mapping/src/managers/dbt-publisher';
import {
  startCanonicalTypeReplica as startMappingCanonicalTypeReplica,
  startSourceSnapshotReplica as startMappingSourceSnapshotReplica,
  startTargetSchemaReplica as startMappingTargetSchemaReplica,
} from '../../services/mapping/src/jobs/catalog-replica.consumer';
import { PromotionDao } from '../../services/workspace/src/daos/promotion.dao';
import { startPromotionResultsConsumer } from '../../services/workspace/src/jobs/promotion-results.consumer';
import { monitoringDataSource } from '../../services/monitoring/src/data-source';
import { migrate as migrateMonitoring } from '../../services/monitoring/src/migrate';
import { createMonitoringServer } from '../../services/monitoring/src/app';
import { RunEventsConsumer } from '../../services/monitoring/src/jobs/run-events.consumer';
import { RunRecorder } from '../../services/monitoring/src/managers/run-recorder';
import { AuditEventsConsumer } from '../../services/monitoring/src/jobs/audit-events.consumer';
import { AuditRecorder } from '../../services/monitoring/src/managers/audit-recorder';
import { createGateway, type Gateway } from '../../gateway/src/app';
import { loadSupergraph } from '../../gateway/src/supergraph';
import { makeTestKeys, type TestKeys } from './keys';
import { urlOf } from './http';

/**
 * The whole control plane in one test process, on a throwaway database and the test NATS:
 * five real subgraphs (real migrations, real PostgreSQL), the outbox relay, the RUNS consumers
 * and the real gateway over the committed supergraph. Migrations run as the admin (owner);
 * every service DataSource connects as the runtime role, as in production, so row-level
 * security applies to everything the tests drive. Consumers get unique durable names and
 * are narrowed to this platform's own subjects where JetStream requires it.
 *
 * TEST-ONLY identity: until sign-in exists the gateway makes every caller anonymous; here a
 * test passes its viewer as JSON in `x-test-viewer`, which this harness's `authenticate` reads.
 * The production gateway has no such header.
 */
export const TEST_VIEWER_HEADER = 'x-test-viewer';

export interface Platform {
  db: TestDatabase;
  /** The test database as the runtime role (what `app` connects with). */
  appUrl: string;
  keys: TestKeys;
  nats: Nats;
  masterKey: string;
  /** The workspace service's file storage (DLX_FILE_STORAGE_DIR): a throwaway directory. */
  fileStorageDir: string;
  /** Where the mapping service publishes workspaces' dbt projects (`<dir>/<workspaceId>/v<n>`): a throwaway directory. */
  dbtProjectsDir: string;
  gatewayUrl: string;
  subgraphUrls: Record<string, string>;
  /** Each service's DataSource as the admin, for tests to inspect rows of every org. */
  sources: Record<'auth' | 'workspace' | 'schema' | 'mapping' | 'monitoring', DataSource>;
  /** Each service's DataSource as the runtime role: what the servers, relays and consumers use. */
  app: Record<'auth' | 'workspace' | 'schema' | 'mapping' | 'monitoring', DataSource>;
  gateway: Gateway;
  /** The durable name of the workspace service's RUNS results consumer, for tests to wait until it has acked what they published. */
  resultsConsumerDurable: string;
  /** The subgraph servers, e.g. to stop one and see how the gateway copes. */
  servers: Record<'auth' | 'workspace' | 'schema' | 'mapping' | 'monitoring', { stop: () => Promise<void> }>;
  stop: () => Promise<void>;
}

/**
 * Waits (bounded) until the mapping and auth services' replicas know these workspaces:
 * createMapping and createServiceAccount answer WORKSPACE_NOT_FOUND for a workspace whose
 * workspace.workspace.created.v1 event they have not consumed yet, so a test using workspaces
 * right after creating them must wait.
 */
export async function waitForWorkspaceRefs(p: Pick<Platform, 'sources'>, workspaceIds: string[], timeoutMs = 15_000): Promise<void> {
  const want = new Set(workspaceIds).size;
  for (const deadline = Date.now() + timeoutMs; ;) {
    const [{ n: inMapping }] = await p.sources.mapping.query(`SELECT count(*)::int AS n FROM mapping.workspace_ref WHERE workspace_id = ANY($1::uuid[])`, [
      workspaceIds,
    ]);
    const [{ n: inAuth }] = await p.sources.auth.query(`SELECT count(*)::int AS n FROM auth.workspace_ref WHERE workspace_id = ANY($1::uuid[])`, [
      workspaceIds,
    ]);
    const [{ n: inSchema }] = await p.sources.schema.query(`SELECT count(*)::int AS n FROM schema.workspace_ref WHERE workspace_id = ANY($1::uuid[])`, [
      workspaceIds,
    ]);
    if (inMapping === want && inAuth === want && inSchema === want) return;
    if (Date.now() > deadline)
      throw new Error(
        `the workspace replicas (mapping ${inMapping}/${want}, auth ${inAuth}/${want}, schema ${inSchema}/${want}) did not learn workspaces ${workspaceIds.join(', ')} within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `audit`: also run monitoring's audit consumer (EVENTS `audit.>`); off by default, see below.
 * `clock`: what the workspace service names "this minute" of the API request counters by (the
 * real clock unless given), so a test that moves its gateways' counters by hand reads the same window.
 */
export async function startPlatform(
  o: { runsFilter?: string; audit?: boolean; warehouse?: WarehouseSettings; fileMaxBytes?: number; log?: Logger; clock?: Clock } = {},
): Promise<Platform> {
  const natsUrl = process.env.NATS_URL;
  if (!natsUrl) throw new Error('NATS_URL is not set: run tests with `npm test`.');
  // `o.log`: a test that scans what the services log (e.g. for secrets) passes its own capturing logger.
  const log = o.log ?? createLogger('platform-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const db = await createTestDatabase();
  for (const m of [migrateAuth, migrateWorkspace, migrateSchema, migrateMapping, migrateMonitoring]) await m(db.url);
  const appUrl = await runtimeRoleUrl(process.env.DATABASE_URL, db.url);
  const keys = await makeTestKeys();
  const masterKey = randomBytes(32).toString('base64');
  const fileStorageDir = await mkdtemp(path.join(os.tmpdir(), 'dlx-files-'));
  const nats = await connectNats(natsUrl, 'platform-test');
  await ensureStreams(nats.jsm);
  // Before the workspace relay: it publishes API limits to the dlx-quotas bucket's subject.
  const quotaKv = await openQuotaBuckets(nats.nc);
  // What the services run on: the runtime role, which owns nothing and is bound by row-level security.
  const app = {
    auth: await authDataSource(appUrl, 4).initialize(),
    workspace: await workspaceDataSource(appUrl, 4).initialize(),
    schema: await schemaDataSource(appUrl, 4).initialize(),
    mapping: await mappingDataSource(appUrl, 4).initialize(),
    monitoring: await monitoringDataSource(appUrl, 4).initialize(),
  };
  // What tests inspect the database with: the admin, which sees every org's rows.
  const sources = {
    auth: await authDataSource(db.url, 2).initialize(),
    workspace: await workspaceDataSource(db.url, 2).initialize(),
    schema: await schemaDataSource(db.url, 2).initialize(),
    mapping: await mappingDataSource(db.url, 2).initialize(),
    monitoring: await monitoringDataSource(db.url, 2).initialize(),
  };
  const suffix = randomUUID().slice(0, 8);
  // The workspace, mapping and schema outboxes (the schema service's: custom canonical types' and source snapshots' events).
  const relays = [
    new OutboxRelay(app.workspace, nats.js, log).start(),
    new OutboxRelay(app.mapping, nats.js, log).start(),
    new OutboxRelay(app.schema, nats.js, log).start(),
  ];
  // Each workspace's dbt project, published to a throwaway directory as the mapping service does.
  const dbtProjectsDir = await mkdtemp(path.join(os.tmpdir(), 'dlx-dbt-'));
  const dbtPublisher = new DbtProjectPublisher({
    mappings: new MappingDao(app.mapping),
    catalogs: new MappingCatalogDao(app.mapping),
    projects: new DbtProjectDao(app.mapping),
    root: dbtProjectsDir,
    log,
    afterCommit: () => relays[1]!.kick(),
  });
  const workspaceChanged = (orgId: string, workspaceId: string) => dbtPublisher.schedule(orgId, workspaceId);
  // Created first with deliver policy "new", as the monitoring consumer below: replaying the shared
  // RUNS stream's history (weeks of it on a developer's NATS) would hold up releasing this
  // platform's own runs from the concurrent-runs quota.
  await nats.jsm.consumers.add(STREAMS.RUNS.name, {
    durable_name: `ws-results-${suffix}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: 'runs.>',
  });
  const resultsConsumer = await startConnectionTestResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new ConnectionDao(app.workspace),
    activeRuns: new ActiveRunDao(app.workspace),
    warehouses: new WarehouseDao(app.workspace),
    log,
    durable: `ws-results-${suffix}`,
    onOutboxCommit: () => relays[0]!.kick(),
  });
  // Mapping's replica of the workspaces (createMapping requires it). EVENTS is shared with every
  // other test file and its history, so only workspaces of orgs in this platform's database are
  // recorded: anything else would change this database behind the tests that fingerprint it.
  const workspaceEventsConsumer = await startWorkspaceEventsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new WorkspaceRefDao(app.mapping),
    log,
    durable: `mapping-workspaces-${suffix}`,
    accept: async (ev) => (await sources.auth.query(`SELECT 1 FROM auth.organization WHERE id = $1`, [ev.orgId])).length > 0,
  });
  // Auth's replica (createServiceAccount and grants require it), with the same filter.
  const authWorkspaceRefs = new AuthWorkspaceRefDao(app.auth);
  const authWorkspaceConsumer = await startWorkspaceReplica({
    js: nats.js,
    jsm: nats.jsm,
    log,
    durable: `auth-workspaces-${suffix}`,
    record: (orgId, workspaceId) => authWorkspaceRefs.upsert(orgId, workspaceId),
    accept: async (ev) => (await sources.auth.query(`SELECT 1 FROM auth.organization WHERE id = $1`, [ev.orgId])).length > 0,
  });
  // The schema service's replica (target schema writes require it), with the same filter.
  const schemaTargetDao = new TargetSchemaDao(app.schema);
  const schemaWorkspaceConsumer = await startWorkspaceReplica({
    js: nats.js,
    jsm: nats.jsm,
    log,
    durable: `schema-workspaces-${suffix}`,
    record: (orgId, workspaceId) => schemaTargetDao.recordWorkspace(orgId, workspaceId),
    accept: async (ev) => (await sources.auth.query(`SELECT 1 FROM auth.organization WHERE id = $1`, [ev.orgId])).length > 0,
  });
  // Promotion: mapping's part (copies mappings) and the workspace's merge of it, for this platform's orgs only.
  const ourOrg = async (orgId: string) => (await sources.auth.query(`SELECT 1 FROM auth.organization WHERE id = $1`, [orgId])).length > 0;
  const mappingPromotions = await startPromotionConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new MappingPromotionDao(app.mapping),
    log,
    durable: `mapping-promotions-${suffix}`,
    afterCommit: () => relays[1]!.kick(),
    workspaceChanged,
    accept: (r) => ourOrg(r.orgId),
  });
  // Schema's part of promotions (copies the target schema), for this platform's orgs only.
  const schemaPromotions = await startSchemaPromotionConsumer({
    js: nats.js,
    jsm: nats.jsm,
    targetSchemas: new TargetSchemaManager(schemaTargetDao, new CustomCanonicalTypeDao(app.schema), app.schema, () => relays[2]!.kick()),
    log,
    durable: `schema-promotions-${suffix}`,
    accept: (r) => ourOrg(r.orgId),
  });
  // Schema: the workers' discovery results → source snapshots, for this platform's orgs only.
  const discoveryConsumers = await startDiscoveryConsumers({
    js: nats.js,
    jsm: nats.jsm,
    dao: new SourceSnapshotDao(app.schema),
    log,
    durable: `schema-discovery-${suffix}`,
    accept: ourOrg,
    onOutboxCommit: () => relays[2]!.kick(),
  });
  // Workspace: the replica of each connection's latest source snapshot (syncConnection checks against it), for this platform's orgs only.
  // Created with deliver policy "new" first (the consumer keeps it): EVENTS holds every earlier test file's snapshots.
  await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
    durable_name: `workspace-source-snapshots-${suffix}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: SOURCE_SNAPSHOT_CREATED_V1,
  });
  const sourceSnapshotReplica = await startSourceSnapshotReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: new SourceSnapshotRefDao(app.workspace),
    log,
    durable: `workspace-source-snapshots-${suffix}`,
    accept: (ev) => ourOrg(ev.orgId),
  });
  // Workspace: the replica of each workspace's latest published dbt project (pipeline runs build it), for this platform's orgs only, from now on.
  await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
    durable_name: `workspace-dbt-projects-${suffix}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: DBT_PROJECT_PUBLISHED_V1,
  });
  const dbtProjectReplica = await startDbtProjectReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: new DbtProjectRefDao(app.workspace),
    log,
    durable: `workspace-dbt-projects-${suffix}`,
    accept: (ev) => ourOrg(ev.orgId),
  });
  // Mapping: the replicas of the target schemas and source snapshots (and drift), for this platform's orgs only, from now on.
  for (const [durable, subject] of [
    [`mapping-target-schemas-${suffix}`, TARGET_SCHEMA_CHANGED_V1],
    [`mapping-source-snapshots-${suffix}`, SOURCE_SNAPSHOT_CREATED_V1],
    [`mapping-canonical-types-${suffix}`, CANONICAL_TYPE_CREATED_V1],
  ] as const)
    await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: subject,
    });
  const mappingCatalogs = new MappingCatalogDao(app.mapping);
  const mappingTargetSchemas = await startMappingTargetSchemaReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: mappingCatalogs,
    log,
    durable: `mapping-target-schemas-${suffix}`,
    accept: (ev) => ourOrg(ev.orgId),
    workspaceChanged,
  });
  const mappingSourceSnapshots = await startMappingSourceSnapshotReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: mappingCatalogs,
    drift: new DriftRecorder(new MappingDao(app.mapping), mappingCatalogs, log),
    log,
    durable: `mapping-source-snapshots-${suffix}`,
    accept: (ev) => ourOrg(ev.orgId),
    afterCommit: () => relays[1]!.kick(),
    workspaceChanged,
  });
  const mappingCanonicalTypes = await startMappingCanonicalTypeReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: mappingCatalogs,
    log,
    durable: `mapping-canonical-types-${suffix}`,
    accept: (ev) => ourOrg(ev.orgId),
  });
  const promotionResults = await startPromotionResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    ds: app.workspace,
    dao: new PromotionDao(app.workspace),
    log,
    durable: `workspace-promotions-${suffix}`,
    accept: (a) => ourOrg(a.orgId),
  });
  // ...and of the schema service's (target schemas), on their own subject.
  const schemaPromotionResults = await startPromotionResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    ds: app.workspace,
    dao: new PromotionDao(app.workspace),
    log,
    durable: `workspace-promotions-schema-${suffix}`,
    accept: (a) => ourOrg(a.orgId),
    filterSubject: promotionCompletedSubject('schema'),
  });
  // Created first with deliver policy "new" (RunEventsConsumer keeps an existing consumer's policy):
  // the shared RUNS stream holds every earlier test's run events, 30 days of them on a developer's
  // NATS, and replaying them would delay this platform's own by seconds or minutes.
  await nats.jsm.consumers.add(STREAMS.RUNS.name, {
    durable_name: `monitoring-${suffix}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: o.runsFilter ?? 'runs.>',
  });
  const runsConsumer = new RunEventsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    recorder: new RunRecorder(app.monitoring),
    log,
    durable: `monitoring-${suffix}`,
    filterSubject: o.runsFilter,
    concurrency: 4,
    ackWaitMs: 10000,
    maxDeliver: 10,
  });
  await runsConsumer.start();
  // Opt-in: the audit consumer takes every org's events (`audit.>`, the orgs a test creates are
  // not known in advance), the shared stream's history and other test files' events included,
  // which would upset tests that fingerprint the database. Started drained, so a test that opts
  // in sees its own events arrive on a settled table.
  const auditConsumer = o.audit
    ? new AuditEventsConsumer({
        js: nats.js,
        jsm: nats.jsm,
        recorder: new AuditRecorder(app.monitoring),
        log,
        durable: `monitoring-audit-${suffix}`,
        concurrency: 8,
        ackWaitMs: 10000,
        maxDeliver: 10,
      })
    : undefined;
  if (auditConsumer) {
    await auditConsumer.start();
    for (const deadline = Date.now() + 30_000; ;) {
      const info = await nats.jsm.consumers.info('EVENTS', `monitoring-audit-${suffix}`);
      if (info.num_pending === 0 && info.num_ack_pending === 0) break;
      if (Date.now() > deadline) throw new Error('the platform audit consumer did not drain the EVENTS backlog in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const servers = {
    auth: await createAuthServer({ ds: app.auth, verifier: keys.verifier, log }),
    workspace: await createWorkspaceServer({
      ds: app.workspace,
      verifier: keys.verifier,
      log,
      settings: { masterKey: Buffer.from(masterKey, 'base64'), testTimeoutMs: 10000 },
      files: { dir: fileStorageDir, maxBytes: o.fileMaxBytes ?? 100 * 1024 * 1024 },
      onOutboxCommit: () => relays[0]!.kick(),
      quotas: { defaults: DEFAULT_QUOTA_LIMITS, api: new KvApiUsage(quotaKv.counts, o.clock), publisher: new KvApiLimitPublisher(quotaKv.limits, log) },
      // A test provisioning warehouses passes its own throwaway warehouse database.
      warehouse: o.warehouse,
    }),
    schema: await createSchemaServer({ ds: app.schema, verifier: keys.verifier, log, onOutboxCommit: () => relays[2]!.kick() }),
    mapping: await createMappingServer({
      ds: app.mapping,
      verifier: keys.verifier,
      log,
      afterCommit: () => relays[1]!.kick(),
      preview: (request) => requestPreview(nats.nc, request),
      workspaceChanged,
    }),
    monitoring: await createMonitoringServer({ ds: app.monitoring, verifier: keys.verifier, log }),
  };
  const listening: http.Server[] = [];
  const subgraphUrls: Record<string, string> = {};
  for (const [name, s] of Object.entries(servers)) {
    const h = await s.listen(0, '127.0.0.1');
    listening.push(h);
    subgraphUrls[name] = urlOf(h);
  }
  const gateway = await createGateway({
    supergraphSdl: loadSupergraph(),
    subgraphUrls,
    signer: keys.signer,
    log,
    limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
    authenticate: async (req: Request): Promise<Viewer> => {
      const raw = req.headers[TEST_VIEWER_HEADER];
      return typeof raw === 'string' ? viewerSchema.parse(JSON.parse(raw)) : ANONYMOUS;
    },
  });
  const gw = await gateway.listen(0, '127.0.0.1');
  return {
    db,
    appUrl,
    keys,
    nats,
    masterKey,
    fileStorageDir,
    dbtProjectsDir,
    gatewayUrl: urlOf(gw),
    resultsConsumerDurable: `ws-results-${suffix}`,
    subgraphUrls,
    sources,
    app,
    gateway,
    servers,
    stop: async () => {
      await gateway.stop();
      for (const s of Object.values(servers)) await s.stop();
      await runsConsumer.stop();
      if (auditConsumer) {
        await auditConsumer.stop();
        await nats.jsm.consumers.delete('EVENTS', `monitoring-audit-${suffix}`).catch(() => undefined);
      }
      await resultsConsumer.stop();
      await workspaceEventsConsumer.stop();
      await authWorkspaceConsumer.stop();
      await mappingPromotions.stop();
      await schemaWorkspaceConsumer.stop();
      await schemaPromotions.stop();
      for (const d of [`schema-workspaces-${suffix}`, `schema-promotions-${suffix}`]) await nats.jsm.consumers.delete('EVENTS', d).catch(() => undefined);
      await discoveryConsumers.stop();
      for (const d of ['tables', 'completed']) await nats.jsm.consumers.delete('EVENTS', `schema-discovery-${suffix}-${d}`).catch(() => undefined);
      await sourceSnapshotReplica.stop();
      await nats.jsm.consumers.delete('EVENTS', `workspace-source-snapshots-${suffix}`).catch(() => undefined);
      await dbtProjectReplica.stop();
      await nats.jsm.consumers.delete('EVENTS', `workspace-dbt-projects-${suffix}`).catch(() => undefined);
      await promotionResults.stop();
      await schemaPromotionResults.stop();
      await nats.jsm.consumers.delete('EVENTS', `workspace-promotions-schema-${suffix}`).catch(() => undefined);
      await mappingTargetSchemas.stop();
      await mappingSourceSnapshots.stop();
      await mappingCanonicalTypes.stop();
      await nats.jsm.consumers.delete('EVENTS', `mapping-canonical-types-${suffix}`).catch(() => undefined);
      await dbtPublisher.idle();
      for (const d of [`mapping-target-schemas-${suffix}`, `mapping-source-snapshots-${suffix}`])
        await nats.jsm.consumers.delete('EVENTS', d).catch(() => undefined);
      await nats.jsm.consumers.delete('EVENTS', `mapping-workspaces-${suffix}`).catch(() => undefined);
      for (const r of relays) await r.stop();
      for (const durable of [`ws-results-${suffix}`, `monitoring-${suffix}`]) await nats.jsm.consumers.delete('RUNS', durable).catch(() => undefined);
      await nats.close();
      for (const ds of [...Object.values(app), ...Object.values(sources)]) await ds.destroy();
      await db.drop();
      await rm(fileStorageDir, { recursive: true, force: true });
      await rm(dbtProjectsDir, { recursive: true, force: true });
    },
  };
}

export const viewerHeader = (v: Viewer) => ({ [TEST_VIEWER_HEADER]: JSON.stringify(v) });
