import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { EmailOutboxDao } from '../daos/email-outbox.dao';
import type { User } from '../entities/user.entity';
import type { RevocationPublisher } from '../tokens/revocations';
import { queueEmail } from '../mail/outgoing';
import { signUpAttemptEmail } from '../mail/templates';
import { defaultOrgSettings } from './org-settings';
import { checkPasswordPolicy } from './password-policy';
import { hashPassword } from './passwords';
import { audit } from './audit';
import { REGIONS, isRegion } from './regions';
import type { ClientInfo } from './session.manager';
import { userError, type UserError } from './user-error';

export interface SignUpInput {
  organizationName: string;
  slug: string;
  region: string;
  timeZone: string;
  email: string;
  displayName: string;
  password: string;
}

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;
// Pragmatic: one @, no spaces, a dot in the domain; the real check is the mail that reaches it.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const pgUnique = (err: unknown): string | null => {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' ? (e.driverError?.constraint ?? e.constraint ?? '') : null;
};

/** What sign-up answers; the same whether the e-mail address was free or already had an account. */
export interface SignUpResult {
  ok: boolean;
  errors: UserError[];
}

const ACCEPTED: SignUpResult = { ok: true, errors: [] };

/** The e-mail to the owner of an address someone tried to sign up with (needs the seal key: bodies are sealed). */
export interface SignUpNoticeConfig {
  outbox: EmailOutboxDao;
  sealKey: Buffer;
  webBaseUrl: string;
  /** Notices per address per hour; beyond, the attempt is only audited (anyone can trigger them). Default 3. */
  maxPerHour?: number;
  /** Called after a commit that queued one (kicks the mail relay). */
  afterMail?: () => void;
}

export const SIGN_UP_ATTEMPT_TEMPLATE = 'signup_attempt';

/**
 * Accounts: sign-up (an organization and its first ADMIN, in one transaction) and deactivation.
 * Expected failures are typed payload errors; every change writes an audit event to the outbox
 * in the same transaction.
 *
 * Sign-up never tells whether an e-mail address has an account (as login and password reset do
 * not): with a taken address it creates nothing, answers exactly as a successful sign-up, spends
 * the same password hashing, and e-mails the address's owner instead. Slugs are not personal:
 * SLUG_TAKEN stays.
 */
export class AccountManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly sessions: SessionDao,
    log: Logger,
    private readonly revocations: RevocationPublisher | undefined,
    private readonly afterCommit: () => void = () => undefined,
    /** Without it (no seal key) a taken address is only audited and logged. */
    private readonly notices: SignUpNoticeConfig | null = null,
  ) {
    this.log = log.child({ component: 'AccountManager' });
  }

  async signUp(input: SignUpInput, client: ClientInfo = {}): Promise<SignUpResult> {
    const slug = input.slug.trim();
    const email = normalizeEmail(input.email);
    const name = input.organizationName.trim();
    const displayName = input.displayName.trim();
    const region = input.region.trim().toLowerCase();
    const settings = defaultOrgSettings();
    const errors: UserError[] = [];
    if (name.length < 1 || name.length > 200) errors.push(userError('NAME_INVALID', 'organizationName', 'The organization name must be 1–200 characters.'));
    if (!SLUG.test(slug))
      errors.push(userError('SLUG_INVALID', 'slug', 'The slug must be 2–63 lowercase letters, digits or dashes, starting with a letter or digit.'));
    if (!isRegion(region)) errors.push(userError('REGION_INVALID', 'region', `The region must be one of: ${REGIONS.join(', ')}.`));
    if (!TIME_ZONES.has(input.timeZone))
      errors.push(userError('TIME_ZONE_INVALID', 'timeZone', 'The time zone must be an IANA time zone such as "Europe/Berlin".'));
    if (email.length > 254 || !EMAIL.test(email)) errors.push(userError('EMAIL_INVALID', 'email', 'The e-mail address is not valid.'));
    if (displayName.length < 1 || displayName.length > 200)
      errors.push(userError('DISPLAY_NAME_INVALID', 'displayName', 'The display name must be 1–200 characters.'));
    for (const v of checkPasswordPolicy(input.password, settings.passwordPolicy)) errors.push(userError('PASSWORD_TOO_WEAK', 'password', v.message));
    if (!errors.some((e) => e.field === 'slug') && (await this.orgs.slugTaken(slug)))
      errors.push(userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already taken.`));
    if (errors.length) return { ok: false, errors };

    // Both branches below look up the address and hash the password: the answer and its time
    // are the same whether or not the address has an account.
    const owner = await this.users.findByEmail(email);
    const passwordHash = await hashPassword(input.password);
    if (owner) {
      await this.noticeTakenAddress(owner, client);
      return ACCEPTED;
    }
    try {
      // The new org is its own tenant from the first statement: row-level security admits its rows
      // only in a transaction scoped to its id, so the id is chosen here.
      const orgId = randomUUID();
      const result = await withTenant(this.ds, orgId, async (em) => {
        const organization = await this.orgs.insert(em, { id: orgId, slug, name, region, timeZone: input.timeZone, settings });
        const user = await this.users.insert(em, { orgId: organization.id, email, displayName, orgRole: 'ADMIN', passwordHash });
        await this.users.addPasswordHistory(em, organization.id, user.id, passwordHash);
        await audit(em, organization.id, {
          action: 'auth.signup',
          actorType: 'USER',
          actorId: user.id,
          targetType: 'Organization',
          targetId: organization.id,
          details: { slug },
        });
        return { orgId: organization.id, userId: user.id };
      });
      this.afterCommit();
      this.log.info(result, 'organization signed up');
      return ACCEPTED;
    } catch (err) {
      // Lost a race with a concurrent sign-up: the unique indexes decide, the answer stays typed
      // (and, for the address, the same as a success).
      const constraint = pgUnique(err);
      if (constraint === null) throw err;
      if (!/email/.test(constraint)) return { ok: false, errors: [userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already taken.`)] };
      const winner = await this.users.findByEmail(email);
      if (winner) await this.noticeTakenAddress(winner, client);
      return ACCEPTED;
    }
  }

  /**
   * A sign-up named an address that has an account: nothing is created; its owner (when active)
   * gets an e-mail saying so — at most `maxPerHour` per address — and the owner's org an audit
   * event, both in one transaction of the owner's org.
   */
  private async noticeTakenAddress(owner: User, client: ClientInfo): Promise<void> {
    const orgId = owner.orgId;
    const n = this.notices;
    const mailed = await withTenant(this.ds, orgId, async (em) => {
      const mail =
        n !== null && owner.status === 'ACTIVE' && (await n.outbox.countRecentTo(em, orgId, owner.email, SIGN_UP_ATTEMPT_TEMPLATE)) < (n.maxPerHour ?? 3);
      if (mail) {
        const m = signUpAttemptEmail({ webBaseUrl: n.webBaseUrl });
        await queueEmail(em, n.outbox, n.sealKey, orgId, { to: owner.email, template: SIGN_UP_ATTEMPT_TEMPLATE, subject: m.subject, text: m.text, link: null });
      }
      await audit(em, orgId, {
        action: 'auth.signup.failed',
        actorType: 'ANONYMOUS',
        actorId: null,
        targetType: 'User',
        targetId: owner.id,
        details: {
          reason: 'email_taken',
          mailed: mail,
          ...(client.clientIp ? { ip: client.clientIp } : {}),
          ...(client.userAgent ? { userAgent: client.userAgent } : {}),
        },
      });
      return mail;
    });
    this.afterCommit();
    if (mailed) n?.afterMail?.();
    this.log.info(
      { orgId, userId: owner.id, mailed },
      mailed ? 'sign-up with a taken e-mail address: its owner was told' : 'sign-up with a taken e-mail address',
    );
  }

  /**
   * Deactivates a user of the viewer's org: bumps their token epoch and revokes every session, in
   * one transaction, then tells the gateways (NATS KV) so their still-valid access tokens are
   * rejected on the next request.
   */
  async deactivateUser(viewer: Viewer, id: string): Promise<{ user: User | null; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { user: null, errors: [userError('FORBIDDEN', null, 'Only a signed-in user can deactivate users.')] };
    if (viewer.userId === id) return { user: null, errors: [userError('CANNOT_DEACTIVATE_SELF', 'id', 'You cannot deactivate yourself.')] };
    const orgId = viewer.orgId;
    const outcome = await withTenant(this.ds, orgId, async (em) => {
      const target = await this.users.lockById(em, orgId, id);
      if (!target) return null;
      if (target.status === 'DEACTIVATED') return { epoch: target.tokenEpoch, sessionIds: [] as string[], changed: false };
      const epoch = await this.users.deactivate(em, orgId, id);
      const sessionIds = await this.sessions.revokeAllOfUser(em, orgId, id, 'user_deactivated');
      await audit(em, orgId, {
        action: 'auth.user.deactivated',
        actorType: 'USER',
        actorId: viewer.userId,
        targetType: 'User',
        targetId: id,
        details: { revokedSessions: sessionIds.length },
      });
      return { epoch, sessionIds, changed: true };
    });
    if (!outcome) return { user: null, errors: [userError('USER_NOT_FOUND', 'id', `User ${id} was not found.`)] };
    if (outcome.changed) {
      this.afterCommit();
      await this.revocations?.epochChanged(id, outcome.epoch);
      await this.revocations?.sessionsRevoked(outcome.sessionIds);
      this.log.info({ orgId, userId: id, by: viewer.userId, sessions: outcome.sessionIds.length }, 'user deactivated');
    }
    return { user: await this.users.findById(orgId, id), errors: [] };
  }
}
