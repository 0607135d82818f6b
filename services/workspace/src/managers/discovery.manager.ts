import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, isUuid } from '@datalinx/common';
import { actorIdOf, hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { discoveryScope, type DiscoveryScope } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import { dispatchSourceDiscovery } from '../jobs/source-discover.dispatch';
import type { QuotaPolicy } from './quota.manager';
import { userError, type UserError } from './user-error';

const NOT_FOUND = userError('CONNECTION_NOT_FOUND', 'id', 'No such connection, or you cannot discover it.');
/** The contract's bounds (`discoveryScope`): names 1–255 characters, at most 1000 tables and 100 patterns. */
const SCOPE_LIMITS = { tables: 1000, patterns: 100 } as const;
const SCOPE_NAME_MAX = 255;

/** The scope's own checks, each at its entry (`scope.tables.N`), all at once; nothing is dispatched on any. */
export function validateDiscoveryScope(raw: { tables?: readonly string[] | null; patterns?: readonly string[] | null } | null | undefined): UserError[] {
  const errors: UserError[] = [];
  for (const key of ['tables', 'patterns'] as const) {
    const list = raw?.[key] ?? [];
    const what = key === 'tables' ? 'A table name' : 'A pattern';
    if (list.length > SCOPE_LIMITS[key]) {
      errors.push(
        userError(
          'TOO_MANY_SCOPE_ENTRIES',
          `scope.${key}`,
          `At most ${SCOPE_LIMITS[key]} ${key} in a discovery scope (${list.length} given); use patterns, or discover without a scope.`,
        ),
      );
      continue;
    }
    list.forEach((v, i) => {
      const at = `scope.${key}.${i}`;
      const t = v.trim();
      if (!t)
        errors.push(
          userError('SCOPE_NAME_EMPTY', at, `${what} cannot be empty: schema.table (or a bare table name)${key === 'patterns' ? ', with * and ?' : ''}.`),
        );
      else if (t.length > SCOPE_NAME_MAX)
        errors.push(userError('SCOPE_NAME_TOO_LONG', at, `${what} has at most ${SCOPE_NAME_MAX} characters (${t.length} given).`));
      // eslint-disable-next-line no-control-regex
      else if (/[\u0000-\u001f\u007f]/.test(t))
        errors.push(userError('SCOPE_NAME_INVALID', at, `${what} cannot contain control characters (line breaks, tabs).`));
    });
  }
  return errors;
}

/**
 * `discoverConnection`: queues a `source.discover` run for a connection of any type (databases
 * through their catalogs, files and REST APIs through the readers). The scope is checked entry by
 * entry first (typed errors, nothing written); a well-formed scope that matches no table fails the
 * run in the worker (DISCOVERY_SCOPE_MATCHES_NOTHING) and records no snapshot. Needs
 * connections:test or schemas:write in the connection's workspace (checked here on the
 * connection itself; the org always comes from the viewer). The run goes through the
 * workspace's quotas (QuotaPolicy.admitRun: QUOTA_EXCEEDED rolls the dispatch back), and the job
 * and the QUEUED run event are written to the outbox in the same transaction.
 */
export class DiscoveryManager {
  constructor(
    private readonly ds: DataSource,
    private readonly dao: ConnectionDao,
    private readonly settings: JobDispatchSettings,
    private readonly onCommit: () => void,
    private readonly quotas: QuotaPolicy,
  ) {}

  async discover(
    viewer: Viewer,
    id: string,
    rawScope: { tables?: readonly string[] | null; patterns?: readonly string[] | null } | null | undefined,
  ): Promise<{ runId: string | null; errors: UserError[] }> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const orgId = viewer.orgId;
    if (!isUuid(id)) return { runId: null, errors: [NOT_FOUND] };
    const scopeErrors = validateDiscoveryScope(rawScope);
    if (scopeErrors.length) return { runId: null, errors: scopeErrors };
    const parsed = discoveryScope.safeParse({
      ...(rawScope?.tables?.length ? { tables: rawScope.tables } : {}),
      ...(rawScope?.patterns?.length ? { patterns: rawScope.patterns } : {}),
    });
    // The checks above cover the contract; this only guards against the two drifting apart.
    if (!parsed.success) {
      return {
        runId: null,
        errors: parsed.error.issues.map((i) =>
          userError(
            'INVALID_SCOPE',
            `scope.${i.path.join('.')}`,
            `Table names and patterns: 1 to 255 characters, at most 1000 tables and 100 patterns (${i.message}).`,
          ),
        ),
      };
    }
    const scope: DiscoveryScope = parsed.data;
    const result = await withTenant(this.ds, orgId, async (em) => {
      const conn = await this.dao.lockWithSecret(em, orgId, id);
      if (
        !conn ||
        !(hasWorkspacePermission(viewer, conn.workspaceId, 'connections:test') || hasWorkspacePermission(viewer, conn.workspaceId, 'schemas:write'))
      ) {
        return { runId: null, errors: [NOT_FOUND] };
      }
      const runId = randomUUID();
      const { limits } = await this.quotas.admitRun(em, orgId, { runId, workspaceId: conn.workspaceId, kind: 'source.discover', writesData: false });
      await dispatchSourceDiscovery(em, this.dao, this.settings, conn, {
        runId,
        requestedBy: actorIdOf(viewer),
        scope,
        limits,
      });
      return { runId, errors: [] as UserError[] };
    });
    if (result.runId) this.onCommit();
    return result;
  }
}
