import { TERMINAL_RUN_STATES, type RunState } from '@datalinx/contracts';
import type { RunPatch } from '../daos/run.dao';

/**
 * The run state rules, as pure functions (unit-tested without a database). Events of one run
 * arrive in any order and any number of times (JetStream redelivery, a job re-run by a later
 * attempt), so every rule is order-independent:
 * 1. A terminal state (SUCCESS, FAILURE, CANCELED) is final: no event of any attempt moves it.
 * 2. An event from an older attempt than the newest one seen is stale: it changes no state.
 * 3. Within one attempt the state only moves forward: QUEUED < STARTING < STARTED < CANCELING <
 *    terminal (a late STARTING never overwrites STARTED).
 * 4. A newer attempt starts over (it may go back to STARTING), except that a CANCELING run
 *    leaves CANCELING only for a terminal state.
 * Facts that do not depend on order are always recorded: attempts = the highest attempt seen,
 * created_at = the earliest event time, started_at = the earliest STARTED time.
 */
const RANK: Record<RunState, number> = { QUEUED: 0, STARTING: 1, STARTED: 2, CANCELING: 3, SUCCESS: 4, FAILURE: 4, CANCELED: 4 };

export const isTerminal = (s: RunState) => TERMINAL_RUN_STATES.includes(s);

export interface RecordedRunState {
  state: RunState;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
}

export interface StateReport {
  state: RunState;
  attempt: number;
  at: Date;
  error?: { code: string; message: string };
  summary?: string;
}

export function acceptsState(run: Pick<RecordedRunState, 'state' | 'attempts'>, next: Pick<StateReport, 'state' | 'attempt'>): boolean {
  if (isTerminal(run.state)) return false;
  if (next.attempt < run.attempts) return false;
  if (isTerminal(next.state)) return true;
  if (run.state === 'CANCELING') return false;
  if (next.attempt > run.attempts) return true;
  return RANK[next.state] >= RANK[run.state];
}

const earliest = (a: Date | null, b: Date) => (a && a.getTime() <= b.getTime() ? a : b);

/** What a run.state event changes on the run (empty when nothing changes). */
export function stateEventPatch(run: RecordedRunState, ev: StateReport): RunPatch {
  const patch: RunPatch = { ...factsPatch(run, ev.attempt, ev.at) };
  if (ev.state === 'STARTED') {
    const startedAt = earliest(run.startedAt, ev.at);
    if (startedAt !== run.startedAt) patch.startedAt = startedAt;
  }
  if (acceptsState(run, ev)) {
    patch.state = ev.state;
    if (isTerminal(ev.state)) patch.finishedAt = ev.at;
    if (ev.error) {
      patch.errorCode = ev.error.code;
      patch.errorMessage = ev.error.message;
    }
    if (ev.summary !== undefined) patch.summary = ev.summary;
  }
  return patch;
}

/** What any event (a step included) tells about the run whatever its order: attempts and creation time. */
export function factsPatch(run: Pick<RecordedRunState, 'attempts' | 'createdAt'>, attempt: number, at: Date): RunPatch {
  const patch: RunPatch = {};
  if (attempt > run.attempts) patch.attempts = attempt;
  if (at.getTime() < run.createdAt.getTime()) patch.createdAt = at;
  return patch;
}
