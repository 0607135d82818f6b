import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, seal, unseal } from '@datalinx/common';
import { hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { jobSubject, runSubject, type ConnectionTestJobV1, type RunStateChangedV1 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection, PostgresConfig } from '../entities/connection.entity';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';

export interface ConnectionSettings {
  masterKey: Buffer;
  testTimeoutMs: number;
}

/** Parses and validates a PostgreSQL connection string into non-secret settings. */
export function parsePostgresUrl(raw: string): { config: PostgresConfig; errors: UserError[] } {
  const errors: UserError[] = [];
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { config: { host: '', port: 0, database: '', user: '' }, errors: [userError('INVALID_CONNECTION_STRING', 'connectionString', 'Use the form postgres://user:password@host:5432/database.')] };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') errors.push(userError('INVALID_CONNECTION_STRING', 'connectionString', 'The scheme must be postgres:// or postgresql://.'));
  if (!url.hostname) errors.push(userError('INVALID_CONNECTION_STRING', 'connectionString', 'The host is missing.'));
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) errors.push(userError('INVALID_CONNECTION_STRING', 'connectionString', 'The database name is missing (…:5432/<database>).'));
  const user = decodeURIComponent(url.username);
  if (!user) errors.push(userError('INVALID_CONNECTION_STRING', 'connectionString', 'The user is missing (postgres://<user>:<password>@…).'));
  const port = url.port ? Number(url.port) : 5432;
  return { config: { host: url.hostname, port, database, user }, errors };
}

/**
 * Connections of the viewer's workspaces. Secrets are sealed at rest (AAD = connection id),
 * never returned, and re-sealed for the data plane inside the job message (AAD = job id).
 * Testing a connection is one transaction: mark TESTING, write the job and the QUEUED run
 * event to the outbox; the relay publishes them after commit.
 */
export class ConnectionManager {
  private readonly loader: DataLoader<string, Connection | null>;
  private readonly byWorkspace: DataLoader<string, Connection[]>;

  constructor(
    private readonly viewer: Viewer,
    private readonly ds: DataSource,
    private readonly dao: ConnectionDao,
    private readonly workspaces: WorkspaceManager,
    private readonly settings: ConnectionSettings,
    private readonly onCommit: () => void,
  ) {
    this.loader = new DataLoader(async (ids) => {
      const orgId = this.orgId();
      const rows = orgId ? await this.dao.findByIds(orgId, ids) : [];
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    });
    this.byWorkspace = new DataLoader(async (wsIds) => {
      const orgId = this.orgId();
      const rows = orgId ? await this.dao.listByWorkspaces(orgId, wsIds) : [];
      return wsIds.map((w) => rows.filter((r) => r.workspaceId === w));
    });
  }

  private orgId(): string | null {
    return this.viewer.kind === 'anonymous' ? null : this.viewer.orgId;
  }

  async get(id: string): Promise<Connection | null> {
    const c = await this.loader.load(id);
    return c && hasWorkspacePermission(this.viewer, c.workspaceId, 'connections:read') ? c : null;
  }

  async listForWorkspace(workspaceId: string): Promise<Connection[]> {
    if (!hasWorkspacePermission(this.viewer, workspaceId, 'connections:read')) return [];
    return this.byWorkspace.load(workspaceId);
  }

  async createPostgres(input: { workspaceId: string; name: string; kind?: 'SOURCE' | 'DESTINATION' | null; connectionString: string }): Promise<{ connection: Connection | null; errors: UserError[] }> {
    const orgId = this.orgId();
    if (!orgId) throw new UnauthenticatedError();
    const ws = await this.workspaces.get(input.workspaceId);
    if (!ws || !hasWorkspacePermission(this.viewer, ws.id, 'connections:write')) {
      return { connection: null, errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace, or you cannot add connections to it.')] };
    }
    const name = input.name.trim();
    const errors: UserError[] = [];
    if (name.length < 1 || name.length > 100) errors.push(userError('INVALID_NAME', 'name', 'The name must be 1 to 100 characters.'));
    const parsed = parsePostgresUrl(input.connectionString);
    errors.push(...parsed.errors);
    if (errors.length) return { connection: null, errors };

    const id = randomUUID();
    const result = await withTenant(this.ds, orgId, async (em) => {
      if (await this.dao.nameTaken(em, orgId, ws.id, name)) {
        return { connection: null, errors: [userError('NAME_TAKEN', 'name', `A connection named "${name}" already exists in this workspace.`)] };
      }
      await this.dao.insert(em, {
        id,
        orgId,
        workspaceId: ws.id,
        name,
        kind: input.kind ?? 'SOURCE',
        type: 'POSTGRES',
        config: parsed.config,
        secretSealed: seal(this.settings.masterKey, input.connectionString.trim(), id),
        secretUpdatedAt: new Date(),
      });
      await enqueueOutbox(em, 'workspace.connection.created.v1', { orgId, workspaceId: ws.id, connectionId: id, type: 'POSTGRES' });
      return { connection: await em.getRepository<Connection>('Connection').findOneByOrFail({ id }), errors: [] as UserError[] };
    });
    if (result.connection) this.onCommit();
    return result;
  }

  async test(id: string): Promise<{ connection: Connection | null; runId: string | null; errors: UserError[] }> {
    const orgId = this.orgId();
    if (!orgId) throw new UnauthenticatedError();
    const conn = await this.get(id);
    if (!conn || !hasWorkspacePermission(this.viewer, conn.workspaceId, 'connections:test')) {
      return { connection: null, runId: null, errors: [userError('CONNECTION_NOT_FOUND', 'id', 'No such connection, or you cannot test it.')] };
    }
    const jobId = randomUUID();
    const runId = randomUUID();
    const requestedBy = this.viewer.kind === 'user' ? this.viewer.userId : this.viewer.kind === 'service-account' ? this.viewer.serviceAccountId : 'anonymous';
    const now = new Date().toISOString();
    await withTenant(this.ds, orgId, async (em) => {
      const sealed = await this.dao.sealedSecret(em, orgId, conn.id);
      if (!sealed) throw new Error(`connection ${conn.id} has no secret`);
      const plaintext = unseal(this.settings.masterKey, sealed, conn.id);
      const job: ConnectionTestJobV1 = {
        v: 1,
        kind: 'connection.test',
        jobId,
        runId,
        orgId,
        workspaceId: conn.workspaceId,
        requestedAt: now,
        requestedBy,
        payload: {
          connectionId: conn.id,
          type: 'POSTGRES',
          connectionString: seal(this.settings.masterKey, plaintext, `job:${jobId}`),
          timeoutMs: this.settings.testTimeoutMs,
        },
      };
      const queued: RunStateChangedV1 = {
        v: 1,
        type: 'run.state',
        eventId: `${runId}:queued`,
        runId,
        jobId,
        orgId,
        workspaceId: conn.workspaceId,
        kind: 'connection.test',
        subjectId: conn.id,
        at: now,
        state: 'QUEUED',
        attempt: 1,
      };
      await this.dao.markTesting(em, orgId, conn.id, runId);
      await enqueueOutbox(em, runSubject(conn.workspaceId, runId), queued);
      await enqueueOutbox(em, jobSubject('connection.test', conn.workspaceId), job, jobId);
    });
    this.onCommit();
    this.loader.clear(conn.id);
    return { connection: await this.get(conn.id), runId, errors: [] };
  }
}
