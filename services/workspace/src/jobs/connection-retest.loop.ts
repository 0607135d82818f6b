import type { DataSource } from 'typeorm';
import { connectionsDueForRetest } from '../daos/connection.dao';
import type { Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import type { ConnectionDao } from '../daos/connection.dao';
import type { QuotaPolicy } from '../managers/quota.manager';
import { dispatchConnectionTest } from './connection-test.dispatch';
import type { JobDispatchSettings } from './job-dispatch-settings';

/** Who a periodic re-test is requested by (run lists show it). */
export const RETEST_REQUESTER = 'system:connection-retest';

/**
 * Re-tests HEALTHY connections whose last test is older than CONNECTION_RETEST_INTERVAL_S, so a
 * source that broke overnight shows up FAILING (and raises workspace.connection.failed.v1)
 * without anyone pressing "test". Every instance of the service may run this loop:
 *
 * 1. `workspace.connections_due_for_retest` (SECURITY DEFINER) names the due rows of every org —
 *    (org, connection id) only, because the loop does not know the orgs in advance;
 * 2. each is dispatched in its own tenant transaction that locks the row FOR UPDATE SKIP LOCKED
 *    and re-checks it is still HEALTHY and due: an instance that loses the race finds it locked
 *    or already TESTING and moves on, so no connection is tested twice for one slot.
 */
export class ConnectionRetestLoop {
  private timer?: NodeJS.Timeout;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly o: {
      ds: DataSource;
      dao: ConnectionDao;
      settings: JobDispatchSettings;
      /** Concurrent-run quotas, as for a manual test (a workspace at its limit is retried next pass). */
      quotas: QuotaPolicy | null;
      log: Logger;
      /** CONNECTION_RETEST_INTERVAL_S; 0 turns the loop off. */
      intervalS: number;
      /** How often to look for due connections (default: a quarter of the interval, 5 s to 60 s). */
      pollMs?: number;
      batchSize?: number;
      onOutboxCommit: () => void;
    },
  ) {}

  start(): this {
    if (this.o.intervalS <= 0) {
      this.o.log.info('connection re-tests are off (CONNECTION_RETEST_INTERVAL_S=0)');
      return this;
    }
    const pollMs = this.o.pollMs ?? Math.min(60_000, Math.max(5_000, (this.o.intervalS * 1000) / 4));
    this.timer = setInterval(() => void this.tickSafely(), pollMs);
    this.timer.unref();
    return this;
  }

  private async tickSafely(): Promise<void> {
    if (this.running || this.stopped) return;
    try {
      await this.tick();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'connection re-test pass failed; will retry');
    }
  }

  /** One pass: dispatches a test for every due connection this instance wins. Returns how many. */
  async tick(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const due = await connectionsDueForRetest(this.o.ds, this.o.intervalS, this.o.batchSize ?? 100);
    let dispatched = 0;
    for (const d of due) {
      if (this.stopped) break;
      try {
        const runId = await withTenant(this.o.ds, d.org_id, async (em) => {
          const conn = await this.o.dao.lockWithSecret(em, d.org_id, d.connection_id, { skipLocked: true });
          const dueBefore = Date.now() - this.o.intervalS * 1000;
          if (!conn || conn.status !== 'HEALTHY' || (conn.lastTestedAt && conn.lastTestedAt.getTime() > dueBefore)) return null;
          const admitted = this.o.quotas ? await this.o.quotas.assertCanDispatch(em, d.org_id, conn.workspaceId, { writesData: false }) : null;
          const { runId } = await dispatchConnectionTest(em, this.o.dao, this.o.settings, conn, RETEST_REQUESTER, admitted?.limits);
          await this.o.quotas?.trackRun(em, d.org_id, { runId, workspaceId: conn.workspaceId, kind: 'connection.test' });
          return runId;
        });
        if (runId) {
          dispatched += 1;
          this.o.log.info({ orgId: d.org_id, connectionId: d.connection_id, runId }, 'connection re-test dispatched');
        }
      } catch (err) {
        // One broken connection (e.g. a secret no configured key opens) must not stop the others.
        this.o.log.warn({ orgId: d.org_id, connectionId: d.connection_id, err: (err as Error).message }, 'connection re-test could not be dispatched');
      }
    }
    if (dispatched) this.o.onOutboxCommit();
    return dispatched;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
