import type { JetStreamClient } from '@nats-io/jetstream';
import { runSubject, type JobMessage, type RunEvent, type RunState } from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';

/**
 * Publishes one job's run events on RUNS. Event ids are derived from run, attempt and step, so
 * a retried publish is dropped by JetStream's duplicate window and monitoring records each once.
 */
export class RunReporter {
  private seq = 0;

  constructor(
    private readonly js: JetStreamClient,
    /** The job's envelope; `kind` is any text (a refused job of an unknown kind is reported too). */
    private readonly job: Pick<JobMessage, 'runId' | 'jobId' | 'orgId' | 'workspaceId'> & { kind: string },
    private readonly subjectId: string,
    readonly attempt: number,
  ) {}

  private base() {
    return {
      v: 1 as const,
      runId: this.job.runId,
      jobId: this.job.jobId,
      orgId: this.job.orgId,
      workspaceId: this.job.workspaceId,
      kind: this.job.kind,
      subjectId: this.subjectId,
      at: new Date().toISOString(),
    };
  }

  private async publish(ev: RunEvent): Promise<void> {
    await this.js.publish(runSubject(this.job.workspaceId, this.job.runId), encodeJson(ev), { msgID: ev.eventId, timeout: 5000 });
  }

  state(state: RunState, extra: { error?: { code: string; message: string }; summary?: string } = {}): Promise<void> {
    return this.publish({ ...this.base(), type: 'run.state', eventId: `${this.job.runId}:a${this.attempt}:${state}`, state, attempt: this.attempt, ...extra });
  }

  private progressSeq = 0;

  /** Cumulative progress of a step (rows, bytes, percent when the total is known) on RUNS. */
  progress(step: string, p: { rows: number; bytes: number; totalRows?: number }): Promise<void> {
    const seq = this.progressSeq++;
    const percent = p.totalRows ? Math.min(100, Math.round((p.rows / p.totalRows) * 1000) / 10) : p.totalRows === 0 ? 100 : undefined;
    return this.publish({
      ...this.base(),
      type: 'run.progress',
      eventId: `${this.job.runId}:a${this.attempt}:p${seq}`,
      step,
      rows: p.rows,
      bytes: p.bytes,
      ...(p.totalRows !== undefined ? { totalRows: p.totalRows } : {}),
      ...(percent !== undefined ? { percent } : {}),
      attempt: this.attempt,
    });
  }

  /**
   * Runs one step of a job and reports it, timed: SUCCESS with the message `fn` returns, or
   * FAILURE with the error's own message (rethrown). Only that message, never the statement text
   * or a value of the data: those may hold a password or personal data. Returns `fn`'s value.
   */
  async timed<T = undefined>(name: string, fn: () => Promise<{ message: string; value?: T }>): Promise<T> {
    const t0 = Date.now();
    try {
      const r = await fn();
      await this.step(name, 'SUCCESS', r.message, Date.now() - t0);
      return r.value as T;
    } catch (err) {
      await this.step(name, 'FAILURE', (err as Error).message, Date.now() - t0);
      throw err;
    }
  }

  step(step: string, status: 'SUCCESS' | 'FAILURE' | 'SKIPPED', message: string, durationMs: number): Promise<void> {
    const seq = this.seq++;
    return this.publish({
      ...this.base(),
      type: 'run.step',
      eventId: `${this.job.runId}:a${this.attempt}:s${seq}`,
      seq,
      step,
      status,
      message,
      durationMs,
      attempt: this.attempt,
    });
  }
}
