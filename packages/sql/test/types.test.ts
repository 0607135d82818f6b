/**
 * Type names, assignability into target columns, and quoting. The quoting functions are checked
 * on the real PostgreSQL (DATABASE_URL): what they produce must read back as the original value,
 * with standard_conforming_strings on and off.
 */
import { Client } from 'pg';
import { assignable, normalizeType, quoteIdent, quoteLiteral } from '@datalinx/sql';
import { TARGET_DATA_TYPE_PATTERN } from '@datalinx/contracts';

describe('normalizeType', () => {
  it.each([
    ['character varying', 'text'],
    ['character varying(20)', 'text'],
    ['varchar(5)', 'text'],
    ['character(3)', 'text'],
    ['bpchar', 'text'],
    ['text', 'text'],
    ['int2', 'smallint'],
    ['int4', 'integer'],
    ['INTEGER', 'integer'],
    ['int8', 'bigint'],
    ['bigserial', 'bigint'],
    ['numeric(12,2)', 'numeric'],
    ['numeric(12, 2)', 'numeric'],
    ['decimal', 'numeric'],
    ['float4', 'real'],
    ['float8', 'double precision'],
    ['float(10)', 'real'],
    ['float(53)', 'double precision'],
    ['bool', 'boolean'],
    ['timestamp with time zone', 'timestamptz'],
    ['timestamp(3) with time zone', 'timestamptz'],
    ['timestamp without time zone', 'timestamp'],
    ['time with time zone', 'timetz'],
    ['pg_catalog.int4', 'integer'],
    ['uuid', 'uuid'],
    ['jsonb', 'jsonb'],
    ['json', 'json'],
    ['bytea', 'bytea'],
    ['interval', 'interval'],
    ['text[]', 'text[]'],
    ['_int4', 'integer[]'],
    ['character varying[]', 'text[]'],
    ['USER-DEFINED', 'unknown'],
    ['ARRAY', 'unknown'],
    ['inet', 'unknown'],
    ['', 'unknown'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeType(input)).toBe(expected);
  });
});

describe('assignable', () => {
  it.each([
    ['integer', 'integer', { ok: true, cast: false }],
    ['integer', 'bigint', { ok: true, cast: true }],
    ['smallint', 'integer', { ok: true, cast: true }],
    ['integer', 'numeric', { ok: true, cast: true }],
    ['integer', 'numeric(10,2)', { ok: true, cast: true }],
    ['numeric', 'numeric', { ok: true, cast: false }],
    ['numeric(12,2)', 'numeric(12,2)', { ok: true, cast: true }],
    ['integer', 'text', { ok: true, cast: true }],
    ['character varying', 'text', { ok: true, cast: false }],
    ['text', 'varchar(20)', { ok: true, cast: true }],
    ['timestamp with time zone', 'text', { ok: true, cast: true }],
    ['integer', 'double precision', { ok: true, cast: true }],
    ['real', 'double precision', { ok: true, cast: true }],
    ['date', 'timestamp', { ok: true, cast: true }],
    ['date', 'timestamptz', { ok: true, cast: true }],
    ['timestamp', 'timestamptz', { ok: true, cast: true }],
    ['timestamptz', 'timestamptz', { ok: true, cast: false }],
    ['json', 'jsonb', { ok: true, cast: true }],
    ['uuid', 'uuid', { ok: true, cast: false }],
    ['unknown', 'integer', { ok: true, cast: true }],
    ['USER-DEFINED', 'uuid', { ok: true, cast: true }],
  ])('%s → %s', (from, to, expected) => {
    expect(assignable(from, to)).toEqual(expected);
  });

  it.each([
    ['text', 'integer'],
    ['bigint', 'integer'],
    ['integer', 'smallint'],
    ['numeric', 'bigint'],
    ['double precision', 'numeric'],
    ['text', 'uuid'],
    ['text', 'boolean'],
    ['timestamptz', 'date'],
    ['timestamptz', 'timestamp'],
    ['text', 'jsonb'],
    ['text', 'bytea'],
    ['boolean', 'integer'],
    ['text[]', 'text[]'],
  ])('%s → %s is refused, naming both types', (from, to) => {
    const r = assignable(from, to);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain(normalizeType(from));
      expect(r.message).toContain(to);
    }
  });

  it('knows every target data type of the target-schema contract and refuses others', () => {
    for (const to of [
      'text',
      'varchar(20)',
      'smallint',
      'integer',
      'bigint',
      'numeric',
      'numeric(12,2)',
      'real',
      'double precision',
      'boolean',
      'date',
      'time',
      'timestamp',
      'timestamptz',
      'uuid',
      'jsonb',
      'bytea',
    ]) {
      expect(TARGET_DATA_TYPE_PATTERN.test(to)).toBe(true);
      expect(assignable(to === 'varchar(20)' ? 'text' : to, to).ok).toBe(true);
    }
    expect(assignable('integer', 'serial').ok).toBe(false);
  });
});

describe('quoting', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  it('quoteIdent always double-quotes and doubles quotes; refuses NUL', () => {
    expect(quoteIdent('a')).toBe('"a"');
    expect(quoteIdent('Mixed Case')).toBe('"Mixed Case"');
    expect(quoteIdent('x"; DROP TABLE y; --')).toBe('"x""; DROP TABLE y; --"');
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
  });

  it('quoteLiteral doubles quotes, escapes backslashes in E strings; refuses NUL', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
  });

  const nasty = ["it's", "'; DROP TABLE x; --", 'back\\slash\\', "\\'", 'é€😀', '$$', '"quoted"', '\n\t', ''];
  it.each(['on', 'off'])('literals read back unchanged with standard_conforming_strings %s', async (setting) => {
    await client.query(`SET standard_conforming_strings = ${setting}`);
    try {
      for (const value of nasty) {
        const { rows } = await client.query(`SELECT ${quoteLiteral(value)}::text AS v`);
        expect(rows[0].v).toBe(value);
      }
    } finally {
      await client.query('RESET standard_conforming_strings');
    }
  });

  it('identifiers read back unchanged', async () => {
    for (const value of nasty.filter((v) => v !== '')) {
      const { rows } = await client.query(`SELECT 1 AS ${quoteIdent(value)}`);
      expect(Object.keys(rows[0])).toEqual([value]);
    }
  });
});
