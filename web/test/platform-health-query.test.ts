/**
 * The page's health query must be valid against the API the gateway serves: the composition of
 * the five subgraph SDLs (services/<name>/schema.graphql, the source of schema/supergraph.graphql).
 * Catches a renamed or removed field before a browser shows the error state for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, validate } from 'graphql';
import { PLATFORM_HEALTH_QUERY, SERVICE_KEYS } from '../lib/platform-health';

const ROOT = path.resolve(__dirname, '..', '..');

test('PlatformHealth is valid against the composed supergraph', () => {
  const missing = SERVICE_KEYS.filter((name) => !existsSync(path.join(ROOT, 'services', name, 'schema.graphql')));
  expect(missing).toEqual([]);
  const composed = composeServices(
    SERVICE_KEYS.map((name) => ({
      name,
      url: `http://${name}/graphql`,
      typeDefs: parse(readFileSync(path.join(ROOT, 'services', name, 'schema.graphql'), 'utf8')),
    })),
  );
  expect(composed.errors?.map((e) => e.message) ?? []).toEqual([]);
  if (composed.errors) return;
  const apiSchema = composed.schema.toAPISchema().toGraphQLJSSchema();
  // The document urql sends is the same text, re-parsed with graphql-js.
  const document = parse(PLATFORM_HEALTH_QUERY.loc?.source.body ?? '');
  expect(validate(apiSchema, document).map((e) => e.message)).toEqual([]);
});
