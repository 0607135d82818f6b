import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: row-level security is the last wall (ARCHITECTURE.md §3), and auth holds the most
 * sensitive tenant rows of all. Every tenant table of auth gets ENABLE + FORCE ROW LEVEL SECURITY
 * and a policy on `app.current_org_id` (set per transaction by `withTenant`); the organization
 * table is its own tenant (policy on `id`). The service connects as the runtime role, which owns
 * nothing, so it sees one org per transaction and can write only that org's rows.
 *
 * Sign-in starts before the tenant is known: an e-mail, a refresh token, an MFA challenge, an
 * API key, a session cookie, an invitation or reset link. `auth.tenant_of(kind, key)` answers
 * exactly one question — which org owns this key — and nothing else: it is SECURITY DEFINER
 * (runs as this migration's role, the tables' owner), with a fixed search_path, and the owner
 * holds a SELECT-only `owner_lookup` policy on the lookup tables (FORCE binds the owner too).
 * The caller then opens a normal tenant transaction for that org; an unknown key gives null and
 * the transaction sees nothing. `auth.identifier_taken(kind, key)` answers the two platform-wide
 * uniqueness questions (an e-mail, an org slug) with a boolean.
 *
 * Not tenant tables, on purpose: `outbox` (the transport of already-decided events: the relay
 * reads every org's rows), `email_outbox` (the same for e-mail; bodies are sealed), and
 * `login_failure` (keyed by sha256 of an e-mail or IP, no org: brute-force limits must also count
 * e-mails that belong to no org).
 */
const TENANT_TABLES = [
  'user',
  'password_history',
  'session',
  'refresh_token',
  'workspace_grant',
  'mfa_totp',
  'mfa_backup_code',
  'mfa_challenge',
  'password_change_challenge',
  'service_account',
  'api_key',
  'invitation',
  'password_reset',
] as const;

/** The tables `tenant_of` / `identifier_taken` read. */
const LOOKUP_TABLES = [
  'organization',
  'user',
  'session',
  'refresh_token',
  'mfa_challenge',
  'password_change_challenge',
  'api_key',
  'invitation',
  'password_reset',
] as const;

const CURRENT_ORG = `nullif(current_setting('app.current_org_id', true), '')::uuid`;

export class AuthRowLevelSecurity1765000000000 implements MigrationInterface {
  name = 'AuthRowLevelSecurity1765000000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of TENANT_TABLES) {
      await q.query(`ALTER TABLE auth."${t}" ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE auth."${t}" FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY tenant_isolation ON auth."${t}" USING (org_id = ${CURRENT_ORG}) WITH CHECK (org_id = ${CURRENT_ORG})`);
    }
    await q.query(`ALTER TABLE auth.organization ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE auth.organization FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY tenant_isolation ON auth.organization USING (id = ${CURRENT_ORG}) WITH CHECK (id = ${CURRENT_ORG})`);
    for (const t of LOOKUP_TABLES) await q.query(`CREATE POLICY owner_lookup ON auth."${t}" FOR SELECT TO CURRENT_USER USING (true)`);

    await q.query(`CREATE FUNCTION auth.tenant_of(p_kind text, p_key text) RETURNS uuid
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
      BEGIN
        IF p_key IS NULL OR p_key = '' THEN RETURN NULL; END IF;
        CASE p_kind
          WHEN 'login_email' THEN RETURN (SELECT org_id FROM auth."user" WHERE lower(email) = lower(p_key));
          WHEN 'refresh_token' THEN RETURN (SELECT org_id FROM auth.refresh_token WHERE token_hash = p_key);
          WHEN 'mfa_challenge' THEN RETURN (SELECT org_id FROM auth.mfa_challenge WHERE token_hash = p_key);
          WHEN 'password_change_challenge' THEN RETURN (SELECT org_id FROM auth.password_change_challenge WHERE token_hash = p_key);
          WHEN 'api_key' THEN RETURN (SELECT org_id FROM auth.api_key WHERE key_hash = p_key);
          WHEN 'session' THEN
            IF p_key !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN RETURN NULL; END IF;
            RETURN (SELECT org_id FROM auth.session WHERE id = p_key::uuid);
          WHEN 'session_cookie' THEN
            IF p_key !~* '^[0-9a-f]{64}$' THEN RETURN NULL; END IF;
            RETURN (SELECT org_id FROM auth.session WHERE cookie_hash = decode(p_key, 'hex'));
          WHEN 'invitation' THEN
            IF p_key !~* '^[0-9a-f]{64}$' THEN RETURN NULL; END IF;
            RETURN (SELECT org_id FROM auth.invitation WHERE token_hash = decode(p_key, 'hex'));
          WHEN 'password_reset' THEN
            IF p_key !~* '^[0-9a-f]{64}$' THEN RETURN NULL; END IF;
            RETURN (SELECT org_id FROM auth.password_reset WHERE token_hash = decode(p_key, 'hex'));
          ELSE RAISE EXCEPTION 'auth.tenant_of: unknown kind %', p_kind USING ERRCODE = '22023';
        END CASE;
      END $$`);
    await q.query(`CREATE FUNCTION auth.identifier_taken(p_kind text, p_key text) RETURNS boolean
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
      BEGIN
        CASE p_kind
          WHEN 'email' THEN RETURN EXISTS (SELECT 1 FROM auth."user" WHERE lower(email) = lower(p_key));
          WHEN 'slug' THEN RETURN EXISTS (SELECT 1 FROM auth.organization WHERE slug = p_key);
          ELSE RAISE EXCEPTION 'auth.identifier_taken: unknown kind %', p_kind USING ERRCODE = '22023';
        END CASE;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION auth.identifier_taken(text, text)`);
    await q.query(`DROP FUNCTION auth.tenant_of(text, text)`);
    for (const t of LOOKUP_TABLES) await q.query(`DROP POLICY owner_lookup ON auth."${t}"`);
    for (const t of ['organization', ...TENANT_TABLES]) {
      await q.query(`DROP POLICY tenant_isolation ON auth."${t}"`);
      await q.query(`ALTER TABLE auth."${t}" NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE auth."${t}" DISABLE ROW LEVEL SECURITY`);
    }
  }
}
