import { splitDatabaseVersion } from '../components/format';
import { CombinedError } from 'urql';
import { GraphQLError } from 'graphql';
import {
  allErrorMessages,
  generalErrors,
  isGatewayUnreachable,
  latestMigration,
  serviceViews,
  type PlatformHealth,
  type ServiceStatus,
} from '../lib/platform-health';

const newServiceStatus = (overrides: Partial<ServiceStatus> = {}): ServiceStatus => ({
  service: 'auth',
  ok: true,
  database: 'PostgreSQL 15.8',
  latencyMs: 1.5,
  migrations: [],
  ...overrides,
});

const newPlatform = (overrides: Partial<PlatformHealth> = {}): PlatformHealth => ({
  id: 'platform',
  checkedAt: '2025-01-01T00:00:00.000Z',
  auth: newServiceStatus({ service: 'auth' }),
  workspace: newServiceStatus({ service: 'workspace' }),
  schema: newServiceStatus({ service: 'schema' }),
  mapping: newServiceStatus({ service: 'mapping' }),
  monitoring: newServiceStatus({ service: 'monitoring' }),
  ...overrides,
});

describe('latestMigration', () => {
  test('is the last one applied (subgraphs list them in the order applied)', () => {
    expect(
      latestMigration([
        { name: 'Init1700000000001', version: '2023-11-14T22:13:20.001Z' },
        { name: 'AddKeys1700000000003', version: '2023-11-14T22:13:20.003Z' },
        { name: 'Backfill1700000000002', version: '2023-11-14T22:13:20.002Z' },
      ])?.name,
    ).toBe('Backfill1700000000002');
  });

  test('is null when nothing was applied', () => {
    expect(latestMigration([])).toBeNull();
  });
});

describe('serviceViews', () => {
  test('one view per service, in order', () => {
    const views = serviceViews(newPlatform(), undefined);
    expect(views.map((v) => [v.key, v.ok])).toEqual([
      ['auth', true],
      ['workspace', true],
      ['schema', true],
      ['mapping', true],
      ['monitoring', true],
    ]);
  });

  test('a missing service is down and carries the errors whose path points at it', () => {
    const error = new CombinedError({
      graphQLErrors: [new GraphQLError('connect ECONNREFUSED monitoring:4005', { path: ['platform', 'monitoring'] }), new GraphQLError('rate limited')],
    });
    const views = serviceViews(newPlatform({ monitoring: null, schema: newServiceStatus({ ok: false }) }), error);
    const byKey = Object.fromEntries(views.map((v) => [v.key, v]));
    expect(byKey.monitoring).toMatchObject({ ok: false, status: null, errors: ['connect ECONNREFUSED monitoring:4005'] });
    expect(byKey.schema).toMatchObject({ ok: false, errors: [] });
    expect(generalErrors(error)).toEqual(['rate limited']);
    expect(allErrorMessages(error)).toEqual(['Monitoring: connect ECONNREFUSED monitoring:4005', 'rate limited']);
  });
});

describe('isGatewayUnreachable', () => {
  test('recognises the proxy error codes only', () => {
    const down = new CombinedError({
      graphQLErrors: [new GraphQLError('The gateway at x did not answer: y', { extensions: { code: 'GATEWAY_UNREACHABLE' } })],
    });
    const unauthenticated = new CombinedError({
      graphQLErrors: [new GraphQLError('no', { extensions: { code: 'UNAUTHENTICATED' } })],
    });
    expect(isGatewayUnreachable(down)).toBe(true);
    expect(isGatewayUnreachable(unauthenticated)).toBe(false);
    expect(isGatewayUnreachable(undefined)).toBe(false);
  });
});

describe('splitDatabaseVersion', () => {
  test('separates the version from the packaging detail', () => {
    expect(splitDatabaseVersion('PostgreSQL 15.20 (Debian 15.20-0+deb12u1)')).toEqual({
      main: 'PostgreSQL 15.20',
      detail: 'Debian 15.20-0+deb12u1',
    });
    expect(splitDatabaseVersion('PostgreSQL 18.1')).toEqual({ main: 'PostgreSQL 18.1', detail: null });
  });
});
