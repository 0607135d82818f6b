/** Colors and words for the states the API reports, one place for every screen. */
export const CONNECTION_STATUS: Record<string, { color: string; label: string }> = {
  UNTESTED: { color: 'gray', label: 'Not tested' },
  TESTING: { color: 'blue', label: 'Testing…' },
  HEALTHY: { color: 'teal', label: 'Healthy' },
  FAILING: { color: 'red', label: 'Failing' },
};

export const RUN_STATE: Record<string, { color: string; label: string }> = {
  QUEUED: { color: 'gray', label: 'Queued' },
  STARTING: { color: 'blue', label: 'Starting' },
  STARTED: { color: 'blue', label: 'Running' },
  SUCCESS: { color: 'teal', label: 'Succeeded' },
  FAILURE: { color: 'red', label: 'Failed' },
  CANCELING: { color: 'grape', label: 'Canceling' },
  CANCELED: { color: 'gray', label: 'Canceled' },
};

export const RUN_KIND: Record<string, string> = {
  'connection.test': 'Connection test',
  'source.discover': 'Discovery',
  'source.sync': 'Sync',
  'pipeline.run': 'Pipeline run',
  'warehouse.provision': 'Warehouse set-up',
  'warehouse.purge': 'Warehouse purge',
};

export const FINISHED_RUN_STATES = new Set(['SUCCESS', 'FAILURE', 'CANCELED']);

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
