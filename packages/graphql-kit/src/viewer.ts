import { SignJWT, jwtVerify, importPKCS8, importSPKI, errors as joseErrors, type CryptoKey as JoseKey, type KeyObject } from 'jose';
import { z } from 'zod';

/**
 * The viewer assertion (ARCHITECTURE.md §3): the gateway signs who is asking, for ≤ 60 s, with
 * its own Ed25519 key; every subgraph verifies it before doing anything — `_service` and
 * `_entities` included. Subgraphs are never trusted to be unreachable.
 */
export const VIEWER_HEADER = 'x-dlx-viewer';
export const ASSERTION_AUDIENCE = 'dlx-subgraph';
export const ASSERTION_ISSUER = 'dlx-gateway';
export const ASSERTION_MAX_TTL_S = 60;

export const orgRole = z.enum(['ADMIN', 'MEMBER', 'VIEWER']);
export const workspaceRole = z.enum(['EDITOR', 'VIEWER']);
export type OrgRole = z.infer<typeof orgRole>;
export type WorkspaceRole = z.infer<typeof workspaceRole>;

export const viewerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('anonymous') }),
  z.object({
    kind: z.literal('user'),
    userId: z.string().uuid(),
    orgId: z.string().uuid(),
    orgRole,
    grants: z.array(z.object({ workspaceId: z.string().uuid(), role: workspaceRole })),
    // A session row's id: the auth service casts it to uuid when the viewer signs out or changes its password.
    sessionId: z.string().uuid(),
    authMethod: z.enum(['session', 'bearer']),
  }),
  z.object({
    kind: z.literal('service-account'),
    serviceAccountId: z.string().uuid(),
    orgId: z.string().uuid(),
    grants: z.array(z.object({ workspaceId: z.string().uuid(), role: workspaceRole })).length(1),
    keyId: z.string().min(1),
    authMethod: z.literal('api-key'),
  }),
]);
export type Viewer = z.infer<typeof viewerSchema>;
export type AuthenticatedViewer = Exclude<Viewer, { kind: 'anonymous' }>;
export const ANONYMOUS: Viewer = { kind: 'anonymous' };

/** Who is acting, as jobs, audit and `*_by` columns record it: the user's or service account's id ('anonymous' for nobody). */
export const actorIdOf = (viewer: Viewer): string =>
  viewer.kind === 'user' ? viewer.userId : viewer.kind === 'service-account' ? viewer.serviceAccountId : 'anonymous';

type Key = JoseKey | KeyObject;

export async function importAssertionPrivateKey(pem: string): Promise<Key> {
  return importPKCS8(pem, 'EdDSA');
}
export async function importAssertionPublicKey(pem: string): Promise<Key> {
  return importSPKI(pem, 'EdDSA');
}

export class ViewerAssertionSigner {
  constructor(
    private readonly key: Key,
    private readonly kid = 'gateway-1',
    private readonly ttlSeconds = 30,
  ) {
    if (ttlSeconds > ASSERTION_MAX_TTL_S) throw new Error(`assertion lifetime must be ≤ ${ASSERTION_MAX_TTL_S} s`);
  }

  /**
   * `clientIp`: the end user's address as the gateway saw it (express `req.ip`, honouring its
   * `trust proxy` setting). Signed here, so a subgraph never has to trust a spoofable header.
   * `userAgent`: the caller's User-Agent (informational: shown in the session list).
   */
  async sign(viewer: Viewer, requestId: string, extra: { clientIp?: string; userAgent?: string } = {}): Promise<string> {
    return new SignJWT({
      viewer,
      rid: requestId,
      ...(extra.clientIp ? { ip: extra.clientIp } : {}),
      ...(extra.userAgent ? { ua: extra.userAgent.slice(0, 256) } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'dlx-viewer+jwt' })
      .setIssuer(ASSERTION_ISSUER)
      .setAudience(ASSERTION_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }
}

export class AssertionError extends Error {
  constructor(readonly reason: 'missing' | 'expired' | 'invalid') {
    super(
      reason === 'missing'
        ? 'Missing viewer assertion: subgraphs only answer requests that come through the gateway.'
        : reason === 'expired'
          ? 'The viewer assertion has expired.'
          : 'The viewer assertion is not valid.',
    );
  }
}

export class ViewerAssertionVerifier {
  constructor(private readonly key: Key) {}

  async verify(token: string | undefined): Promise<{ viewer: Viewer; requestId?: string; clientIp?: string; userAgent?: string }> {
    if (!token) throw new AssertionError('missing');
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['EdDSA'],
        audience: ASSERTION_AUDIENCE,
        issuer: ASSERTION_ISSUER,
        typ: 'dlx-viewer+jwt',
        maxTokenAge: `${ASSERTION_MAX_TTL_S + 5}s`,
        requiredClaims: ['exp', 'iat'],
      });
      if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > ASSERTION_MAX_TTL_S) {
        throw new AssertionError('invalid');
      }
      const viewer = viewerSchema.safeParse(payload.viewer);
      if (!viewer.success) throw new AssertionError('invalid');
      return {
        viewer: viewer.data,
        requestId: typeof payload.rid === 'string' ? payload.rid : undefined,
        clientIp: typeof payload.ip === 'string' && payload.ip.length <= 64 ? payload.ip : undefined,
        ...(typeof payload.ua === 'string' ? { userAgent: payload.ua.slice(0, 256) } : {}),
      };
    } catch (err) {
      if (err instanceof AssertionError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new AssertionError('expired');
      throw new AssertionError('invalid');
    }
  }
}
