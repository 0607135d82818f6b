import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * `npm start`'s worker network settings (scripts/lib/network-policy.mjs, plain ESM as the runner
 * loads it): loopback allowed so local databases work, every server the start runs refused.
 */
const ROOT = path.resolve(__dirname, '..');

function workerNetworkEnv(o: object, env: Record<string, string> = {}): { CONNECTION_ALLOWED_NETWORKS: string; DLX_PLATFORM_ENDPOINTS: string } {
  const script = `import('./scripts/lib/network-policy.mjs').then((m) => process.stdout.write(JSON.stringify(m.workerNetworkEnv(${JSON.stringify(o)}, ${JSON.stringify(env)}))))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }));
}

const local = {
  databaseUrl: 'postgres://datalinx_app:x@127.0.0.1:54329/datalinx',
  warehouseUrl: 'postgres://postgres:x@127.0.0.1:54329/datalinx_warehouse',
  natsUrl: 'nats://127.0.0.1:42229',
  gatewayPort: 4000,
  subgraphPorts: [4001, 4002, 4003, 4004, 4005],
  webPort: 3000,
  dagsterPort: 3070,
};

describe('npm start: the workers network policy', () => {
  it('allows loopback and refuses the embedded PostgreSQL, NATS, the gateway, the subgraphs, web and Dagster', () => {
    expect(workerNetworkEnv(local)).toEqual({
      CONNECTION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
      DLX_PLATFORM_ENDPOINTS:
        '127.0.0.1:54329,127.0.0.1:42229,127.0.0.1:4000,127.0.0.1:4001,127.0.0.1:4002,127.0.0.1:4003,127.0.0.1:4004,127.0.0.1:4005,127.0.0.1:3000,127.0.0.1:3070',
    });
  });

  it("keeps the operator's settings: their allowed networks, their endpoints plus the ones it runs", () => {
    const env = workerNetworkEnv(
      { ...local, databaseUrl: 'postgres://u:x@db.internal/datalinx', warehouseUrl: '', dagsterPort: undefined },
      { CONNECTION_ALLOWED_NETWORKS: '', DLX_PLATFORM_ENDPOINTS: 'billing.internal:443' },
    );
    expect(env.CONNECTION_ALLOWED_NETWORKS).toBe('');
    expect(env.DLX_PLATFORM_ENDPOINTS.split(',')).toEqual([
      'billing.internal:443',
      'db.internal:5432',
      '127.0.0.1:42229',
      '127.0.0.1:4000',
      '127.0.0.1:4001',
      '127.0.0.1:4002',
      '127.0.0.1:4003',
      '127.0.0.1:4004',
      '127.0.0.1:4005',
      '127.0.0.1:3000',
    ]);
  });
});
