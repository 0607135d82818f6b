import { destinationTableName, keysetAfter, lit, qi, recordFilter, runColumnsDdl, stagingTableDdl, unquote, upsertInto } from '../src/sync/sql';
import { SyncFailure } from '../src/sync/outcome';

/** The sync's SQL text, built from names and values: quoting, destination names, the statements of a batch. */
describe('sync SQL building', () => {
  it('quotes identifiers and literals the way pg does (inert whatever the text), and refuses NUL', () => {
    expect(qi('orders')).toBe('"orders"');
    expect(qi('we"ird; DROP TABLE x')).toBe('"we""ird; DROP TABLE x"');
    expect(unquote(qi('a"b'))).toBe('a"b');
    expect(lit("O'Brien")).toBe("'O''Brien'");
    // A backslash: an E'' literal with the backslash doubled, read the same whatever standard_conforming_strings is.
    expect(lit('C:\\dir')).toBe("E'C:\\\\dir'");
    expect(() => qi('a\0b')).toThrow(SyncFailure);
    expect(() => lit('a\0b')).toThrow(expect.objectContaining({ code: 'INVALID_VALUE' }));
  });

  it('names destination tables raw_<schema>__<table>, long ones with a prefix and a hash that fit the staging suffix', () => {
    expect(destinationTableName({ schema: 'public', name: 'orders' })).toBe('raw_public__orders');
    const long = destinationTableName({ schema: 'public', name: 'a'.repeat(60) });
    expect(long).toMatch(/^raw_public__a+_[0-9a-f]{8}$/);
    expect(Buffer.byteLength(`${long}__dlx_staging`)).toBeLessThanOrEqual(63);
    expect(destinationTableName({ schema: 'public', name: 'a'.repeat(60) })).toBe(long);
    expect(destinationTableName({ schema: 'public', name: `${'a'.repeat(59)}b` })).not.toBe(long);
  });

  it('keyset filter: cursor not NULL, then (keys) after the position, each value cast to its column type', () => {
    const types: Record<string, string> = { updated_at: 'timestamp with time zone', id: 'bigint' };
    expect(keysetAfter(['updated_at', 'id'], null, (k) => types[k])).toBe('"updated_at" IS NOT NULL');
    expect(keysetAfter(['updated_at', 'id'], ['2024-01-01 00:00:00+00', "4'2"], (k) => types[k])).toBe(
      `"updated_at" IS NOT NULL AND ("updated_at", "id") > ('2024-01-01 00:00:00+00'::timestamp with time zone, '4''2'::bigint)`,
    );
  });

  it('upsert: every column plus the run columns, conflict on the key, the key itself never updated', () => {
    const u = upsertInto('"ws_0"."raw_t"', ['id', 'name', 'updated_at'], ['id'], '00000000-0000-4000-8000-000000000001');
    expect(u.into).toBe('INSERT INTO "ws_0"."raw_t" AS t ("id", "name", "updated_at", _dlx_run_id, _dlx_synced_at)');
    expect(u.values('2024-01-01T00:00:00.000Z')).toBe(
      `"id", "name", "updated_at", '00000000-0000-4000-8000-000000000001'::uuid, '2024-01-01T00:00:00.000Z'::timestamptz`,
    );
    expect(u.onConflict).toBe(
      'ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "updated_at" = EXCLUDED."updated_at", _dlx_run_id = EXCLUDED._dlx_run_id, _dlx_synced_at = EXCLUDED._dlx_synced_at',
    );
  });

  it('record filter: cursor and key not NULL and the cursor above the mark (none: any)', () => {
    expect(recordFilter('seen', ['a', 'b'], null, 'integer')).toEqual({
      c: '"seen"',
      keyed: '"a" IS NOT NULL AND "b" IS NOT NULL',
      above: 'true',
      picked: '"seen" IS NOT NULL AND "a" IS NOT NULL AND "b" IS NOT NULL AND true',
    });
    expect(recordFilter('seen', ['a'], '41', 'integer').above).toBe(`"seen" > '41'::integer`);
  });

  it('staging table: the columns; after the load, the run columns as constant defaults', () => {
    expect(
      stagingTableDdl('"ws"."t__dlx_staging"', [
        { name: 'id', type: 'integer' },
        { name: 'x"y', type: 'text' },
      ]),
    ).toBe(`CREATE TABLE "ws"."t__dlx_staging" ("id" integer, "x""y" text)`);
    expect(runColumnsDdl('"ws"."t__dlx_staging"', 'r', "s'")).toBe(
      `ALTER TABLE "ws"."t__dlx_staging" ADD COLUMN _dlx_run_id uuid NOT NULL DEFAULT 'r', ADD COLUMN _dlx_synced_at timestamptz NOT NULL DEFAULT 's'''`,
    );
  });
});
