import { createHash, randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { seal, unseal, type Sealed } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { dataKeyDao, type StoredDataKey } from '../daos/data-key.dao';

/** A secret sealed under a workspace's data key (`kid: 'ws'`). */
export interface WorkspaceSealed extends Sealed {
  kid: 'ws';
}

export const isWorkspaceSealed = (s: unknown): s is WorkspaceSealed => typeof s === 'object' && s !== null && (s as { kid?: unknown }).kid === 'ws';

/** A master key's public name: the first 16 hex characters of its sha256. Never the key itself. */
export const masterKeyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 16);

const wrapAad = (workspaceId: string) => `workspace.data_key:${workspaceId}`;

/**
 * Envelope encryption (ARCHITECTURE.md §8): one AES-256 data key per workspace, stored wrapped by
 * the master key (workspace.data_key); secrets are sealed with the data key and their own
 * additional data (e.g. the connection id), so a sealed value cannot be moved to another row or
 * workspace. The data key is created on first use. `previous` master keys (during a rotation) can
 * still unwrap; a key found wrapped by one of them is re-wrapped with the current key on the spot,
 * and `rewrapAll` does the rest in one pass. Every method runs on the caller's tenant transaction.
 */
export class Keyring {
  private readonly currentId: string;
  private readonly byId: Map<string, Buffer>;

  constructor(
    private readonly master: Buffer,
    previous: readonly Buffer[] = [],
  ) {
    this.currentId = masterKeyId(master);
    this.byId = new Map([...previous.map((k) => [masterKeyId(k), k] as const), [this.currentId, master]]);
  }

  /** The workspace's data key (created and stored wrapped on first use). `em`: a tenant transaction for `orgId`. */
  async dataKey(em: EntityManager, orgId: string, workspaceId: string): Promise<Buffer> {
    let row = await this.read(em, workspaceId);
    if (!row) {
      const key = randomBytes(32);
      await dataKeyDao.insertIfAbsent(em, orgId, workspaceId, seal(this.master, key.toString('base64'), wrapAad(workspaceId)), this.currentId);
      // A concurrent first use may have won: whichever row is stored is the key.
      row = await this.read(em, workspaceId);
      if (!row) throw new Error(`workspace ${workspaceId} has no data key and none could be stored (is the transaction scoped to its org?)`);
    }
    const wrappingKey = this.byId.get(row.master_key_id);
    if (!wrappingKey) {
      throw new Error(
        `the data key of workspace ${workspaceId} is wrapped by master key ${row.master_key_id}, which this process does not have (set DLX_MASTER_KEY_PREVIOUS during a rotation)`,
      );
    }
    const key = Buffer.from(unseal(wrappingKey, row.wrapped, wrapAad(workspaceId)), 'base64');
    if (row.master_key_id !== this.currentId) await this.store(em, workspaceId, key);
    return key;
  }

  async seal(em: EntityManager, orgId: string, workspaceId: string, plaintext: string, aad: string): Promise<WorkspaceSealed> {
    return { ...seal(await this.dataKey(em, orgId, workspaceId), plaintext, aad), kid: 'ws' };
  }

  async unseal(em: EntityManager, orgId: string, workspaceId: string, sealed: WorkspaceSealed, aad: string): Promise<string> {
    return unseal(await this.dataKey(em, orgId, workspaceId), sealed, aad);
  }

  /**
   * After a master-key rotation (DLX_MASTER_KEY = the new key, DLX_MASTER_KEY_PREVIOUS = the old
   * one): re-wraps every data key still wrapped by a previous key, each in its own tenant
   * transaction. Secrets are not touched. Returns how many were re-wrapped. Idempotent.
   */
  async rewrapAll(ds: DataSource): Promise<number> {
    let n = 0;
    for (const oldId of this.byId.keys()) {
      if (oldId === this.currentId) continue;
      const rows = await dataKeyDao.wrappedBy(ds, oldId);
      for (const r of rows) {
        await withTenant(ds, r.org_id, async (em) => {
          const row = await this.read(em, r.workspace_id, true);
          if (!row || row.master_key_id === this.currentId) return;
          const key = Buffer.from(unseal(this.byId.get(row.master_key_id)!, row.wrapped, wrapAad(r.workspace_id)), 'base64');
          await this.store(em, r.workspace_id, key);
          n += 1;
        });
      }
    }
    return n;
  }

  private async read(em: EntityManager, workspaceId: string, lock = false): Promise<StoredDataKey | null> {
    return dataKeyDao.find(em, workspaceId, lock);
  }

  private async store(em: EntityManager, workspaceId: string, key: Buffer): Promise<void> {
    await dataKeyDao.rewrap(em, workspaceId, seal(this.master, key.toString('base64'), wrapAad(workspaceId)), this.currentId);
  }
}
