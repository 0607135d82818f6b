import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { returningRows } from './returning';

export type ServiceAccountRole = 'EDITOR' | 'VIEWER';

export interface ServiceAccountRow {
  id: string;
  orgId: string;
  name: string;
  workspaceId: string;
  role: ServiceAccountRole;
  createdBy: string;
  createdAt: Date;
  disabledAt: Date | null;
}

/** Key metadata only: the hash never leaves the DAO except for the exchange lookup. */
export interface ApiKeyRow {
  id: string;
  orgId: string;
  serviceAccountId: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  rotatedFrom: string | null;
}

/** The exchange lookup: a key (by hash) with its service account, locked. */
export interface KeyLookup {
  key: ApiKeyRow & { lastAuditedAt: Date | null };
  account: ServiceAccountRow;
}

const SA_COLS = `id, org_id AS "orgId", name, workspace_id AS "workspaceId", role, created_by AS "createdBy", created_at AS "createdAt", disabled_at AS "disabledAt"`;
const KEY_COLS = `id, org_id AS "orgId", service_account_id AS "serviceAccountId", prefix, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", rotated_from AS "rotatedFrom"`;

/** Service accounts and their API keys (sha256 of each key only). Tenant id first where it is known. */
export class ServiceAccountDao {
  constructor(private readonly ds: DataSource) {}

  async create(
    em: EntityManager,
    a: { orgId: string; name: string; workspaceId: string; role: ServiceAccountRole; createdBy: string },
  ): Promise<ServiceAccountRow> {
    const rows: ServiceAccountRow[] = await em.query(
      `INSERT INTO auth.service_account (org_id, name, workspace_id, role, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${SA_COLS}`,
      [a.orgId, a.name, a.workspaceId, a.role, a.createdBy],
    );
    return rows[0]!;
  }

  async addKey(
    em: EntityManager,
    k: { orgId: string; serviceAccountId: string; prefix: string; keyHash: string; rotatedFrom: string | null },
  ): Promise<ApiKeyRow> {
    const rows: ApiKeyRow[] = await em.query(
      `INSERT INTO auth.api_key (org_id, service_account_id, prefix, key_hash, rotated_from) VALUES ($1, $2, $3, $4, $5) RETURNING ${KEY_COLS}`,
      [k.orgId, k.serviceAccountId, k.prefix, k.keyHash, k.rotatedFrom],
    );
    return rows[0]!;
  }

  listByOrg(orgId: string): Promise<ServiceAccountRow[]> {
    return inTenant(this.ds, orgId, (tx) => tx.query(`SELECT ${SA_COLS} FROM auth.service_account WHERE org_id = $1 ORDER BY created_at DESC, id`, [orgId]));
  }

  keysOf(orgId: string, serviceAccountIds: readonly string[]): Promise<ApiKeyRow[]> {
    if (serviceAccountIds.length === 0) return Promise.resolve([]);
    return inTenant(this.ds, orgId, (tx) =>
      tx.query(`SELECT ${KEY_COLS} FROM auth.api_key WHERE org_id = $1 AND service_account_id = ANY($2::uuid[]) ORDER BY created_at DESC, id`, [
        orgId,
        serviceAccountIds,
      ]),
    );
  }

  async lockAccount(em: EntityManager, orgId: string, id: string): Promise<ServiceAccountRow | null> {
    const rows: ServiceAccountRow[] = await em.query(`SELECT ${SA_COLS} FROM auth.service_account WHERE org_id = $1 AND id = $2 FOR UPDATE`, [orgId, id]);
    return rows[0] ?? null;
  }

  /** Revokes every live key of the account; the ids revoked. */
  async revokeKeysOf(em: EntityManager, orgId: string, serviceAccountId: string): Promise<string[]> {
    const rows = returningRows<{ id: string }>(
      await em.query(`UPDATE auth.api_key SET revoked_at = now() WHERE org_id = $1 AND service_account_id = $2 AND revoked_at IS NULL RETURNING id`, [
        orgId,
        serviceAccountId,
      ]),
    );
    return rows.map((r) => r.id);
  }

  /** Revokes one key of the org; null when it is not the org's or already revoked. */
  async revokeKey(em: EntityManager, orgId: string, id: string): Promise<ApiKeyRow | null> {
    const rows = returningRows<ApiKeyRow>(
      await em.query(`UPDATE auth.api_key SET revoked_at = now() WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING ${KEY_COLS}`, [orgId, id]),
    );
    return rows[0] ?? null;
  }

  /**
   * The key is presented without any tenant context (that is what it is for): the hash is the
   * lookup key. `em` is a transaction opened by `withTenantOf(ds, 'api_key', hash, …)`.
   */
  async lockByHash(em: EntityManager, keyHash: string): Promise<KeyLookup | null> {
    const keys: Array<ApiKeyRow & { lastAuditedAt: Date | null }> = await em.query(
      `SELECT ${KEY_COLS}, last_audited_at AS "lastAuditedAt" FROM auth.api_key WHERE key_hash = $1 FOR UPDATE`,
      [keyHash],
    );
    const key = keys[0];
    if (!key) return null;
    const accounts: ServiceAccountRow[] = await em.query(`SELECT ${SA_COLS} FROM auth.service_account WHERE org_id = $1 AND id = $2`, [
      key.orgId,
      key.serviceAccountId,
    ]);
    return accounts[0] ? { key, account: accounts[0] } : null;
  }

  async markUsed(em: EntityManager, orgId: string, keyId: string, audited: boolean): Promise<void> {
    await em.query(`UPDATE auth.api_key SET last_used_at = now()${audited ? ', last_audited_at = now()' : ''} WHERE org_id = $1 AND id = $2`, [orgId, keyId]);
  }
}
