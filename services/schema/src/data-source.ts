import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { CanonicalType } from './entities/canonical-type.entity';
import { Init1764400000000 } from './migrations/1764400000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';
import { Discovery1764800000000 } from './migrations/1764800000000-discovery';
import { CanonicalTypes1764900000000 } from './migrations/1764900000000-canonical-types';
import { CustomCanonicalType } from './entities/custom-canonical-type.entity';
import { RowEstimateSource1765220000000 } from './migrations/1765220000000-row-estimate-source';
import { SourceSnapshotEvents1765240000000 } from './migrations/1765240000000-source-snapshot-events';
import { TargetSchemas1765300000000 } from './migrations/1765300000000-target-schemas';

export const SCHEMA = 'schema';

export const schemaDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [CanonicalType, CustomCanonicalType, OutboxEvent],
    migrations: [
      Init1764400000000,
      RowLevelSecurity1764600000000,
      Discovery1764800000000,
      CanonicalTypes1764900000000,
      RowEstimateSource1765220000000,
      SourceSnapshotEvents1765240000000,
      TargetSchemas1765300000000,
    ],
    poolMax,
    statementTimeoutMs,
  });
