import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';
import type { Nats } from '@datalinx/messaging';
import { IDENTITY_KV_BUCKET, IDENTITY_KV_OPTIONS, SESSION_REVOKED, apiKeyKvKey, epochKey, sessionKey } from '@datalinx/contracts';

/** Opens (creating if needed) the identity bucket; safe from every process at once. */
export async function openIdentityBucket(nc: Nats['nc'], replicas = Number(process.env.NATS_STREAM_REPLICAS ?? 1)): Promise<KV> {
  return new Kvm(nc).create(IDENTITY_KV_BUCKET, { ...IDENTITY_KV_OPTIONS, replicas });
}

/**
 * Writes revocations to the `dlx-identity` KV bucket, which every gateway watches: a revoked
 * session or a bumped epoch is rejected on the gateway's next request without a database call.
 * Written after the database commit (the database is the source of truth; a token minted after a
 * failed commit must still match the stored epoch). This is the fast path only: the same
 * revocations were recorded in the outbox by the commit itself (migration
 * DurableRevocations1765100000000), and the outbox relay delivers them to the bucket even if this
 * write fails or the process dies first. So a failure here is logged, never thrown at a caller
 * whose change is already committed.
 */
export class RevocationPublisher {
  constructor(
    private readonly kv: KV,
    private readonly log?: Logger,
  ) {}

  async sessionsRevoked(sessionIds: readonly string[]): Promise<void> {
    for (const sid of sessionIds) await this.put(sessionKey(sid), SESSION_REVOKED);
  }

  async apiKeysRevoked(keyIds: readonly string[]): Promise<void> {
    for (const id of keyIds) await this.put(apiKeyKvKey(id), SESSION_REVOKED);
  }

  async epochChanged(userId: string, epoch: number): Promise<void> {
    await this.put(epochKey(userId), String(epoch));
  }

  private async put(key: string, value: string): Promise<void> {
    try {
      await this.kv.put(key, value);
    } catch (err) {
      this.log?.warn({ key, err: (err as Error).message }, 'identity KV write failed; the outbox relay will deliver it');
    }
  }
}
