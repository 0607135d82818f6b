import type { EntityManager } from 'typeorm';
import { unseal, type Sealed } from '@datalinx/common';
import { connectionSecrets, type ConnectionSecrets } from '@datalinx/contracts';
import { isWorkspaceSealed, type Keyring, type WorkspaceSealed } from './keyring';

/** The additional data a connection's secrets are sealed with: a sealed value cannot move to another row. */
export const connectionSecretAad = (connectionId: string) => `connection:${connectionId}`;

/** The password of a legacy connection string (postgres://user:password@…), if any. */
function passwordOfConnectionString(raw: string): string | undefined {
  try {
    const p = decodeURIComponent(new URL(raw).password);
    return p || undefined;
  } catch {
    return undefined;
  }
}

/** Drops empty values: `{}` means "no secret". */
export function compactSecrets(s: ConnectionSecrets): ConnectionSecrets {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => typeof v === 'string' && v.length > 0)) as ConnectionSecrets;
}

/**
 * Seals and opens a connection's secrets (ARCHITECTURE.md §8): the JSON of `connectionSecrets`
 * under the workspace's data key (Keyring), AAD `connection:<id>`. Rows written before envelope
 * encryption hold the connection string sealed directly with the master key (AAD = the id, no
 * `kid`); they are still opened — with the current master key or, during a rotation, a previous
 * one — and their password becomes `{ password }`.
 */
export class ConnectionSecretBox {
  constructor(
    private readonly keyring: Keyring,
    /** The current master key first, then previous ones (DLX_MASTER_KEY_PREVIOUS). */
    private readonly masterKeys: readonly Buffer[],
  ) {}

  /** Null when there is nothing to keep (no secret at all). `em`: a tenant transaction for `orgId`. */
  async seal(em: EntityManager, orgId: string, workspaceId: string, connectionId: string, secrets: ConnectionSecrets): Promise<WorkspaceSealed | null> {
    const compact = compactSecrets(secrets);
    if (Object.keys(compact).length === 0) return null;
    return this.keyring.seal(em, orgId, workspaceId, JSON.stringify(compact), connectionSecretAad(connectionId));
  }

  async open(em: EntityManager, orgId: string, workspaceId: string, connectionId: string, sealed: WorkspaceSealed | Sealed | null): Promise<{ secrets: ConnectionSecrets; legacy: boolean }> {
    if (!sealed) return { secrets: {}, legacy: false };
    if (isWorkspaceSealed(sealed)) {
      const json = await this.keyring.unseal(em, orgId, workspaceId, sealed, connectionSecretAad(connectionId));
      return { secrets: connectionSecrets.parse(JSON.parse(json)), legacy: false };
    }
    for (const key of this.masterKeys) {
      let connectionString: string;
      try {
        connectionString = unseal(key, sealed, connectionId);
      } catch {
        continue; // sealed with another master key (or not this row's): try the next one
      }
      const password = passwordOfConnectionString(connectionString);
      return { secrets: password ? { password } : {}, legacy: true };
    }
    throw new Error(`the secret of connection ${connectionId} cannot be opened with the configured master keys (set DLX_MASTER_KEY_PREVIOUS during a rotation)`);
  }
}
