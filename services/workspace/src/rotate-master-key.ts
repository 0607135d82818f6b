import type { DataSource } from 'typeorm';
import { createLogger, parseEnv, parseKey } from '@datalinx/common';
import { envSchema } from './env';
import { workspaceDataSource } from './data-source';
import { Keyring } from './secrets/keyring';

/**
 * Master-key rotation (ARCHITECTURE.md §8). Deploy with DLX_MASTER_KEY = the new key and
 * DLX_MASTER_KEY_PREVIOUS = the old one, then run `npm run rotate-master-key` (= node
 * services/workspace/dist/rotate-master-key.js) once: every workspace data key still wrapped by
 * the old key is re-wrapped with the new one (`Keyring.rewrapAll`; secrets themselves are sealed
 * with the data keys and are not touched).
 *
 * Idempotent: a second run re-wraps nothing. When it reports 0, DLX_MASTER_KEY_PREVIOUS can
 * be removed. The workers only ever need the current DLX_MASTER_KEY (job secrets are sealed per
 * job with it). Prints counts only — never a key.
 */
export async function rotateMasterKey(ds: DataSource, current: Buffer, previous: Buffer[]): Promise<{ rewrapped: number }> {
  return { rewrapped: await new Keyring(current, previous).rewrapAll(ds) };
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
    process.stdout.write(`re-wrapped ${r.rewrapped} workspace data key(s)\n`);
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
