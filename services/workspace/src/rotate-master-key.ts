import type { DataSource } from 'typeorm';
import { createLogger, parseEnv, parseKey } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { envSchema } from './env';
import { workspaceDataSource } from './data-source';
import { Keyring } from './secrets/keyring';
import { ConnectionSecretBox } from './secrets/connection-secrets';
import { ConnectionDao } from './daos/connection.dao';

/**
 * Master-key rotation (ARCHITECTURE.md §8). Deploy with DLX_MASTER_KEY = the new key and
 * DLX_MASTER_KEY_PREVIOUS = the old one, then run `npm run rotate-master-key` (= node
 * services/workspace/dist/rotate-master-key.js) once:
 *
 * 1. every workspace data key still wrapped by the old key is re-wrapped with the new one
 *    (`Keyring.rewrapAll`; secrets themselves are not touched);
 * 2. connection secrets still sealed directly with a master key (rows from before envelope
 *    encryption) are moved under their workspace's data key — otherwise they would become
 *    unreadable once the old key is dropped.
 *
 * Idempotent: a second run re-wraps nothing. When it reports 0 left, DLX_MASTER_KEY_PREVIOUS can
 * be removed. The workers only ever need the current DLX_MASTER_KEY (job secrets are sealed per
 * job with it). Prints counts only — never a key.
 */
export async function rotateMasterKey(ds: DataSource, current: Buffer, previous: Buffer[]): Promise<{ rewrapped: number; legacySecretsMoved: number }> {
  const keyring = new Keyring(current, previous);
  const rewrapped = await keyring.rewrapAll(ds);
  const box = new ConnectionSecretBox(keyring, [current, ...previous]);
  const dao = new ConnectionDao(ds);
  const legacy: Array<{ org_id: string; connection_id: string }> = await ds.query(`SELECT org_id, connection_id FROM workspace.connections_with_legacy_secret()`);
  let legacySecretsMoved = 0;
  for (const l of legacy) {
    await withTenant(ds, l.org_id, async (em) => {
      const conn = await dao.lockWithSecret(em, l.org_id, l.connection_id);
      if (!conn) return;
      const opened = await box.open(em, l.org_id, conn.workspaceId, conn.id, conn.secretSealed);
      if (!opened.legacy) return;
      const sealed = await box.seal(em, l.org_id, conn.workspaceId, conn.id, opened.secrets);
      if (sealed) await dao.replaceSealing(em, l.org_id, conn.id, sealed);
      else await dao.setSecret(em, l.org_id, conn.id, null, null);
      legacySecretsMoved += 1;
    });
  }
  return { rewrapped, legacySecretsMoved };
}

async function main() {
  const env = parseEnv('rotate-master-key', envSchema.pick({ DATABASE_URL: true, DLX_MASTER_KEY: true, DLX_MASTER_KEY_PREVIOUS: true, LOG_LEVEL: true }));
  const log = createLogger('rotate-master-key', env.LOG_LEVEL);
  if (!env.DLX_MASTER_KEY_PREVIOUS) {
    log.warn('DLX_MASTER_KEY_PREVIOUS is not set: only keys already wrapped by DLX_MASTER_KEY are readable, so there is nothing to re-wrap from');
  }
  const current = parseKey(env.DLX_MASTER_KEY);
  const previous = env.DLX_MASTER_KEY_PREVIOUS ? [parseKey(env.DLX_MASTER_KEY_PREVIOUS)] : [];
  const ds = await workspaceDataSource(env.DATABASE_URL, 2).initialize();
  try {
    const r = await rotateMasterKey(ds, current, previous);
    process.stdout.write(`re-wrapped ${r.rewrapped} workspace data key(s); moved ${r.legacySecretsMoved} legacy connection secret(s) under their workspace data key\n`);
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`rotate-master-key failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
