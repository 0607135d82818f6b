import type { OrgRoleValue } from '../entities/user.entity';

/** Plain-text e-mails (no HTML: nothing to escape, nothing to render wrongly). */
export function invitationEmail(o: { organizationName: string; inviterName: string | null; orgRole: OrgRoleValue; link: string; expiresAt: Date }): {
  subject: string;
  text: string;
} {
  const who = o.inviterName ? `${o.inviterName} has invited you` : 'You have been invited';
  return {
    subject: `You are invited to ${o.organizationName} on Datalinx`,
    text: [
      `${who} to join ${o.organizationName} on Datalinx as ${o.orgRole.toLowerCase()}.`,
      '',
      'Accept the invitation and choose your password here:',
      o.link,
      '',
      `The link works once and expires on ${o.expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`,
      'If you did not expect this invitation, ignore this e-mail.',
    ].join('\n'),
  };
}

export function passwordResetEmail(o: { link: string; ttlMinutes: number }): { subject: string; text: string } {
  return {
    subject: 'Reset your Datalinx password',
    text: [
      'Someone (hopefully you) asked to reset the password of your Datalinx account.',
      '',
      'Choose a new password here:',
      o.link,
      '',
      `The link works once and expires in ${o.ttlMinutes} minutes. Resetting signs you out everywhere.`,
      'If you did not ask for this, ignore this e-mail: your password stays as it is.',
    ].join('\n'),
  };
}

/**
 * To the owner of an address someone tried to sign up with: the sign-up answered as if it had
 * worked (so it tells nobody the address has an account) and created nothing.
 */
export function signUpAttemptEmail(o: { webBaseUrl: string }): { subject: string; text: string } {
  return {
    subject: 'Someone tried to sign up to Datalinx with your address',
    text: [
      'Someone (perhaps you) tried to create a new Datalinx organization with this e-mail address.',
      'This address already belongs to your Datalinx account, so nothing was created and your account is unchanged.',
      '',
      `If it was you: sign in at ${o.webBaseUrl.replace(/\/+$/, '')} with your existing password, or use "Forgot password" there if you do not remember it.`,
      'If it was not you, you need not do anything.',
    ].join('\n'),
  };
}
