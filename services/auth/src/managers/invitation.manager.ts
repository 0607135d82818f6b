import type { DataSource, EntityManager } from 'typeorm';
import { parse } from 'csv-parse/sync';
import { decodeCursor, encodeCursor, isUuid, pageSize, type Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { hasOrgPermission, type Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { WorkspaceRefDao } from '../daos/workspace-ref.dao';
import type { WorkspaceGrantDao } from '../daos/workspace-grant.dao';
import type { EmailOutboxDao } from '../daos/email-outbox.dao';
import type { InvitationDao, InvitationGrantValue, InvitationRow, InvitationStatusValue } from '../daos/invitation.dao';
import type { OrgRoleValue, User } from '../entities/user.entity';
import { INVITATION_TOKEN_PREFIX, hashLinkToken, looksLikeLinkToken, newLinkToken } from '../mail/link-tokens';
import { queueEmail, webLink } from '../mail/outgoing';
import { invitationEmail } from '../mail/templates';
import { normalizeEmail } from './account.manager';
import { audit } from './audit';
import { readOrgSettings } from './org-settings';
import { checkPasswordPolicy } from './password-policy';
import { hashPassword } from './passwords';
import { recordPasswordHistory } from './password-history';
import { userError, type UserError } from './user-error';

export interface InviteInput {
  email: string;
  orgRole: string;
  grants?: ReadonlyArray<{ workspaceId: string; role: string }> | null;
  displayName?: string | null;
}

export interface InvitationConfig {
  /** Where the web app runs: links are `${webBaseUrl}/accept-invitation?token=…`. */
  webBaseUrl: string;
  ttlHours: number;
}

export interface InviteUsersRowResult {
  line: number;
  email: string | null;
  ok: boolean;
  invitation: InvitationRow | null;
  errors: UserError[];
}

export interface InviteUsersResult {
  rows: InviteUsersRowResult[];
  invitedCount: number;
  failedCount: number;
  errors: UserError[];
}

export interface InvitationPreview {
  organizationName: string;
  email: string;
  displayName: string | null;
  orgRole: OrgRoleValue;
  expiresAt: Date;
}

// Pragmatic, as at sign-up: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const ORG_ROLES = new Set<string>(['ADMIN', 'MEMBER', 'VIEWER']);
const GRANT_ROLES = new Set<string>(['EDITOR', 'VIEWER']);
const MAX_GRANTS = 100;
export const CSV_MAX_BYTES = 256 * 1024;
export const CSV_MAX_ROWS = 500;
export const CSV_HEADER = ['email', 'role', 'workspace_grants', 'display_name'] as const;

/** Same answer for unknown, used, expired and revoked tokens: the link holder learns nothing more. */
export const INVITATION_INVALID = userError(
  'INVITATION_INVALID',
  'token',
  'This invitation link is not valid any more (used, expired or revoked). Ask an administrator of the organization for a new one.',
);

const pgUnique = (err: unknown): boolean => {
  const e = err as { code?: string; driverError?: { code?: string } };
  return (e.driverError?.code ?? e.code) === '23505';
};

/** One CSV data row, before validation (the parse itself is separate from the database). */
export interface CsvInviteRow {
  line: number;
  input: InviteInput | null;
  errors: UserError[];
}

/**
 * Parses a bulk-invitation CSV (header `email,role,workspace_grants,display_name`; grants
 * `<uuid>:EDITOR;<uuid>:VIEWER`, may be empty). A malformed file is one top-level error; a bad
 * row is that row's error only.
 */
export function parseInvitationCsv(csv: string): { rows: CsvInviteRow[]; error: UserError | null } {
  if (Buffer.byteLength(csv, 'utf8') > CSV_MAX_BYTES)
    return { rows: [], error: userError('CSV_TOO_LARGE', 'csv', `The file is larger than ${CSV_MAX_BYTES / 1024} KiB: split it into smaller files.`) };
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(csv.replace(/^\uFEFF/, ''), {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      record_delimiter: ['\r\n', '\n', '\r'],
    }) as never;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    return { rows: [], error: userError('CSV_INVALID', 'csv', `The file is not valid CSV${line ? ` (line ${line})` : ''}: check quotes and separators.`) };
  }
  const [header, ...data] = records;
  const expected = CSV_HEADER.join(',');
  if (!header || header.record.map((h) => h.toLowerCase()).join(',') !== expected) {
    return { rows: [], error: userError('CSV_HEADER_INVALID', 'csv', `The first line must be exactly the header "${expected}".`) };
  }
  if (!data.length) return { rows: [], error: userError('CSV_EMPTY', 'csv', 'The file has a header but no rows: add one line per person to invite.') };
  if (data.length > CSV_MAX_ROWS)
    return {
      rows: [],
      error: userError('CSV_TOO_MANY_ROWS', 'csv', `The file has ${data.length} rows; at most ${CSV_MAX_ROWS} are allowed per upload: split it.`),
    };
  const rows = data.map(({ record, info }): CsvInviteRow => {
    const line = info.lines;
    if (record.length !== CSV_HEADER.length) {
      return {
        line,
        input: null,
        errors: [userError('CSV_ROW_INVALID', 'csv', `Line ${line} has ${record.length} columns; expected ${CSV_HEADER.length} (${expected}).`)],
      };
    }
    const [email, role, grantsRaw, displayName] = record as [string, string, string, string];
    const grants: Array<{ workspaceId: string; role: string }> = [];
    for (const part of grantsRaw
      .split(';')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const idx = part.lastIndexOf(':');
      if (idx <= 0) {
        return {
          line,
          input: null,
          errors: [
            userError(
              'GRANTS_INVALID',
              'workspace_grants',
              `Line ${line}: "${part}" is not a grant; write <workspace id>:EDITOR or <workspace id>:VIEWER, separated by ";".`,
            ),
          ],
        };
      }
      grants.push({
        workspaceId: part.slice(0, idx).trim(),
        role: part
          .slice(idx + 1)
          .trim()
          .toUpperCase(),
      });
    }
    return { line, input: { email, orgRole: role.toUpperCase(), grants, displayName: displayName || null }, errors: [] };
  });
  return { rows, error: null };
}

/**
 * Invitations (org ADMIN, `users:manage`): invite one person or a CSV of them, list, revoke,
 * resend; and the public side of the link (preview, accept). The org always comes from the
 * viewer (or, for the public side, from the token's own row), never from the input. Every write
 * and its e-mail commit together; the e-mail goes out after commit (MailRelay).
 */
export class InvitationManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly invitations: InvitationDao,
    private readonly workspaceRefs: WorkspaceRefDao,
    private readonly grants: WorkspaceGrantDao,
    private readonly outbox: EmailOutboxDao,
    private readonly sealKey: Buffer,
    private readonly config: InvitationConfig,
    log: Logger,
    /** After a commit that wrote audit events (kicks the event outbox relay). */
    private readonly afterCommit: () => void = () => undefined,
    /** After a commit that queued an e-mail (kicks the MailRelay). */
    private readonly afterMail: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'InvitationManager' });
  }

  private admin(viewer: Viewer): { orgId: string; userId: string } | null {
    return viewer.kind === 'user' && hasOrgPermission(viewer, 'users:manage') ? { orgId: viewer.orgId, userId: viewer.userId } : null;
  }

  private static forbidden(): UserError {
    return userError('FORBIDDEN', null, 'Only an organization administrator can manage invitations.');
  }

  private committed(): void {
    this.afterCommit();
    this.afterMail();
  }

  /** Validates one invitation in the org's tenant transaction; returns the normalised values or the errors. */
  private async validate(
    em: EntityManager,
    orgId: string,
    input: InviteInput,
  ): Promise<{ errors: UserError[]; value?: { email: string; orgRole: OrgRoleValue; grants: InvitationGrantValue[]; displayName: string | null } }> {
    const errors: UserError[] = [];
    const email = normalizeEmail(input.email ?? '');
    const orgRole = String(input.orgRole ?? '').toUpperCase();
    const displayName = input.displayName?.trim() || null;
    if (email.length > 254 || !EMAIL.test(email)) errors.push(userError('EMAIL_INVALID', 'email', `"${email}" is not a valid e-mail address.`));
    if (!ORG_ROLES.has(orgRole))
      errors.push(userError('ROLE_INVALID', 'orgRole', `"${input.orgRole}" is not an organization role: use ADMIN, MEMBER or VIEWER.`));
    if (displayName && displayName.length > 200)
      errors.push(userError('DISPLAY_NAME_INVALID', 'displayName', 'The display name must be at most 200 characters.'));
    const grants = (input.grants ?? []).map((g) => ({
      workspaceId: String(g.workspaceId ?? '')
        .trim()
        .toLowerCase(),
      role: String(g.role ?? '').toUpperCase(),
    }));
    if (grants.length > MAX_GRANTS) errors.push(userError('GRANTS_INVALID', 'grants', `At most ${MAX_GRANTS} workspace grants per invitation.`));
    const seen = new Set<string>();
    for (const g of grants) {
      if (!GRANT_ROLES.has(g.role)) errors.push(userError('ROLE_INVALID', 'grants', `"${g.role}" is not a workspace role: use EDITOR or VIEWER.`));
      if (seen.has(g.workspaceId))
        errors.push(userError('GRANTS_INVALID', 'grants', `Workspace ${g.workspaceId} is named twice: give each workspace one role.`));
      seen.add(g.workspaceId);
    }
    if (orgRole === 'VIEWER' && grants.some((g) => g.role === 'EDITOR')) {
      errors.push(userError('GRANT_NOT_ALLOWED', 'grants', 'An organization VIEWER can only hold VIEWER grants: make the grant VIEWER or the role MEMBER.'));
    }
    if (grants.length) {
      // Another org's workspace looks exactly like an unknown one (the replica only holds this org's, under RLS).
      const known = await this.workspaceRefs.known(
        orgId,
        grants.map((g) => g.workspaceId),
        em,
      );
      for (const g of grants)
        if (!known.has(g.workspaceId))
          errors.push(userError('WORKSPACE_NOT_FOUND', 'grants', `Workspace ${g.workspaceId} was not found in this organization.`));
    }
    if (!errors.some((e) => e.field === 'email')) {
      if (await this.users.emailTaken(email, em))
        errors.push(userError('EMAIL_TAKEN', 'email', `An account with the e-mail ${email} already exists: it cannot be invited again.`));
      else if (await this.invitations.openExistsForEmail(em, orgId, email)) {
        errors.push(userError('ALREADY_INVITED', 'email', `${email} already has an open invitation: resend or revoke it instead.`));
      }
    }
    if (errors.length) return { errors };
    return { errors, value: { email, orgRole: orgRole as OrgRoleValue, grants: grants as InvitationGrantValue[], displayName } };
  }

  /** Queues the invitation e-mail for `token` in the transaction. */
  private async queueInvitationEmail(em: EntityManager, orgId: string, inviterId: string, inv: InvitationRow, token: string): Promise<void> {
    const org = await this.orgs.findById(orgId, em);
    const inviter = await this.users.findById(orgId, inviterId, em);
    const link = webLink(this.config.webBaseUrl, '/accept-invitation', token);
    const mail = invitationEmail({
      organizationName: org?.name ?? 'your organization',
      inviterName: inviter?.displayName ?? null,
      orgRole: inv.orgRole,
      link,
      expiresAt: inv.expiresAt,
    });
    await queueEmail(em, this.outbox, this.sealKey, orgId, { to: inv.email, template: 'invitation', subject: mail.subject, text: mail.text, link });
  }

  /** One invitation in its own tenant transaction (the bulk path calls it once per row). */
  private async inviteInOrg(a: { orgId: string; userId: string }, input: InviteInput): Promise<{ invitation: InvitationRow | null; errors: UserError[] }> {
    try {
      return await withTenant(this.ds, a.orgId, async (em) => {
        const email = normalizeEmail(input.email ?? '');
        // "One open invitation per e-mail and org": serialised here, because "open" depends on the clock.
        if (email) await this.invitations.lockEmail(em, a.orgId, email);
        const v = await this.validate(em, a.orgId, input);
        if (!v.value) return { invitation: null, errors: v.errors };
        const token = newLinkToken(INVITATION_TOKEN_PREFIX);
        const invitation = await this.invitations.insert(em, a.orgId, {
          ...v.value,
          tokenHash: hashLinkToken(token),
          invitedBy: a.userId,
          ttlHours: this.config.ttlHours,
        });
        await this.queueInvitationEmail(em, a.orgId, a.userId, invitation, token);
        await audit(em, a.orgId, {
          action: 'auth.invitation.created',
          actorType: 'USER',
          actorId: a.userId,
          targetType: 'Invitation',
          targetId: invitation.id,
          details: { orgRole: invitation.orgRole, grants: invitation.grants.length },
        });
        return { invitation, errors: [] as UserError[] };
      });
    } catch (err) {
      if (!pgUnique(err)) throw err;
      // The 256-bit token colliding is not a real case; the e-mail racing a sign-up is.
      return { invitation: null, errors: [userError('EMAIL_TAKEN', 'email', 'An account with this e-mail address already exists.')] };
    }
  }

  async invite(viewer: Viewer, input: InviteInput): Promise<{ invitation: InvitationRow | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a) return { invitation: null, errors: [InvitationManager.forbidden()] };
    const r = await this.inviteInOrg(a, input);
    if (r.invitation) {
      this.committed();
      this.log.info({ orgId: a.orgId, invitationId: r.invitation.id, by: a.userId }, 'invitation created');
    }
    return r;
  }

  /** Bulk: every row on its own (its own transaction); a malformed file creates nothing. */
  async inviteCsv(viewer: Viewer, csv: string): Promise<InviteUsersResult> {
    const a = this.admin(viewer);
    if (!a) return { rows: [], invitedCount: 0, failedCount: 0, errors: [InvitationManager.forbidden()] };
    const parsed = parseInvitationCsv(csv);
    if (parsed.error) return { rows: [], invitedCount: 0, failedCount: 0, errors: [parsed.error] };
    const rows: InviteUsersRowResult[] = [];
    for (const row of parsed.rows) {
      const email = row.input ? normalizeEmail(row.input.email) || null : null;
      if (!row.input) {
        rows.push({ line: row.line, email, ok: false, invitation: null, errors: row.errors });
        continue;
      }
      const r = await this.inviteInOrg(a, row.input);
      rows.push({ line: row.line, email, ok: r.invitation !== null, invitation: r.invitation, errors: r.errors });
    }
    const invitedCount = rows.filter((r) => r.ok).length;
    if (invitedCount) this.committed();
    this.log.info({ orgId: a.orgId, by: a.userId, invited: invitedCount, failed: rows.length - invitedCount }, 'bulk invitation processed');
    return { rows, invitedCount, failedCount: rows.length - invitedCount, errors: [] };
  }

  async list(viewer: Viewer, first: number | null | undefined, after: string | null | undefined, status: InvitationStatusValue | null | undefined) {
    const a = this.admin(viewer);
    const n = pageSize(first);
    const cursor = decodeCursor(after);
    if (!a) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await withTenant(this.ds, a.orgId, (em) =>
      this.invitations.list(em, a.orgId, { first: n, ...(cursor ? { after: cursor } : {}), status: status ?? null }),
    );
    const nodes = rows.slice(0, n);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }

  private static notFound(id: string): UserError {
    return userError('INVITATION_NOT_FOUND', 'id', `Invitation ${id} was not found.`);
  }

  async revoke(viewer: Viewer, id: string): Promise<{ invitation: InvitationRow | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a) return { invitation: null, errors: [InvitationManager.forbidden()] };
    if (!isUuid(id)) return { invitation: null, errors: [InvitationManager.notFound(id)] };
    const r = await withTenant(this.ds, a.orgId, async (em) => {
      const inv = await this.invitations.lockById(em, a.orgId, id);
      if (!inv) return { invitation: null, errors: [InvitationManager.notFound(id)], changed: false };
      if (inv.status === 'ACCEPTED')
        return {
          invitation: null,
          errors: [userError('INVITATION_CLOSED', 'id', 'This invitation was already accepted: deactivate the user instead.')],
          changed: false,
        };
      if (inv.status === 'REVOKED') return { invitation: inv, errors: [] as UserError[], changed: false };
      const revoked = await this.invitations.revoke(em, a.orgId, id);
      await audit(em, a.orgId, { action: 'auth.invitation.revoked', actorType: 'USER', actorId: a.userId, targetType: 'Invitation', targetId: id });
      return { invitation: revoked, errors: [] as UserError[], changed: true };
    });
    if (r.changed) {
      this.afterCommit();
      this.log.info({ orgId: a.orgId, invitationId: id, by: a.userId }, 'invitation revoked');
    }
    return { invitation: r.invitation, errors: r.errors };
  }

  /** A new link (new token, new expiry) for an open or expired invitation; the old link dies. */
  async resend(viewer: Viewer, id: string): Promise<{ invitation: InvitationRow | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a) return { invitation: null, errors: [InvitationManager.forbidden()] };
    if (!isUuid(id)) return { invitation: null, errors: [InvitationManager.notFound(id)] };
    const r = await withTenant(this.ds, a.orgId, async (em) => {
      const found = await this.invitations.findById(em, a.orgId, id);
      if (!found) return { invitation: null, errors: [InvitationManager.notFound(id)] };
      await this.invitations.lockEmail(em, a.orgId, found.email);
      const inv = await this.invitations.lockById(em, a.orgId, id);
      if (!inv) return { invitation: null, errors: [InvitationManager.notFound(id)] };
      if (inv.status === 'ACCEPTED' || inv.status === 'REVOKED') {
        return {
          invitation: null,
          errors: [userError('INVITATION_CLOSED', 'id', `This invitation was ${inv.status.toLowerCase()}: invite the person again instead.`)],
        };
      }
      if (await this.users.emailTaken(inv.email, em))
        return { invitation: null, errors: [userError('EMAIL_TAKEN', 'id', `An account with the e-mail ${inv.email} already exists.`)] };
      if (await this.invitations.openExistsForEmail(em, a.orgId, inv.email, inv.id)) {
        return { invitation: null, errors: [userError('ALREADY_INVITED', 'id', `${inv.email} has another open invitation: resend that one.`)] };
      }
      const token = newLinkToken(INVITATION_TOKEN_PREFIX);
      const renewed = await this.invitations.renew(em, a.orgId, id, hashLinkToken(token), this.config.ttlHours);
      await this.queueInvitationEmail(em, a.orgId, a.userId, renewed, token);
      await audit(em, a.orgId, { action: 'auth.invitation.resent', actorType: 'USER', actorId: a.userId, targetType: 'Invitation', targetId: id });
      return { invitation: renewed, errors: [] as UserError[] };
    });
    if (r.invitation) {
      this.committed();
      this.log.info({ orgId: a.orgId, invitationId: id, by: a.userId }, 'invitation resent');
    }
    return r;
  }

  /** The org an invitation token belongs to, when the token has the right shape and exists. */
  private async orgOfToken(token: unknown): Promise<{ orgId: string; hash: Buffer } | null> {
    if (!looksLikeLinkToken(INVITATION_TOKEN_PREFIX, token)) return null;
    const hash = hashLinkToken(token);
    const orgId = await this.invitations.orgOfToken(hash);
    return orgId ? { orgId, hash } : null;
  }

  /** Public: what the accept screen shows, or null for any token that cannot be accepted. */
  async preview(token: string): Promise<InvitationPreview | null> {
    const t = await this.orgOfToken(token);
    if (!t) return null;
    return withTenant(this.ds, t.orgId, async (em) => {
      const inv = await this.invitations.findByToken(em, t.orgId, t.hash);
      if (!inv || inv.status !== 'OPEN') return null;
      const org = await this.orgs.findById(t.orgId, em);
      if (!org) return null;
      return { organizationName: org.name, email: inv.email, displayName: inv.displayName, orgRole: inv.orgRole, expiresAt: inv.expiresAt };
    });
  }

  /**
   * Public: creates the ACTIVE user with the invited role and grants, its password history, and
   * marks the invitation accepted — one transaction, the invitation row locked, so a token makes
   * one user even when used twice at once.
   */
  async accept(input: { token: string; password: string; displayName?: string | null }): Promise<{ user: User | null; errors: UserError[] }> {
    const t = await this.orgOfToken(input.token);
    if (!t) return { user: null, errors: [INVITATION_INVALID] };
    // Checks before the slow hash, without a lock; everything is re-checked under the lock below.
    const pre = await withTenant(this.ds, t.orgId, async (em) => {
      const inv = await this.invitations.findByToken(em, t.orgId, t.hash);
      const org = await this.orgs.findById(t.orgId, em);
      return inv && org && inv.status === 'OPEN' ? { inv, settings: readOrgSettings(org.settings) } : null;
    });
    if (!pre) return { user: null, errors: [INVITATION_INVALID] };
    const errors: UserError[] = [];
    const displayName = (input.displayName?.trim() || pre.inv.displayName || '').trim();
    if (displayName.length < 1 || displayName.length > 200)
      errors.push(userError('DISPLAY_NAME_INVALID', 'displayName', 'The display name must be 1–200 characters.'));
    for (const v of checkPasswordPolicy(input.password, pre.settings.passwordPolicy)) errors.push(userError('PASSWORD_TOO_WEAK', 'password', v.message));
    if (errors.length) return { user: null, errors };
    const passwordHash = await hashPassword(input.password);
    try {
      const r = await withTenant(this.ds, t.orgId, async (em) => {
        const inv = await this.invitations.lockByToken(em, t.orgId, t.hash);
        if (!inv || inv.status !== 'OPEN') return { user: null, errors: [INVITATION_INVALID] };
        if (await this.users.emailTaken(inv.email, em))
          return { user: null, errors: [userError('EMAIL_TAKEN', 'email', 'An account with this e-mail address already exists: sign in instead.')] };
        const user = await this.users.insert(em, { orgId: t.orgId, email: inv.email, displayName, orgRole: inv.orgRole, passwordHash });
        await recordPasswordHistory(em, t.orgId, user.id, passwordHash);
        // A workspace deleted since the invitation is no longer granted (the replica decides).
        const known = await this.workspaceRefs.known(
          t.orgId,
          inv.grants.map((g) => g.workspaceId),
          em,
        );
        for (const g of inv.grants) if (known.has(g.workspaceId)) await this.grants.upsert(t.orgId, user.id, g.workspaceId, g.role, em);
        await this.invitations.markAccepted(em, t.orgId, inv.id, user.id);
        await audit(em, t.orgId, {
          action: 'auth.invitation.accepted',
          actorType: 'USER',
          actorId: user.id,
          targetType: 'Invitation',
          targetId: inv.id,
          details: { orgRole: inv.orgRole },
        });
        return { user, errors: [] as UserError[] };
      });
      if (r.user) {
        this.afterCommit();
        this.log.info({ orgId: t.orgId, userId: r.user.id }, 'invitation accepted');
      }
      return r;
    } catch (err) {
      if (!pgUnique(err)) throw err;
      return { user: null, errors: [userError('EMAIL_TAKEN', 'email', 'An account with this e-mail address already exists: sign in instead.')] };
    }
  }
}
