import type { DataSource } from 'typeorm';

export interface DatabaseHealth {
  ok: boolean;
  version?: string;
  latencyMs: number;
  error?: string;
}

/** Round-trips to PostgreSQL; used by /readyz and the platform status fields. */
export async function checkDatabase(ds: DataSource): Promise<DatabaseHealth> {
  const started = process.hrtime.bigint();
  try {
    const [row] = await ds.query(`SELECT current_setting('server_version') AS v`);
    return { ok: true, version: `PostgreSQL ${row.v}`, latencyMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (err) {
    return { ok: false, latencyMs: Number(process.hrtime.bigint() - started) / 1e6, error: (err as Error).message };
  }
}

import { listAppliedMigrations } from './data-source';

export interface ServiceStatus {
  service: string;
  ok: boolean;
  database: string;
  latencyMs: number;
  migrations: Array<{ name: string; version: string }>;
}

/** The `ServiceStatus` every subgraph contributes to the federated `Platform` entity. */
export async function serviceStatus(ds: DataSource, service: string): Promise<ServiceStatus> {
  const db = await checkDatabase(ds);
  const migrations = db.ok ? await listAppliedMigrations(ds) : [];
  return {
    service,
    ok: db.ok,
    database: db.ok ? (db.version ?? 'PostgreSQL') : `unreachable: ${db.error}`,
    latencyMs: Math.round(db.latencyMs * 100) / 100,
    migrations,
  };
}
