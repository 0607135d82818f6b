import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import { UnauthenticatedError } from '@datalinx/common';
import { tenantByIdLoader, groupLoader, actorIdOf, hasWorkspacePermission, type Viewer, perViewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import type { ConnectionConfig, ConnectionSecrets, ConnectionType } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { FileDao } from '../daos/file.dao';
import type { Connection, ConnectionKindValue } from '../entities/connection.entity';
import type { StoredFile } from '../entities/file.entity';
import { dispatchConnectionTest } from '../jobs/connection-test.dispatch';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import type { WorkspaceManager } from './workspace.manager';
import type { QuotaPolicy } from './quota.manager';
import { buildConfig, buildSecrets, configOf, type ConfigInputs, type SecretsInput } from './connection-config';
import { userError, type UserError } from './user-error';

/** What the process configures (index.ts): the master keys and the test timeout. */
export interface ConnectionSettings {
  masterKey: Buffer;
  /** DLX_MASTER_KEY_PREVIOUS during a rotation: data keys it wrapped stay readable. */
  previousMasterKeys?: Buffer[];
  testTimeoutMs: number;
}

type Payload = { connection: Connection | null; errors: UserError[] };

export interface CreateConnectionInput extends ConfigInputs {
  workspaceId: string;
  name: string;
  kind?: ConnectionKindValue | null;
  type: ConnectionType;
  secrets?: SecretsInput | null;
}

export interface UpdateConnectionInput extends ConfigInputs {
  name?: string | null;
  kind?: ConnectionKindValue | null;
  secrets?: SecretsInput | null;
}

const NOT_FOUND = (verb: string) => userError('CONNECTION_NOT_FOUND', 'id', `No such connection, or you cannot ${verb} it.`);
const validName = (raw: string): { name: string; errors: UserError[] } => {
  const name = raw.trim();
  return { name, errors: name.length < 1 || name.length > 100 ? [userError('INVALID_NAME', 'name', 'The name must be 1 to 100 characters.')] : [] };
};

/**
 * Connections of the viewer's workspaces. Secrets are sealed at rest under the workspace's data
 * key (envelope encryption, AAD `connection:<id>`), never returned — the API shows only whether
 * one is set and when it last changed — and re-sealed for the data plane inside the job message
 * (AAD `job:<jobId>`). Every method re-checks the viewer's permission on the connection's
 * workspace; the org always comes from the viewer.
 */
export class ConnectionManager {
  private readonly loader: (viewer: Viewer) => DataLoader<string, Connection | null>;
  private readonly byWorkspace: (viewer: Viewer) => DataLoader<string, Connection[]>;

  constructor(
    private readonly ds: DataSource,
    private readonly dao: ConnectionDao,
    private readonly files: FileDao,
    private readonly workspaces: WorkspaceManager,
    private readonly settings: JobDispatchSettings,
    private readonly onCommit: () => void,
    private readonly quotas: QuotaPolicy,
  ) {
    this.loader = tenantByIdLoader(
      (viewer) => this.orgId(viewer),
      (orgId, ids) => this.dao.findByIds(orgId, ids),
    );
    this.byWorkspace = perViewer((viewer) =>
      groupLoader(
        async (wsIds) => {
          const orgId = this.orgId(viewer);
          return orgId ? this.dao.listByWorkspaces(orgId, wsIds) : [];
        },
        (r) => r.workspaceId,
      ),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  private requireOrg(viewer: Viewer): string {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    return orgId;
  }

  /** The connection's settings with type and defaults (never secrets). */
  configOf(c: Connection): ConnectionConfig {
    return configOf(c.type, c.config);
  }

  async get(viewer: Viewer, id: string): Promise<Connection | null> {
    const c = await this.loader(viewer).load(id);
    return c && hasWorkspacePermission(viewer, c.workspaceId, 'connections:read') ? c : null;
  }

  async listForWorkspace(viewer: Viewer, workspaceId: string): Promise<Connection[]> {
    if (!hasWorkspacePermission(viewer, workspaceId, 'connections:read')) return [];
    return this.byWorkspace(viewer).load(workspaceId);
  }

  private fileLookup(em: EntityManager, orgId: string, workspaceId: string) {
    return (fileId: string): Promise<StoredFile | null> =>
      /^[0-9a-f-]{36}$/i.test(fileId) ? this.files.findInWorkspace(em, orgId, workspaceId, fileId) : Promise.resolve(null);
  }

  async create(viewer: Viewer, input: CreateConnectionInput): Promise<Payload> {
    const orgId = this.requireOrg(viewer);
    const ws = await this.workspaces.get(viewer, input.workspaceId);
    if (!ws || !hasWorkspacePermission(viewer, ws.id, 'connections:write')) {
      return { connection: null, errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace, or you cannot add connections to it.')] };
    }
    const archived = await this.workspaces.writeBlocker(viewer, ws.id);
    if (archived) return { connection: null, errors: [archived] };
    const { name, errors } = validName(input.name);
    const id = randomUUID();
    const result = await withTenant(this.ds, orgId, async (em): Promise<Payload> => {
      const built = await buildConfig(input.type, input, this.fileLookup(em, orgId, ws.id));
      const secrets = buildSecrets(input.secrets, built.config, { complete: true });
      const all = [...errors, ...built.errors, ...secrets.errors];
      if (all.length || !built.config) return { connection: null, errors: all };
      return this.insert(em, orgId, ws.id, id, name, input.kind ?? 'SOURCE', built.config, secrets.secrets ?? {});
    });
    if (result.connection) this.onCommit();
    return result;
  }

  private async insert(
    em: EntityManager,
    orgId: string,
    workspaceId: string,
    id: string,
    name: string,
    kind: ConnectionKindValue,
    config: ConnectionConfig,
    secrets: ConnectionSecrets,
  ): Promise<Payload> {
    if (await this.dao.nameTaken(em, orgId, workspaceId, name)) {
      return {
        connection: null,
        errors: [userError('NAME_TAKEN', 'name', `A connection named "${name}" already exists in this workspace. Pick another name.`)],
      };
    }
    const sealed = await this.settings.box.seal(em, orgId, workspaceId, id, secrets);
    await this.dao.insert(em, {
      id,
      orgId,
      workspaceId,
      name,
      kind,
      type: config.type,
      config,
      secretSealed: sealed,
      secretUpdatedAt: sealed ? new Date() : null,
    });
    await enqueueOutbox(em, 'workspace.connection.created.v1', { orgId, workspaceId, connectionId: id, type: config.type });
    return { connection: await this.dao.findOne(em, orgId, id), errors: [] };
  }

  /** Loads the connection for a write: null unless the viewer may `connections:write` in its workspace. */
  private async writable(viewer: Viewer, id: string): Promise<Connection | null> {
    const conn = await this.get(viewer, id);
    return conn && hasWorkspacePermission(viewer, conn.workspaceId, 'connections:write') ? conn : null;
  }

  /** Name, kind and settings; the type cannot change. Secrets stay as they are unless given. */
  async update(viewer: Viewer, id: string, input: UpdateConnectionInput): Promise<Payload> {
    const orgId = this.requireOrg(viewer);
    const conn = await this.writable(viewer, id);
    if (!conn) return { connection: null, errors: [NOT_FOUND('change')] };
    const archived = await this.workspaces.writeBlocker(viewer, conn.workspaceId);
    if (archived) return { connection: null, errors: [archived] };
    const { name, errors } = input.name === null || input.name === undefined ? { name: conn.name, errors: [] as UserError[] } : validName(input.name);
    const result = await withTenant(this.ds, orgId, async (em): Promise<Payload> => {
      const locked = await this.dao.lockWithSecret(em, orgId, conn.id);
      if (!locked) return { connection: null, errors: [NOT_FOUND('change')] };
      const givesConfig = Boolean(input.postgres || input.mysql || input.file || input.restApi);
      const built = givesConfig
        ? await buildConfig(locked.type, input, this.fileLookup(em, orgId, locked.workspaceId))
        : { config: configOf(locked.type, locked.config), errors: [] };
      const secrets = buildSecrets(input.secrets, built.config, { complete: Boolean(input.secrets) });
      const all = [...errors, ...built.errors, ...secrets.errors];
      if (!built.config || all.length) return { connection: null, errors: all };
      if (name !== locked.name && (await this.dao.nameTaken(em, orgId, locked.workspaceId, name, locked.id))) {
        return {
          connection: null,
          errors: [userError('NAME_TAKEN', 'name', `A connection named "${name}" already exists in this workspace. Pick another name.`)],
        };
      }
      const configChanged = givesConfig && JSON.stringify(built.config) !== JSON.stringify(configOf(locked.type, locked.config));
      await this.dao.update(em, orgId, locked.id, { name, kind: input.kind ?? locked.kind, config: built.config, configChanged });
      if (secrets.secrets) await this.reseal(em, locked, secrets.secrets);
      await enqueueOutbox(em, 'workspace.connection.updated.v1', { orgId, workspaceId: locked.workspaceId, connectionId: locked.id, type: locked.type });
      return { connection: await this.dao.findOne(em, orgId, locked.id), errors: [] };
    });
    this.loader(viewer).clear(id);
    if (result.connection) this.onCommit();
    return result;
  }

  private async reseal(em: EntityManager, conn: Connection, secrets: ConnectionSecrets): Promise<void> {
    const sealed = await this.settings.box.seal(em, conn.orgId, conn.workspaceId, conn.id, secrets);
    await this.dao.setSecret(em, conn.orgId, conn.id, sealed, sealed ? new Date() : null);
  }

  /** Replaces the whole secret document in place (`{}` clears it); the old one is gone. */
  async rotateSecret(viewer: Viewer, id: string, input: SecretsInput): Promise<Payload> {
    const orgId = this.requireOrg(viewer);
    const conn = await this.writable(viewer, id);
    if (!conn) return { connection: null, errors: [NOT_FOUND('change')] };
    const archived = await this.workspaces.writeBlocker(viewer, conn.workspaceId);
    if (archived) return { connection: null, errors: [archived] };
    const result = await withTenant(this.ds, orgId, async (em): Promise<Payload> => {
      const locked = await this.dao.lockWithSecret(em, orgId, conn.id);
      if (!locked) return { connection: null, errors: [NOT_FOUND('change')] };
      const secrets = buildSecrets(input, configOf(locked.type, locked.config), { complete: true });
      if (!secrets.secrets) return { connection: null, errors: secrets.errors };
      await this.reseal(em, locked, secrets.secrets);
      await enqueueOutbox(em, 'workspace.connection.secret_rotated.v1', { orgId, workspaceId: locked.workspaceId, connectionId: locked.id });
      return { connection: await this.dao.findOne(em, orgId, locked.id), errors: [] };
    });
    this.loader(viewer).clear(id);
    if (result.connection) this.onCommit();
    return result;
  }

  async delete(viewer: Viewer, id: string): Promise<{ deletedId: string | null; errors: UserError[] }> {
    const orgId = this.requireOrg(viewer);
    const conn = await this.writable(viewer, id);
    if (!conn) return { deletedId: null, errors: [NOT_FOUND('delete')] };
    const archived = await this.workspaces.writeBlocker(viewer, conn.workspaceId);
    if (archived) return { deletedId: null, errors: [archived] };
    const deleted = await withTenant(this.ds, orgId, async (em): Promise<boolean | UserError> => {
      // The workspace's external warehouse (its row references the connection): loads would lose their destination.
      if (await this.dao.isWarehouseOf(em, orgId, conn.id)) {
        return userError(
          'CONNECTION_IN_USE',
          'id',
          'This connection is the workspace’s warehouse: syncs and pipeline runs load into it. Have an organization admin point the warehouse at another DESTINATION PostgreSQL connection (useExternalWarehouse) first, then delete this one.',
        );
      }
      if (!(await this.dao.delete(em, orgId, conn.id))) return false;
      await enqueueOutbox(em, 'workspace.connection.deleted.v1', { orgId, workspaceId: conn.workspaceId, connectionId: conn.id });
      return true;
    });
    this.loader(viewer).clear(id);
    if (typeof deleted !== 'boolean') return { deletedId: null, errors: [deleted] };
    if (!deleted) return { deletedId: null, errors: [NOT_FOUND('delete')] };
    this.onCommit();
    return { deletedId: conn.id, errors: [] };
  }

  async test(viewer: Viewer, id: string): Promise<{ connection: Connection | null; runId: string | null; errors: UserError[] }> {
    const orgId = this.requireOrg(viewer);
    const conn = await this.get(viewer, id);
    if (!conn || !hasWorkspacePermission(viewer, conn.workspaceId, 'connections:test')) {
      return { connection: null, runId: null, errors: [NOT_FOUND('test')] };
    }
    const runId = await withTenant(this.ds, orgId, async (em) => {
      const locked = await this.dao.lockWithSecret(em, orgId, conn.id);
      if (!locked) return null;
      // Quotas (QUOTA_EXCEEDED rolls the dispatch back): counted under the workspace lock, the run
      // recorded as active in this transaction, the rows-per-run limit handed on with the job.
      const { limits } = await this.quotas.assertCanDispatch(em, orgId, locked.workspaceId, { writesData: false });
      const { runId: dispatched } = await dispatchConnectionTest(em, this.dao, this.settings, locked, actorIdOf(viewer), limits);
      await this.quotas.trackRun(em, orgId, { runId: dispatched, workspaceId: locked.workspaceId, kind: 'connection.test' });
      return dispatched;
    });
    if (!runId) return { connection: null, runId: null, errors: [NOT_FOUND('test')] };
    this.onCommit();
    this.loader(viewer).clear(conn.id);
    return { connection: await this.get(viewer, conn.id), runId, errors: [] };
  }
}
