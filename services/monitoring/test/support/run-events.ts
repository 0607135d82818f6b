import { randomUUID } from 'node:crypto';
import type { RunState, RunStateChangedV1, RunStepV1 } from '@datalinx/contracts';

/** Who a run belongs to and what it is about; every id fresh unless given. */
export interface RunRef {
  orgId: string;
  workspaceId: string;
  runId: string;
  jobId: string;
  kind: string;
  subjectId: string;
}

export function newRunRef(o: Partial<RunRef> = {}): RunRef {
  return {
    orgId: o.orgId ?? randomUUID(),
    workspaceId: o.workspaceId ?? randomUUID(),
    runId: o.runId ?? randomUUID(),
    jobId: o.jobId ?? randomUUID(),
    kind: o.kind ?? 'connection.test',
    subjectId: o.subjectId ?? randomUUID(),
  };
}

/** A point in time `offsetMs` after a fixed base, so tests control event order exactly. */
export const at = (offsetMs: number, base = Date.parse('2025-12-01T10:00:00.000Z')) => new Date(base + offsetMs).toISOString();

export function stateEvent(
  ref: RunRef,
  state: RunState,
  o: {
    attempt?: number;
    at?: string;
    eventId?: string;
    error?: { code: string; message: string };
    summary?: string;
    dagster?: { runId: string; url: string };
  } = {},
): RunStateChangedV1 {
  return {
    v: 1,
    type: 'run.state',
    eventId: o.eventId ?? randomUUID(),
    ...ref,
    at: o.at ?? new Date().toISOString(),
    state,
    attempt: o.attempt ?? 1,
    ...(o.error ? { error: o.error } : {}),
    ...(o.summary !== undefined ? { summary: o.summary } : {}),
    ...(o.dagster ? { dagster: o.dagster } : {}),
  };
}

export function stepEvent(
  ref: RunRef,
  seq: number,
  o: { step?: string; status?: RunStepV1['status']; message?: string; durationMs?: number; attempt?: number; at?: string; eventId?: string } = {},
): RunStepV1 {
  return {
    v: 1,
    type: 'run.step',
    eventId: o.eventId ?? randomUUID(),
    ...ref,
    at: o.at ?? new Date().toISOString(),
    seq,
    step: o.step ?? `step-${seq}`,
    status: o.status ?? 'SUCCESS',
    message: o.message ?? `step ${seq} done`,
    durationMs: o.durationMs ?? 12,
    attempt: o.attempt ?? 1,
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
