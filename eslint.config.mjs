// ESLint (flat config): TypeScript rules plus the architecture boundaries of STYLE.md §Habits 6.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const otherServices = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.next/**',
      '.datalinx/**',
      '.venv/**',
      '**/__generated__/**',
      'gateway/explorer-dist/**',
      'gateway/.explorer-dist-*/**',
      'web/next-env.d.ts',
      'workers/python/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  // Shared packages never import services, the gateway or workers.
  {
    files: ['packages/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/services/**', '**/gateway/**', '**/workers/**', '@datalinx/*-service', '@datalinx/gateway', '@datalinx/workers'],
              message: 'packages/ must not depend on services, the gateway or workers.',
            },
          ],
        },
      ],
    },
  },
  // Services never import each other (they talk through entity references and JetStream).
  ...otherServices.map((name) => ({
    files: [`services/${name}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...otherServices.filter((o) => o !== name).flatMap((o) => [`**/${o}/src/**`, `@datalinx/${o}-service`]),
                '**/gateway/**',
                '**/workers/**',
              ],
              message: 'A service must not import another service, the gateway or workers.',
            },
          ],
        },
      ],
    },
  })),
  // Layer 1 (GraphQL) never touches TypeORM or DAOs.
  {
    files: ['services/*/src/graphql/**/*.ts'],
    ignores: ['services/*/src/graphql/__generated__/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['typeorm', '**/daos/**'], message: 'Resolvers call managers; only DAOs use TypeORM.' }] }],
    },
  },
  // Layer 3 holds the SQL: outside daos/ (and migrations/), no `.query(…)` or `.createQueryBuilder(…)`
  // on a TypeORM EntityManager/DataSource/QueryRunner. The selector matches any `.query(` call, so a
  // legitimate one elsewhere says why on an eslint-disable line (transaction control such as a
  // savepoint is not data access). Tests are exempt (they arrange and inspect rows directly).
  {
    files: ['services/*/src/**/*.ts'],
    ignores: ['services/*/src/daos/**', 'services/*/src/migrations/**', 'services/*/src/graphql/__generated__/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='query']",
          message: 'SQL lives in a DAO (services/<svc>/src/daos): call a DAO method named for what it does, tenant id first.',
        },
        {
          selector: "CallExpression[callee.property.name='createQueryBuilder']",
          message: 'SQL lives in a DAO (services/<svc>/src/daos): call a DAO method named for what it does, tenant id first.',
        },
      ],
    },
  },
  // Layer 3 (DAOs) never knows GraphQL.
  {
    files: ['services/*/src/daos/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['graphql', '@datalinx/graphql-kit', '**/graphql/**', '**/managers/**'], message: 'DAOs do data access only: no GraphQL, no managers.' },
          ],
        },
      ],
    },
  },
);
