/**
 * Connection builders for tests that go through the GraphQL API: one `createConnection` document
 * and inputs with defaults, so a test names only what it is about.
 */

/** `createConnection` answering the id and every field error. */
export const CREATE_CONNECTION = `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code field message } } }`;

export interface CreateConnectionResult {
  createConnection: { connection: { id: string } | null; errors: Array<{ code: string; field: string | null; message: string }> };
}

/**
 * A POSTGRES connection's `CreateConnectionInput`. `databaseUrl` (postgres://user:password@host:port/db)
 * gives the settings and the password secret; without one, an unreachable example database.
 * The SSL mode stays at its default (PREFER).
 */
export function postgresConnectionInput(o: {
  workspaceId: string;
  name?: string;
  kind?: 'SOURCE' | 'DESTINATION';
  databaseUrl?: string;
  /** The schema a DESTINATION loads into. */
  schema?: string;
}): Record<string, unknown> {
  const url = new URL(o.databaseUrl ?? 'postgres://loader:pw@db.example:5432/app');
  const postgres = {
    host: url.hostname,
    port: Number(url.port || 5432),
    database: decodeURIComponent(url.pathname.slice(1)),
    user: decodeURIComponent(url.username),
    ...(o.schema ? { schema: o.schema } : {}),
  };
  const password = decodeURIComponent(url.password);
  return {
    workspaceId: o.workspaceId,
    name: o.name ?? 'postgres-source',
    kind: o.kind ?? 'SOURCE',
    type: 'POSTGRES',
    postgres,
    ...(password ? { secrets: { password } } : {}),
  };
}
