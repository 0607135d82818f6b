import type { DataSource, EntityManager } from 'typeorm';

/**
 * What identifies a tenant before sign-in: the org that owns an e-mail, a token hash, a session.
 * Hashes are passed as stored: hex text (bytea columns are compared after decoding the hex).
 */
export type TenantKey =
  'login_email' | 'refresh_token' | 'mfa_challenge' | 'password_change_challenge' | 'api_key' | 'session' | 'session_cookie' | 'invitation' | 'password_reset';

/**
 * The org owning `key` (null when none), through the SECURITY DEFINER function `auth.tenant_of`
 * (migration AuthRowLevelSecurity1765000000000): the one question the runtime role may ask across
 * tenants. Everything after it runs in a tenant transaction for that org.
 */
export async function tenantOf(em: EntityManager | DataSource, kind: TenantKey, key: string): Promise<string | null> {
  const rows: Array<{ org: string | null }> = await em.query(`SELECT auth.tenant_of($1, $2) AS org`, [kind, key]);
  return rows[0]?.org ?? null;
}

/**
 * A transaction scoped to the tenant that owns `key`: the org is looked up and
 * `app.current_org_id` set (SET LOCAL semantics) before `fn` runs, so row-level security shows
 * `fn` that org's rows only. For an unknown key no tenant is set and `fn` sees no rows at all —
 * the same "not found" an invalid token must get anyway.
 */
export function withTenantOf<T>(ds: DataSource, kind: TenantKey, key: string, fn: (em: EntityManager, orgId: string | null) => Promise<T>): Promise<T> {
  return ds.transaction(async (em) => {
    const orgId = await tenantOf(em, kind, key);
    if (orgId) await em.query(`SELECT set_config('app.current_org_id', $1, true)`, [orgId]);
    return fn(em, orgId);
  });
}

/** Platform-wide uniqueness (an e-mail across every org, an org slug), as a yes/no only. */
export async function identifierTaken(em: EntityManager | DataSource, kind: 'email' | 'slug', key: string): Promise<boolean> {
  const rows: Array<{ taken: boolean }> = await em.query(`SELECT auth.identifier_taken($1, $2) AS taken`, [kind, key]);
  return rows[0]?.taken === true;
}
