import { randomUUID } from 'node:crypto';
import type { Viewer } from '@datalinx/graphql-kit';
import { VIEWER_HEADER } from '@datalinx/graphql-kit';
import { typeDefs as authTypeDefs } from '../services/auth/src/app';
import { typeDefs as workspaceTypeDefs } from '../services/workspace/src/app';
import { typeDefs as schemaTypeDefs } from '../services/schema/src/app';
import { typeDefs as mappingTypeDefs } from '../services/mapping/src/app';
import { typeDefs as monitoringTypeDefs } from '../services/monitoring/src/app';
import { resolvableEntityTypesOf } from './support/schema-surface';
import { startPlatform, viewerHeader, waitForWorkspaceRefs, type Platform } from './support/platform';
import { plantOrgAdmin } from './support/planted-org';
import { postGraphQL, type GqlResponse, gqlClient } from './support/http';
import { changedTables, fingerprintDatabase } from './support/db-fingerprint';

/**
 * A malformed id names nothing: every field answers it exactly as it answers a well-formed id
 * that does not exist (null, or the mutation's typed not-found payload error with the same code
 * everywhere), never INTERNAL_SERVER_ERROR from PostgreSQL's uuid cast, and nothing changes.
 * The subgraph server factory (packages/graphql-kit) turns every malformed `ID` argument into
 * the nil UUID before shield and the resolver run; these are the fields an outside probe found
 * failing, each run through the real gateway as the org's ADMIN (who passes shield for any
 * workspace id, so the managers answer).
 */

const MALFORMED = 'not-a-uuid';

interface Case {
  query: string;
  variables: (id: string) => Record<string, unknown>;
  /** Queries: null. Mutations: the payload's one error code (every other payload field null). */
  expect: { kind: 'null' } | { kind: 'payload'; code: string; field?: string };
}

const CASES: Record<string, Case> = {
  workspace: { query: `query($id: ID!){ workspace(id: $id) { id name } }`, variables: (id) => ({ id }), expect: { kind: 'null' } },
  connection: { query: `query($id: ID!){ connection(id: $id) { id name } }`, variables: (id) => ({ id }), expect: { kind: 'null' } },
  pipeline: { query: `query($id: ID!){ pipeline(id: $id) { id name } }`, variables: (id) => ({ id }), expect: { kind: 'null' } },
  testConnection: {
    query: `mutation($id: ID!){ testConnection(id: $id) { runId connection { id } errors { code field message } } }`,
    variables: (id) => ({ id }),
    expect: { kind: 'payload', code: 'CONNECTION_NOT_FOUND' },
  },
  updateConnection: {
    query: `mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { connection { id } errors { code field message } } }`,
    variables: (id) => ({ id, i: { name: 'renamed' } }),
    expect: { kind: 'payload', code: 'CONNECTION_NOT_FOUND' },
  },
  deleteConnection: {
    query: `mutation($id: ID!){ deleteConnection(id: $id) { deletedId errors { code field message } } }`,
    variables: (id) => ({ id }),
    expect: { kind: 'payload', code: 'CONNECTION_NOT_FOUND' },
  },
  runPipeline: {
    query: `mutation($id: ID!){ runPipeline(id: $id) { runId pipeline { id } errors { code field message } } }`,
    variables: (id) => ({ id }),
    expect: { kind: 'payload', code: 'PIPELINE_NOT_FOUND' },
  },
  deleteWorkspace: {
    query: `mutation($id: ID!){ deleteWorkspace(id: $id) { workspaceId purgeRunId errors { code field message } } }`,
    variables: (id) => ({ id }),
    expect: { kind: 'payload', code: 'WORKSPACE_NOT_FOUND' },
  },
  createMapping: {
    query: `mutation($i: CreateMappingInput!){ createMapping(input: $i) { mapping { id } errors { code field message } } }`,
    variables: (id) => ({ i: { workspaceId: id, name: 'Customers', targetTable: 'customers' } }),
    expect: { kind: 'payload', code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' },
  },
  targetTable: { query: `query($id: ID!){ targetTable(id: $id) { id name } }`, variables: (id) => ({ id }), expect: { kind: 'null' } },
  createTargetTable: {
    query: `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { table { id } schemaVersion errors { code field message } } }`,
    variables: (id) => ({ i: { workspaceId: id, fromTemplate: 'customers' } }),
    expect: { kind: 'payload', code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' },
  },
  updateTargetTable: {
    query: `mutation($i: UpdateTargetTableInput!){ updateTargetTable(input: $i) { table { id } schemaVersion errors { code field message } } }`,
    variables: (id) => ({ i: { id, name: 'renamed' } }),
    expect: { kind: 'payload', code: 'TABLE_NOT_FOUND', field: 'id' },
  },
  deleteTargetRelationship: {
    query: `mutation($i: DeleteTargetRelationshipInput!){ deleteTargetRelationship(input: $i) { deletedId schemaVersion errors { code field message } } }`,
    variables: (id) => ({ i: { id } }),
    expect: { kind: 'payload', code: 'RELATIONSHIP_NOT_FOUND', field: 'id' },
  },
  canonicalizeColumn: {
    query: `mutation($i: CanonicalizeColumnInput!){ canonicalizeColumn(input: $i) { runId errors { code field message } } }`,
    variables: (id) => ({ i: { workspaceId: id, table: 'raw_public__customer', column: 'email', canonicalType: 'email' } }),
    expect: { kind: 'payload', code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' },
  },
};

const SUBGRAPH_SDL = { auth: authTypeDefs, workspace: workspaceTypeDefs, schema: schemaTypeDefs, mapping: mappingTypeDefs, monitoring: monitoringTypeDefs };
/** Every entity type every subgraph resolves through `_entities` (the argument guard does not see representations: the loaders do). */
const ENTITY_ROWS = Object.entries(SUBGRAPH_SDL).flatMap(([subgraph, sdl]) => resolvableEntityTypesOf(sdl).map((type) => [subgraph, type] as const));

/** The response without its messages (which may echo the id): what must not depend on the id being malformed. */
const shape = (res: GqlResponse) => JSON.parse(JSON.stringify({ status: res.status, body: res.body }, (k, v) => (k === 'message' ? undefined : v)));

describe('a malformed id answers like an id that does not exist', () => {
  let p: Platform;
  let admin: Viewer;
  let workspaceId: string;

  const gql = gqlClient(() => p.gatewayUrl, { headers: () => viewerHeader(admin) });

  beforeAll(async () => {
    p = await startPlatform({ runsFilter: `runs.${randomUUID()}.>` });
    ({ admin } = await plantOrgAdmin(p, 'Invalid Ids Org'));
    // A real workspace, so the org is not empty and "nothing changed" means something.
    const ws = await gql(`mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`, {
      i: { name: 'Main', slug: 'main' },
    });
    workspaceId = (ws.body.data as { createWorkspace: { workspace: { id: string } } }).createWorkspace.workspace.id;
    await waitForWorkspaceRefs(p, [workspaceId]);
    // Let the outbox relays publish the set-up's events, so their `sent_at` stamps land before any fingerprint.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const pending = await Promise.all(
        ['workspace', 'mapping'].map(
          async (sch) => (await p.sources.auth.query(`SELECT count(*)::int AS n FROM "${sch}".outbox WHERE sent_at IS NULL`))[0].n as number,
        ),
      );
      if (pending.every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);

  afterAll(async () => {
    // createWorkspace dispatched a warehouse provision job (no warehouse worker here): drop it.
    if (workspaceId) await p?.nats.jsm.streams.purge('JOBS', { filter: `jobs.warehouse.*.${workspaceId}` }).catch(() => undefined);
    await p?.stop();
  });

  it.each(Object.entries(CASES))(`%s(${MALFORMED}) answers not found and changes nothing`, async (field, c) => {
    const before = await fingerprintDatabase(p.sources.auth);
    const res = await gql(c.query, c.variables(MALFORMED));
    expect(changedTables(before, await fingerprintDatabase(p.sources.auth))).toEqual([]);

    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const value = (res.body.data as Record<string, unknown>)[field];
    if (c.expect.kind === 'null') {
      expect(value).toBeNull();
    } else {
      const payload = value as Record<string, unknown> & { errors: Array<{ code: string; field: string | null }> };
      expect(payload.errors.map((e) => e.code)).toEqual([c.expect.code]);
      if (c.expect.field) expect(payload.errors[0]!.field).toBe(c.expect.field);
      for (const [k, v] of Object.entries(payload)) if (k !== 'errors') expect(v).toBeNull();
    }

    // Exactly what a well-formed id that does not exist gets.
    const unknown = await gql(c.query, c.variables(randomUUID()));
    expect(shape(res)).toEqual(shape(unknown));
  });

  it.each(ENTITY_ROWS)(`_entities of %s resolves %s with id ${MALFORMED} like an unknown id, without an error`, async (subgraph, type) => {
    const entities = async (id: string) =>
      postGraphQL(
        p.subgraphUrls[subgraph]!,
        `query($r: [_Any!]!){ _entities(representations: $r) { __typename } }`,
        { r: [{ __typename: type, id }] },
        {
          [VIEWER_HEADER]: await p.keys.signer.sign(admin, randomUUID()),
        },
      );
    const res = await entities(MALFORMED);
    for (const e of res.body.errors ?? []) expect(e.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(shape(res)).toEqual(shape(await entities(randomUUID())));
  });
});
