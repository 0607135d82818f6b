import type { RunState } from '@datalinx/contracts';
import { acceptsState, stateEventPatch } from '../src/managers/run-state';

const run = (state: RunState, attempts: number) => ({ state, attempts, createdAt: new Date('2025-12-01T10:00:00Z'), startedAt: null });
const t = (s: number) => new Date(Date.parse('2025-12-01T10:00:00Z') + s * 1000);

describe('run state rules', () => {
  it.each<[RunState, number, RunState, number, boolean]>([
    ['QUEUED', 1, 'STARTING', 1, true],
    ['STARTED', 1, 'STARTING', 1, false], // late event of the same attempt
    ['STARTED', 1, 'QUEUED', 1, false],
    ['STARTED', 1, 'STARTING', 2, true], // a newer attempt starts over
    ['STARTED', 2, 'SUCCESS', 1, false], // stale attempt, even terminal
    ['STARTED', 1, 'FAILURE', 1, true],
    ['SUCCESS', 1, 'STARTED', 2, false], // terminal is final, later attempts included
    ['SUCCESS', 1, 'FAILURE', 2, false],
    ['CANCELED', 1, 'SUCCESS', 1, false],
    ['CANCELING', 1, 'STARTED', 2, false], // canceling only ends in a terminal state
    ['CANCELING', 1, 'CANCELED', 1, true],
    ['STARTED', 1, 'CANCELING', 1, true],
    ['QUEUED', 0, 'SUCCESS', 1, true], // first event seen is terminal
  ])('%s (attempt %i) + %s (attempt %i) → %s', (cur, curAttempt, next, nextAttempt, accepted) => {
    expect(acceptsState({ state: cur, attempts: curAttempt }, { state: next, attempt: nextAttempt })).toBe(accepted);
  });

  it('records facts that do not depend on order even when the state does not change', () => {
    const patch = stateEventPatch({ ...run('SUCCESS', 1), startedAt: t(30) }, { state: 'STARTED', attempt: 2, at: t(10) });
    expect(patch).toEqual({ attempts: 2, startedAt: t(10) });
  });

  it('sets finished_at, error and summary on the terminal transition only', () => {
    const err = { code: 'AUTH_FAILED', message: 'password authentication failed' };
    expect(stateEventPatch(run('STARTED', 1), { state: 'FAILURE', attempt: 1, at: t(5), error: err, summary: 'failed at connect' })).toEqual({
      state: 'FAILURE',
      finishedAt: t(5),
      errorCode: err.code,
      errorMessage: err.message,
      summary: 'failed at connect',
    });
    expect(stateEventPatch(run('FAILURE', 1), { state: 'SUCCESS', attempt: 1, at: t(6), summary: 'ok' })).toEqual({});
  });

  it('moves created_at to the earliest event time', () => {
    expect(stateEventPatch(run('STARTED', 1), { state: 'QUEUED', attempt: 1, at: t(-3) })).toEqual({ createdAt: t(-3) });
  });
});
