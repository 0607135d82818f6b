import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { Organization } from '../entities/organization.entity';
import type { User } from '../entities/user.entity';
import type { RevocationPublisher } from '../tokens/revocations';
import { defaultOrgSettings } from './org-settings';
import { checkPasswordPolicy } from './password-policy';
import { hashPassword } from './passwords';
import { audit } from './audit';
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
const REGION = /^[a-z][a-z0-9-]{1,31}$/;
// Pragmatic: one @, no spaces, a dot in the domain; the real check is the mail that reaches it.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const TIME_ZONES = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const pgUnique = (err: unknown): string | null => {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.driverError?.code ?? e.code;
  return code === '23505' ? (e.driverError?.constraint ?? e.constraint ?? '') : null;
};

/**
 * Accounts: sign-up (an organization and its first ADMIN, in one transaction) and deactivation.
 * Expected failures are typed payload errors; every change writes an audit event to the outbox
 * in the same transaction.
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
  ) {
    this.log = log.child({ component: 'AccountManager' });
  }

  async signUp(input: SignUpInput): Promise<{ organization: Organization | null; user: User | null; errors: UserError[] }> {
    const slug = input.slug.trim();
    const email = normalizeEmail(input.email);
    const name = input.organizationName.trim();
    const displayName = input.displayName.trim();
    const region = input.region.trim();
    const settings = defaultOrgSettings();
    const errors: UserError[] = [];
    if (name.length < 1 || name.length > 200) errors.push(userError('NAME_INVALID', 'organizationName', 'The organization name must be 1–200 characters.'));
    if (!SLUG.test(slug)) errors.push(userError('SLUG_INVALID', 'slug', 'The slug must be 2–63 lowercase letters, digits or dashes, starting with a letter or digit.'));
    if (!REGION.test(region)) errors.push(userError('REGION_INVALID', 'region', 'The region must be a lowercase region code such as "eu" or "us-east".'));
    if (!TIME_ZONES.has(input.timeZone)) errors.push(userError('TIME_ZONE_INVALID', 'timeZone', 'The time zone must be an IANA time zone such as "Europe/Berlin".'));
    if (email.length > 254 || !EMAIL.test(email)) errors.push(userError('EMAIL_INVALID', 'email', 'The e-mail address is not valid.'));
    if (displayName.length < 1 || displayName.length > 200) errors.push(userError('DISPLAY_NAME_INVALID', 'displayName', 'The display name must be 1–200 characters.'));
    for (const v of checkPasswordPolicy(input.password, settings.passwordPolicy)) errors.push(userError('PASSWORD_TOO_WEAK', 'password', v.message));
    if (!errors.some((e) => e.field === 'slug') && (await this.orgs.slugTaken(slug))) errors.push(userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already taken.`));
    if (!errors.some((e) => e.field === 'email') && (await this.users.emailTaken(email))) errors.push(userError('EMAIL_TAKEN', 'email', 'An account with this e-mail address already exists.'));
    if (errors.length) return { organization: null, user: null, errors };

    const passwordHash = await hashPassword(input.password);
    try {
      // The new org is its own tenant from the first statement: row-level security admits its rows
      // only in a transaction scoped to its id, so the id is chosen here.
      const orgId = randomUUID();
      const result = await withTenant(this.ds, orgId, async (em) => {
        const organization = await this.orgs.insert(em, { id: orgId, slug, name, region, timeZone: input.timeZone, settings });
        const user = await this.users.insert(em, { orgId: organization.id, email, displayName, orgRole: 'ADMIN', passwordHash });
        await this.users.addPasswordHistory(em, organization.id, user.id, passwordHash);
        await audit(em, organization.id, { action: 'auth.signup', actorType: 'USER', actorId: user.id, targetType: 'Organization', targetId: organization.id, details: { slug } });
        return { organization, user, errors: [] as UserError[] };
      });
      this.afterCommit();
      this.log.info({ orgId: result.organization.id, userId: result.user.id }, 'organization signed up');
      return result;
    } catch (err) {
      // Lost a race with a concurrent sign-up: the unique indexes decide, the answer stays typed.
      const constraint = pgUnique(err);
      if (constraint === null) throw err;
      const emailConflict = /email/.test(constraint);
      return {
        organization: null,
        user: null,
        errors: [emailConflict ? userError('EMAIL_TAKEN', 'email', 'An account with this e-mail address already exists.') : userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already taken.`)],
      };
    }
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
      await audit(em, orgId, { action: 'auth.user.deactivated', actorType: 'USER', actorId: viewer.userId, targetType: 'User', targetId: id, details: { revokedSessions: sessionIds.length } });
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
