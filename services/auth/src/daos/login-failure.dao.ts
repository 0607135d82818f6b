import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';

export type AttemptScope = 'ACCOUNT' | 'IP';

const keyHash = (scope: AttemptScope, key: string) => createHash('sha256').update(`${scope}:${key}`, 'utf8').digest('hex');

/** Failed sign-in attempts per account (e-mail) and per IP, in a sliding window. Not tenant-scoped. */
export class LoginFailureDao {
  constructor(private readonly ds: DataSource) {}

  /** `now`: the instant of the failure (null: the database clock). */
  async record(keys: ReadonlyArray<[AttemptScope, string]>, windowSeconds: number, now: Date | null = null): Promise<void> {
    for (const [scope, key] of keys) {
      const h = keyHash(scope, key);
      await this.ds.query(
        `DELETE FROM auth.login_failure WHERE scope = $1 AND key_hash = $2 AND at < coalesce($4::timestamptz, clock_timestamp()) - make_interval(secs => $3)`,
        [scope, h, windowSeconds, now],
      );
      await this.ds.query(`INSERT INTO auth.login_failure (scope, key_hash, at) VALUES ($1, $2, coalesce($3::timestamptz, clock_timestamp()))`, [
        scope,
        h,
        now,
      ]);
    }
  }

  /**
   * Seconds until the key is below `max` failures in the window again, or 0 when it is already:
   * the `max`-th most recent failure has to leave the window. `now`: null = the database clock.
   */
  async retryAfterSeconds(
    scope: AttemptScope,
    key: string,
    max: number,
    windowSeconds: number,
    now: Date | null = null,
    em: EntityManager = this.ds.manager,
  ): Promise<number> {
    const rows: Array<{ wait: string }> = await em.query(
      `SELECT ceil(extract(epoch FROM (at + make_interval(secs => $3)) - coalesce($5::timestamptz, clock_timestamp())))::text AS wait
       FROM auth.login_failure WHERE scope = $1 AND key_hash = $2 AND at > coalesce($5::timestamptz, clock_timestamp()) - make_interval(secs => $3)
       ORDER BY at DESC OFFSET $4 LIMIT 1`,
      [scope, keyHash(scope, key), windowSeconds, max - 1, now],
    );
    return rows[0] ? Math.max(1, Number(rows[0].wait)) : 0;
  }

  /** A full sign-in clears the account's failures (never the IP's: one good account must not reset an attacker's address). */
  async clearAccount(key: string, em: EntityManager = this.ds.manager): Promise<void> {
    await em.query(`DELETE FROM auth.login_failure WHERE scope = 'ACCOUNT' AND key_hash = $1`, [keyHash('ACCOUNT', key)]);
  }
}
