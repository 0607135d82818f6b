/**
 * The workers' outbound network policy in local mode (`npm start`): connections may reach
 * loopback, so a user's databases on the same machine work, but never the platform's own servers
 * (the embedded PostgreSQL, NATS, the gateway, the subgraphs, web, Dagster), which also listen
 * there. See workers/README.md (CONNECTION_ALLOWED_NETWORKS, DLX_PLATFORM_ENDPOINTS).
 */

/** What `npm start` allows unless CONNECTION_ALLOWED_NETWORKS is set: loopback, IPv4 and IPv6. */
export const LOCAL_ALLOWED_NETWORKS = '127.0.0.0/8,::1/128';

/** host:port of a URL (postgres://, nats://, http://), with the scheme's default port. */
function hostPortOf(/** @type {string} */ url, /** @type {number} */ defaultPort) {
  const u = new URL(url);
  return `${u.hostname}:${u.port || defaultPort}`;
}

/**
 * The workers' network settings: CONNECTION_ALLOWED_NETWORKS (the operator's, else loopback) and
 * DLX_PLATFORM_ENDPOINTS (the operator's list plus every server this start runs or uses).
 * @param {{ databaseUrl: string, warehouseUrl?: string, natsUrl: string, gatewayPort: number, subgraphPorts: number[], webPort: number, dagsterPort?: number }} o
 * @param {NodeJS.ProcessEnv} env
 */
export function workerNetworkEnv(o, env = process.env) {
  const endpoints = new Set(
    (env.DLX_PLATFORM_ENDPOINTS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  endpoints.add(hostPortOf(o.databaseUrl, 5432));
  if (o.warehouseUrl) endpoints.add(hostPortOf(o.warehouseUrl, 5432));
  for (const server of o.natsUrl.split(',')) endpoints.add(hostPortOf(/^\w+:\/\//.test(server.trim()) ? server.trim() : `nats://${server.trim()}`, 4222));
  for (const port of [o.gatewayPort, ...o.subgraphPorts, o.webPort, ...(o.dagsterPort ? [o.dagsterPort] : [])]) endpoints.add(`127.0.0.1:${port}`);
  return {
    CONNECTION_ALLOWED_NETWORKS: env.CONNECTION_ALLOWED_NETWORKS ?? LOCAL_ALLOWED_NETWORKS,
    DLX_PLATFORM_ENDPOINTS: [...endpoints].join(','),
  };
}
