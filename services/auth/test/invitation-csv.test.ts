import { randomUUID } from 'node:crypto';
import { CSV_MAX_BYTES, parseInvitationCsv } from '../src/managers/invitation.manager';
import { hashLinkToken, looksLikeLinkToken, newLinkToken, INVITATION_TOKEN_PREFIX, PASSWORD_RESET_TOKEN_PREFIX } from '../src/mail/link-tokens';
import { sealEmailBody, unsealEmailBody } from '../src/mail/outgoing';
import { randomBytes } from 'node:crypto';

const HEADER = 'email,role,workspace_grants,display_name';

describe('parseInvitationCsv', () => {
  it('reads rows with their line numbers, grants, quoted fields and optional columns', () => {
    const a = randomUUID();
    const b = randomUUID();
    const { rows, error } = parseInvitationCsv(
      `${HEADER}\r\nada@example.test,member,${a}:editor; ${b}:VIEWER ,Ada L\n\n"bob@example.test",VIEWER,,"Bob, Jr."\n`,
    );
    expect(error).toBeNull();
    expect(rows).toEqual([
      {
        line: 2,
        errors: [],
        input: {
          email: 'ada@example.test',
          orgRole: 'MEMBER',
          grants: [
            { workspaceId: a, role: 'EDITOR' },
            { workspaceId: b, role: 'VIEWER' },
          ],
          displayName: 'Ada L',
        },
      },
      { line: 4, errors: [], input: { email: 'bob@example.test', orgRole: 'VIEWER', grants: [], displayName: 'Bob, Jr.' } },
    ]);
  });

  it('accepts a header in any case and a BOM', () => {
    expect(parseInvitationCsv(`\uFEFFEmail,Role,Workspace_Grants,Display_Name\nx@example.test,ADMIN,,`).error).toBeNull();
  });

  it('gives a bad row its own error and keeps the others', () => {
    const { rows, error } = parseInvitationCsv(`${HEADER}\nx@example.test,MEMBER\ny@example.test,MEMBER,nocolon,Y\nz@example.test,MEMBER,,Z`);
    expect(error).toBeNull();
    expect(rows.map((r) => [r.line, r.errors.map((e) => e.code)])).toEqual([
      [2, ['CSV_ROW_INVALID']],
      [3, ['GRANTS_INVALID']],
      [4, []],
    ]);
  });

  it.each([
    ['a wrong header', 'mail,role,grants\nx@example.test,MEMBER,', 'CSV_HEADER_INVALID'],
    ['no header at all', '', 'CSV_HEADER_INVALID'],
    ['a header only', `${HEADER}\n`, 'CSV_EMPTY'],
    ['broken quoting', `${HEADER}\n"x@example.test,MEMBER,,`, 'CSV_INVALID'],
    ['more than 500 rows', [HEADER, ...Array.from({ length: 501 }, (_v, i) => `u${i}@example.test,MEMBER,,`)].join('\n'), 'CSV_TOO_MANY_ROWS'],
    ['more than 256 KiB', `${HEADER}\n${'x'.repeat(CSV_MAX_BYTES)},MEMBER,,`, 'CSV_TOO_LARGE'],
  ])('refuses a file with %s as a whole', (_what, csv, code) => {
    const { rows, error } = parseInvitationCsv(csv);
    expect(rows).toEqual([]);
    expect(error?.code).toBe(code);
  });

  it('takes exactly 500 rows', () => {
    const { rows, error } = parseInvitationCsv([HEADER, ...Array.from({ length: 500 }, (_v, i) => `u${i}@example.test,MEMBER,,`)].join('\n'));
    expect(error).toBeNull();
    expect(rows).toHaveLength(500);
  });
});

describe('link tokens and sealed e-mail bodies', () => {
  it('makes prefixed 256-bit tokens, recognises their shape and hashes them with sha256', () => {
    const t = newLinkToken(INVITATION_TOKEN_PREFIX);
    expect(t).toMatch(/^dlx_inv_[A-Za-z0-9_-]{43}$/);
    expect(looksLikeLinkToken(INVITATION_TOKEN_PREFIX, t)).toBe(true);
    expect(looksLikeLinkToken(PASSWORD_RESET_TOKEN_PREFIX, t)).toBe(false);
    expect(looksLikeLinkToken(INVITATION_TOKEN_PREFIX, `${t}x`)).toBe(false);
    expect(hashLinkToken(t)).toHaveLength(32);
    expect(newLinkToken(INVITATION_TOKEN_PREFIX)).not.toBe(t);
  });

  it('seals the body bound to its row id: another row id does not open it', () => {
    const key = randomBytes(32);
    const id = randomUUID();
    const body = { text: 'Go to https://app/accept-invitation?token=dlx_inv_abc', link: 'https://app/accept-invitation?token=dlx_inv_abc' };
    const sealed = sealEmailBody(key, id, body);
    expect(JSON.stringify(sealed)).not.toContain('dlx_inv_abc');
    expect(unsealEmailBody(key, id, sealed)).toEqual(body);
    expect(() => unsealEmailBody(key, randomUUID(), sealed)).toThrow();
  });
});
