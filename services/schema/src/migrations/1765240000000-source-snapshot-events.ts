import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SOURCE_SNAPSHOT_CREATED_V1, sourceSnapshotCreatedParts, type SnapshotTableRef } from '@datalinx/contracts';

/**
 * Why: building a snapshot now writes `schema.source_snapshot.created.v1` to the outbox, and the
 * workspace service checks `syncConnection` against its replica of each connection's latest
 * snapshot. Snapshots built before that have no event: without this backfill every connection
 * discovered before would answer CONNECTION_NOT_DISCOVERED until discovered again.
 *
 * - One event (in its size-bounded parts, as `SourceSnapshotDao.complete` writes them) per
 *   connection's latest snapshot, into the outbox; the relay publishes them after the migration.
 * - Reads every org's snapshots: the tables' FORCEd row-level security binds their owner too, so
 *   it is lifted for the reads, inside the migration's transaction.
 * - Down deletes the unsent events of this subject (published ones are the replica's business;
 *   the next discovery of a connection replaces them anyway).
 */
export class SourceSnapshotEvents1765240000000 implements MigrationInterface {
  name = 'SourceSnapshotEvents1765240000000';

  async up(q: QueryRunner): Promise<void> {
    const tables = ['source_snapshot', 'source_table', 'source_column'];
    for (const t of tables) await q.query(`ALTER TABLE schema.${t} NO FORCE ROW LEVEL SECURITY`);
    const latest: Array<{ id: string; org_id: string; workspace_id: string; connection_id: string; version: number; run_id: string; created_at: Date }> =
      await q.query(
        `SELECT DISTINCT ON (connection_id) id, org_id, workspace_id, connection_id, version, run_id, created_at FROM schema.source_snapshot ORDER BY connection_id, version DESC`,
      );
    for (const s of latest) {
      const rows: Array<{
        schema_name: string;
        table_name: string;
        kind: 'TABLE' | 'VIEW';
        primary_key: string[];
        columns: SnapshotTableRef['columns'] | null;
      }> = await q.query(
        `SELECT t.schema_name, t.table_name, t.kind, t.primary_key,
                (SELECT jsonb_agg(jsonb_build_object('name', c.name, 'type', c.type, 'nullable', c.nullable) ORDER BY c.ordinal) FROM schema.source_column c WHERE c.table_id = t.id) AS columns
           FROM schema.source_table t WHERE t.snapshot_id = $1 ORDER BY t.schema_name, t.table_name`,
        [s.id],
      );
      const parts = sourceSnapshotCreatedParts(
        {
          orgId: s.org_id,
          workspaceId: s.workspace_id,
          connectionId: s.connection_id,
          snapshotId: s.id,
          version: s.version,
          runId: s.run_id,
          createdAt: new Date(s.created_at).toISOString(),
        },
        rows.map((r) => ({ schema: r.schema_name, name: r.table_name, kind: r.kind, columns: r.columns ?? [], primaryKey: r.primary_key })),
      );
      for (const part of parts)
        await q.query(`INSERT INTO schema.outbox (id, subject, payload) VALUES (gen_random_uuid(), $1, $2)`, [
          SOURCE_SNAPSHOT_CREATED_V1,
          JSON.stringify(part),
        ]);
    }
    for (const t of tables) await q.query(`ALTER TABLE schema.${t} FORCE ROW LEVEL SECURITY`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM schema.outbox WHERE subject = $1 AND sent_at IS NULL`, [SOURCE_SNAPSHOT_CREATED_V1]);
  }
}
