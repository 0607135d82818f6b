import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { AuditEventV1 } from '@datalinx/contracts';
import { ConsumedEventDao } from '../daos/consumed-event.dao';
import { AuditLogDao } from '../daos/audit-log.dao';

/** duplicate: the event id was stored before; recorded: a new row was written. */
export type AuditRecordOutcome = 'duplicate' | 'recorded';

/**
 * The write side of the audit log, the RUNS pattern: each event is stored in ONE transaction,
 * `withTenant(event.orgId)` (row-level security confines it to that org), together with its id
 * in the consumer ledger `consumed_event` — under the key `audit:<id>`, so an audit event id can
 * never shadow a run event id in that shared ledger. The row's primary key is the event id as
 * well: once the ledger row is pruned (older than the stream's max age) a republished event still
 * adds nothing.
 */
export class AuditRecorder {
  constructor(private readonly ds: DataSource) {}

  record(ev: AuditEventV1): Promise<AuditRecordOutcome> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      if (!(await new ConsumedEventDao(em).markConsumed(`audit:${ev.id}`))) return 'duplicate';
      return (await new AuditLogDao(em).insertIfMissing(ev.orgId, ev)) ? 'recorded' : 'duplicate';
    });
  }
}
