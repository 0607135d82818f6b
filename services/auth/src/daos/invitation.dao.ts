import type { DataSource, EntityManager } from 'typeorm';
import type { OrgRoleValue } from '../entities/user.entity';
import type { WorkspaceRoleValue } from '../entities/workspace-grant.entity';
import { returningRows } from './returning';
import { tenantOf } from './tenant-lookup';

export type InvitationStatusValue = 'OPEN' | 'ACCEPTED' | 'EXPIRED' | 'REVOKED';

export interface InvitationGrantValue {
  workspaceId: string;
  role: WorkspaceRoleValue;
}

export interface InvitationRow {
  id: string;
  orgId: string;
  email: string;
  displayName: string | null;
  orgRole: OrgRoleValue;
  grants: InvitationGrantValue[];
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedUserId: string | null;
  revokedAt: Date | null;
  /** Computed by the database (its clock decides expiry, like every other expiry here). */
  status: InvitationStatusValue;
}

const COLUMNS = `id, org_id AS "orgId", email, display_name AS "displayName", org_role AS "orgRole", grants,
  invited_by AS "invitedBy", created_at AS "createdAt", expires_at AS "expiresAt", accepted_at AS "acceptedAt",
  accepted_user_id AS "acceptedUserId", revoked_at AS "revokedAt",
  CASE WHEN accepted_at IS NOT NULL THEN 'ACCEPTED' WHEN revoked_at IS NOT NULL THEN 'REVOKED'
       WHEN expires_at <= now() THEN 'EXPIRED' ELSE 'OPEN' END AS status`;

const STATUS_SQL: Record<InvitationStatusValue, string> = {
  OPEN: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()',
  ACCEPTED: 'accepted_at IS NOT NULL',
  REVOKED: 'revoked_at IS NOT NULL AND accepted_at IS NULL',
  EXPIRED: 'accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()',
};

/**
 * Invitations (auth.invitation). Every method takes the org id first and runs on the caller's
 * tenant transaction (`withTenant`), except `orgOfToken`: a public link carries only the token,
 * so the org is found by the token's hash first, and the work then happens inside that org.
 */
export class InvitationDao {
  constructor(private readonly ds: DataSource) {}

  /** The org an invitation token belongs to (any state), or null. */
  /** The org a token belongs to (any state), or null: auth.tenant_of, the one cross-tenant question the runtime role may ask. */
  orgOfToken(tokenHash: Buffer): Promise<string | null> {
    return tenantOf(this.ds, 'invitation', tokenHash.toString('hex'));
  }

  /** Serialises invitation writes for one e-mail in one org until the transaction ends ("one open invitation per e-mail"). */
  async lockEmail(em: EntityManager, orgId: string, email: string): Promise<void> {
    await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`auth.invitation:${orgId}:${email.toLowerCase()}`]);
  }

  async openExistsForEmail(em: EntityManager, orgId: string, email: string, exceptId?: string): Promise<boolean> {
    const rows: unknown[] = await em.query(
      `SELECT 1 FROM auth.invitation WHERE org_id = $1 AND lower(email) = lower($2) AND ${STATUS_SQL.OPEN} AND ($3::uuid IS NULL OR id <> $3::uuid) LIMIT 1`,
      [orgId, email, exceptId ?? null],
    );
    return rows.length > 0;
  }

  async insert(
    em: EntityManager,
    orgId: string,
    i: {
      email: string;
      displayName: string | null;
      orgRole: OrgRoleValue;
      grants: InvitationGrantValue[];
      tokenHash: Buffer;
      invitedBy: string | null;
      ttlHours: number;
    },
  ): Promise<InvitationRow> {
    const rows: InvitationRow[] = await em.query(
      `INSERT INTO auth.invitation (org_id, email, display_name, org_role, grants, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, now() + make_interval(hours => $8)) RETURNING ${COLUMNS}`,
      [orgId, i.email, i.displayName, i.orgRole, JSON.stringify(i.grants), i.tokenHash, i.invitedBy, i.ttlHours],
    );
    return rows[0]!;
  }

  findById(em: EntityManager, orgId: string, id: string): Promise<InvitationRow | null> {
    return em.query(`SELECT ${COLUMNS} FROM auth.invitation WHERE org_id = $1 AND id = $2`, [orgId, id]).then((r: InvitationRow[]) => r[0] ?? null);
  }

  /** Locks the invitation row for the rest of the transaction (accept / resend / revoke race each other on it). */
  lockById(em: EntityManager, orgId: string, id: string): Promise<InvitationRow | null> {
    return em.query(`SELECT ${COLUMNS} FROM auth.invitation WHERE org_id = $1 AND id = $2 FOR UPDATE`, [orgId, id]).then((r: InvitationRow[]) => r[0] ?? null);
  }

  /** Locks the invitation a token names (any state): the caller decides whether it is still open. */
  lockByToken(em: EntityManager, orgId: string, tokenHash: Buffer): Promise<InvitationRow | null> {
    return em
      .query(`SELECT ${COLUMNS} FROM auth.invitation WHERE org_id = $1 AND token_hash = $2 FOR UPDATE`, [orgId, tokenHash])
      .then((r: InvitationRow[]) => r[0] ?? null);
  }

  findByToken(em: EntityManager, orgId: string, tokenHash: Buffer): Promise<InvitationRow | null> {
    return em
      .query(`SELECT ${COLUMNS} FROM auth.invitation WHERE org_id = $1 AND token_hash = $2`, [orgId, tokenHash])
      .then((r: InvitationRow[]) => r[0] ?? null);
  }

  /** Keyset page, newest first, one extra row to know whether there is a next page. */
  list(
    em: EntityManager,
    orgId: string,
    page: { first: number; after?: { createdAt: Date; id: string }; status?: InvitationStatusValue | null },
  ): Promise<InvitationRow[]> {
    const params: unknown[] = [orgId, page.first + 1];
    let where = 'org_id = $1';
    if (page.status) where += ` AND ${STATUS_SQL[page.status]}`;
    if (page.after) {
      params.push(page.after.createdAt, page.after.id);
      where += ` AND (created_at, id) < ($3, $4)`;
    }
    return em.query(`SELECT ${COLUMNS} FROM auth.invitation WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`, params);
  }

  /** New token, new expiry: the old link stops working. */
  async renew(em: EntityManager, orgId: string, id: string, tokenHash: Buffer, ttlHours: number): Promise<InvitationRow> {
    const rows = returningRows<InvitationRow>(
      await em.query(
        `UPDATE auth.invitation SET token_hash = $3, expires_at = now() + make_interval(hours => $4) WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [orgId, id, tokenHash, ttlHours],
      ),
    );
    return rows[0]!;
  }

  async revoke(em: EntityManager, orgId: string, id: string): Promise<InvitationRow> {
    const rows = returningRows<InvitationRow>(
      await em.query(`UPDATE auth.invitation SET revoked_at = coalesce(revoked_at, now()) WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [orgId, id]),
    );
    return rows[0]!;
  }

  async markAccepted(em: EntityManager, orgId: string, id: string, userId: string): Promise<void> {
    await em.query(`UPDATE auth.invitation SET accepted_at = now(), accepted_user_id = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, userId]);
  }
}
