import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { STREAMS, runSubject, type RunEvent } from '@datalinx/contracts';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { RunRecorder } from '../src/managers/run-recorder';
import { RunEventsConsumer, parseRunEvent } from '../src/jobs/run-events.consumer';
import { at, eventually, newRunRef, stateEvent, stepEvent, type RunRef } from './support/run-events';

/**
 * The RUNS consumer end to end: real JetStream (the shared RUNS stream), real PostgreSQL.
 * Isolation on the shared NATS server: a durable name and a workspace id unique to this run;
 * the consumer only sees `runs.<that workspace>.>`; both are removed afterwards.
 */
describe('run events consumer (JetStream → PostgreSQL)', () => {
  let db: TestDatabase;
  /** The admin: inspects rows of every org. */
  let ds: DataSource;
  /** The runtime role the consumer runs as (row-level security applies). */
  let app: DataSource;
  let nats: Nats;
  let consumer: RunEventsConsumer;
  const durable = `monitoring-runs-test-${randomBytes(6).toString('hex')}`;
  const orgId = randomUUID();
  const workspaceId = randomUUID();

  beforeAll(async () => {
    if (!process.env.NATS_URL) throw new Error('NATS_URL is not set: run tests with `npm test`, which provides NATS.');
    db = await createTestDatabase();
    await migrate(db.url);
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    nats = await connectNats(process.env.NATS_URL, 'monitoring-test');
    await ensureStreams(nats.jsm);
    consumer = new RunEventsConsumer({
      js: nats.js,
      jsm: nats.jsm,
      recorder: new RunRecorder(app),
      log: createLogger('monitoring-consumer-test', 'silent'),
      durable,
      filterSubject: `runs.${workspaceId}.>`,
      concurrency: 4,
      ackWaitMs: 5000,
      maxDeliver: 5,
      backoffBaseMs: 100,
    });
    await consumer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    if (nats) {
      await nats.jsm.consumers.delete(STREAMS.RUNS.name, durable).catch(() => undefined);
      await nats.jsm.streams.purge(STREAMS.RUNS.name, { filter: `runs.${workspaceId}.>` }).catch(() => undefined);
      await nats.close();
    }
    await ds?.destroy();
    await db?.drop();
  });

  // Published without a msgID on purpose: JetStream's duplicate window would otherwise drop the
  // republished events before they reach the consumer, and the consumer's own idempotency (the
  // thing under test, which must hold beyond that 2-minute window) would never be exercised.
  const publish = async (e: RunEvent | { subject: string; body: Uint8Array }) => {
    const ack = 'subject' in e ? await nats.js.publish(e.subject, e.body) : await nats.js.publish(runSubject(e.workspaceId, e.runId), encodeJson(e));
    return ack.seq;
  };
  const publishAll = async (events: RunEvent[]) => {
    for (const e of events) await publish(e);
  };

  const runRows = (runId: string) =>
    ds.query(`SELECT state, attempts, summary, error_code, started_at, finished_at FROM monitoring.run WHERE id = $1`, [runId]);
  const stepRows = (runId: string) => ds.query(`SELECT seq, name, status, message, attempt FROM monitoring.run_step WHERE run_id = $1 ORDER BY seq`, [runId]);
  /** Everything published so far was delivered and acked or terminated (nothing pending, nothing in flight). */
  const drained = async () => {
    const info = await nats.jsm.consumers.info(STREAMS.RUNS.name, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
  };

  it('records a run and its steps once, however often events and the whole job are redelivered', async () => {
    const ref: RunRef = newRunRef({ orgId, workspaceId });
    const firstAttempt = [
      stateEvent(ref, 'QUEUED', { at: at(0) }),
      stateEvent(ref, 'STARTING', { at: at(100) }),
      stateEvent(ref, 'STARTED', { at: at(200) }),
      stepEvent(ref, 0, { step: 'resolve-host', at: at(300) }),
      stepEvent(ref, 1, { step: 'connect', status: 'FAILURE', message: 'timeout', at: at(400) }),
      stepEvent(ref, 2, { step: 'list-schemas', at: at(500) }),
      stateEvent(ref, 'SUCCESS', { at: at(600), summary: 'reachable' }),
    ];
    await publishAll(firstAttempt);
    await eventually(async () => {
      const [run] = await runRows(ref.runId);
      return run?.state === 'SUCCESS' && (await stepRows(ref.runId)).length === 3 ? run : undefined;
    }, 'the run to be recorded');

    // Every event again (a redelivery), then the job re-run by a second attempt: its states
    // and a replayed step, plus a stale first-attempt event arriving last.
    await publishAll(firstAttempt);
    await publishAll([
      stateEvent(ref, 'STARTING', { attempt: 2, at: at(10_000) }),
      stateEvent(ref, 'STARTED', { attempt: 2, at: at(10_100) }),
      stepEvent(ref, 1, { step: 'connect', status: 'SUCCESS', message: 'connected on retry', attempt: 2, at: at(10_200) }),
      stateEvent(ref, 'FAILURE', { attempt: 2, at: at(10_300), error: { code: 'LATE', message: 'too late to matter' } }),
      stateEvent(ref, 'STARTING', { attempt: 1, at: at(150) }),
    ]);
    await eventually(async () => {
      const steps = await stepRows(ref.runId);
      return steps[1]?.attempt === 2 ? steps : undefined;
    }, 'the replayed step');
    await eventually(drained, 'the consumer to drain');

    const runs = await runRows(ref.runId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'SUCCESS', attempts: 2, summary: 'reachable', error_code: null });
    expect(runs[0].started_at.toISOString()).toBe(at(200));
    expect(runs[0].finished_at.toISOString()).toBe(at(600));
    expect(await stepRows(ref.runId)).toEqual([
      { seq: 0, name: 'resolve-host', status: 'SUCCESS', message: 'step 0 done', attempt: 1 },
      { seq: 1, name: 'connect', status: 'SUCCESS', message: 'connected on retry', attempt: 2 },
      { seq: 2, name: 'list-schemas', status: 'SUCCESS', message: 'step 2 done', attempt: 1 },
    ]);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM monitoring.consumed_event`);
    expect(n).toBe(firstAttempt.length + 5);
  });

  it('terminates malformed messages without blocking the ones behind them', async () => {
    const terminated: number[] = [];
    const sub = nats.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${STREAMS.RUNS.name}.${durable}`, {
      callback: (_err, m) => {
        terminated.push((m.json() as { stream_seq: number }).stream_seq);
      },
    });
    await nats.nc.flush();
    const redeliveredBefore = (await nats.jsm.consumers.info(STREAMS.RUNS.name, durable)).num_redelivered;

    const ref = newRunRef({ orgId, workspaceId });
    const subject = runSubject(workspaceId, ref.runId);
    const bad = [
      await publish({ subject, body: new TextEncoder().encode('{ not json') }),
      await publish({ subject, body: encodeJson({ ...stateEvent(ref, 'STARTED'), v: 2 }) }), // unknown version
      await publish({ subject, body: encodeJson({ ...stateEvent(ref, 'STARTED'), state: 'RUNNING' }) }),
      await publish({ subject: runSubject(workspaceId, randomUUID()), body: encodeJson(stateEvent(ref, 'STARTED')) }), // wrong subject
    ];
    const good = [stateEvent(ref, 'STARTED', { at: at(0) }), stepEvent(ref, 0, { at: at(10) }), stateEvent(ref, 'SUCCESS', { at: at(20) })];
    await publishAll(good);
    await eventually(async () => ((await runRows(ref.runId))[0]?.state === 'SUCCESS' ? true : undefined), 'the valid events behind the malformed ones');
    // Same run id claimed by another org once the run is recorded: valid contract, rejected by the
    // recorder, terminated. (Published only now: with concurrent handlers, an earlier publish could
    // be applied first and claim the run id — the first event of a run decides its tenant.)
    bad.push(await publish(stateEvent({ ...ref, orgId: randomUUID() }, 'FAILURE', { at: at(30) })));

    await eventually(async () => (terminated.length >= bad.length ? true : undefined), 'the terminations');
    const info = await eventually(drained, 'the consumer to drain');
    sub.unsubscribe();

    expect(terminated.sort((a, b) => a - b)).toEqual(bad);
    expect(info.num_redelivered).toBe(redeliveredBefore); // terminated on first delivery, never retried
    expect(await runRows(ref.runId)).toEqual([expect.objectContaining({ state: 'SUCCESS', attempts: 1 })]);
    expect(await stepRows(ref.runId)).toHaveLength(1);
  });

  it('validates the contract and the subject before anything is recorded', () => {
    const ev = stateEvent(newRunRef(), 'STARTED');
    expect(parseRunEvent(runSubject(ev.workspaceId, ev.runId), encodeJson(ev))).toEqual(ev);
    expect(() => parseRunEvent('runs.x.y', encodeJson(ev))).toThrow(expect.objectContaining({ name: 'PermanentJobError', code: 'RUN_EVENT_WRONG_SUBJECT' }));
    expect(() => parseRunEvent(runSubject(ev.workspaceId, ev.runId), encodeJson({ ...ev, at: 'yesterday' }))).toThrow(
      expect.objectContaining({ code: 'RUN_EVENT_INVALID' }),
    );
  });
});
