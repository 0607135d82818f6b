import { z } from 'zod';
import { ForbiddenError, UnauthenticatedError, ValidationError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { AUDIT_ACTION, AUDIT_ACTION_MAX } from '@datalinx/contracts';
import { hasOrgPermission, type Viewer } from '@datalinx/graphql-kit';
import type { AuditLogDao, AuditLogFilter } from '../daos/audit-log.dao';
import type { AuditEntry } from '../entities/audit-entry.entity';

/** The filter as the client sent it (GraphQL input; DateTime arrives as the client wrote it). */
export interface AuditLogFilterInput {
  actorId?: string | null;
  action?: string | null;
  actionPrefix?: string | null;
  from?: unknown;
  to?: unknown;
}

export interface AuditLogArgs {
  filter?: AuditLogFilterInput | null;
  first?: number | null;
  after?: string | null;
}

export interface AuditLogPage {
  nodes: AuditEntry[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const ACTION_PREFIX = /^[a-z][a-z0-9_.]*$/;
const isoTime = z.string().datetime({ offset: true });

/**
 * Checks the filter and turns it into the DAO's; every problem is reported at once, as one
 * VALIDATION_FAILED with a field error each.
 */
export function validateAuditLogFilter(f: AuditLogFilterInput | null | undefined): AuditLogFilter {
  const errors: Array<{ field: string; message: string }> = [];
  const out: AuditLogFilter = {};
  if (!f) return out;
  if (f.actorId !== undefined && f.actorId !== null) {
    if (f.actorId.length < 1 || f.actorId.length > 200) errors.push({ field: 'filter.actorId', message: 'an actor id (1–200 characters)' });
    else out.actorId = f.actorId;
  }
  if (f.action !== undefined && f.action !== null) {
    if (f.action.length > AUDIT_ACTION_MAX || !AUDIT_ACTION.test(f.action))
      errors.push({ field: 'filter.action', message: 'an action such as auth.login.failed' });
    else out.action = f.action;
  }
  if (f.actionPrefix !== undefined && f.actionPrefix !== null) {
    if (f.actionPrefix.length > AUDIT_ACTION_MAX || !ACTION_PREFIX.test(f.actionPrefix)) {
      errors.push({ field: 'filter.actionPrefix', message: 'the start of an action: lower-case letters, digits, _ and . (e.g. auth.session.)' });
    } else out.actionPrefix = f.actionPrefix;
  }
  for (const field of ['from', 'to'] as const) {
    const v = f[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !isoTime.safeParse(v).success)
      errors.push({ field: `filter.${field}`, message: 'an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z' });
    else out[field] = new Date(v);
  }
  if (out.from && out.to && out.from.getTime() > out.to.getTime()) errors.push({ field: 'filter.to', message: 'must not be before filter.from' });
  if (errors.length) throw new ValidationError(`The audit log filter is not valid: ${errors.map((e) => e.field).join(', ')}.`, errors);
  return out;
}

/**
 * The audit log as an org admin may read it: entries of the viewer's own organization only,
 * newest first, keyset paged. Shield already demanded `audit:read`; the manager checks it again
 * (shield is one layer; a rule changed by mistake must not open the log) and the DAO filters by
 * the viewer's org inside a `withTenant` transaction for it.
 */
export class AuditLogManager {
  constructor(private readonly entries: AuditLogDao) {}

  async list(viewer: Viewer, a: AuditLogArgs): Promise<AuditLogPage> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    if (!hasOrgPermission(viewer, 'audit:read')) throw new ForbiddenError();
    const filter = validateAuditLogFilter(a.filter);
    const n = pageSize(a.first);
    const rows = await this.entries.list(viewer.orgId, filter, { first: n, after: decodeCursor(a.after) });
    const nodes = rows.slice(0, n);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.occurredAt, last.id) : null } };
  }
}
