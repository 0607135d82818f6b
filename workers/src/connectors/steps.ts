import type { RunReporter } from '../run-reporter';

/** The outcome of one test step: on failure, a typed code and a message that says what to do. */
export interface StepResult {
  ok: boolean;
  message: string;
  code?: string;
  /** The step did not apply (e.g. no credentials configured): reported SKIPPED, the test goes on. */
  skipped?: boolean;
}

export interface Step {
  name: string;
  run: () => Promise<StepResult>;
}

export interface TestOutcome {
  ok: boolean;
  summary: string;
  error?: { code: string; message: string };
}

/** A connector's test: the ordered steps, a summary for success, and cleanup run whatever happens. */
export interface ConnectorTest {
  steps: Step[];
  summary: () => string;
  close?: () => Promise<void>;
}

export const fail = (code: string, message: string): StepResult => ({ ok: false, code, message });
export const pass = (message: string): StepResult => ({ ok: true, message });
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Runs the steps in order, reporting each on RUNS as it finishes; the first failure stops the
 * test (later steps depend on earlier ones, and one precise reason beats a cascade). A step that
 * throws is a bug or an unexpected condition: it is reported as that step's failure, not retried,
 * because a connection test is answered, not redelivered.
 */
export async function runSteps(test: ConnectorTest, report: RunReporter): Promise<TestOutcome> {
  try {
    for (const step of test.steps) {
      const started = performance.now();
      let r: StepResult;
      try {
        r = await step.run();
      } catch (err) {
        r = fail('FAILED', `Unexpected error: ${(err as Error).message}`);
      }
      const status = r.skipped ? 'SKIPPED' : r.ok ? 'SUCCESS' : 'FAILURE';
      await report.step(step.name, status, r.message, Math.round(performance.now() - started));
      if (!r.ok && !r.skipped) return { ok: false, summary: `${step.name}: failed`, error: { code: r.code ?? 'FAILED', message: r.message } };
    }
    return { ok: true, summary: test.summary() };
  } finally {
    await test.close?.().catch(() => undefined);
  }
}
