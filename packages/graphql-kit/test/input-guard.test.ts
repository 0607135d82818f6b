import { graphql } from 'graphql';
import gql from 'graphql-tag';
import { NIL_UUID } from '@datalinx/common';
import { buildShieldedSchema } from '../src/server';
import { allow, rule } from '../src/shield';
import { byIdLoader, groupLoader } from '../src/loaders';

/**
 * The argument guard every subgraph server runs in front of shield (input-guard.ts), on a small
 * schema: what the resolver and shield's rules receive, and what the caller gets.
 */
const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  scalar DateTime
  enum Kind {
    A
    B
  }
  input GrantInput {
    workspaceId: ID!
    note: String
  }
  input ThingInput {
    id: ID
    ids: [ID!]
    grants: [GrantInput!]
    name: String
    count: Int
    kind: Kind
    at: DateTime
    nested: ThingInput
  }
  type Query {
    echo(id: ID, input: ThingInput, first: Int): String
  }
  type Thing @key(fields: "id") {
    id: ID!
  }
`;

const seen: { args: unknown[]; shield: unknown[] } = { args: [], shield: [] };
const schema = buildShieldedSchema(
  typeDefs,
  { Query: { echo: (_p: unknown, args: unknown) => (seen.args.push(args), 'ok') } },
  { Query: { echo: rule('record', { cache: 'no_cache' })(async (_p, args) => (seen.shield.push(args), true)) }, Thing: allow },
);
const run = (source: string, variableValues: Record<string, unknown> = {}) => graphql({ schema, source, variableValues, contextValue: {} });
const Q = `query($id: ID, $input: ThingInput, $first: Int){ echo(id: $id, input: $input, first: $first) }`;
const UUID = '3F2C1A4E-8B7D-4C6E-9A1B-2D3E4F5A6B7C';

beforeEach(() => {
  seen.args = [];
  seen.shield = [];
});

describe('the argument guard', () => {
  it('gives shield and the resolver the nil UUID for every malformed ID, nested and in lists, and well-formed ones in lower case', async () => {
    const res = await run(Q, {
      id: 'not-a-uuid',
      first: 3,
      input: { id: `${UUID}x`, ids: ['', UUID, "' OR 1=1"], grants: [{ workspaceId: ' ', note: 'n' }], name: 'Ada', count: 7, kind: 'B', nested: { id: 42 } },
    });
    expect(res.errors).toBeUndefined();
    const expected = {
      id: NIL_UUID,
      first: 3,
      input: {
        id: NIL_UUID,
        ids: [NIL_UUID, UUID.toLowerCase(), NIL_UUID],
        grants: [{ workspaceId: NIL_UUID, note: 'n' }],
        name: 'Ada',
        count: 7,
        kind: 'B',
        nested: { id: NIL_UUID },
      },
    };
    expect(seen.shield).toEqual([expected]);
    expect(seen.args).toEqual([expected]);
  });

  it('leaves absent and null arguments as they are', async () => {
    await run(Q, { input: { id: null } });
    expect(seen.args).toEqual([{ input: { id: null } }]);
  });

  it.each([
    ['input.name', { input: { name: 'a\u0000b' } }],
    ['input.grants.0.note', { input: { grants: [{ workspaceId: UUID, note: '\u0000' }] } }],
    ['input.nested.name', { input: { nested: { name: 'x\u0000' } } }],
    ['input.at', { input: { at: '2026-01-01T00:00:00Z\u0000' } }],
  ])('refuses a NUL character in %s with BAD_USER_INPUT naming it, before shield and the resolver', async (argument, variables) => {
    const res = await run(Q, variables);
    expect(res.data).toEqual({ echo: null });
    expect(res.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', argument }]);
    expect(res.errors?.[0]?.message).toContain(argument);
    expect(seen.shield).toEqual([]);
    expect(seen.args).toEqual([]);
  });

  it('treats a NUL character inside an ID as a malformed id, not a refusal', async () => {
    const res = await run(Q, { id: `${UUID.slice(0, 8)}\u0000${UUID.slice(9)}` });
    expect(res.errors).toBeUndefined();
    expect(seen.args).toEqual([{ id: NIL_UUID }]);
  });
});

describe('byIdLoader and groupLoader', () => {
  const id = '3f2c1a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c';

  it('answer a malformed key with nothing, never passing it to fetch, and match keys case-insensitively', async () => {
    const fetched: string[][] = [];
    const byId = byIdLoader<string, { id: string }>(async (ids) => (fetched.push([...ids]), ids.map((i) => ({ id: i }))));
    expect(await byId.loadMany(['not-a-uuid', id.toUpperCase(), ''])).toEqual([null, { id }, null]);
    expect(fetched).toEqual([[id]]);

    const groups = groupLoader<string, { id: string; k: string }>(
      async (keys) => (fetched.push([...keys]), keys.map((k) => ({ id: 'x', k }))),
      (r) => r.k,
    );
    expect(await groups.loadMany([`${id}x`, id.toUpperCase()])).toEqual([[], [{ id: 'x', k: id }]]);
    expect(fetched[1]).toEqual([id]);
  });

  it('do not call fetch when no key is a UUID', async () => {
    const fetch = jest.fn(async () => []);
    expect(await byIdLoader<string, { id: string }>(fetch).load('nope')).toBeNull();
    expect(await groupLoader<string, { k: string }>(fetch, (r) => r.k).load('nope')).toEqual([]);
    expect(fetch).not.toHaveBeenCalled();
  });
});
