import type { Subscription } from '@nats-io/nats-core';
import { runEvent, type RunEvent } from '@datalinx/contracts';
import type { Nats } from '@datalinx/messaging';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run as the worker reported it on RUNS, once it reached SUCCESS or FAILURE. */
export interface RunResult {
  state: string;
  error?: { code: string; message: string };
  summary?: string;
  subjectId: string;
  /** Every run state reported, in the order they arrived (a run refused before it started has only its terminal state). */
  states: string[];
  /** Every step event, in the order the worker made them: by attempt, then by sequence within it. */
  steps: { step: string; status: string; message: string; attempt: number }[];
  /** Every progress event, in the order they arrived. */
  progress: { rows: number; percent?: number; totalRows?: number }[];
}

export interface FinishedOptions {
  /** How long a run may take before the test fails with "did not finish". */
  timeoutMs: number;
  /** How long to keep listening after the terminal state, for step and progress events that arrive after it. */
  settleMs: number;
}

/**
 * Collects the run events a workspace's workers publish on RUNS (`runs.<workspaceId>.>`), through a
 * core subscription that sees every event, keyed by run and event id (a redelivered event counts
 * once). `finished` waits for a run's terminal state and returns it with its steps and progress.
 * Subscribe before publishing the jobs, or the first events are missed.
 */
export class RunEvents {
  private readonly events = new Map<string, Map<string, RunEvent>>();
  private readonly sub: Subscription;

  constructor(
    nats: Nats,
    workspaceId: string,
    private readonly defaults: FinishedOptions,
  ) {
    this.sub = nats.nc.subscribe(`runs.${workspaceId}.>`, {
      callback: (_err, m) => {
        const ev = runEvent.safeParse(m.json());
        if (!ev.success) return;
        if (!this.events.has(ev.data.runId)) this.events.set(ev.data.runId, new Map());
        this.events.get(ev.data.runId)!.set(ev.data.eventId, ev.data);
      },
    });
  }

  /** Polls (every 100 ms) until the run reaches SUCCESS, FAILURE or CANCELED; throws `run <id> did not finish` after the timeout. */
  async finished(runId: string, o: Partial<FinishedOptions> = {}): Promise<RunResult> {
    const { timeoutMs, settleMs } = { ...this.defaults, ...o };
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
      const end = this.of(runId).find((e) => e.type === 'run.state' && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(e.state));
      if (!end || end.type !== 'run.state') continue;
      if (settleMs > 0) await sleep(settleMs);
      const all = this.of(runId);
      const steps = all.flatMap((e) => (e.type === 'run.step' ? [e] : [])).sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
      return {
        state: end.state,
        error: end.error,
        summary: end.summary,
        subjectId: end.subjectId,
        states: all.flatMap((e) => (e.type === 'run.state' ? [e.state] : [])),
        steps: steps.map((s) => ({ step: s.step, status: s.status, message: s.message, attempt: s.attempt })),
        progress: all.flatMap((e) => (e.type === 'run.progress' ? [{ rows: e.rows, percent: e.percent, totalRows: e.totalRows }] : [])),
      };
    }
    throw new Error(`run ${runId} did not finish`);
  }

  close(): void {
    this.sub.unsubscribe();
  }

  private of(runId: string): RunEvent[] {
    return [...(this.events.get(runId)?.values() ?? [])];
  }
}
