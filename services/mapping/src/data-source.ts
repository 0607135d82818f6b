import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Mapping } from './entities/mapping.entity';
import { Init1764400000000 } from './migrations/1764400000000-init';
import { WorkspaceRef1764500000000 } from './migrations/1764500000000-workspace-ref';
import { Promotions1764600000000 } from './migrations/1764600000000-promotions';
import { DbtProjects1765400000000 } from './migrations/1765400000000-dbt-projects';
import { CanonicalTypeRefs1765500000000 } from './migrations/1765500000000-canonical-type-refs';
import { MappingSpec1765300000000 } from './migrations/1765300000000-mapping-spec';

export const SCHEMA = 'mapping';

export const mappingDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Mapping, OutboxEvent],
    migrations: [
      Init1764400000000,
      WorkspaceRef1764500000000,
      Promotions1764600000000,
      MappingSpec1765300000000,
      DbtProjects1765400000000,
      CanonicalTypeRefs1765500000000,
    ],
    poolMax,
    statementTimeoutMs,
  });
