import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql } from '@datalinx/messaging';

/**
 * Why: monitoring is the system of record for runs (ARCHITECTURE.md §6). The data plane reports
 * runs and steps on the RUNS stream; this schema keeps
 * - `run`: one row per run id, created by whichever event arrives first (events are not ordered
 *   across redeliveries), listed per workspace newest first (keyset index below);
 * - `run_step`: one row per (run, seq) — a redelivered job re-runs its steps and the newest
 *   attempt overwrites the row instead of adding one;
 * - `consumed_event`: ids of events already applied, inserted in the same transaction as their
 *   effect, so a redelivered or republished event changes nothing;
 * - the service's outbox.
 * Times are stored to the millisecond (what keyset cursors carry), see `created_at`.
 */
export class Init1764500000000 implements MigrationInterface {
  name = 'Init1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE monitoring.run (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      job_id uuid NOT NULL,
      kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
      subject_id text NOT NULL,
      state text NOT NULL CHECK (state IN ('QUEUED','STARTING','STARTED','SUCCESS','FAILURE','CANCELING','CANCELED')),
      attempts int NOT NULL CHECK (attempts >= 0),
      error_code text,
      error_message text,
      summary text,
      created_at timestamptz NOT NULL,
      started_at timestamptz,
      finished_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((finished_at IS NOT NULL) = (state IN ('SUCCESS','FAILURE','CANCELED')))
    )`);
    await q.query(`CREATE INDEX run_ws_created_idx ON monitoring.run (org_id, workspace_id, created_at DESC, id DESC)`);
    await q.query(`CREATE TABLE monitoring.run_step (
      run_id uuid NOT NULL REFERENCES monitoring.run(id) ON DELETE CASCADE,
      seq int NOT NULL CHECK (seq >= 0),
      name text NOT NULL,
      status text NOT NULL CHECK (status IN ('SUCCESS','FAILURE','SKIPPED')),
      message text NOT NULL,
      duration_ms int NOT NULL CHECK (duration_ms >= 0),
      attempt int NOT NULL CHECK (attempt >= 1),
      at timestamptz NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`);
    await q.query(`CREATE TABLE monitoring.consumed_event (
      event_id text PRIMARY KEY,
      consumed_at timestamptz NOT NULL DEFAULT now()
    )`);
    for (const s of outboxTableSql('monitoring').up) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of outboxTableSql('monitoring').down) await q.query(s);
    await q.query(`DROP TABLE monitoring.consumed_event`);
    await q.query(`DROP TABLE monitoring.run_step`);
    await q.query(`DROP TABLE monitoring.run`);
  }
}
