/**
 * One jest config for the monorepo. TypeScript is compiled by @swc/jest (decorators and
 * metadata included, for TypeORM); workspace packages resolve to their sources, so tests never
 * need a prior `tsc -b`. Integration tests talk to the real PostgreSQL and NATS that
 * `npm test` (scripts/test.mjs) provides through DATABASE_URL and NATS_URL.
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true, tsx: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, react: { runtime: 'automatic' } },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
/** What every project shares. */
const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.next/', '/.datalinx/', '/.venv/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/web/.next/'],
  transform: { '^.+\\.(t|j)sx?$': swc, '^.+\\.mjs$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  moduleNameMapper: {
    '^@datalinx/(common|db|graphql-kit|contracts|messaging|sql)$': '<rootDir>/packages/$1/src',
  },
};

/** Tests that drive chromium (playwright-core) without the built web app. */
const BROWSER = ['**/test/**/*.browser.test.ts', '<rootDir>/gateway/test/explorer.e2e.test.ts'];
/** Tests that run the built web app (`next start`) in chromium. */
const WEB_E2E = ['<rootDir>/web/test/**/*.e2e.test.ts'];

/**
 * Projects, so that set-up happens only when a selected test needs it (jest runs a project's
 * globalSetup only when it has tests in the run; `npm test -- --selectProjects node` leaves the
 * others out):
 *  - `node`: everything else, unit and integration, against the PostgreSQL, NATS and MariaDB
 *    that `npm test` provides (DATABASE_URL, NATS_URL, MYSQL_URL);
 *  - `browser`: chromium must exist (installed when missing, as root on Debian);
 *  - `web-e2e`: chromium and a current `next build` of web/.
 */
module.exports = {
  projects: [
    {
      ...base,
      displayName: 'node',
      testMatch: ['**/test/**/*.test.ts'],
      testPathIgnorePatterns: [
        ...base.testPathIgnorePatterns,
        '\\.browser\\.test\\.ts$',
        '<rootDir>/gateway/test/explorer\\.e2e\\.test\\.ts$',
        '<rootDir>/web/test/.*\\.e2e\\.test\\.ts$',
      ],
    },
    { ...base, displayName: 'browser', testMatch: BROWSER, globalSetup: '<rootDir>/scripts/lib/jest-chromium.cjs' },
    { ...base, displayName: 'web-e2e', testMatch: WEB_E2E, globalSetup: '<rootDir>/scripts/lib/jest-web-app.cjs' },
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
