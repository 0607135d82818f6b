import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { CanonicalType } from './entities/canonical-type.entity';
import { Init1764400000000 } from './migrations/1764400000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';

export const SCHEMA = 'schema';

export const schemaDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [CanonicalType, OutboxEvent],
    migrations: [Init1764400000000, RowLevelSecurity1764600000000],
    poolMax,
    statementTimeoutMs,
  });
