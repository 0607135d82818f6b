import { buildSubgraphSchema } from '@apollo/subgraph';
import { isObjectType, type DocumentNode, type GraphQLSchema } from 'graphql';
import { typeDefs as authTypeDefs } from '../services/auth/src/app';
import { permissions as authPermissions } from '../services/auth/src/graphql/permissions';
import { typeDefs as workspaceTypeDefs } from '../services/workspace/src/app';
import { permissions as workspacePermissions } from '../services/workspace/src/graphql/permissions';
import { typeDefs as schemaTypeDefs } from '../services/schema/src/app';
import { permissions as schemaPermissions } from '../services/schema/src/graphql/permissions';
import { typeDefs as mappingTypeDefs } from '../services/mapping/src/app';
import { permissions as mappingPermissions } from '../services/mapping/src/graphql/permissions';
import { typeDefs as monitoringTypeDefs } from '../services/monitoring/src/app';
import { permissions as monitoringPermissions } from '../services/monitoring/src/graphql/permissions';

/**
 * Deny by default is only half the rule: every root field must also carry an explicit,
 * deliberate rule. A new Query or Mutation field without one fails here, in every subgraph.
 * Every object type must have a rule too (type-wide or per field), so nothing reachable through
 * `_entities` falls back silently.
 */
const subgraphs: Array<[string, DocumentNode, Record<string, unknown>]> = [
  ['auth', authTypeDefs, authPermissions],
  ['workspace', workspaceTypeDefs, workspacePermissions],
  ['schema', schemaTypeDefs, schemaPermissions],
  ['mapping', mappingTypeDefs, mappingPermissions],
  ['monitoring', monitoringTypeDefs, monitoringPermissions],
];

const FEDERATION = new Set(['_service', '_entities', '_Service', '_Entity', '_Any']);

function rootFields(schema: GraphQLSchema, root: 'Query' | 'Mutation'): string[] {
  const type = schema.getType(root);
  return type && isObjectType(type) ? Object.keys(type.getFields()).filter((f) => !FEDERATION.has(f)) : [];
}

describe.each(subgraphs)('%s subgraph shield coverage', (_name, typeDefs, permissions) => {
  const schema = buildSubgraphSchema([{ typeDefs }]);

  it.each(['Query', 'Mutation'] as const)('every %s field has an explicit rule', (root) => {
    const rules = (permissions[root] ?? {}) as Record<string, unknown>;
    const missing = rootFields(schema, root).filter((f) => !rules[f]);
    expect(missing).toEqual([]);
    // …and no rule names a field that does not exist (a renamed field would otherwise go unguarded).
    const stale = Object.keys(rules).filter((f) => !rootFields(schema, root).includes(f));
    expect(stale).toEqual([]);
  });

  it('every object type has a rule', () => {
    const objectTypes = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && !t.name.startsWith('__') && !FEDERATION.has(t.name) && t.name !== 'Query' && t.name !== 'Mutation')
      .map((t) => t.name);
    const missing = objectTypes.filter((t) => !permissions[t]);
    expect(missing).toEqual([]);
  });
});
