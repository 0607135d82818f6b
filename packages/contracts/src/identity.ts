import { z } from 'zod';

/**
 * Identity contracts shared by the auth service (issuer) and the gateway (verifier): the access
 * token's claims and the NATS KV bucket through which revocations reach every gateway at once.
 */
export const ACCESS_TOKEN_AUDIENCE = 'dlx-api';
export const ACCESS_TOKEN_ISSUER = 'dlx-auth';
/** Access tokens never live longer than this (ARCHITECTURE.md §4). */
export const ACCESS_TOKEN_MAX_TTL_S = 900;
export const JWKS_PATH = '/.well-known/jwks.json';

export const accessTokenClaims = z.object({
  sub: z.string().uuid(),
  org: z.string().uuid(),
  role: z.enum(['ADMIN', 'MEMBER', 'VIEWER']),
  grants: z.array(z.object({ workspaceId: z.string().uuid(), role: z.enum(['EDITOR', 'VIEWER']) })).optional(),
  sid: z.string().uuid(),
  /** The user's token epoch when the token was issued; a bump invalidates every older token. */
  ep: z.number().int().min(0),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaims>;

/**
 * KV bucket `dlx-identity` (history 1): `epoch.<userId>` = the user's current epoch (decimal),
 * `session.<sessionId>` = "revoked". Entries outlive every access token they concern (bucket
 * TTL ≥ the access-token lifetime), so a missing key means "nothing revoked".
 */
export const IDENTITY_KV_BUCKET = 'dlx-identity';
export const IDENTITY_KV_TTL_MS = 24 * 3600 * 1000;
export const epochKey = (userId: string) => `epoch.${userId}`;
export const sessionKey = (sessionId: string) => `session.${sessionId}`;
export const SESSION_REVOKED = 'revoked';

/** Audit events go to `audit.<orgId>` on EVENTS (through the outbox), in a DomainEventEnvelope. */
export const auditSubject = (orgId: string) => `audit.${orgId}`;
export const auditEventData = z.object({
  action: z.string().regex(/^[a-z]+\.[a-z_.]+$/),
  actorType: z.enum(['USER', 'SERVICE_ACCOUNT', 'ANONYMOUS']),
  actorId: z.string().uuid().nullable(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  details: z.record(z.unknown()).default({}),
});
export type AuditEventData = z.infer<typeof auditEventData>;

/** The bucket's configuration, identical in every process that creates it (creation is idempotent). */
export const IDENTITY_KV_OPTIONS = { history: 1, ttl: IDENTITY_KV_TTL_MS } as const;
