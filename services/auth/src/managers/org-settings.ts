import { z } from 'zod';

/**
 * Organization settings (jsonb on `auth.organization`). Every key has a default, so an org created
 * before a setting existed reads the default; sign-up writes the full, explicit defaults.
 */
export const passwordPolicySchema = z.object({
  minLength: z.number().int().min(8).max(256).default(12),
  requireUpper: z.boolean().default(true),
  requireLower: z.boolean().default(true),
  requireDigit: z.boolean().default(true),
  requireSymbol: z.boolean().default(true),
  /** A new password may not be one of the last N (0 = no history check). */
  historySize: z.number().int().min(0).max(24).default(5),
  /** Days until a password must be changed; null = never. */
  maxAgeDays: z.number().int().min(1).nullable().default(null),
});

export const sessionPolicySchema = z.object({
  /** Absolute session lifetime: refreshing never extends it. */
  absoluteLifetimeHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .default(24 * 30),
  /** A session not refreshed for this long is over (null = no idle timeout). */
  idleTimeoutMinutes: z
    .number()
    .int()
    .min(5)
    .max(60 * 24 * 90)
    .nullable()
    .default(null),
  /** Open sessions per user; a new login revokes the oldest beyond it (null = unlimited). */
  maxConcurrentSessions: z.number().int().min(1).max(1000).nullable().default(null),
});

export const mfaPolicySchema = z.object({
  /** Org ADMINs must use a second factor: an admin without one can only enroll at login. */
  requiredForAdmins: z.boolean().default(false),
});

export const orgSettingsSchema = z.object({
  passwordPolicy: passwordPolicySchema.default({}),
  sessionPolicy: sessionPolicySchema.default({}),
  mfaPolicy: mfaPolicySchema.default({}),
});

export type PasswordPolicy = z.infer<typeof passwordPolicySchema>;
export type SessionPolicy = z.infer<typeof sessionPolicySchema>;
export type MfaPolicy = z.infer<typeof mfaPolicySchema>;
export type OrgSettings = z.infer<typeof orgSettingsSchema>;

export const defaultOrgSettings = (): OrgSettings => orgSettingsSchema.parse({});

/** Reads stored settings leniently: unknown or invalid keys fall back to their defaults. */
export function readOrgSettings(raw: unknown): OrgSettings {
  const parsed = orgSettingsSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : defaultOrgSettings();
}
