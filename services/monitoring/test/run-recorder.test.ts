import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import type { DataSource } from 'typeorm';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { RunEventRejectedError, RunRecorder } from '../src/managers/run-recorder';
import { at, eventually, newRunRef, stateEvent, stepEvent } from './support/run-events';

/** The write side against real PostgreSQL, without NATS: ordering, duplicates, concurrency. */
describe('RunRecorder', () => {
  let db: TestDatabase;
  /** The admin: inspects rows of every org. */
  let ds: DataSource;
  /** The runtime role the service runs as (row-level security applies). */
  let app: DataSource;
  let recorder: RunRecorder;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    recorder = new RunRecorder(app);
  });

  afterAll(async () => {
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const runRows = (runId: string) => ds.query(`SELECT * FROM monitoring.run WHERE id = $1`, [runId]);
  const stepRows = (runId: string) => ds.query(`SELECT seq, name, status, message, attempt FROM monitoring.run_step WHERE run_id = $1 ORDER BY seq`, [runId]);

  it('creates the run from whichever event comes first and never leaves a terminal state', async () => {
    const ref = newRunRef();
    expect(await recorder.record(stateEvent(ref, 'SUCCESS', { at: at(9000), summary: 'connected' }))).toBe('applied');
    expect(await recorder.record(stateEvent(ref, 'STARTED', { at: at(2000) }))).toBe('applied'); // started_at, nothing else
    await recorder.record(stateEvent(ref, 'QUEUED', { at: at(0) }));
    await recorder.record(stateEvent(ref, 'FAILURE', { at: at(12000), attempt: 2, error: { code: 'X', message: 'late' } }));
    const [row] = await runRows(ref.runId);
    expect(row).toMatchObject({
      org_id: ref.orgId,
      workspace_id: ref.workspaceId,
      job_id: ref.jobId,
      kind: 'connection.test',
      subject_id: ref.subjectId,
      state: 'SUCCESS',
      attempts: 2,
      summary: 'connected',
      error_code: null,
    });
    expect(row.created_at.toISOString()).toBe(at(0));
    expect(row.started_at.toISOString()).toBe(at(2000));
    expect(row.finished_at.toISOString()).toBe(at(9000));
  });

  it('records the Dagster run that executed a run (id and UI link), even from an event that changes no state', async () => {
    const ref = newRunRef();
    const dagster = { runId: 'f3c1a2b4-0000-4000-8000-000000000001', url: 'http://127.0.0.1:3070/runs/f3c1a2b4-0000-4000-8000-000000000001' };
    await recorder.record(stateEvent(ref, 'STARTED', { at: at(1000) }));
    expect(await recorder.record(stateEvent(ref, 'STARTED', { at: at(1500), dagster }))).toBe('applied');
    await recorder.record(stateEvent(ref, 'SUCCESS', { at: at(3000) }));
    const [row] = await runRows(ref.runId);
    expect(row).toMatchObject({ state: 'SUCCESS', dagster_run_id: dagster.runId, dagster_run_url: dagster.url });
    // Without a link, a later event leaves it.
    await recorder.record(stateEvent(ref, 'FAILURE', { at: at(4000) }));
    expect((await runRows(ref.runId))[0]).toMatchObject({ dagster_run_id: dagster.runId });
  });

  it('applies an event id once', async () => {
    const ref = newRunRef();
    const started = stateEvent(ref, 'STARTED', { at: at(1000) });
    expect(await recorder.record(started)).toBe('applied');
    expect(await recorder.record(started)).toBe('duplicate');
    const step = stepEvent(ref, 0, { at: at(1500) });
    expect(await recorder.record(step)).toBe('applied');
    expect(await recorder.record({ ...step, message: 'changed under the same id' })).toBe('duplicate');
    expect(await stepRows(ref.runId)).toEqual([{ seq: 0, name: 'step-0', status: 'SUCCESS', message: 'step 0 done', attempt: 1 }]);
  });

  it('keeps one row per step, the newest attempt winning whatever the arrival order', async () => {
    const ref = newRunRef();
    await recorder.record(stepEvent(ref, 1, { attempt: 2, status: 'SUCCESS', message: 'second try', at: at(5000) }));
    await recorder.record(stepEvent(ref, 1, { attempt: 1, status: 'FAILURE', message: 'first try', at: at(1000) }));
    await recorder.record(stepEvent(ref, 0, { attempt: 1, at: at(500) }));
    expect(await stepRows(ref.runId)).toEqual([
      { seq: 0, name: 'step-0', status: 'SUCCESS', message: 'step 0 done', attempt: 1 },
      { seq: 1, name: 'step-1', status: 'SUCCESS', message: 'second try', attempt: 2 },
    ]);
    const [row] = await runRows(ref.runId);
    expect(row).toMatchObject({ state: 'QUEUED', attempts: 2, finished_at: null });
  });

  it('rejects an event naming a run of another tenant and changes nothing', async () => {
    const ref = newRunRef();
    await recorder.record(stateEvent(ref, 'STARTED', { at: at(1000) }));
    const intruder = stateEvent({ ...ref, orgId: newRunRef().orgId }, 'FAILURE', { at: at(2000) });
    await expect(recorder.record(intruder)).rejects.toBeInstanceOf(RunEventRejectedError);
    const otherWs = stepEvent({ ...ref, workspaceId: newRunRef().workspaceId }, 0);
    await expect(recorder.record(otherWs)).rejects.toMatchObject({ code: 'RUN_TENANT_MISMATCH' });
    const [row] = await runRows(ref.runId);
    expect(row.state).toBe('STARTED');
    expect(await stepRows(ref.runId)).toEqual([]);
    // Rolled back with the rest: the event id is not marked consumed.
    expect(await ds.query(`SELECT 1 FROM monitoring.consumed_event WHERE event_id = ANY($1)`, [[intruder.eventId, otherWs.eventId]])).toEqual([]);
  });

  it('serializes concurrent events of one run (one row, a consistent final state)', async () => {
    const ref = newRunRef();
    const events = [
      stateEvent(ref, 'QUEUED', { at: at(0) }),
      stateEvent(ref, 'STARTING', { at: at(100) }),
      stateEvent(ref, 'STARTED', { at: at(200) }),
      ...Array.from({ length: 10 }, (_, i) => stepEvent(ref, i, { at: at(300 + i) })),
      stateEvent(ref, 'SUCCESS', { at: at(1000), summary: '10 steps' }),
    ];
    const outcomes = await Promise.all([...events, ...events].map((e) => recorder.record(e)));
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(events.length);
    const rows = await runRows(ref.runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: 'SUCCESS', attempts: 1, summary: '10 steps' });
    expect(rows[0].started_at.toISOString()).toBe(at(200));
    expect(await stepRows(ref.runId)).toHaveLength(10);
  });

  it('serializes events of one run on the run row: a late event never overwrites a terminal state it raced', async () => {
    const ref = newRunRef();
    await recorder.record(stateEvent(ref, 'QUEUED', { at: at(0) }));
    const waitingOnLocks = async () => {
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return n as number;
    };
    // Hold the run row, queue SUCCESS and then a late STARTED behind it, release: each must see
    // the state the other left (with read-then-write outside the row lock, STARTED would
    // overwrite SUCCESS and break the finished_at/terminal check).
    const holder = ds.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT 1 FROM monitoring.run WHERE id = $1 FOR UPDATE`, [ref.runId]);
      const success = recorder.record(stateEvent(ref, 'SUCCESS', { at: at(300) }));
      await eventually(async () => ((await waitingOnLocks()) >= 1 ? true : undefined), 'SUCCESS to wait for the row');
      const started = recorder.record(stateEvent(ref, 'STARTED', { at: at(200) }));
      await eventually(async () => ((await waitingOnLocks()) >= 2 ? true : undefined), 'STARTED to wait for the row');
      await holder.commitTransaction();
      await expect(Promise.all([success, started])).resolves.toEqual(['applied', 'applied']);
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
    const [row] = await runRows(ref.runId);
    expect(row).toMatchObject({ state: 'SUCCESS' });
    expect(row.started_at.toISOString()).toBe(at(200));
    expect(row.finished_at.toISOString()).toBe(at(300));
  });

  it('reverts its migrations cleanly', async () => {
    const other = await createTestDatabase();
    try {
      await migrate(other.url);
      const ods = await monitoringDataSource(other.url).initialize();
      try {
        const rls = () =>
          ods.query(`SELECT c.relname, c.relrowsecurity AS on, c.relforcerowsecurity AS forced, (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
                       FROM pg_class c WHERE c.relnamespace = 'monitoring'::regnamespace AND c.relname IN ('run', 'run_step') ORDER BY 1`);
        const tables = async () =>
          (
            (await ods.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'monitoring' ORDER BY table_name`)) as Array<{
              table_name: string;
            }>
          ).map((t) => t.table_name);
        expect(await rls()).toEqual([
          { relname: 'run', on: true, forced: true, policies: 1 },
          { relname: 'run_step', on: true, forced: true, policies: 1 },
        ]);
        expect(await tables()).toContain('audit_log');
        const indexes = async () =>
          (
            (await ods.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'monitoring' AND tablename = 'consumed_event' ORDER BY 1`)) as Array<{
              indexname: string;
            }>
          ).map((i) => i.indexname);
        expect(await indexes()).toEqual(['consumed_event_consumed_at_idx', 'consumed_event_pkey']);
        const runColumns = async () =>
          (
            (await ods.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'monitoring' AND table_name = 'run'`)) as Array<{
              column_name: string;
            }>
          ).map((c) => c.column_name);
        expect(await runColumns()).toEqual(expect.arrayContaining(['dagster_run_id', 'dagster_run_url']));
        await ods.undoLastMigration({ transaction: 'each' }); // the Dagster run link
        expect(await runColumns()).not.toContain('dagster_run_id');
        await ods.undoLastMigration({ transaction: 'each' }); // the pruning index
        expect(await indexes()).toEqual(['consumed_event_pkey']);
        await ods.undoLastMigration({ transaction: 'each' }); // the audit log
        expect(await tables()).toEqual(['consumed_event', 'migrations', 'outbox', 'run', 'run_step']);
        expect(await rls()).toEqual([
          { relname: 'run', on: true, forced: true, policies: 1 },
          { relname: 'run_step', on: true, forced: true, policies: 1 },
        ]);
        await ods.undoLastMigration({ transaction: 'each' });
        expect(await rls()).toEqual([
          { relname: 'run', on: false, forced: false, policies: 0 },
          { relname: 'run_step', on: false, forced: false, policies: 0 },
        ]);
        await ods.undoLastMigration({ transaction: 'each' });
        expect(await tables()).toEqual(['migrations']);
      } finally {
        await ods.destroy();
      }
    } finally {
      await other.drop();
    }
  });
});
