import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { MfaDao } from '../daos/mfa.dao';
import type { RevocationPublisher } from '../tokens/revocations';
import { passwordPolicySchema, readOrgSettings, sessionPolicySchema } from './org-settings';
import { audit } from './audit';
import { userError, type UserError } from './user-error';

export interface SecurityPolicy {
  mfaRequiredForAdmins: boolean;
  idleTimeoutMinutes: number | null;
  absoluteLifetimeHours: number;
  maxConcurrentSessions: number | null;
  passwordMinLength: number;
  passwordRequireUppercase: boolean;
  passwordRequireLowercase: boolean;
  passwordRequireDigit: boolean;
  passwordRequireSymbol: boolean;
  passwordHistorySize: number;
  passwordMaxAgeDays: number | null;
}

export interface SecurityPolicyInput {
  mfaRequiredForAdmins?: boolean | null;
  idleTimeoutMinutes?: number | null;
  absoluteLifetimeHours?: number | null;
  maxConcurrentSessions?: number | null;
  passwordMinLength?: number | null;
  passwordRequireUppercase?: boolean | null;
  passwordRequireLowercase?: boolean | null;
  passwordRequireDigit?: boolean | null;
  passwordRequireSymbol?: boolean | null;
  passwordHistorySize?: number | null;
  passwordMaxAgeDays?: number | null;
}

/**
 * The org's security policy (a view over `organization.settings`). Turning on "MFA required for
 * admins" takes effect at once: the sessions of admins without MFA are revoked, so they must sign
 * in again — and then can only enroll.
 */
export class PolicyManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly sessions: SessionDao,
    private readonly mfa: MfaDao,
    private readonly revocations: RevocationPublisher | undefined,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'PolicyManager' });
  }

  /** The org's policy, for its people only (a service account has no use for it). */
  async get(viewer: Viewer): Promise<SecurityPolicy | null> {
    if (viewer.kind !== 'user') return null;
    const org = await this.orgs.findById(viewer.orgId);
    return org ? this.view(org.settings) : null;
  }

  private view(raw: unknown): SecurityPolicy {
    const s = readOrgSettings(raw);
    return {
      mfaRequiredForAdmins: s.mfaPolicy.requiredForAdmins,
      idleTimeoutMinutes: s.sessionPolicy.idleTimeoutMinutes,
      absoluteLifetimeHours: s.sessionPolicy.absoluteLifetimeHours,
      maxConcurrentSessions: s.sessionPolicy.maxConcurrentSessions,
      passwordMinLength: s.passwordPolicy.minLength,
      passwordRequireUppercase: s.passwordPolicy.requireUpper,
      passwordRequireLowercase: s.passwordPolicy.requireLower,
      passwordRequireDigit: s.passwordPolicy.requireDigit,
      passwordRequireSymbol: s.passwordPolicy.requireSymbol,
      passwordHistorySize: s.passwordPolicy.historySize,
      passwordMaxAgeDays: s.passwordPolicy.maxAgeDays,
    };
  }

  async update(viewer: Viewer, input: SecurityPolicyInput): Promise<{ policy: SecurityPolicy | null; errors: UserError[] }> {
    if (viewer.kind !== 'user')
      return { policy: null, errors: [userError('FORBIDDEN', null, 'Only a signed-in administrator can change the security policy.')] };
    const orgId = viewer.orgId;
    if (input.mfaRequiredForAdmins && !(await this.mfa.hasActiveTotp(orgId, viewer.userId))) {
      return {
        policy: null,
        errors: [
          userError('MFA_REQUIRED_FIRST', 'mfaRequiredForAdmins', 'Turn on two-factor authentication for yourself before requiring it of all administrators.'),
        ],
      };
    }
    const errors: UserError[] = [];
    const range = (field: keyof SecurityPolicyInput, v: number | null | undefined, min: number, max: number, off: boolean) => {
      if (v == null || (off && v === 0) || (Number.isInteger(v) && v >= min && v <= max)) return;
      errors.push(userError('POLICY_INVALID', field, `${field} must be ${min}–${max}${off ? ', or 0 to turn it off' : ''}.`));
    };
    range('idleTimeoutMinutes', input.idleTimeoutMinutes, 5, 60 * 24 * 90, true);
    range('absoluteLifetimeHours', input.absoluteLifetimeHours, 1, 24 * 365, false);
    range('maxConcurrentSessions', input.maxConcurrentSessions, 1, 1000, true);
    // Password policy: the bounds of passwordPolicySchema (org-settings.ts), so what is stored always reads back.
    range('passwordMinLength', input.passwordMinLength, 8, 256, false);
    range('passwordHistorySize', input.passwordHistorySize, 0, 24, false);
    range('passwordMaxAgeDays', input.passwordMaxAgeDays, 1, 3650, true);
    if (errors.length) return { policy: null, errors };
    const outcome = await withTenant(this.ds, orgId, async (em) => {
      const org = await this.orgs.lockById(em, orgId);
      if (!org) return null;
      const settings = readOrgSettings(org.settings);
      const before = this.view(settings);
      if (input.mfaRequiredForAdmins != null) settings.mfaPolicy.requiredForAdmins = input.mfaRequiredForAdmins;
      if (input.idleTimeoutMinutes != null) settings.sessionPolicy.idleTimeoutMinutes = input.idleTimeoutMinutes || null;
      if (input.absoluteLifetimeHours != null) settings.sessionPolicy.absoluteLifetimeHours = input.absoluteLifetimeHours;
      if (input.maxConcurrentSessions != null) settings.sessionPolicy.maxConcurrentSessions = input.maxConcurrentSessions || null;
      settings.sessionPolicy = sessionPolicySchema.parse(settings.sessionPolicy);
      const pw = settings.passwordPolicy;
      if (input.passwordMinLength != null) pw.minLength = input.passwordMinLength;
      if (input.passwordRequireUppercase != null) pw.requireUpper = input.passwordRequireUppercase;
      if (input.passwordRequireLowercase != null) pw.requireLower = input.passwordRequireLowercase;
      if (input.passwordRequireDigit != null) pw.requireDigit = input.passwordRequireDigit;
      if (input.passwordRequireSymbol != null) pw.requireSymbol = input.passwordRequireSymbol;
      if (input.passwordHistorySize != null) pw.historySize = input.passwordHistorySize;
      // 0 = passwords never expire.
      if (input.passwordMaxAgeDays != null) pw.maxAgeDays = input.passwordMaxAgeDays || null;
      settings.passwordPolicy = passwordPolicySchema.parse(pw);
      await this.orgs.updateSettings(em, orgId, settings);
      let revoked: string[] = [];
      if (settings.mfaPolicy.requiredForAdmins && !before.mfaRequiredForAdmins) {
        for (const userId of await this.users.adminsWithoutMfa(em, orgId))
          revoked = revoked.concat(await this.sessions.revokeAllOfUser(em, orgId, userId, 'mfa_required'));
      }
      const after = this.view(settings);
      await audit(em, orgId, {
        action: 'auth.policy.updated',
        actorType: 'USER',
        actorId: viewer.userId,
        targetType: 'Organization',
        targetId: orgId,
        details: { before, after, revokedSessions: revoked.length },
      });
      return { policy: after, revoked };
    });
    if (!outcome) return { policy: null, errors: [userError('ORGANIZATION_NOT_FOUND', null, 'The organization was not found.')] };
    this.afterCommit();
    await this.revocations?.sessionsRevoked(outcome.revoked);
    this.log.info({ orgId, by: viewer.userId, revokedSessions: outcome.revoked.length }, 'security policy updated');
    return { policy: outcome.policy, errors: [] };
  }
}
