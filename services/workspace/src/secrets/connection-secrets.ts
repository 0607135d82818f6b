import type { EntityManager } from 'typeorm';
import { connectionSecrets, type ConnectionSecrets } from '@datalinx/contracts';
import { isWorkspaceSealed, type Keyring, type WorkspaceSealed } from './keyring';

/** The additional data a connection's secrets are sealed with: a sealed value cannot move to another row. */
export const connectionSecretAad = (connectionId: string) => `connection:${connectionId}`;

/** Drops empty values: `{}` means "no secret". */
export function compactSecrets(s: ConnectionSecrets): ConnectionSecrets {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => typeof v === 'string' && v.length > 0)) as ConnectionSecrets;
}

/**
 * Seals and opens a connection's secrets (ARCHITECTURE.md §8): the JSON of `connectionSecrets`
 * under the workspace's data key (Keyring), AAD `connection:<id>`.
 */
export class ConnectionSecretBox {
  constructor(private readonly keyring: Keyring) {}

  /** Null when there is nothing to keep (no secret at all). `em`: a tenant transaction for `orgId`. */
  async seal(em: EntityManager, orgId: string, workspaceId: string, connectionId: string, secrets: ConnectionSecrets): Promise<WorkspaceSealed | null> {
    const compact = compactSecrets(secrets);
    if (Object.keys(compact).length === 0) return null;
    return this.keyring.seal(em, orgId, workspaceId, JSON.stringify(compact), connectionSecretAad(connectionId));
  }

  /** The connection's secrets (`{}` when it has none). Anything but a data-key sealing is refused. */
  async open(em: EntityManager, orgId: string, workspaceId: string, connectionId: string, sealed: WorkspaceSealed | null): Promise<ConnectionSecrets> {
    if (!sealed) return {};
    if (!isWorkspaceSealed(sealed)) throw new Error(`the secret of connection ${connectionId} is not sealed with its workspace's data key`);
    const json = await this.keyring.unseal(em, orgId, workspaceId, sealed, connectionSecretAad(connectionId));
    return connectionSecrets.parse(JSON.parse(json));
  }
}
