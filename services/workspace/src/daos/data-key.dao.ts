import type { DataSource, EntityManager } from 'typeorm';
import type { Sealed } from '@datalinx/common';

/** A workspace's data key as stored: wrapped (sealed) by the master key `master_key_id`. */
export type StoredDataKey = { wrapped: Sealed; master_key_id: string };

/** workspace.data_key: one wrapped data key per workspace (the Keyring does the cryptography). */
export const dataKeyDao = {
  /** Stores a first key unless one is already stored (a concurrent first use may have won). `em`: a tenant transaction for `orgId`. */
  async insertIfAbsent(em: EntityManager, orgId: string, workspaceId: string, wrapped: Sealed, masterKeyId: string): Promise<void> {
    await em.query(
      `INSERT INTO workspace.data_key (workspace_id, org_id, wrapped, master_key_id) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO NOTHING`,
      [workspaceId, orgId, JSON.stringify(wrapped), masterKeyId],
    );
  },

  /** The stored key (locked FOR UPDATE when `lock`), on the caller's tenant transaction. */
  async find(em: EntityManager, workspaceId: string, lock = false): Promise<StoredDataKey | null> {
    const rows: StoredDataKey[] = await em.query(`SELECT wrapped, master_key_id FROM workspace.data_key WHERE workspace_id = $1${lock ? ' FOR UPDATE' : ''}`, [
      workspaceId,
    ]);
    return rows[0] ?? null;
  },

  async rewrap(em: EntityManager, workspaceId: string, wrapped: Sealed, masterKeyId: string): Promise<void> {
    await em.query(`UPDATE workspace.data_key SET wrapped = $2, master_key_id = $3, rewrapped_at = now() WHERE workspace_id = $1`, [
      workspaceId,
      JSON.stringify(wrapped),
      masterKeyId,
    ]);
  },

  /** Every workspace (of every tenant) whose key is wrapped by `masterKeyId` (`workspace.data_keys_wrapped_by`). */
  async wrappedBy(ds: DataSource, masterKeyId: string): Promise<Array<{ org_id: string; workspace_id: string }>> {
    return ds.query(`SELECT * FROM workspace.data_keys_wrapped_by($1)`, [masterKeyId]);
  },
};
