import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Run } from './entities/run.entity';
import { RunStep } from './entities/run-step.entity';
import { ConsumedEvent } from './entities/consumed-event.entity';
import { Init1764500000000 } from './migrations/1764500000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';

export const SCHEMA = 'monitoring';

export const monitoringDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Run, RunStep, ConsumedEvent, OutboxEvent],
    migrations: [Init1764500000000, RowLevelSecurity1764600000000],
    poolMax,
    statementTimeoutMs,
  });
