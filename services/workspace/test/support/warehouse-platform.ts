import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startPlatform, viewerHeader, type Platform } from '../../../../test/support/platform';
import { userViewer } from '../../../../test/support/viewers';
import { gqlClient } from '../../../../test/support/http';
import { deleteWorkerConsumers } from '../../../../test/support/worker-consumers';
import { startWorker, stopWorker, workspaceFilters } from '../../../../workers/test/support/worker-process';
import { warehouseSettingsFromUrl } from '../../src/managers/warehouse.manager';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../../test/support/connections';

/** Runs one statement on a connection of its own to `url` (the cluster's admin database, the warehouse) and returns the rows. */
export async function sql(url: URL, text: string, params: unknown[] = []) {
  const c = new Client({ connectionString: url.toString() });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** What a dispatching mutation (syncConnection, canonicalizeColumn) answers: the run it queued, or why it queued none. */
export interface DispatchPayload {
  runId: string | null;
  errors: Array<{ code: string; field: string | null; message: string }>;
}

/** The syncConnection mutation, answering a DispatchPayload. */
export const SYNC_CONNECTION = `mutation($i: SyncConnectionInput!){ syncConnection(input: $i) { runId errors { code field message } } }`;

/** A workspace as createWorkspace made it, with the warehouse schema and role provisioning gives it (`ws_<hex>`, `dlx_ws_<hex>`). */
export interface CreatedWorkspace {
  id: string;
  schema: string;
  role: string;
}

export interface WarehouseWorkerOptions {
  /** WORKER_DURABLE: unique to the test file (the JOBS consumers are shared by every file). */
  durable: string;
  /** The job domains the worker takes, each only for this workspace (see workspaceFilters). */
  domains: Array<'connection' | 'warehouse' | 'source' | 'column'>;
  /**
   * The worker's knobs for this file (ack wait, back-off, log level). A variable given as undefined
   * is left out: `WAREHOUSE_ADMIN_URL: undefined` starts a worker without the platform warehouse.
   */
  env: Record<string, string | undefined>;
}

/**
 * The whole control plane (startPlatform: the subgraphs, the gateway, the outbox relay, the RUNS
 * consumers) configured with a platform warehouse on a throwaway database `dlx_wh_<name>_<suffix>`
 * of the test server, an organization `<name>-<suffix>` and its ADMIN, plus real worker processes
 * (workers/dist/index.js) started per workspace: with them, createWorkspace's warehouse.provision
 * job really runs and the warehouse becomes READY, and dispatched jobs really run.
 *
 * `start` in a beforeAll. In the afterAll, `stopWorkers` first (drains the workers and deletes their
 * JOBS consumers), then whatever the test added, then `stop`: the platform, the warehouse database
 * and the roles of the workspaces created through `createWorkspace` (roles are cluster-wide).
 * Workers write into `workerOutput`, which `waitFor` quotes when it times out.
 *
 * With `warehouseDatabase: false` the platform warehouse database is never created (the file's
 * workspaces load into external warehouses only): the settings point at a database that is not
 * there, so nothing can use it unnoticed.
 */
export class WarehousePlatform {
  readonly suffix = randomUUID().slice(0, 8);
  readonly whDb: string;
  /** The test server as the admin (DATABASE_URL). */
  readonly adminUrl = new URL(process.env.DATABASE_URL!);
  /** The warehouse database as the admin: what the workers get as WAREHOUSE_ADMIN_URL. */
  readonly whUrl = new URL(process.env.DATABASE_URL!);
  readonly workerOutput: string[] = [];
  p!: Platform;
  orgId!: string;
  /** The viewer header of an ADMIN of the organization: what `gql` sends unless told otherwise. */
  admin!: Record<string, string>;
  private readonly workers: ChildProcess[] = [];
  private readonly durables: string[] = [];
  private readonly roles: string[] = [];

  constructor(private readonly o: { name: string; orgName: string; warehouseDatabase?: boolean }) {
    this.whDb = `dlx_wh_${o.name}_${this.suffix}`;
    this.whUrl.pathname = `/${this.whDb}`;
  }

  async start(): Promise<void> {
    if (this.o.warehouseDatabase !== false) await sql(this.adminUrl, `CREATE DATABASE ${this.whDb}`);
    this.p = await startPlatform({ warehouse: warehouseSettingsFromUrl(this.whUrl.toString()) });
    [{ id: this.orgId }] = await this.p.sources.auth.query(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,$2,'eu','UTC') RETURNING id`,
      [`${this.o.name}-${this.suffix}`, this.o.orgName],
    );
    this.admin = viewerHeader(userViewer({ orgId: this.orgId, orgRole: 'ADMIN' }));
  }

  /** A GraphQL request through the gateway, as the organization's ADMIN unless `headers` say otherwise (a property: it may be destructured). */
  readonly gql = gqlClient(() => this.p.gatewayUrl, { headers: () => this.admin });

  /** Polls `fn` every 200 ms until it returns something; fails after `timeoutMs` with the tail of the workers' output (a property: it may be destructured). */
  readonly waitFor = async <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> => {
    for (const until = Date.now() + timeoutMs; ;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; worker output:\n${this.workerOutput.join('').slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  /** createWorkspace through the gateway (expects no GraphQL errors); its warehouse is provisioned by a worker started for it. */
  async createWorkspace(slug: string): Promise<CreatedWorkspace> {
    const res = await this.gql<{ createWorkspace: { workspace: { id: string } } }>(
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      { i: { name: slug, slug } },
    );
    expect(res.body.errors).toBeUndefined();
    const id = res.body.data!.createWorkspace.workspace.id;
    const hex = id.replace(/-/g, '').slice(0, 12);
    this.roles.push(`dlx_ws_${hex}`);
    return { id, schema: `ws_${hex}`, role: `dlx_ws_${hex}` };
  }

  /** Starts a worker for one workspace, with the platform's master key and the warehouse database as its admin URL. */
  startWorker(workspaceId: string, o: WarehouseWorkerOptions): ChildProcess {
    this.durables.push(o.durable);
    const child = startWorker(
      {
        DLX_MASTER_KEY: this.p.masterKey,
        WORKER_DURABLE: o.durable,
        ...workspaceFilters(workspaceId, o.domains),
        WAREHOUSE_ADMIN_URL: this.whUrl.toString(),
        ...o.env,
      },
      { output: this.workerOutput },
    );
    this.workers.push(child);
    return child;
  }

  /** The workspace's warehouse once it is no longer PENDING (the worker's provision run ended): its status and last error. */
  warehouseProvisioned(workspaceId: string, label: string): Promise<{ status: string; last_error: string | null }> {
    return this.waitFor(`warehouse ${label} to be provisioned`, async () => {
      const [r] = await this.p.sources.workspace.query(`SELECT status, last_error FROM workspace.warehouse WHERE workspace_id = $1`, [workspaceId]);
      return r?.status === 'PENDING' ? undefined : r;
    });
  }

  /**
   * discoverConnection through the gateway (a worker taking the workspace's `source` jobs must run),
   * then waits until the run succeeded and the workspace service's replica holds the new snapshot:
   * from then on syncConnection checks requests against it. Returns the run id.
   */
  async discover(connectionId: string, scope?: { tables?: string[]; patterns?: string[] }): Promise<string> {
    const versionOf = async () =>
      ((
        await this.p.sources.workspace.query(`SELECT max(version)::int AS v FROM workspace.source_snapshot_ref WHERE connection_id = $1 AND complete`, [
          connectionId,
        ])
      )[0]?.v as number | null) ?? 0;
    const before = await versionOf();
    const res = await this.gql<{ discoverConnection: DispatchPayload }>(
      `mutation($id: ID!, $s: DiscoveryScopeInput){ discoverConnection(id: $id, scope: $s) { runId errors { code field message } } }`,
      {
        id: connectionId,
        s: scope ?? null,
      },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.discoverConnection.errors).toEqual([]);
    const runId = res.body.data!.discoverConnection.runId!;
    const state = await this.waitFor(
      `discovery run ${runId} to end`,
      async () => {
        const r = await this.gql<{ run: { state: string; error: { code: string; message: string } | null } | null }>(
          `query($id: ID!){ run(id: $id) { state error { code message } } }`,
          { id: runId },
        );
        const run = r.body.data?.run;
        return run && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(run.state) ? run : undefined;
      },
      90000,
    );
    expect(state).toEqual({ state: 'SUCCESS', error: null });
    await this.waitFor(
      `the discovered snapshot of ${connectionId} in the workspace's replica`,
      async () => ((await versionOf()) > before ? true : undefined),
      30000,
    );
    return runId;
  }

  /** A job the workspace service dispatched (its outbox row's payload), by kind, workspace and run. */
  async dispatched(kind: string, workspaceId: string, runId: string): Promise<unknown> {
    const [row] = await this.p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1 AND payload->>'runId' = $2`, [
      `jobs.${kind}.${workspaceId}`,
      runId,
    ]);
    return row.payload;
  }

  /** Drops every job of a workspace from the JOBS work queue (one no worker takes, e.g. a pending workspace's provision). */
  async purgeJobsOf(workspaceId: string): Promise<void> {
    await this.p.nats.jsm.streams.purge('JOBS', { filter: `jobs.*.*.${workspaceId}` }).catch(() => undefined);
  }

  /** SIGTERMs every worker, waits until each has drained and exited, and deletes their JOBS consumers. */
  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.map((w) => stopWorker(w)));
    if (this.p) for (const d of this.durables) await deleteWorkerConsumers(this.p.nats.jsm, d);
  }

  /** Stops the platform, drops the warehouse database and the workspaces' roles. */
  async stop(): Promise<void> {
    await this.p?.stop();
    await sql(this.adminUrl, `DROP DATABASE IF EXISTS ${this.whDb} WITH (FORCE)`);
    for (const role of this.roles) await sql(this.adminUrl, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  }
}

/**
 * A POSTGRES SOURCE (or DESTINATION) connection of a workspace to a database of the test server,
 * with its password as the secret. The SSL mode stays at its default, PREFER: TLS when the server
 * offers it, plain otherwise (the test server has no TLS, so a sync must fall back, as
 * connection.test and discovery do). `schema`: the schema a DESTINATION loads into (none by default).
 * Expects no field errors; returns the connection id.
 */
export async function newPostgresConnection(
  env: WarehousePlatform,
  workspaceId: string,
  databaseUrl: string,
  o: { name: string; kind: 'SOURCE' | 'DESTINATION'; schema?: string },
): Promise<string> {
  const url = new URL(databaseUrl);
  // The test server trusts local connections: any password is accepted, but the API wants one.
  if (!url.password) url.password = 'trust-ignores-this-password';
  const res = await env.gql<CreateConnectionResult>(CREATE_CONNECTION, { i: postgresConnectionInput({ workspaceId, databaseUrl: url.toString(), ...o }) });
  expect(res.body.data?.createConnection.errors).toEqual([]);
  return res.body.data!.createConnection.connection!.id;
}
