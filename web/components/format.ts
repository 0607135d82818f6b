const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateTimeShort = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Formats an ISO timestamp in the viewer's locale; shows the raw value if it is not a date. */
export function formatDateTime(iso: string, precision: 'seconds' | 'minutes' = 'seconds'): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return (precision === 'seconds' ? dateTime : dateTimeShort).format(date);
}

/**
 * Splits PostgreSQL's `server_version` ("PostgreSQL 15.20 (Debian 15.20-0+deb12u1)") into the
 * version people look for and the packaging detail.
 */
export function splitDatabaseVersion(database: string): { main: string; detail: string | null } {
  const match = /^(.*?)\s*\((.+)\)$/.exec(database);
  return match ? { main: match[1], detail: match[2] } : { main: database, detail: null };
}

export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
