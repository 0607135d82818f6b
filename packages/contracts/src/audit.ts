import { z } from 'zod';
import { auditSubject } from './identity';

/**
 * Audit events (stream EVENTS, subject `audit.<orgId>`, published through the publisher's outbox
 * with msgID = event id). Monitoring stores them (`monitoring.audit_log`) and org admins query
 * them. An audit event holds who did what to what, when, from where, and how it ended — never a
 * password, token, secret, key or hash: the contract refuses detail keys that name one.
 *
 * Two shapes are accepted on the wire, both normalized to `AuditEventV1` by `parseAuditEvent`:
 * - `auditEventV1` (`v: 1`), what every publisher writes (auth builds it with `auditEventV1From`);
 * - the legacy envelope auth wrote first (`{ id, subject, orgId, occurredAt, data: { action,
 *   actorType, actorId, targetType, targetId, details } }`, no `v`), kept so events already in
 *   outboxes and on the stream are still stored. New code must not publish it.
 */

const UUID = z.string().uuid();

/** `<domain>.<entity>[.<event>…]`, lower case: `auth.login.failed`, `auth.api_key.rotated`. */
export const AUDIT_ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const AUDIT_ACTION_MAX = 100;

/** The actions auth emits. The contract accepts any well-formed action; this list types the publishers. */
export const KNOWN_AUDIT_ACTIONS = [
  'auth.signup',
  'auth.login.succeeded',
  'auth.login.failed',
  'auth.logout',
  'auth.session.revoked',
  'auth.mfa.enrolled',
  'auth.mfa.disabled',
  'auth.invitation.created',
  'auth.invitation.accepted',
  'auth.user.role_changed',
  'auth.user.deactivated',
  'auth.user.reactivated',
  'auth.user.removed',
  'auth.api_key.created',
  'auth.api_key.rotated',
  'auth.api_key.revoked',
  'auth.api_key.used',
] as const;
export type KnownAuditAction = (typeof KNOWN_AUDIT_ACTIONS)[number];

export const auditActorType = z.enum(['user', 'service-account', 'system', 'anonymous']);
export type AuditActorType = z.infer<typeof auditActorType>;
export const auditOutcome = z.enum(['success', 'failure']);
export type AuditOutcome = z.infer<typeof auditOutcome>;

/**
 * A detail key that names a secret: after lower-casing and dropping `_`/`-`, it ENDS with one of
 * these (`newPassword`, `refresh_token`, `totpSecret`, `apiKey`, `passwordHash`, `backupCodes`),
 * while settings about secrets stay allowed (`passwordMinLength`, `tokenTtlS`).
 */
export const SECRET_DETAIL_KEY =
  /(password|passwd|passphrase|secret|token|apikey|hash|cookie|authorization|privatekey|backupcodes?|recoverycodes?|otp|otpcode)$/;
export const isSecretDetailKey = (key: string) => SECRET_DETAIL_KEY.test(key.toLowerCase().replace(/[-_]/g, ''));
export const AUDIT_DETAILS_MAX_BYTES = 8192;
const AUDIT_DETAILS_MAX_DEPTH = 4;

export type AuditDetailValue = string | number | boolean | null | AuditDetailValue[] | { [key: string]: AuditDetailValue };
const detailValue: z.ZodType<AuditDetailValue> = z.lazy(() =>
  z.union([z.string().max(1000), z.number().finite(), z.boolean(), z.null(), z.array(detailValue).max(50), z.record(z.string().min(1).max(64), detailValue)]),
);

/** Every secret-looking key at any depth, and whether the nesting is too deep. */
function inspect(v: AuditDetailValue, path: (string | number)[], found: Array<(string | number)[]>, depth: number): boolean {
  if (depth > AUDIT_DETAILS_MAX_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x, i) => inspect(x, [...path, i], found, depth + 1));
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).every(([k, x]) => {
      if (isSecretDetailKey(k)) found.push([...path, k]);
      return inspect(x, [...path, k], found, depth + 1);
    });
  }
  return true;
}

/**
 * Small, non-secret context as JSON: `{ reason: 'wrong_password' }`, `{ before: {…}, after: {…} }`.
 * Refused: a key naming a secret at any depth, nesting deeper than 4, more than 8 KB.
 */
export const auditDetails = z.record(z.string().min(1).max(64), detailValue).superRefine((d, ctx) => {
  const secrets: Array<(string | number)[]> = [];
  if (!inspect(d, [], secrets, 0)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `nested deeper than ${AUDIT_DETAILS_MAX_DEPTH} levels` });
  for (const path of secrets) ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: 'looks like a secret: audit details never carry secrets' });
  if (new TextEncoder().encode(JSON.stringify(d)).length > AUDIT_DETAILS_MAX_BYTES)
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `larger than ${AUDIT_DETAILS_MAX_BYTES} bytes` });
});
export type AuditDetails = z.infer<typeof auditDetails>;

export const auditActor = z
  .object({
    type: auditActorType,
    /** User or service-account id; absent for `system` and usually for `anonymous`. */
    id: z.string().min(1).max(200).optional(),
    email: z.string().email().max(320).optional(),
  })
  .strict();
export type AuditActor = z.infer<typeof auditActor>;

export const auditTarget = z.object({ type: z.string().min(1).max(100), id: z.string().min(1).max(200) }).strict();
export type AuditTarget = z.infer<typeof auditTarget>;

/** Version 1 of the audit event. `.strict()`: an unknown key (say `password`) is refused, not dropped. */
export const auditEventV1 = z
  .object({
    v: z.literal(1),
    /** The event id: JetStream msgID, idempotency key and the stored row's id. */
    id: UUID,
    orgId: UUID,
    occurredAt: z.string().datetime({ offset: true }),
    actor: auditActor,
    action: z.string().max(AUDIT_ACTION_MAX).regex(AUDIT_ACTION, 'lower-case `<domain>.<entity>[.<event>]`'),
    target: auditTarget.optional(),
    ip: z.string().ip().optional(),
    userAgent: z.string().max(1000).optional(),
    outcome: auditOutcome,
    details: auditDetails.default({}),
  })
  .strict();
export type AuditEventV1 = z.infer<typeof auditEventV1>;
/** What a publisher passes (details may be left out). */
export type AuditEventV1Input = z.input<typeof auditEventV1>;

const LEGACY_ACTOR: Record<'USER' | 'SERVICE_ACCOUNT' | 'ANONYMOUS', AuditActorType> = {
  USER: 'user',
  SERVICE_ACCOUNT: 'service-account',
  ANONYMOUS: 'anonymous',
};

/**
 * The first shape auth published (a DomainEventEnvelope around `{ action, actorType, … }`), read-only.
 * Mapped to V1: actor type lower-cased, target kept when it has an id, outcome `failure` for
 * actions ending in `.failed` and `success` otherwise (that shape had no outcome), `details.ip`
 * and `details.userAgent` lifted to `ip` / `userAgent` when valid.
 */
const auditParts = z.object({
  action: z.string().max(AUDIT_ACTION_MAX).regex(AUDIT_ACTION),
  actorType: z.enum(['USER', 'SERVICE_ACCOUNT', 'ANONYMOUS']),
  actorId: z.string().min(1).max(200).nullable(),
  targetType: z.string().min(1).max(100),
  targetId: z.string().min(1).max(200).nullable(),
  details: auditDetails.default({}),
});
/** What a publisher states about an event; `auditEventV1From` validates it and turns it into the V1 contract. */
export interface AuditParts {
  action: string;
  actorType: 'USER' | 'SERVICE_ACCOUNT' | 'ANONYMOUS';
  actorId: string | null;
  targetType: string;
  targetId: string | null;
  /** Small JSON context, checked at runtime (no secret-looking keys, depth ≤ 4, ≤ 8 KB). */
  details?: object;
}

function toV1(meta: { id: string; orgId: string; occurredAt: string }, d: z.infer<typeof auditParts>): AuditEventV1 {
  // A client ip / user agent given in the details moves to its own field.
  const { ip, userAgent, ...details } = d.details;
  const ipOk = typeof ip === 'string' && z.string().ip().safeParse(ip).success;
  const uaOk = typeof userAgent === 'string' && userAgent.length <= 1000;
  return {
    v: 1,
    id: meta.id,
    orgId: meta.orgId,
    occurredAt: meta.occurredAt,
    actor: { type: LEGACY_ACTOR[d.actorType], ...(d.actorId ? { id: d.actorId } : {}) },
    action: d.action,
    ...(d.targetId ? { target: { type: d.targetType, id: d.targetId } } : {}),
    ...(ipOk ? { ip } : {}),
    ...(uaOk ? { userAgent } : {}),
    outcome: d.action.endsWith('.failed') ? 'failure' : 'success',
    details: { ...details, ...(ip !== undefined && !ipOk ? { ip } : {}), ...(userAgent !== undefined && !uaOk ? { userAgent } : {}) },
  };
}

/**
 * Builds a V1 audit event from a publisher's statement: actor type lower-cased, the target kept
 * when it has an id, outcome `failure` for actions ending in `.failed` (else `success`), a client
 * `ip` / `userAgent` in the details lifted to their own fields. Validated against `auditEventV1`:
 * a detail key naming a secret throws here, in the publisher's transaction, before anything is
 * written.
 */
export function auditEventV1From(meta: { id: string; orgId: string; occurredAt: string }, parts: AuditParts): AuditEventV1 {
  return auditEventV1.parse(toV1(meta, auditParts.parse(parts)));
}

export const legacyAuditEnvelope = z
  .object({
    id: UUID,
    subject: z.string(),
    orgId: UUID,
    occurredAt: z.string().datetime({ offset: true }),
    data: auditParts,
  })
  .refine((e) => e.subject === auditSubject(e.orgId), { path: ['subject'], message: 'must be audit.<orgId>' })
  .transform((e): AuditEventV1 => toV1(e, e.data));

/**
 * Parses an audit message body in either accepted shape and returns it as V1. A body with a `v`
 * is read as that version (only 1 exists: any other is refused); one without is the legacy shape.
 */
export function parseAuditEvent(body: unknown): z.SafeParseReturnType<unknown, AuditEventV1> {
  const versioned = typeof body === 'object' && body !== null && 'v' in body;
  return versioned ? auditEventV1.safeParse(body) : legacyAuditEnvelope.safeParse(body);
}
