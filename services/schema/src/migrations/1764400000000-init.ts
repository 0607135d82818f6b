import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql } from '@datalinx/messaging';

/**
 * Why: canonical types are the vocabulary that suggestions, normalization, dbt tests and
 * monitoring share (ARCHITECTURE.md §7), so the built-in ones must exist before anything else
 * refers to them. They are global reference data (no org_id); custom types will refine a
 * built-in one through parent_id.
 *
 * The built-ins are seeded here, with fixed ids (other services keep references to them), and
 * the seed is frozen in this file on purpose: a later change to a built-in is a new migration.
 * Every pattern is anchored and written in the common subset of ECMAScript and PostgreSQL ARE
 * syntax (no \b, no lookbehind, no flags), so the same string runs in the web, the workers and
 * SQL; the service's tests run each one in both engines against its examples.
 */
const COUNTRIES =
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
  'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
  'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT ' +
  'JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY ' +
  'MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM ' +
  'PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ ' +
  'TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW';

/** ISO 4217 alphabetic codes, current ones plus recently withdrawn ones that old data still carries (HRK, SLL, ZWL…). */
const CURRENCIES =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD ' +
  'CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP ' +
  'GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY ' +
  'KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN ' +
  'NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL ' +
  'THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST ' +
  'XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL';

const oneOf = (codes: string) => `^(?:${codes.split(' ').join('|')})$`;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HEX = '[0-9A-Fa-f]{1,4}';
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `(?:${OCTET}\\.){3}${OCTET}`;
const DATE = '[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-9])|(?:0[13-9]|1[0-2])-30|(?:0[13578]|1[02])-31)';

interface Seed {
  id: string;
  name: string;
  label: string;
  category: string;
  description: string;
  pattern: string;
  examples: string[];
}

export const BUILT_INS: Seed[] = [
  {
    id: '85ccb38a-17a9-43ad-8b08-18be7a9c77d8',
    name: 'email',
    label: 'Email address',
    category: 'contact',
    description: 'An email address (addr-spec): a local part, "@", and a domain with at least one dot.',
    pattern: `^[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]+@${LABEL}(?:\\.${LABEL})+$`,
    examples: ['ada@example.com', 'first.last+tag@mail.example.co.uk', "o'brien@example.ie"],
  },
  {
    id: '7c49007b-da94-4cd6-8ce0-d1ad1deecb45',
    name: 'phone_e164',
    label: 'Phone number (E.164)',
    category: 'contact',
    description: 'An international phone number in E.164 form: "+", a country code not starting with 0, at most 15 digits in all.',
    pattern: '^\\+[1-9][0-9]{1,14}$',
    examples: ['+14155552671', '+442071838750', '+4930901820'],
  },
  {
    id: '9c2694c1-7e91-4661-8b73-76a79d082f25',
    name: 'url',
    label: 'URL',
    category: 'web',
    description: 'An absolute http or https URL with a host name, an optional port and an optional path, query or fragment.',
    pattern: `^https?://(?:${LABEL}\\.)*${LABEL}(?::[0-9]{1,5})?(?:[/?#]\\S*)?$`,
    examples: ['https://example.com', 'http://localhost:8080/health', 'https://docs.example.org/a/b?q=1#top'],
  },
  {
    id: '23e06b8b-857c-4549-b5a8-973da3b43a71',
    name: 'domain',
    label: 'Domain name',
    category: 'web',
    description: 'A fully qualified host name: labels of 1–63 letters, digits or inner hyphens, and an alphabetic top-level domain.',
    pattern: `^(?:${LABEL}\\.)+[A-Za-z]{2,63}$`,
    examples: ['example.com', 'mail.example.co.uk', 'xn--bcher-kva.example'],
  },
  {
    id: '8b49688b-d683-4615-9792-1c88822363d0',
    name: 'uuid',
    label: 'UUID',
    category: 'identifier',
    description: 'An RFC 9562 UUID (versions 1–8, RFC variant) in its 8-4-4-4-12 hex form.',
    pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[1-8][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$',
    examples: ['123e4567-e89b-12d3-a456-426614174000', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '01890a5d-ac96-774b-bcce-b302099a8057'],
  },
  {
    id: '60134537-3697-45d7-bbe8-92550edfcdc2',
    name: 'ipv4',
    label: 'IPv4 address',
    category: 'network',
    description: 'An IPv4 address in dotted-decimal form, each octet 0–255 without leading zeros.',
    pattern: `^${IPV4}$`,
    examples: ['192.168.0.1', '8.8.8.8', '255.255.255.255'],
  },
  {
    id: 'a6913b79-76be-4bbd-a6d6-a0fd74541fd3',
    name: 'ipv6',
    label: 'IPv6 address',
    category: 'network',
    description: 'An IPv6 address in full or "::"-compressed form (RFC 4291), including IPv4-mapped and IPv4-embedded forms.',
    pattern:
      '^(?:' +
      [
        `(?:${HEX}:){7}${HEX}`,
        `(?:${HEX}:){1,7}:`,
        `(?:${HEX}:){1,6}:${HEX}`,
        `(?:${HEX}:){1,5}(?::${HEX}){1,2}`,
        `(?:${HEX}:){1,4}(?::${HEX}){1,3}`,
        `(?:${HEX}:){1,3}(?::${HEX}){1,4}`,
        `(?:${HEX}:){1,2}(?::${HEX}){1,5}`,
        `${HEX}:(?::${HEX}){1,6}`,
        `:(?:(?::${HEX}){1,7}|:)`,
        `(?:${HEX}:){6}${IPV4}`,
        `::(?:[Ff]{4}(?::0{1,4})?:)?${IPV4}`,
        `(?:${HEX}:){1,5}:${IPV4}`,
      ].join('|') +
      ')$',
    examples: ['2001:db8::1', '::1', 'fe80:0:0:0:202:b3ff:fe1e:8329', '::ffff:192.0.2.128'],
  },
  {
    id: 'cf89bf9a-3cf0-4a10-a128-9180416984fa',
    name: 'iso_country',
    label: 'Country (ISO 3166-1 alpha-2)',
    category: 'geo',
    description: 'A two-letter ISO 3166-1 alpha-2 country code (the 249 officially assigned codes), upper case.',
    pattern: oneOf(COUNTRIES),
    examples: ['DE', 'US', 'JP', 'BR'],
  },
  {
    id: '74124a8e-c9ad-4fba-a876-a295883233fb',
    name: 'iso_currency',
    label: 'Currency (ISO 4217)',
    category: 'finance',
    description: 'A three-letter ISO 4217 currency code, upper case, including recently withdrawn codes that historical data still carries.',
    pattern: oneOf(CURRENCIES),
    examples: ['EUR', 'USD', 'JPY', 'CHF'],
  },
  {
    id: 'e59a6020-6843-4926-b996-3825b2433989',
    name: 'date',
    label: 'Date (ISO 8601)',
    category: 'temporal',
    description: 'A calendar date as YYYY-MM-DD with valid month lengths (29 February is accepted in every year; the validator checks leap years).',
    pattern: `^${DATE}$`,
    examples: ['2024-02-29', '1999-12-31', '2025-06-30'],
  },
  {
    id: '0b9770bd-8027-446f-8050-f86416b43268',
    name: 'timestamp',
    label: 'Timestamp (ISO 8601)',
    category: 'temporal',
    description: 'A date and time as ISO 8601 / RFC 3339 ("T" or a space between them), optional seconds and fraction, optional "Z" or ±hh[:mm] offset.',
    pattern: `^${DATE}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:\\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?$`,
    examples: ['2024-05-01T12:30:00Z', '2024-05-01 12:30:00.123456+02:00', '2024-05-01T08:00+0530'],
  },
  {
    id: '0a9bb6ca-6c73-40f7-9204-0347702fa2cc',
    name: 'boolean',
    label: 'Boolean',
    category: 'logical',
    description: 'A truth value written as true/false, t/f, yes/no, y/n or 1/0, in any letter case.',
    pattern: '^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[TtFfYyNn]|[01])$',
    examples: ['true', 'FALSE', 'yes', 'N', '1'],
  },
  {
    id: '60766983-7526-4c7c-a719-a094db4b49ba',
    name: 'postal_code',
    label: 'Postal code',
    category: 'geo',
    description:
      'A postal code in a common national format: 3–6 digits, US ZIP+4, UK, Canada, Netherlands, Japan, Poland, Portugal or Brazil. ' +
      'Refine it per country with a custom type.',
    pattern:
      '^(?:[0-9]{3,6}|[0-9]{5}-[0-9]{4}|[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}|[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]' +
      '|[0-9]{4} ?[A-Za-z]{2}|[0-9]{3}-[0-9]{4}|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3}|[0-9]{5}-?[0-9]{3})$',
    examples: ['10115', '94105-1234', 'SW1A 1AA', 'K1A 0B1', '1012 AB', '100-0001'],
  },
  {
    id: '886277e2-3cef-4fed-a39c-908c6e670312',
    name: 'percentage',
    label: 'Percentage',
    category: 'numeric',
    description: 'A number followed by a percent sign (optionally after a space), with "." or "," as decimal separator.',
    pattern: '^[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+) ?%$',
    examples: ['42%', '12.5 %', '-3,75%', '100%'],
  },
  {
    id: 'c3a501d2-a0a9-45ca-81f7-516ffbe1449f',
    name: 'latitude',
    label: 'Latitude',
    category: 'geo',
    description: 'A latitude in decimal degrees, from -90 to 90.',
    pattern: '^[+-]?(?:90(?:\\.0+)?|[1-8]?[0-9](?:\\.[0-9]+)?)$',
    examples: ['52.520008', '-33.8688', '90', '0.0'],
  },
  {
    id: 'e0f72448-7b0e-490f-ad3f-77c7c52c48b6',
    name: 'longitude',
    label: 'Longitude',
    category: 'geo',
    description: 'A longitude in decimal degrees, from -180 to 180.',
    pattern: '^[+-]?(?:180(?:\\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\\.[0-9]+)?)$',
    examples: ['13.404954', '-122.4194', '180', '151.2093'],
  },
  {
    id: '66ad7d91-4934-4360-8793-5cdff669f296',
    name: 'iban',
    label: 'IBAN',
    category: 'finance',
    description:
      'An International Bank Account Number in electronic form (no spaces): country code, two check digits and a 11–30 character BBAN. ' +
      'The mod-97 checksum is the validator’s job.',
    pattern: '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$',
    examples: ['DE89370400440532013000', 'GB29NWBK60161331926819', 'NL91ABNA0417164300'],
  },
];

export class Init1764400000000 implements MigrationInterface {
  name = 'Init1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "schema".canonical_type (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
      label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
      description text NOT NULL,
      category text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,62}$'),
      parent_id uuid REFERENCES "schema".canonical_type(id) ON DELETE RESTRICT,
      pattern text CHECK (pattern IS NULL OR ('' ~ pattern) IS NOT NULL),
      examples text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (parent_id IS DISTINCT FROM id)
    )`);
    await q.query(`CREATE INDEX canonical_type_category_idx ON "schema".canonical_type (category, name)`);
    await q.query(`CREATE INDEX canonical_type_parent_idx ON "schema".canonical_type (parent_id) WHERE parent_id IS NOT NULL`);
    for (const t of BUILT_INS) {
      await q.query(`INSERT INTO "schema".canonical_type (id, name, label, description, category, pattern, examples) VALUES ($1,$2,$3,$4,$5,$6,$7)`, [
        t.id,
        t.name,
        t.label,
        t.description,
        t.category,
        t.pattern,
        t.examples,
      ]);
    }
    for (const s of outboxTableSql('schema').up) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of outboxTableSql('schema').down) await q.query(s);
    await q.query(`DROP TABLE "schema".canonical_type`);
  }
}
