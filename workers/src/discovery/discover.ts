import type { JetStreamClient } from '@nats-io/jetstream';
import {
  DISCOVERY_COMPLETED_V1,
  SOURCE_TABLE_DISCOVERED_V1,
  scopeIsEmpty,
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
import { qualified, type CatalogOpener, type TableRef } from './catalog';
import type { RowEstimate } from './row-estimate';
import { postgresCatalog } from './postgres';
import { mysqlCatalog } from './mysql';
import { readerCatalog } from './readers';
import { inScope, PROFILE_VALUE_MAX, scopeMatchesNothing, TableProfiler } from './profile';

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
export async function discoverSource(
  job: SourceDiscoverJobV1,
  secrets: ConnectionSecrets,
  report: RunReporter,
  publish: DiscoveryPublisher,
  fileStorage: FileStorage,
): Promise<TestOutcome> {
  const { config, scope, profileSampleRows, timeoutMs, connectionId, exactCountMaxBytes } = job.payload;
  const open: CatalogOpener =
    config.type === 'POSTGRES'
      ? postgresCatalog({ ...config, password: secrets.password }, timeoutMs, exactCountMaxBytes)
      : config.type === 'MYSQL'
        ? mysqlCatalog({ ...config, password: secrets.password }, timeoutMs, exactCountMaxBytes)
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
    const readable = await catalog.tables();
    const tables = readable.filter((t) => inScope(scope, t.schema, t.name));
    // A scope that matches nothing would make a snapshot saying every table was removed: the run fails and publishes nothing.
    const nothing = scopeMatchesNothing(scope, readable, tables.length);
    if (nothing) {
      await report.step('tables found', 'FAILURE', nothing, since());
      return { ok: false, summary: 'tables found: failed', error: { code: 'DISCOVERY_SCOPE_MATCHES_NOTHING', message: nothing } };
    }
    const structure = await catalog.structure(tables);
    await report.step('tables found', 'SUCCESS', `${plural(tables.length, 'table')} found`, since());
    // Exact counts (tables without statistics, small enough) share one time budget: the job's timeout.
    const countBudget = { leftMs: timeoutMs };
    const estimateOf = async (t: TableRef): Promise<RowEstimate> => {
      if ('estimate' in t.estimate) return t.estimate.estimate;
      if (!catalog.countRows) return { rowEstimate: null, rowEstimateSource: 'UNKNOWN', rowEstimateNote: 'This source cannot count rows.' };
      if (countBudget.leftMs < 1000) {
        return {
          rowEstimate: null,
          rowEstimateSource: 'UNKNOWN',
          rowEstimateNote: `No statistics, and discovery's time for exact counts (${timeoutMs} ms in all) went to earlier tables.`,
        };
      }
      const startedAt = performance.now();
      const counted = await catalog.countRows(t, Math.min(countBudget.leftMs, Math.floor(timeoutMs * 0.8)));
      countBudget.leftMs -= performance.now() - startedAt;
      return counted;
    };
    const base = { orgId: job.orgId, workspaceId: job.workspaceId, connectionId, runId: job.runId };
    for (const t of tables) {
      const s = structure.get(t.ref) ?? { columns: [], primaryKey: [], foreignKeys: [] };
      const profiler = new TableProfiler(s.columns.length);
      let estimate = await estimateOf(t);
      if (profileSampleRows > 0) {
        let sampled;
        try {
          sampled = await catalog.sample(
            t,
            s.columns.map((c) => c.name),
            profileSampleRows,
            PROFILE_VALUE_MAX,
            (row) => profiler.addRow(row),
          );
        } catch (err) {
          // A reader that cannot go on (HTTP failure, timeout): the run fails with its code; the tables published so far stay staged.
          if (!(err instanceof ReaderError || err instanceof MalformedInputError)) throw err;
          const message = `${qualified(t)}: ${err.message}`;
          await report.step('profiled', 'FAILURE', message, since());
          return { ok: false, summary: 'profiled: failed', error: { code: err instanceof ReaderError ? err.code : 'INPUT_MALFORMED', message } };
        }
        if (sampled && sampled.estimate) estimate = sampled.estimate;
      }
      const profiles = profileSampleRows > 0 ? profiler.results() : null;
      const ev: SourceTableDiscoveredV1 = {
        ...base,
        table: {
          schema: t.schema,
          name: t.name,
          kind: t.kind,
          ...estimate,
          columns: s.columns.map((c, i) => ({ ...c, ordinal: i + 1, profile: profiles ? profiles[i]! : null })),
          primaryKey: s.primaryKey,
          foreignKeys: s.foreignKeys,
        },
      };
      await publish(SOURCE_TABLE_DISCOVERED_V1, ev, `${job.runId}:${qualified(t)}`);
    }
    await report.step('profiled', 'SUCCESS', `${plural(tables.length, 'table')} profiled (up to ${plural(profileSampleRows, 'row')} each)`, since());
    // The scope goes with it: the snapshot refreshes only the tables in scope and carries the rest over.
    const done: DiscoveryCompletedV1 = { ...base, tableCount: tables.length, completedAt: new Date().toISOString(), ...(scopeIsEmpty(scope) ? {} : { scope }) };
    await publish(DISCOVERY_COMPLETED_V1, done, `${job.runId}:done`);
    return { ok: true, summary: `Discovered ${plural(tables.length, 'table')}.` };
  } finally {
    await catalog.close();
  }
}
