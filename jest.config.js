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
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.next/', '/.datalinx/', '/.venv/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/web/.next/'],
  transform: { '^.+\\.(t|j)sx?$': swc, '^.+\\.mjs$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  moduleNameMapper: {
    '^@datalinx/(common|db|graphql-kit|contracts|messaging)$': '<rootDir>/packages/$1/src',
  },
  testTimeout: 60000,
  maxWorkers: 2,
};
