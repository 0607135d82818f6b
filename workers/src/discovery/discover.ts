import type { JetStreamClient } from '@nats-io/jetstream';
import {
  DISCOVERY_COMPLETED_V1,
  SOURCE_TABLE_DISCOVERED_V1,
  type ConnectionSecrets,
  type DiscoveryCompletedV1,
  type SourceDiscoverJobV1,
  type SourceTableDiscoveredV1,
} from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';
import type { RunReporter } from '../run-reporter';
import { plural, type TestOutcome } from '../connectors/steps';
import type { FileStorage } from '../connectors/file';
import { MalformedInputError, ReaderError } from '../readers';
import { qualified, type CatalogOpener } from './catalog';
import { postgresCatalog } from './postgres';
import { mysqlCatalog } from './mysql';
import { readerCatalog } from './readers';
import { inScope, PROFILE_VALUE_MAX, TableProfiler } from './profile';

/** Publishes one discovery event on EVENTS; the msgID makes a retried job's re-publish a no-op in the duplicate window. */
export type DiscoveryPublisher = (subject: string, body: unknown, msgId: string) => Promise<void>;

export const jetStreamPublisher =
  (js: JetStreamClient): DiscoveryPublisher =>
  async (subject, body, msgId) => {
    await js.publish(subject, encodeJson(body), { msgID: msgId, timeout: 10_000 });
  };

/**
 * source.discover: connect (read-only), list the tables in scope, read their columns and keys,
 * profile each from a bounded sample, and publish one `schema.source_table.discovered.v1` per
 * table then `schema.discovery.completed.v1`. Steps on RUNS: connected (FILE: file read), tables
 * found, profiled. FILE and REST_API connections are read through their readers (./readers.ts).
 * Only reads the source, and every event carries a stable msgID, so a redelivered job is harmless.
 */
export async function discoverSource(job: SourceDiscoverJobV1, secrets: ConnectionSecrets, report: RunReporter, publish: DiscoveryPublisher, fileStorage: FileStorage): Promise<TestOutcome> {
  const { config, scope, profileSampleRows, timeoutMs, connectionId } = job.payload;
  const open: CatalogOpener =
    config.type === 'POSTGRES'
      ? postgresCatalog({ ...config, password: secrets.password }, timeoutMs)
      : config.type === 'MYSQL'
        ? mysqlCatalog({ ...config, password: secrets.password }, timeoutMs)
        : readerCatalog(config, secrets, { workspaceId: job.workspaceId, fileStorage, timeoutMs });
  const first = config.type === 'FILE' ? 'file read' : 'connected';
  let started = performance.now();
  const since = () => {
    const ms = Math.round(performance.now() - started);
    started = performance.now();
    return ms;
  };
  const opened = await open();
  if ('error' in opened) {
    const { code = 'CONNECTION_FAILED', message } = opened.error;
    await report.step(first, 'FAILURE', message, since());
    return { ok: false, summary: `${first}: failed`, error: { code, message } };
  }
  const { catalog } = opened;
  try {
    await report.step(first, 'SUCCESS', catalog.describe(), since());
    const tables = (await catalog.tables()).filter((t) => inScope(scope, t.schema, t.name));
    const structure = await catalog.structure(tables);
    await report.step('tables found', 'SUCCESS', `${plural(tables.length, 'table')} found`, since());
    const base = { orgId: job.orgId, workspaceId: job.workspaceId, connectionId, runId: job.runId };
    for (const t of tables) {
      const s = structure.get(t.ref) ?? { columns: [], primaryKey: [], foreignKeys: [] };
      const profiler = new TableProfiler(s.columns.length);
      let rowEstimate = t.rowEstimate;
      if (profileSampleRows > 0) {
        let sampled;
        try {
          sampled = await catalog.sample(t, s.columns.map((c) => c.name), profileSampleRows, PROFILE_VALUE_MAX, (row) => profiler.addRow(row));
        } catch (err) {
          // A reader that cannot go on (HTTP failure, timeout): the run fails with its code; the tables published so far stay staged.
          if (!(err instanceof ReaderError || err instanceof MalformedInputError)) throw err;
          const message = `${qualified(t)}: ${err.message}`;
          await report.step('profiled', 'FAILURE', message, since());
          return { ok: false, summary: 'profiled: failed', error: { code: err instanceof ReaderError ? err.code : 'INPUT_MALFORMED', message } };
        }
        if (sampled && sampled.rowEstimate !== undefined) rowEstimate = sampled.rowEstimate;
      }
      const profiles = profileSampleRows > 0 ? profiler.results() : null;
      const ev: SourceTableDiscoveredV1 = {
        ...base,
        table: {
          schema: t.schema,
          name: t.name,
          kind: t.kind,
          rowEstimate,
          columns: s.columns.map((c, i) => ({ ...c, ordinal: i + 1, profile: profiles ? profiles[i]! : null })),
          primaryKey: s.primaryKey,
          foreignKeys: s.foreignKeys,
        },
      };
      await publish(SOURCE_TABLE_DISCOVERED_V1, ev, `${job.runId}:${qualified(t)}`);
    }
    await report.step('profiled', 'SUCCESS', `${plural(tables.length, 'table')} profiled (up to ${plural(profileSampleRows, 'row')} each)`, since());
    const done: DiscoveryCompletedV1 = { ...base, tableCount: tables.length, completedAt: new Date().toISOString() };
    await publish(DISCOVERY_COMPLETED_V1, done, `${job.runId}:done`);
    return { ok: true, summary: `Discovered ${plural(tables.length, 'table')}.` };
  } finally {
    await catalog.close();
  }
}
