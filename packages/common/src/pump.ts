import type { Logger } from './logger';

export interface PumpOptions {
  /** Backstop timer: a pass at least this often, whether kicked or not. */
  intervalMs: number;
  log: Logger;
  /** Names the loop in the failure log line, e.g. 'outbox relay'. */
  what: string;
  /** Scrubs an error message before it is logged (e.g. a password in a URL). */
  redact?: (message: string) => string;
}

/**
 * A background loop that does one thing at a time: `pass` runs on every `kick()` (kicks during a
 * pass are coalesced into exactly one more pass afterwards) and on a timer as a backstop for
 * anything a kick missed. A failing pass is logged and retried on the next kick or tick. `stop()`
 * ends the timer and waits for the pass in flight, so a caller's shutdown never cuts one in half.
 * The outbox relay, the mail relay, the scheduler and the re-test loop are all one of these.
 */
export class Pump {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly o: PumpOptions,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): this {
    this.timer = setInterval(() => this.kick(), this.o.intervalMs);
    this.timer.unref();
    this.kick();
    return this;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.pass()
      .catch((err) => {
        const message = (err as Error).message ?? String(err);
        this.o.log.warn({ err: this.o.redact ? this.o.redact(message) : message }, `${this.o.what} pass failed; will retry`);
      })
      .finally(() => {
        this.running = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }
}
