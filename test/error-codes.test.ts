import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildASTSchema, isEnumType, parse } from 'graphql';
import { AUTH_ERROR_CODES } from '../services/auth/src/errors';
import { WORKSPACE_ERROR_CODES } from '../services/workspace/src/errors';
import { SCHEMA_ERROR_CODES } from '../services/schema/src/errors';
import { MAPPING_ERROR_CODES } from '../services/mapping/src/errors';
import { MONITORING_ERROR_CODES } from '../services/monitoring/src/errors';

/**
 * Every payload error code a service can return (its `as const` list, the only codes its
 * `userError` builder compiles with) is a value of the service's enum in the composed schema,
 * and the enum lists nothing the service cannot return.
 */
const services: Array<[string, readonly string[], string]> = [
  ['AuthErrorCode', AUTH_ERROR_CODES, 'auth'],
  ['WorkspaceErrorCode', WORKSPACE_ERROR_CODES, 'workspace'],
  ['SchemaErrorCode', SCHEMA_ERROR_CODES, 'schema'],
  ['MappingErrorCode', MAPPING_ERROR_CODES, 'mapping'],
  ['MonitoringErrorCode', MONITORING_ERROR_CODES, 'monitoring'],
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === '__generated__' ? [] : sources(p);
    return p.endsWith('.ts') && name !== 'errors.ts' ? [p] : [];
  });
}

const supergraph = buildASTSchema(parse(readFileSync(join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8')), { assumeValidSDL: true });

describe('UserError codes', () => {
  it.each(services)('%s in the composed schema lists exactly the codes of the service', (enumName, codes) => {
    const type = supergraph.getType(enumName);
    if (!isEnumType(type)) throw new Error(`${enumName} is not an enum of the composed schema`);
    const inSchema = type
      .getValues()
      .map((v) => v.name)
      .sort();
    expect({ missingFromSchema: codes.filter((c) => !inSchema.includes(c)), notReturned: inSchema.filter((c) => !codes.includes(c)) }).toEqual({
      missingFromSchema: [],
      notReturned: [],
    });
  });

  it.each(services)('%s: every listed code is returned somewhere in the service', (_enumName, codes, svc) => {
    const src = sources(join(__dirname, '..', 'services', svc, 'src'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(codes.filter((c) => !src.includes(`'${c}'`))).toEqual([]);
  });

  it('lists each code once per service', () => {
    for (const [, codes] of services) expect(new Set(codes).size).toBe(codes.length);
  });

  it('every subgraph declares the same UserError (code stays a String for federation)', () => {
    const userError = supergraph.getType('UserError');
    if (!userError || !('getFields' in userError)) throw new Error('no UserError in the composed schema');
    const fields = Object.fromEntries(Object.values(userError.getFields()).map((f) => [f.name, String(f.type)]));
    expect(fields).toEqual({ code: 'String!', field: 'String', message: 'String!' });
  });
});
