import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Workspace } from './entities/workspace.entity';
import { Connection } from './entities/connection.entity';
import { Init1764300000000 } from './migrations/1764300000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';
import { DataKeys1764850000000 } from './migrations/1764850000000-data-keys';

export const SCHEMA = 'workspace';

export const workspaceDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Workspace, Connection, OutboxEvent],
    migrations: [Init1764300000000, RowLevelSecurity1764600000000, DataKeys1764850000000],
    poolMax,
    statementTimeoutMs,
  });
