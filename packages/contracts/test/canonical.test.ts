/**
 * Every built-in canonical type, through both of its implementations: the TypeScript validator
 * and the PostgreSQL normalizer on the real server (DATABASE_URL). Both must accept the same
 * valid examples with the same normalized text, and reject the same invalid ones.
 */
import { Client } from 'pg';
import { applySql, BUILT_IN_CANONICAL_TYPES, CANONICAL_TYPES, customCanonicalType, detectCanonicalType, maskSql, maskValue } from '../src/canonical';

const url = process.env.DATABASE_URL;

describe('canonical types: definitions', () => {
  it('has at least 50 built-ins with unique snake_case names and known parents', () => {
    expect(BUILT_IN_CANONICAL_TYPES.length).toBeGreaterThanOrEqual(50);
    const names = BUILT_IN_CANONICAL_TYPES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of BUILT_IN_CANONICAL_TYPES) {
      expect(t.name).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
      expect(t.category).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
      expect(t.rule).toMatch(/^[a-z0-9_]+\.[a-z0-9_]+$/);
      if (t.parent) expect(names).toContain(t.parent);
      expect(t.examples.valid.length).toBeGreaterThanOrEqual(2);
      // The schema service seeds the distinct canonical forms as the type's examples: at least two.
      expect(new Set(t.examples.valid.map((e) => e.normalized)).size).toBeGreaterThanOrEqual(2);
      expect(t.examples.invalid.length).toBeGreaterThanOrEqual(2);
      // Common ECMAScript/ARE subset: no \b, lookbehind or flags.
      expect(t.pattern).not.toMatch(/\\b|\(\?<[=!]|\(\?[a-z]+\)/);
      expect(t.pattern.startsWith('^') && t.pattern.endsWith('$')).toBe(true);
    }
    for (const n of [
      'email',
      'phone_e164',
      'iso_currency',
      'money_amount',
      'iso_country',
      'iso_country_alpha3',
      'country_name',
      'us_state',
      'ca_province',
      'postal_code',
      'us_zip',
      'uk_postcode',
      'de_postal_code',
      'fr_postal_code',
      'ca_postal_code',
      'url',
      'domain',
      'ipv4',
      'ipv6',
      'mac_address',
      'uuid',
      'date',
      'us_date',
      'eu_date',
      'timestamp',
      'unix_epoch',
      'time_of_day',
      'year',
      'month',
      'boolean',
      'full_name',
      'first_name',
      'last_name',
      'gender',
      'percentage',
      'latitude',
      'longitude',
      'coordinates',
      'integer',
      'decimal',
      'positive_integer',
      'iban',
      'credit_card',
      'national_id_us_ssn',
      'language_code',
      'locale',
      'timezone',
      'hex_color',
      'semver',
      'hashtag',
      'twitter_handle',
      'mime_type',
      'file_extension',
      'sku',
    ]) {
      expect(CANONICAL_TYPES[n]).toBeDefined();
    }
  });

  describe.each(BUILT_IN_CANONICAL_TYPES.map((t) => [t.name, t] as const))('%s (TypeScript)', (_n, t) => {
    it('accepts and normalizes every valid example; the result matches the pattern and is a fixed point', () => {
      for (const { value, normalized } of t.examples.valid) {
        expect({ value, r: t.validate(value) }).toEqual({ value, r: { ok: true, normalized } });
        expect({ normalized, matches: t.detect.test(normalized) }).toEqual({ normalized, matches: true });
        expect(t.validate(normalized)).toEqual({ ok: true, normalized });
      }
    });
    it('rejects every invalid example with its rule', () => {
      for (const value of t.examples.invalid) expect({ value, r: t.validate(value) }).toEqual({ value, r: { ok: false, rule: t.rule } });
    });
  });

  it('masks sensitive values', () => {
    expect(maskValue('4111111111111111')).toBe('************1111');
    expect(maskValue('123')).toBe('****');
    expect(
      BUILT_IN_CANONICAL_TYPES.filter((t) => t.sensitive)
        .map((t) => t.name)
        .sort(),
    ).toEqual(['credit_card', 'iban', 'national_id_us_ssn']);
  });
});

describe('canonical types: the PostgreSQL normalizers agree with the validators', () => {
  let c: Client;
  beforeAll(async () => {
    if (!url) throw new Error('DATABASE_URL is required');
    c = new Client({ connectionString: url });
    await c.connect();
  });
  afterAll(async () => c?.end());

  const sqlRun = async (normalizer: string, values: string[]) => {
    const { rows } = await c.query<{ v: string; n: string | null }>(
      `SELECT v, ${applySql(normalizer, 'v')} AS n FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
      [values],
    );
    return rows;
  };

  it.each(BUILT_IN_CANONICAL_TYPES.map((t) => [t.name, t] as const))('%s', async (_n, t) => {
    const valid = t.examples.valid;
    const rows = await sqlRun(t.sqlNormalizer, [...valid.map((e) => e.value), ...valid.map((e) => e.normalized), ...t.examples.invalid]);
    const expected = [...valid.map((e) => e.normalized), ...valid.map((e) => e.normalized), ...t.examples.invalid.map(() => null)];
    expect(rows.map((r) => ({ v: r.v, n: r.n }))).toEqual(rows.map((r, i) => ({ v: r.v, n: expected[i] })));
    // The pattern is the same in PostgreSQL: it matches every normalized value and no invalid raw one that JS rejects.
    const { rows: m } = await c.query<{ v: string; m: boolean }>(`SELECT v, v ~ $1 AS m FROM unnest($2::text[]) AS v`, [
      t.pattern,
      valid.map((e) => e.normalized),
    ]);
    expect(m.every((r) => r.m)).toBe(true);
  });

  it('never raises on odd input (a normalizer runs over whole tables)', async () => {
    const odd = [
      '',
      ' ',
      '\t',
      '💥',
      "'; DROP TABLE x; --",
      '9'.repeat(400),
      '-',
      '.',
      '+',
      '0x1F',
      'NaN',
      'Infinity',
      '2024-99-99',
      '99:99',
      '1/1/1',
      'é',
      '\\',
      '%',
    ];
    for (const t of BUILT_IN_CANONICAL_TYPES) {
      const rows = await sqlRun(t.sqlNormalizer, odd);
      for (const [i, r] of rows.entries()) {
        const js = t.validate(odd[i]!);
        expect({ type: t.name, v: r.v, n: r.n }).toEqual({ type: t.name, v: r.v, n: js.ok ? js.normalized : null });
      }
    }
    const { rows: nul } = await c.query(`SELECT ${applySql(CANONICAL_TYPES.email!.sqlNormalizer, 'NULL::text')} AS n`);
    expect(nul).toEqual([{ n: null }]);
  });

  it('masks in SQL like in TypeScript', async () => {
    const { rows } = await c.query(`SELECT ${maskSql('v')} AS m FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [['4111111111111111', '123']]);
    expect(rows.map((r) => r.m)).toEqual(['4111111111111111', '123'].map(maskValue));
  });

  it('custom types inherit the parent and add a narrower pattern, in both engines', async () => {
    const work = customCanonicalType(CANONICAL_TYPES.email!, { name: 'work_email', label: 'Work email', pattern: '^[^@]+@acme\\.test$' });
    expect(work.validate(' Ada@ACME.test')).toEqual({ ok: true, normalized: 'ada@acme.test' });
    expect(work.validate('ada@gmail.com')).toEqual({ ok: false, rule: 'work_email.pattern' });
    expect(work.validate('not an email')).toEqual({ ok: false, rule: 'email.format' });
    expect((await sqlRun(work.sqlNormalizer, [' Ada@ACME.test', 'ada@gmail.com', 'not an email'])).map((r) => r.n)).toEqual(['ada@acme.test', null, null]);
  });
});

describe('detectCanonicalType', () => {
  it('detects a column of e-mails with share ≥ 0.9', () => {
    const values = Array.from({ length: 19 }, (_, i) => `user${i}@example.com`).concat('not-an-email');
    const r = detectCanonicalType(values);
    expect(r?.type).toBe('email');
    expect(r!.share).toBeGreaterThanOrEqual(0.9);
  });

  it('handles mixed and ambiguous columns', () => {
    expect(detectCanonicalType(['DE', 'FR', 'US', 'Germany', 'xx'])).toEqual({ type: 'iso_country', share: 0.8 });
    expect(detectCanonicalType(['94105', '10001', '94105-1234'])).toEqual({ type: 'us_zip', share: 1 });
    expect(detectCanonicalType(['yes', 'no', 'Y', 'N'])).toEqual({ type: 'boolean', share: 1 });
    expect(detectCanonicalType(['2024-01-05', '2023-12-31'])).toEqual({ type: 'date', share: 1 });
    expect(detectCanonicalType(['12/31/1999', '1/5/2024'])).toEqual({ type: 'us_date', share: 1 });
    expect(detectCanonicalType(['123e4567-e89b-12d3-a456-426614174000', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'])).toEqual({ type: 'uuid', share: 1 });
    expect(detectCanonicalType(['EUR', 'USD', 'JPY'])).toEqual({ type: 'iso_currency', share: 1 });
    expect(detectCanonicalType(['a@b.co', 'https://x.org', '192.168.0.1', '42'])).not.toBeNull();
    expect(detectCanonicalType([])).toBeNull();
    expect(detectCanonicalType(['', '  '])).toBeNull();
    expect(detectCanonicalType(['§§§', '¤¤'])).toBeNull();
  });

  it('lets a custom type win over its parent on a tie', () => {
    const work = customCanonicalType(CANONICAL_TYPES.email!, { name: 'work_email', label: 'Work email', pattern: '^[^@]+@acme\\.test$' });
    expect(detectCanonicalType(['a@acme.test', 'b@acme.test'], [...BUILT_IN_CANONICAL_TYPES, work])).toEqual({ type: 'work_email', share: 1 });
  });
});
