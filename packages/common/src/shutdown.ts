import type { Logger } from 'pino';

type Closer = { name: string; close: () => Promise<unknown> | unknown };

/**
 * Graceful shutdown: on SIGTERM/SIGINT run the closers in order (stop accepting work first,
 * then drain, then close connections), each bounded by a timeout, then exit.
 */
export function onShutdown(log: Logger, closers: Closer[], timeoutMs = 10000): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const run = async () => {
    if (stopping) return stopping;
    stopping = (async () => {
      log.info('shutting down');
      for (const c of closers) {
        try {
          await Promise.race([
            Promise.resolve(c.close()),
            new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs).unref()),
          ]);
          log.debug({ step: c.name }, 'closed');
        } catch (err) {
          log.error({ step: c.name, err }, 'shutdown step failed');
        }
      }
      log.info('stopped');
    })();
    return stopping;
  };
  const handler = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    void run().then(() => process.exit(0));
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  return run;
}
