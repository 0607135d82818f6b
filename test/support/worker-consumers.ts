import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * The JOBS consumers one worker process creates for its WORKER_DURABLE: one per job domain it
 * runs (connection, warehouse, source, column, pipeline — see workers/src/*-runner.ts). Tests delete all of
 * them when they stop a worker, so no consumer outlives its test on a shared NATS.
 */
export const WORKER_CONSUMER_SUFFIXES = ['', '-warehouse', '-source', '-column', '-pipeline'] as const;

export async function deleteWorkerConsumers(jsm: JetStreamManager, durable: string): Promise<void> {
  for (const suffix of WORKER_CONSUMER_SUFFIXES) await jsm.consumers.delete('JOBS', `${durable}${suffix}`).catch(() => undefined);
}
