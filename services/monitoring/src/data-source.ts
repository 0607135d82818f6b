import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Run } from './entities/run.entity';
import { RunStep } from './entities/run-step.entity';
import { ConsumedEvent } from './entities/consumed-event.entity';
import { AuditEntry } from './entities/audit-entry.entity';
import { Init1764500000000 } from './migrations/1764500000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';
import { AuditLog1764700000000 } from './migrations/1764700000000-audit-log';
import { ConsumedEventPruning1765000000000 } from './migrations/1765000000000-consumed-event-pruning';
import { DagsterRun1765100000000 } from './migrations/1765100000000-dagster-run';

export const SCHEMA = 'monitoring';

export const monitoringDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Run, RunStep, ConsumedEvent, AuditEntry, OutboxEvent],
    migrations: [Init1764500000000, RowLevelSecurity1764600000000, AuditLog1764700000000, ConsumedEventPruning1765000000000, DagsterRun1765100000000],
    poolMax,
    statementTimeoutMs,
  });
