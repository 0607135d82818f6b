import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;

/**
 * Why: connections of every type (PostgreSQL, MySQL/MariaDB, CSV/JSON files, REST APIs),
 * uploaded files, and periodic re-tests of healthy connections.
 *
 * - `connection.type` admits MYSQL, FILE and REST_API; `config` is validated by the contracts'
 *   `connectionConfig` in the service. Secrets stay in `secret_sealed`, sealed with the
 *   workspace's data key (envelope encryption).
 * - `status_before_test`: the status a connection had when its current test began, so the
 *   results consumer can tell HEALTHY → FAILING (which raises workspace.connection.failed.v1)
 *   from a connection that was already failing.
 * - `workspace.file`: the uploads a FILE connection (or a REST API's OpenAPI document) refers to;
 *   the bytes live in file storage (DLX_FILE_STORAGE_DIR/<workspace>/<file id>), the row records
 *   who uploaded what, its size and sha256. A tenant table like every other: ENABLE + FORCE ROW
 *   LEVEL SECURITY with the policy on `app.current_org_id`.
 * - Re-tests must find due connections of every org before knowing the org. As with
 *   `due_pipelines` and auth's `tenant_of`, one SECURITY DEFINER function answers only that —
 *   (org_id, connection_id) of HEALTHY connections last tested longer ago than the interval —
 *   with a fixed search_path. FORCE binds the owner too, so the owner gets a SELECT-only
 *   `owner_retest_lookup` policy; the runtime role still sees nothing without a tenant, and the
 *   dispatch itself runs in a tenant transaction that locks and re-checks the row.
 */
export class Connections1765000000000 implements MigrationInterface {
  name = 'Connections1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workspace.connection DROP CONSTRAINT connection_type_check`);
    await q.query(`ALTER TABLE workspace.connection ADD CONSTRAINT connection_type_check CHECK (type IN ('POSTGRES','MYSQL','FILE','REST_API'))`);
    await q.query(
      `ALTER TABLE workspace.connection ADD COLUMN status_before_test text CHECK (status_before_test IN ('UNTESTED','TESTING','HEALTHY','FAILING'))`,
    );
    await q.query(`CREATE INDEX connection_retest_idx ON workspace.connection (last_tested_at) WHERE status = 'HEALTHY'`);

    await q.query(`CREATE TABLE workspace.file (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
      content_type text NOT NULL CHECK (content_type IN ('text/csv','application/json','application/x-ndjson')),
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      created_by text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX file_org_ws_created_idx ON workspace.file (org_id, workspace_id, created_at DESC, id DESC)`);
    await q.query(`ALTER TABLE workspace.file ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspace.file FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY file_tenant_isolation ON workspace.file USING (${TENANT}) WITH CHECK (${TENANT})`);

    await q.query(`CREATE POLICY owner_retest_lookup ON workspace.connection FOR SELECT TO CURRENT_USER USING (true)`);
    await q.query(`CREATE FUNCTION workspace.connections_due_for_retest(p_interval_s integer, p_limit integer)
      RETURNS TABLE (org_id uuid, connection_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT c.org_id, c.id
          FROM workspace.connection c
         WHERE c.status = 'HEALTHY'
           AND (c.last_tested_at IS NULL OR c.last_tested_at <= clock_timestamp() - make_interval(secs => greatest(coalesce(p_interval_s, 3600), 1)))
         ORDER BY c.last_tested_at NULLS FIRST, c.id
         LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION workspace.connections_due_for_retest(integer, integer)`);
    await q.query(`DROP POLICY owner_retest_lookup ON workspace.connection`);
    await q.query(`DROP TABLE workspace.file`);
    await q.query(`DROP INDEX workspace.connection_retest_idx`);
    await q.query(`ALTER TABLE workspace.connection DROP COLUMN status_before_test`);
    await q.query(`ALTER TABLE workspace.connection DROP CONSTRAINT connection_type_check`);
    await q.query(`ALTER TABLE workspace.connection ADD CONSTRAINT connection_type_check CHECK (type IN ('POSTGRES'))`);
  }
}
