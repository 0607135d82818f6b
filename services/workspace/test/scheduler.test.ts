import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createLogger, unseal } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, withTenant, type TestDatabase } from '@datalinx/db';
import { connectNats, decodeJson, ensureStreams, OutboxRelay, type Nats } from '@datalinx/messaging';
import { pipelineRunJobV2, pipelineSecretAad, runStateChangedV1, STREAMS, type PipelineDefinitionV1 } from '@datalinx/contracts';
import { workspaceDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { jobDispatchSettings } from '../src/jobs/job-dispatch-settings';
import { PipelineScheduler } from '../src/scheduler/scheduler';
import { latestRunAtOrBefore, nextRunAfter, nextRunTimes } from '../src/scheduler/cron';
import { ManualClock } from '../../../test/support/clock';

const log = createLogger('scheduler-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The UTC instant at which the wall clock of `tz` shows y-m-d hh:mm — computed with Intl only
 * (independently of cron-parser), trying every quarter-hour offset; the earliest match wins.
 */
function zoned(tz: string, y: number, m: number, d: number, hh: number, mm: number): Date | null {
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const want = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}, ${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
  const candidates: Date[] = [];
  for (let off = -14 * 60; off <= 14 * 60; off += 15) {
    const t = new Date(Date.UTC(y, m - 1, d, hh, mm) - off * MINUTE);
    if (fmt.format(t) === want) candidates.push(t);
  }
  candidates.sort((a, b) => a.getTime() - b.getTime());
  return candidates[0] ?? null;
}

/** The calendar date (y, m, d) of `at` in `tz`, shifted by `days`. */
function localDate(tz: string, at: Date, days = 0): [number, number, number] {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at).split('-').map(Number);
  const shifted = new Date(Date.UTC(parts[0]!, parts[1]! - 1, parts[2]! + days));
  return [shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, shifted.getUTCDate()];
}

/** The latest daily hh:mm of `tz` at or before `at` (Intl arithmetic, no cron library). */
function latestDaily(tz: string, hh: number, mm: number, at: Date): Date {
  for (let back = 0; back <= 3; back++) {
    const t = zoned(tz, ...localDate(tz, at, -back), hh, mm);
    if (t && t.getTime() <= at.getTime()) return t;
  }
  throw new Error('no daily slot found');
}
function nextDaily(tz: string, hh: number, mm: number, after: Date): Date {
  for (let fwd = 0; fwd <= 3; fwd++) {
    const t = zoned(tz, ...localDate(tz, after, fwd), hh, mm);
    if (t && t.getTime() > after.getTime()) return t;
  }
  throw new Error('no daily slot found');
}

describe('cron slots in a time zone (the scheduler’s arithmetic)', () => {
  it('fires "30 2 * * *" in Europe/Berlin at 02:30 local on both sides of a DST change', () => {
    // Spring forward (2026-03-29 02:00 CET → 03:00 CEST): 02:30 does not exist that day; the run
    // happens once, at 03:30 CEST (01:30Z), the instant the skipped hour maps to.
    expect(nextRunTimes('30 2 * * *', 'Europe/Berlin', new Date('2026-03-27T12:00:00Z'), 3).map((d) => d.toISOString())).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    // Fall back (2026-10-25 03:00 CEST → 02:00 CET): 02:30 happens twice; it runs once, at the first.
    expect(nextRunTimes('30 2 * * *', 'Europe/Berlin', new Date('2026-10-23T12:00:00Z'), 3).map((d) => d.toISOString())).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // The same answers as plain Intl arithmetic on ordinary days.
    expect(nextRunAfter('30 2 * * *', 'Europe/Berlin', new Date('2026-07-01T12:00:00Z'))).toEqual(zoned('Europe/Berlin', 2026, 7, 2, 2, 30));
    expect(nextRunAfter('30 2 * * *', 'Europe/Berlin', new Date('2026-12-01T12:00:00Z'))).toEqual(zoned('Europe/Berlin', 2026, 12, 2, 2, 30));
  });

  it('takes the latest slot at or before an instant (a slot exactly at the instant counts)', () => {
    expect(latestRunAtOrBefore('* * * * *', 'UTC', new Date('2026-01-01T00:01:00.000Z')).toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(latestRunAtOrBefore('* * * * *', 'UTC', new Date('2026-01-01T00:01:59.999Z')).toISOString()).toBe('2026-01-01T00:01:00.000Z');
    expect(latestRunAtOrBefore('0 3 * * *', 'Asia/Kolkata', new Date('2026-01-02T00:00:00Z')).toISOString()).toBe('2026-01-01T21:30:00.000Z');
    expect(nextRunAfter('* * * * *', 'UTC', new Date('2026-01-01T00:01:00.000Z')).toISOString()).toBe('2026-01-01T00:02:00.000Z');
  });
});

interface Seeded {
  id: string;
  orgId: string;
  workspaceId: string;
  schedule: string | null;
  timeZone: string;
  nextRunAt: Date | null;
}

interface Instance {
  name: string;
  ds: DataSource;
  relay: OutboxRelay;
  scheduler: PipelineScheduler;
}

describe('pipeline scheduler: two instances, a crash and a restart, each due slot dispatched exactly once', () => {
  let db: TestDatabase;
  let admin: DataSource;
  let appUrl: string;
  let nats: Nats;
  const instances: Instance[] = [];
  const orgs = [randomUUID(), randomUUID(), randomUUID()];
  const workspaces = orgs.map(() => randomUUID());
  const connections = orgs.map(() => randomUUID());
  const passwords = orgs.map(() => `pw-${randomUUID()}`);
  /** A fourth org whose workspace's warehouse is still being provisioned (PENDING): its slots are refused. */
  const pendingOrg = { orgId: randomUUID(), workspaceId: randomUUID(), connectionId: randomUUID() };
  const warehouseOf = (workspaceId: string) => ({
    schema: `ws_${workspaceId.replace(/-/g, '').slice(0, 12)}`,
    role: `dlx_ws_${workspaceId.replace(/-/g, '').slice(0, 12)}`,
  });
  const masterKey = randomBytes(32);
  const settings = jobDispatchSettings({ masterKey, testTimeoutMs: 10_000 });
  const pipelines: Seeded[] = [];
  let jobsSeqBefore = 0;

  const definitionOf = (i: number): PipelineDefinitionV1 => ({
    sources: [{ connectionId: connections[i]!, tables: ['public.orders'] }],
    targets: [randomUUID()],
    checks: [{ type: 'NOT_NULL', column: 'id' }],
    exports: [],
    schemaDriftPolicy: 'BLOCK',
  });

  /** Every instance of a test reads the same clock, which the test moves: no test waits for a minute boundary. */
  async function startInstance(name: string, clock: ManualClock, intervalMs = 20): Promise<Instance> {
    const ds = await workspaceDataSource(appUrl, 3).initialize();
    const relay = new OutboxRelay(ds, nats.js, log, { pollIntervalMs: 200 }).start();
    const scheduler = new PipelineScheduler({ ds, log: log.child({ instance: name }), intervalMs, onOutboxCommit: () => relay.kick(), settings, clock });
    const inst = { name, ds, relay, scheduler };
    instances.push(inst);
    return inst;
  }
  async function stopInstance(inst: Instance): Promise<void> {
    await inst.scheduler.stop();
    await inst.relay.stop();
    if (inst.ds.isInitialized) await inst.ds.destroy();
  }

  async function seed(i: number, schedule: string | null, timeZone: string, nextRunAt: Date | null, enabled = true): Promise<Seeded> {
    return seedIn({ orgId: orgs[i]!, workspaceId: workspaces[i]!, definition: definitionOf(i) }, schedule, timeZone, nextRunAt, enabled);
  }
  async function seedIn(
    at: { orgId: string; workspaceId: string; definition: PipelineDefinitionV1 },
    schedule: string | null,
    timeZone: string,
    nextRunAt: Date | null,
    enabled = true,
  ): Promise<Seeded> {
    const id = randomUUID();
    await admin.query(
      `INSERT INTO workspace.pipeline (id, org_id, workspace_id, name, definition, schedule, time_zone, enabled, next_run_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [id, at.orgId, at.workspaceId, `p-${id.slice(0, 8)}`, JSON.stringify(at.definition), schedule, timeZone, enabled, nextRunAt],
    );
    const p = { id, orgId: at.orgId, workspaceId: at.workspaceId, schedule, timeZone, nextRunAt };
    pipelines.push(p);
    return p;
  }
  /** A POSTGRES source with a password, sealed under its workspace's data key as the API would. */
  async function seedConnection(orgId: string, workspaceId: string, id: string, password: string): Promise<void> {
    const config = { type: 'POSTGRES', host: `db-${id.slice(0, 8)}.internal`, port: 5432, database: 'crm', user: 'etl', sslMode: 'prefer' };
    await admin.query(
      `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type, config) VALUES ($1, $2, $3, 'src', 'SOURCE', 'POSTGRES', $4)`,
      [id, orgId, workspaceId, JSON.stringify(config)],
    );
    await withTenant(admin, orgId, async (em) => {
      const sealed = await settings.box.seal(em, orgId, workspaceId, id, { password });
      await em.query(`UPDATE workspace.connection SET secret_sealed = $2, secret_updated_at = now() WHERE id = $1`, [id, JSON.stringify(sealed)]);
    });
  }
  async function seedWarehouse(orgId: string, workspaceId: string, status: 'READY' | 'PENDING'): Promise<void> {
    const { schema, role } = warehouseOf(workspaceId);
    await admin.query(
      `INSERT INTO workspace.warehouse (workspace_id, org_id, mode, database, schema_name, role_name, status) VALUES ($1, $2, 'PLATFORM', 'dlx_wh', $3, $4, $5)`,
      [workspaceId, orgId, schema, role, status],
    );
  }

  const dueCount = async (at: Date) =>
    (await admin.query(`SELECT count(*)::int AS n FROM workspace.pipeline WHERE enabled AND next_run_at <= $1`, [at]))[0].n as number;
  async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !(await cond());) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await sleep(50);
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    admin = await workspaceDataSource(db.url, 2).initialize();
    appUrl = await runtimeRoleUrl(process.env.DATABASE_URL, db.url);
    nats = await connectNats(process.env.NATS_URL!, 'scheduler-test');
    await ensureStreams(nats.jsm);
    jobsSeqBefore = (await nats.jsm.streams.info(STREAMS.JOBS.name)).state.last_seq;
    for (let i = 0; i < orgs.length; i++) {
      await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, $3, $3, 'DEV')`, [
        workspaces[i],
        orgs[i],
        `ws-${i}`,
      ]);
      await seedConnection(orgs[i]!, workspaces[i]!, connections[i]!, passwords[i]!);
      await seedWarehouse(orgs[i]!, workspaces[i]!, 'READY');
    }
    await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, 'pending', 'pending', 'DEV')`, [
      pendingOrg.workspaceId,
      pendingOrg.orgId,
    ]);
    await seedConnection(pendingOrg.orgId, pendingOrg.workspaceId, pendingOrg.connectionId, 'pending-pw');
    await seedWarehouse(pendingOrg.orgId, pendingOrg.workspaceId, 'PENDING');
  });

  afterAll(async () => {
    for (const inst of instances) await stopInstance(inst).catch(() => undefined);
    for (const ws of [...workspaces, pendingOrg.workspaceId])
      await nats?.jsm.streams.purge(STREAMS.JOBS.name, { filter: `jobs.pipeline.run.${ws}` }).catch(() => undefined);
    await nats?.close();
    await admin?.destroy();
    await db?.drop();
  });

  it('dispatches every due slot once across instances, crashes and restarts; advances next_run_at in the pipeline’s zone', async () => {
    // The first phase runs 10 s into minute m0; the second, 10 s into m1 (the clock moves, nobody waits).
    const m0 = new Date('2026-06-15T10:00:00.000Z');
    const m1 = new Date(m0.getTime() + MINUTE);
    const clock = new ManualClock(new Date(m0.getTime() + 10_000));
    const startedAt = clock.now();

    // Every-minute pipelines of three orgs in three zones, each having missed three slots (down for a while).
    const everyMinute: Seeded[] = [];
    for (let i = 0; i < orgs.length; i++) {
      for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York']) everyMinute.push(await seed(i, '* * * * *', tz, new Date(m0.getTime() - 3 * MINUTE)));
    }
    // Daily 02:30 Berlin (DST zone), last due days ago; daily 03:00 Kolkata (+05:30), due yesterday.
    const berlin = await seed(0, '30 2 * * *', 'Europe/Berlin', latestDaily('Europe/Berlin', 2, 30, new Date(startedAt.getTime() - 3 * 24 * 3600_000)));
    const kolkata = await seed(1, '0 3 * * *', 'Asia/Kolkata', latestDaily('Asia/Kolkata', 3, 0, new Date(startedAt.getTime() - 24 * 3600_000)));
    // Not due: manual-only, due tomorrow, disabled.
    const manualOnly = await seed(2, null, 'UTC', null);
    const future = await seed(2, '* * * * *', 'UTC', new Date(startedAt.getTime() + 24 * 3600_000));
    const disabled = await seed(1, '* * * * *', 'UTC', null, false);

    // The cross-tenant lookup: the runtime role sees no pipeline without a tenant, the SECURITY
    // DEFINER function shows (org, pipeline, next_run_at) of the due ones and nothing else.
    const probe = await startInstance('probe', clock);
    expect(await probe.ds.query(`SELECT count(*)::int AS n FROM workspace.pipeline`)).toEqual([{ n: 0 }]);
    const due: Array<Record<string, unknown>> = await probe.ds.query(`SELECT * FROM workspace.due_pipelines(1000, $1)`, [clock.now()]);
    expect(Object.keys(due[0]!).sort()).toEqual(['next_run_at', 'org_id', 'pipeline_id']);
    expect(due.map((r) => r.pipeline_id).sort()).toEqual([...everyMinute, berlin, kolkata].map((p) => p.id).sort());
    await stopInstance(probe);

    // A crash in the middle of a dispatch (after the ledger row and the outbox rows, before the
    // commit): nothing of it remains, every pipeline is still due.
    const crashing = await startInstance('crashing', clock);
    (crashing.scheduler as unknown as { dao: { update: () => Promise<void> } }).dao.update = async () => {
      throw new Error('simulated crash before commit');
    };
    expect(await crashing.scheduler.tick()).toBe(0);
    expect(await admin.query(`SELECT count(*)::int AS n FROM workspace.pipeline_run`)).toEqual([{ n: 0 }]);
    expect(await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox`)).toEqual([{ n: 0 }]);
    expect(await dueCount(clock.now())).toBe(everyMinute.length + 2);
    await stopInstance(crashing);

    // Two instances ticking every 20 ms, plus bursts of concurrent ticks on both.
    const a = await startInstance('A', clock);
    const b = await startInstance('B', clock);
    a.scheduler.start();
    b.scheduler.start();
    await Promise.all([a.scheduler.tick(), b.scheduler.tick(), a.scheduler.tick(), b.scheduler.tick()]);
    await until('nothing is due', async () => (await dueCount(clock.now())) === 0, 15_000);
    const t1 = clock.now();

    // "Restart": A stops mid-way and a new instance C takes its place; the clock moves into the
    // next minute and B and C dispatch its slot.
    await stopInstance(a);
    const c = await startInstance('C', clock);
    c.scheduler.start();
    clock.set(new Date(m1.getTime() + 10_000));
    await until(
      `the ${m1.toISOString()} slot was dispatched`,
      async () => {
        const [{ n }] = await admin.query(`SELECT count(*)::int AS n FROM workspace.pipeline WHERE schedule = '* * * * *' AND enabled AND next_run_at > $1`, [
          m1,
        ]);
        return n === everyMinute.length + 1; // + the one due tomorrow
      },
      30_000,
    );
    // Stopping waits for the tick in flight, so the ledger below is final: any (wrong) second
    // dispatch of a slot would be in it. A fresh instance at the same instant finds nothing due.
    await stopInstance(b);
    await stopInstance(c);
    const late = await startInstance('late', clock);
    expect(await late.scheduler.tick()).toBe(0);
    await stopInstance(late);

    // ── the ledger: exactly the expected slots, once each ──
    const runs: Array<{ pipeline_id: string; scheduled_for: Date; job_id: string; run_id: string; trigger: string; org_id: string; workspace_id: string }> =
      await admin.query(
        `SELECT pipeline_id, scheduled_for, job_id, run_id, trigger, org_id, workspace_id FROM workspace.pipeline_run ORDER BY pipeline_id, scheduled_for`,
      );
    const slotsOf = (p: Seeded) => runs.filter((r) => r.pipeline_id === p.id).map((r) => r.scheduled_for.toISOString());
    // Missed slots are not replayed: the latest missed one (m0) runs, then m1.
    for (const p of everyMinute) expect(slotsOf(p)).toEqual([m0.toISOString(), m1.toISOString()]);
    const dailyExpected = (tz: string, hh: number, mm: number) => [
      ...new Set([latestDaily(tz, hh, mm, t1), latestDaily(tz, hh, mm, m1)].map((d) => d.toISOString())),
    ];
    expect(slotsOf(berlin)).toEqual(dailyExpected('Europe/Berlin', 2, 30));
    expect(slotsOf(kolkata)).toEqual(dailyExpected('Asia/Kolkata', 3, 0));
    for (const p of [manualOnly, future, disabled]) expect(slotsOf(p)).toEqual([]);
    expect(runs.every((r) => r.trigger === 'SCHEDULE')).toBe(true);
    for (const r of runs) {
      const p = pipelines.find((x) => x.id === r.pipeline_id)!;
      expect([r.org_id, r.workspace_id]).toEqual([p.orgId, p.workspaceId]);
    }

    // ── next_run_at: the first slot after the last dispatched one, in the pipeline's zone ──
    const next = new Map<string, Date | null>(
      (await admin.query(`SELECT id, next_run_at FROM workspace.pipeline`)).map((r: { id: string; next_run_at: Date | null }) => [r.id, r.next_run_at]),
    );
    for (const p of everyMinute) expect(next.get(p.id)).toEqual(new Date(m1.getTime() + MINUTE));
    expect(next.get(berlin.id)).toEqual(nextDaily('Europe/Berlin', 2, 30, new Date(slotsOf(berlin).at(-1)!)));
    expect(next.get(kolkata.id)).toEqual(nextDaily('Asia/Kolkata', 3, 0, new Date(slotsOf(kolkata).at(-1)!)));
    expect(next.get(berlin.id)!.getTime()).toBeGreaterThan(startedAt.getTime());
    expect(next.get(future.id)).toEqual(future.nextRunAt);
    expect(next.get(manualOnly.id)).toBeNull();

    // ── the outbox: one job (id = job id) and one QUEUED run event per ledger row ──
    await until(
      'the relays published everything',
      async () => (await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE sent_at IS NULL`))[0].n === 0,
      10_000,
    ).catch(async () => {
      // The instances are stopped: publish the rest with a relay of our own.
      const r = new OutboxRelay(admin, nats.js, log);
      await r.drain();
    });
    const outbox: Array<{ id: string; subject: string; payload: Record<string, unknown> }> = await admin.query(
      `SELECT id, subject, payload FROM workspace.outbox`,
    );
    const jobRows = outbox.filter((o) => o.subject.startsWith('jobs.'));
    const eventRows = outbox.filter((o) => o.subject.startsWith('runs.'));
    expect(jobRows.map((o) => o.id).sort()).toEqual(runs.map((r) => r.job_id).sort());
    expect(eventRows).toHaveLength(runs.length);
    for (const r of runs) {
      const row = jobRows.find((o) => o.id === r.job_id)!;
      expect(row.subject).toBe(`jobs.pipeline.run.${r.workspace_id}`);
      const job = pipelineRunJobV2.parse(row.payload);
      expect(job).toMatchObject({
        kind: 'pipeline.run',
        v: 2,
        jobId: r.job_id,
        runId: r.run_id,
        orgId: r.org_id,
        workspaceId: r.workspace_id,
        requestedBy: 'scheduler',
      });
      // v2: the definition snapshot plus the load stage (warehouse destination, the source's config and re-sealed secrets).
      const i = orgs.findIndex((o) => o === r.org_id);
      expect(job.payload).toEqual({
        trigger: 'SCHEDULE',
        pipelineId: r.pipeline_id,
        scheduledFor: r.scheduled_for.toISOString(),
        definition: expect.objectContaining({ schemaDriftPolicy: 'BLOCK' }),
        load: {
          destination: warehouseOf(r.workspace_id),
          sources: [
            { connectionId: connections[i], name: 'src', config: expect.objectContaining({ type: 'POSTGRES', database: 'crm' }), secrets: expect.any(Object) },
          ],
          batchRows: 50_000,
          statementTimeoutMs: 3_600_000,
        },
      });
      expect(JSON.stringify(row.payload)).not.toContain(passwords[i]);
      expect(JSON.parse(unseal(masterKey, job.payload.load.sources[0]!.secrets!, pipelineSecretAad(job.jobId, connections[i]!)))).toEqual({
        password: passwords[i],
      });
      const ev = runStateChangedV1.parse(eventRows.find((o) => o.subject === `runs.${r.workspace_id}.${r.run_id}`)!.payload);
      expect(ev).toMatchObject({ state: 'QUEUED', kind: 'pipeline.run', subjectId: r.pipeline_id, jobId: r.job_id, orgId: r.org_id });
    }

    // A relay that crashed after publishing but before marking a row sent publishes it again:
    // JetStream drops the copy (msgID = job id).
    await admin.query(`UPDATE workspace.outbox SET sent_at = NULL WHERE id = ANY($1)`, [runs.slice(0, 3).map((r) => r.job_id)]);
    expect(await new OutboxRelay(admin, nats.js, log).drain()).toBe(3);

    // ── JetStream: every job on jobs.pipeline.run.<workspaceId> exactly once, by job id ──
    const info = await nats.jsm.streams.info(STREAMS.JOBS.name);
    const published: Array<{ subject: string; jobId: string }> = [];
    for (let seq = Math.max(jobsSeqBefore + 1, info.state.first_seq); seq <= info.state.last_seq; seq++) {
      const m = await nats.jsm.streams.getMessage(STREAMS.JOBS.name, { seq }).catch(() => null); // other tests' acked messages are gone
      if (!m || !workspaces.some((w) => m.subject === `jobs.pipeline.run.${w}`)) continue;
      published.push({ subject: m.subject, jobId: (decodeJson(m.data) as { jobId: string }).jobId });
    }
    expect(published.map((p) => p.jobId).sort()).toEqual(runs.map((r) => r.job_id).sort());
    for (const r of runs) expect(published.find((p) => p.jobId === r.job_id)!.subject).toBe(`jobs.pipeline.run.${r.workspace_id}`);
    // …and each run's QUEUED event on RUNS.
    for (const r of runs.slice(0, 5)) {
      const last = await nats.jsm.streams.getMessage(STREAMS.RUNS.name, { last_by_subj: `runs.${r.workspace_id}.${r.run_id}` });
      expect(runStateChangedV1.parse(last!.json())).toMatchObject({ state: 'QUEUED', runId: r.run_id, kind: 'pipeline.run' });
    }
  }, 150_000);

  it('skips a pipeline another instance holds, and a slot already in the ledger is never dispatched again', async () => {
    const clock = new ManualClock('2026-06-16T08:00:30.000Z');
    const p = await seed(0, '* * * * *', 'UTC', new Date(clock.now().getTime() - 30_000 - MINUTE));
    const inst = await startInstance('lock-check', clock);
    const slot = latestRunAtOrBefore('* * * * *', 'UTC', clock.now());
    // Another instance is dispatching it right now (row lock held): this one moves on.
    const holder = await admin.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(`SELECT id FROM workspace.pipeline WHERE id = $1 FOR UPDATE`, [p.id]);
    expect(await inst.scheduler.fire(p.orgId, p.id)).toBe('skipped');
    await holder.rollbackTransaction();
    await holder.release();
    // The slot is already recorded (e.g. next_run_at was set back by hand): the ledger refuses a
    // second dispatch, nothing is enqueued, and next_run_at still moves on.
    await admin.query(
      `INSERT INTO workspace.pipeline_run (org_id, workspace_id, pipeline_id, trigger, scheduled_for, run_id, job_id, requested_by) VALUES ($1, $2, $3, 'SCHEDULE', $4, $5, $6, 'scheduler')`,
      [p.orgId, p.workspaceId, p.id, slot, randomUUID(), randomUUID()],
    );
    const outboxBefore = (await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox`))[0].n;
    expect(await inst.scheduler.fire(p.orgId, p.id)).toBe('already-dispatched');
    expect((await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox`))[0].n).toBe(outboxBefore);
    expect(await admin.query(`SELECT count(*)::int AS n FROM workspace.pipeline_run WHERE pipeline_id = $1 AND scheduled_for = $2`, [p.id, slot])).toEqual([
      { n: 1 },
    ]);
    const [{ next_run_at: nextRun }] = await admin.query(`SELECT next_run_at FROM workspace.pipeline WHERE id = $1`, [p.id]);
    expect(nextRun.getTime()).toBeGreaterThan(slot.getTime());
    // Not due any more: another fire does nothing.
    expect(await inst.scheduler.fire(p.orgId, p.id)).toBe('skipped');
    await stopInstance(inst);
  });

  it('reports a slot that cannot be dispatched (warehouse not ready, source deleted) as one FAILED run, once, and moves on', async () => {
    const clock = new ManualClock('2026-06-17T08:00:30.000Z');
    const inst = await startInstance('refusals', clock);
    const past = new Date(clock.now().getTime() - 30_000 - MINUTE);
    const pending = await seedIn(
      {
        orgId: pendingOrg.orgId,
        workspaceId: pendingOrg.workspaceId,
        definition: { ...definitionOf(0), sources: [{ connectionId: pendingOrg.connectionId }] },
      },
      '* * * * *',
      'UTC',
      past,
    );
    const gone = randomUUID();
    const deletedSource = await seedIn(
      {
        orgId: orgs[1]!,
        workspaceId: workspaces[1]!,
        definition: { ...definitionOf(1), sources: [{ connectionId: connections[1]! }, { connectionId: gone }] },
      },
      '* * * * *',
      'UTC',
      past,
    );
    const outboxBefore = (await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox`))[0].n;

    for (const [p, code, message] of [
      [pending, 'WAREHOUSE_NOT_READY', /warehouse is not ready: it is still being provisioned/],
      [deletedSource, 'CONNECTION_NOT_FOUND', new RegExp(`Source 2 of the pipeline names connection ${gone}, which no longer exists`)],
    ] as const) {
      expect(await inst.scheduler.fire(p.orgId, p.id)).toBe('already-dispatched');
      // Nothing dispatched: no ledger row, no job; a run that failed at once, with the reason.
      expect(await admin.query(`SELECT count(*)::int AS n FROM workspace.pipeline_run WHERE pipeline_id = $1`, [p.id])).toEqual([{ n: 0 }]);
      const rows: Array<{ subject: string; payload: Record<string, unknown> }> = await admin.query(
        `SELECT subject, payload FROM workspace.outbox WHERE payload->>'subjectId' = $1 OR subject = $2 ORDER BY seq`,
        [p.id, `jobs.pipeline.run.${p.workspaceId}`],
      );
      const events = rows.filter((r) => r.subject.startsWith(`runs.${p.workspaceId}.`)).map((r) => runStateChangedV1.parse(r.payload));
      expect(rows.filter((r) => r.subject.startsWith('jobs.') && (r.payload as { payload?: { pipelineId?: string } }).payload?.pipelineId === p.id)).toEqual(
        [],
      );
      expect(events.map((e) => e.state)).toEqual(['QUEUED', 'FAILURE']);
      expect(events[1]).toMatchObject({ kind: 'pipeline.run', subjectId: p.id, summary: 'not started: the pipeline cannot run as defined', error: { code } });
      expect(events[1]!.error!.message).toMatch(message);
      // The slot is recorded as handled: not due any more, not retried on the next tick.
      const [{ next_run_at: next }] = await admin.query(`SELECT next_run_at FROM workspace.pipeline WHERE id = $1`, [p.id]);
      expect(next.getTime()).toBeGreaterThan(past.getTime());
      expect(next.getTime()).toBeGreaterThan(clock.now().getTime());
      expect(await inst.scheduler.fire(p.orgId, p.id)).toBe('skipped');
    }
    // Two refused slots: two QUEUED + FAILURE pairs, nothing else.
    const added = (await admin.query(`SELECT count(*)::int AS n FROM workspace.outbox`))[0].n - outboxBefore;
    expect(added).toBe(4);
    await stopInstance(inst);
  });
});
