import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createTestDatabase, runtimeRoleUrl, withTenant, type TestDatabase } from '@datalinx/db';
import { workspaceDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { Keyring, masterKeyId } from '../src/secrets/keyring';

/**
 * Envelope encryption, on the real database as the runtime role (row-level security on):
 * per-workspace data keys wrapped by the master key, secrets sealed by the data key, and a
 * master-key rotation that re-wraps data keys without touching a single secret.
 */
describe('workspace keyring (envelope encryption)', () => {
  let db: TestDatabase;
  let app: DataSource;
  /** The owner (bypasses row-level security as superuser): plants workspaces, inspects rows. */
  let admin: DataSource;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const wsA = randomUUID();
  const wsA2 = randomUUID();
  const wsB = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    admin = await workspaceDataSource(db.url, 2).initialize();
    for (const [org, ws, slug] of [
      [orgA, wsA, 'a1'],
      [orgA, wsA2, 'a2'],
      [orgB, wsB, 'b1'],
    ] as const) {
      await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, $3, $3, 'DEV')`, [ws, org, slug]);
    }
    app = await workspaceDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 2).initialize();
  });

  afterAll(async () => {
    await app?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  const inA = <T>(fn: (em: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<T>) => withTenant(app, orgA, fn);

  it('seals with a per-workspace data key that is stored only wrapped, and opens again', async () => {
    const ring = new Keyring(randomBytes(32));
    const sealed = await inA((em) => ring.seal(em, orgA, wsA, 's3cret-password', 'connection:1'));
    expect(sealed.kid).toBe('ws');
    expect(JSON.stringify(sealed)).not.toContain('s3cret');
    expect(await inA((em) => ring.unseal(em, orgA, wsA, sealed, 'connection:1'))).toBe('s3cret-password');
    // Additional data binds the secret to its row: another row's id does not open it.
    await expect(inA((em) => ring.unseal(em, orgA, wsA, sealed, 'connection:2'))).rejects.toThrow();
    // Another workspace has another key.
    await expect(inA((em) => ring.unseal(em, orgA, wsA2, sealed, 'connection:1'))).rejects.toThrow();
    const [row] = await admin.query(`SELECT wrapped, master_key_id FROM workspace.data_key WHERE workspace_id = $1`, [wsA]);
    expect(row.wrapped).toMatchObject({ alg: 'A256GCM' });
    expect(Object.keys(row.wrapped).sort()).toEqual(['alg', 'data', 'iv', 'tag']);
  });

  it('creates each data key once, even when first used concurrently', async () => {
    const ring = new Keyring(randomBytes(32));
    const ws = randomUUID();
    await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, 'c', 'c', 'DEV')`, [ws, orgA]);
    const sealed = await Promise.all(Array.from({ length: 4 }, (_x, i) => inA((em) => ring.seal(em, orgA, ws, `v${i}`, 'x'))));
    const opened = await Promise.all(sealed.map((s) => inA((em) => ring.unseal(em, orgA, ws, s, 'x'))));
    expect(opened).toEqual(['v0', 'v1', 'v2', 'v3']);
    expect(await admin.query(`SELECT count(*)::int AS n FROM workspace.data_key WHERE workspace_id = $1`, [ws])).toEqual([{ n: 1 }]);
  });

  it('never shows or creates a key of another org’s workspace', async () => {
    const ring = new Keyring(randomBytes(32));
    await withTenant(app, orgB, (em) => ring.seal(em, orgB, wsB, 'b-secret', 'x'));
    // Org A's transaction cannot read org B's key, and cannot store one for org B's workspace.
    await expect(inA((em) => ring.dataKey(em, orgA, wsB))).rejects.toThrow();
    expect(await inA((em) => em.query(`SELECT count(*)::int AS n FROM workspace.data_key WHERE workspace_id = $1`, [wsB]))).toEqual([{ n: 0 }]);
  });

  it('rotates the master key: data keys are re-wrapped, secrets untouched and still readable', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const org = randomUUID();
    const wss = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, ws] of wss.entries())
      await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, $3, $3, 'DEV')`, [ws, org, `r${i}`]);
    const before = new Keyring(oldKey);
    const secrets = [];
    for (const ws of wss) secrets.push(await withTenant(app, org, (em) => before.seal(em, org, ws, `secret of ${ws}`, 'c')));

    // The new key alone cannot read data keys wrapped by the old one: it names what is missing.
    await expect(withTenant(app, org, (em) => new Keyring(newKey).unseal(em, org, wss[0]!, secrets[0]!, 'c'))).rejects.toThrow(/DLX_MASTER_KEY_PREVIOUS/);
    const during = new Keyring(newKey, [oldKey]);
    expect(await during.rewrapAll(app)).toBe(3);
    expect(await during.rewrapAll(app)).toBe(0);
    const ids = await admin.query(`SELECT DISTINCT master_key_id FROM workspace.data_key WHERE org_id = $1`, [org]);
    expect(ids).toEqual([{ master_key_id: masterKeyId(newKey) }]);
    // After the rotation the old key is no longer needed; the sealed secrets were never rewritten.
    const after = new Keyring(newKey);
    for (const [i, ws] of wss.entries()) expect(await withTenant(app, org, (em) => after.unseal(em, org, ws, secrets[i]!, 'c'))).toBe(`secret of ${ws}`);
  });
});
