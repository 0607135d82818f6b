import { DagsterEventMapper, type Mapped } from '../src/dagster/follow';
import type { DagsterEvent } from '../src/dagster/client';

/** An event of a Dagster run's log as `DagsterClient.logsForRun` returns it, at `t` ms. */
const ev = (type: string, t: number, o: Partial<DagsterEvent> = {}): DagsterEvent => ({ type, message: '', timestamp: t, level: 'INFO', stepKey: null, ...o });

const LOAD = 'load[0_shop_db]';
const loadSteps = [
  { step: 'shop db: tables selected', status: 'SUCCESS', message: '1 table: public.orders (full refresh)', durationMs: 12 },
  { step: 'shop db: public.orders: loaded', status: 'SUCCESS', message: 'full refresh: 300 rows', durationMs: 40 },
];
const models = [
  { node: 'model.p.orders', kind: 'model', name: 'orders', status: 'success', rows: 2, seconds: 0.25, failures: null, message: 'SELECT 2' },
  {
    node: 'test.p.not_null_orders_status',
    kind: 'test',
    name: 'not_null_orders_status',
    status: 'pass',
    rows: null,
    seconds: 0.05,
    failures: 0,
    message: null,
  },
];

function mapAll(events: DagsterEvent[]): { mapped: Mapped[]; mapper: DagsterEventMapper } {
  const mapper = new DagsterEventMapper();
  return { mapped: events.flatMap((e) => mapper.map(e)), mapper };
}

/** The event mapping of a `pipeline_run` log, checked on logs shaped as Dagster 1.13 writes them (see pipeline-dagster.e2e.test.ts for real ones). */
describe('DagsterEventMapper', () => {
  const success = [
    ev('RunStartEvent', 1000),
    ev('ExecutionStepStartEvent', 1100, { stepKey: 'sources' }),
    ev('ExecutionStepSuccessEvent', 1150, { stepKey: 'sources' }),
    ev('ExecutionStepStartEvent', 1200, { stepKey: LOAD }),
    ev('LogMessageEvent', 1300, { stepKey: LOAD, message: 'shop db: tables selected: SUCCESS' }),
    ev('ExecutionStepOutputEvent', 2000, {
      stepKey: LOAD,
      metadata: { source: 'shop db', rows: 300, summary: '300 rows loaded from shop db', steps: loadSteps },
    }),
    ev('ExecutionStepSuccessEvent', 2100, { stepKey: LOAD }),
    ev('ExecutionStepStartEvent', 2200, { stepKey: 'dbt_build' }),
    ev('ExecutionStepOutputEvent', 4000, { stepKey: 'dbt_build', metadata: { models } }),
    ev('ExecutionStepSuccessEvent', 4200, { stepKey: 'dbt_build' }),
    ev('RunSuccessEvent', 4300),
  ];

  it('a successful run: the sync’s steps, the load with rows and Dagster’s timing, one step per dbt node, then models', () => {
    const { mapped, mapper } = mapAll(success);
    expect(mapped).toEqual([
      { type: 'step', ...loadSteps[0] },
      { type: 'step', ...loadSteps[1] },
      { type: 'progress', step: 'shop db: load', rows: 300 },
      { type: 'step', step: 'shop db: load', status: 'SUCCESS', message: '300 rows loaded from shop db', durationMs: 900 },
      { type: 'step', step: 'models: orders', status: 'SUCCESS', message: 'success; 2 rows affected', durationMs: 250 },
      { type: 'step', step: 'tests: not_null_orders_status', status: 'SUCCESS', message: 'pass', durationMs: 50 },
      { type: 'step', step: 'models', status: 'SUCCESS', message: 'dbt build: 1 model built, 1 test run', durationMs: 2000 },
    ]);
    expect(mapper.outcome).toEqual({
      status: 'SUCCESS',
      rows: 300,
      error: undefined,
      loaded: ['shop db (300 rows)'],
      models: { built: 1, failed: 0, tests: 1 },
    });
  });

  it('is deterministic: the same log maps to the same list (a re-followed run publishes the same events)', () => {
    expect(mapAll(success).mapped).toEqual(mapAll(success).mapped);
  });

  it('a failed load: its code and message end the run; the steps after it are SKIPPED', () => {
    const { mapped, mapper } = mapAll([
      ev('ExecutionStepStartEvent', 100, { stepKey: LOAD }),
      ev('ExecutionStepFailureEvent', 700, {
        stepKey: LOAD,
        error: 'dagster._core.definitions.events.Failure: Source shop db: password authentication failed',
        metadata: { source: 'shop db', code: 'WRONG_PASSWORD', message: 'Source shop db: password authentication failed', steps: [] },
      }),
      ev('ExecutionStepSkippedEvent', 800, { stepKey: 'dbt_build' }),
      ev('RunFailureEvent', 900, { error: 'Execution of run for "pipeline_run" failed. Steps failed: [load[0_shop_db]]' }),
    ]);
    expect(mapped).toEqual([
      { type: 'step', step: 'shop db: load', status: 'FAILURE', message: 'Source shop db: password authentication failed', durationMs: 600 },
      { type: 'step', step: 'models', status: 'SKIPPED', message: 'not run: a step before it failed', durationMs: 0 },
    ]);
    expect(mapper.outcome).toMatchObject({ status: 'FAILURE', error: { code: 'WRONG_PASSWORD', message: 'Source shop db: password authentication failed' } });
  });

  it('cancel: CANCELING as it happens, then the run ends CANCELED', () => {
    const { mapped, mapper } = mapAll([
      ev('ExecutionStepStartEvent', 100, { stepKey: LOAD }),
      ev('RunCancelingEvent', 200),
      ev('RunCanceledEvent', 900, { message: 'Run was canceled' }),
    ]);
    expect(mapped).toEqual([{ type: 'state', state: 'CANCELING' }]);
    expect(mapper.outcome).toMatchObject({ status: 'CANCELED', error: { code: 'CANCELED' } });
  });

  it('no outcome until a run event ends the log', () => {
    expect(mapAll(success.slice(0, -1)).mapper.outcome).toBeUndefined();
  });
});
