import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { IdentityManager } from '../managers/identity.manager';
import type { AccountManager } from '../managers/account.manager';
import type { SessionManager } from '../managers/session.manager';
import type { MfaManager } from '../managers/mfa.manager';
import type { PolicyManager } from '../managers/policy.manager';
import type { ServiceAccountManager } from '../managers/service-account.manager';
import type { InvitationManager } from '../managers/invitation.manager';
import type { PasswordResetManager } from '../managers/password-reset.manager';
import type { PeopleManager } from '../managers/people.manager';
import type { PasswordManager } from '../managers/password.manager';

export interface AuthContext extends RequestContext {
  identity: IdentityManager;
  accounts: AccountManager;
  /** Null when this instance has no signing key (sign-in is then unavailable). */
  sessions: SessionManager | null;
  /** Null without sign-in (no signing key / seal key). */
  mfa: MfaManager | null;
  policy: PolicyManager;
  serviceAccounts: ServiceAccountManager;
  /** Null without a seal key (e-mail bodies are sealed): invitations are then unavailable. */
  invitations: InvitationManager | null;
  /** Null without a seal key: password resets are then unavailable. */
  passwordResets: PasswordResetManager | null;
  /** Org roles, workspace grants, reactivation, removal (org ADMIN). */
  people: PeopleManager;
  /** Password change (signed in) and the expired-password step of sign-in. */
  passwords: PasswordManager;
  /**
   * Ids of users/organizations this request signed in to (or accepted an invitation into): an anonymous caller may
   * read exactly those in the sign-in payloads (shared with the IdentityManager). Sign-up reveals none.
   */
  revealed: Set<string>;
  status: () => Promise<ServiceStatus>;
}
