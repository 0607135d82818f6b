import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import { API_KEY_PATTERN, API_KEY_PREFIX, SERVICE_ACCOUNT_TOKEN_TTL_S } from '@datalinx/contracts';
import type { ApiKeyRow, ServiceAccountDao, ServiceAccountRole, ServiceAccountRow } from '../daos/service-account.dao';
import type { AccessTokenIssuer } from '../tokens/access-tokens';
import type { RevocationPublisher } from '../tokens/revocations';
import type { WorkspaceRefDao } from '../daos/workspace-ref.dao';
import { withTenantOf } from '../daos/tenant-lookup';
import { audit } from './audit';
import { userError, type UserError } from './user-error';

/** What the display prefix keeps of a key: `dlx_sk_live_` + 4 characters. */
const PREFIX_LENGTH = API_KEY_PREFIX.length + 4;
/** `auth.api_key.used` at most once per key per minute. */
const USED_AUDIT_INTERVAL_MS = 60_000;

export const newApiKey = (): string => API_KEY_PREFIX + randomBytes(32).toString('base64url');
/** High-entropy keys need no slow hash: sha256 of the whole key makes the stored value useless to a reader. */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export interface ServiceAccountView extends ServiceAccountRow {
  apiKeys: ApiKeyRow[];
}

export type ExchangeResult = { ok: true; accessToken: string; expiresAt: Date; keyId: string } | { ok: false; reason: 'API_KEY_INVALID' | 'API_KEY_REVOKED' };

/**
 * Service accounts (one workspace grant each) and their API keys. A key is shown once, in the
 * create / rotate payload, and stored as its sha256 only. Revocations (revoke, rotate) are written
 * to the identity KV bucket after the commit, so every gateway refuses the key's cached token on
 * its next request. The exchange trades a key for a ≤ 5-minute service-account access token.
 */
export class ServiceAccountManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly dao: ServiceAccountDao,
    private readonly workspaces: WorkspaceRefDao,
    private readonly issuer: AccessTokenIssuer | undefined,
    private readonly revocations: RevocationPublisher | undefined,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'ServiceAccountManager' });
  }

  private admin(viewer: Viewer): { orgId: string; userId: string } | null {
    return viewer.kind === 'user' && viewer.orgRole === 'ADMIN' ? { orgId: viewer.orgId, userId: viewer.userId } : null;
  }

  async list(viewer: Viewer): Promise<ServiceAccountView[]> {
    const a = this.admin(viewer);
    if (!a) return [];
    const accounts = await this.dao.listByOrg(a.orgId);
    const keys = await this.dao.keysOf(
      a.orgId,
      accounts.map((x) => x.id),
    );
    return accounts.map((x) => ({ ...x, apiKeys: keys.filter((k) => k.serviceAccountId === x.id) }));
  }

  async create(
    viewer: Viewer,
    input: { name: string; workspaceId: string; role: ServiceAccountRole },
  ): Promise<{ serviceAccount: ServiceAccountView | null; apiKey: string | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a)
      return { serviceAccount: null, apiKey: null, errors: [userError('FORBIDDEN', null, 'Only an organization administrator can manage service accounts.')] };
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100)
      return { serviceAccount: null, apiKey: null, errors: [userError('NAME_INVALID', 'name', 'The name must be 1–100 characters.')] };
    const key = newApiKey();
    const out = await withTenant(this.ds, a.orgId, async (em) => {
      // The org must own the workspace (auth.workspace_ref, replicated from the workspace service):
      // another org's workspace id and an unknown one get the same answer.
      if (!(await this.workspaces.known(a.orgId, [input.workspaceId], em)).has(input.workspaceId)) return null;
      const account = await this.dao.create(em, { orgId: a.orgId, name, workspaceId: input.workspaceId, role: input.role, createdBy: a.userId });
      const row = await this.dao.addKey(em, {
        orgId: a.orgId,
        serviceAccountId: account.id,
        prefix: key.slice(0, PREFIX_LENGTH),
        keyHash: hashApiKey(key),
        rotatedFrom: null,
      });
      await audit(em, a.orgId, {
        action: 'auth.api_key.created',
        actorType: 'USER',
        actorId: a.userId,
        targetType: 'ApiKey',
        targetId: row.id,
        details: { serviceAccountId: account.id, workspaceId: account.workspaceId, role: account.role },
      });
      return { ...account, apiKeys: [row] };
    });
    if (!out)
      return { serviceAccount: null, apiKey: null, errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace in your organization.')] };
    this.afterCommit();
    return { serviceAccount: out, apiKey: key, errors: [] };
  }

  async rotate(viewer: Viewer, serviceAccountId: string): Promise<{ serviceAccount: ServiceAccountView | null; apiKey: string | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a)
      return { serviceAccount: null, apiKey: null, errors: [userError('FORBIDDEN', null, 'Only an organization administrator can manage service accounts.')] };
    const key = newApiKey();
    const out = await withTenant(this.ds, a.orgId, async (em) => {
      const account = await this.dao.lockAccount(em, a.orgId, serviceAccountId);
      if (!account || account.disabledAt) return null;
      const revoked = await this.dao.revokeKeysOf(em, a.orgId, account.id);
      const row = await this.dao.addKey(em, {
        orgId: a.orgId,
        serviceAccountId: account.id,
        prefix: key.slice(0, PREFIX_LENGTH),
        keyHash: hashApiKey(key),
        rotatedFrom: revoked[0] ?? null,
      });
      await audit(em, a.orgId, {
        action: 'auth.api_key.rotated',
        actorType: 'USER',
        actorId: a.userId,
        targetType: 'ApiKey',
        targetId: row.id,
        details: { serviceAccountId: account.id, revokedKeyIds: revoked },
      });
      return { account, revoked };
    });
    if (!out) return { serviceAccount: null, apiKey: null, errors: [userError('SERVICE_ACCOUNT_NOT_FOUND', 'serviceAccountId', 'No such service account.')] };
    this.afterCommit();
    await this.publish(out.revoked);
    const keys = await this.dao.keysOf(a.orgId, [out.account.id]);
    return { serviceAccount: { ...out.account, apiKeys: keys }, apiKey: key, errors: [] };
  }

  async revoke(viewer: Viewer, keyId: string): Promise<{ ok: boolean; apiKey: ApiKeyRow | null; errors: UserError[] }> {
    const a = this.admin(viewer);
    if (!a) return { ok: false, apiKey: null, errors: [userError('FORBIDDEN', null, 'Only an organization administrator can manage service accounts.')] };
    const notFound = { ok: false, apiKey: null, errors: [userError('API_KEY_NOT_FOUND', 'id', 'No such API key, or it is already revoked.')] };
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(keyId)) return notFound;
    const row = await withTenant(this.ds, a.orgId, async (em) => {
      const r = await this.dao.revokeKey(em, a.orgId, keyId);
      if (r) {
        await audit(em, a.orgId, {
          action: 'auth.api_key.revoked',
          actorType: 'USER',
          actorId: a.userId,
          targetType: 'ApiKey',
          targetId: r.id,
          details: { serviceAccountId: r.serviceAccountId },
        });
      }
      return r;
    });
    if (!row) return notFound;
    this.afterCommit();
    await this.publish([row.id]);
    return { ok: true, apiKey: row, errors: [] };
  }

  private async publish(keyIds: string[]): Promise<void> {
    if (!keyIds.length || !this.revocations) return;
    try {
      await this.revocations.apiKeysRevoked(keyIds);
    } catch (err) {
      // The database already refuses the key at the next exchange; cached tokens live ≤ 5 minutes.
      this.log.error({ err: (err as Error).message, keyIds }, 'could not publish API key revocations');
    }
  }

  /** API key → short-lived service-account access token; records the use (audited at most once a minute per key). */
  async exchange(apiKey: unknown): Promise<ExchangeResult> {
    if (!this.issuer) return { ok: false, reason: 'API_KEY_INVALID' };
    if (typeof apiKey !== 'string' || !API_KEY_PATTERN.test(apiKey)) return { ok: false, reason: 'API_KEY_INVALID' };
    const issuer = this.issuer;
    const hash = hashApiKey(apiKey);
    const out = await withTenantOf(this.ds, 'api_key', hash, async (em): Promise<ExchangeResult> => {
      const found = await this.dao.lockByHash(em, hash);
      if (!found) return { ok: false, reason: 'API_KEY_INVALID' };
      const { key, account } = found;
      if (key.revokedAt || account.disabledAt) return { ok: false, reason: 'API_KEY_REVOKED' };
      const auditNow = !key.lastAuditedAt || Date.now() - new Date(key.lastAuditedAt).getTime() >= USED_AUDIT_INTERVAL_MS;
      await this.dao.markUsed(em, key.orgId, key.id, auditNow);
      if (auditNow) {
        await audit(em, key.orgId, {
          action: 'auth.api_key.used',
          actorType: 'SERVICE_ACCOUNT',
          actorId: account.id,
          targetType: 'ApiKey',
          targetId: key.id,
          details: {},
        });
      }
      const { token, expiresAt } = await issuer.sign(
        { sub: account.id, org: account.orgId, grants: [{ workspaceId: account.workspaceId, role: account.role }], akid: key.id },
        new Date(Date.now() + SERVICE_ACCOUNT_TOKEN_TTL_S * 1000),
      );
      return { ok: true, accessToken: token, expiresAt, keyId: key.id };
    });
    if (out.ok) this.afterCommit();
    return out;
  }
}
