import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Workspace } from './entities/workspace.entity';
import { Connection } from './entities/connection.entity';
import { Init1764300000000 } from './migrations/1764300000000-init';
import { RowLevelSecurity1764600000000 } from './migrations/1764600000000-row-level-security';
import { DataKeys1764850000000 } from './migrations/1764850000000-data-keys';
import { Pipelines1764900000000 } from './migrations/1764900000000-pipelines';
import { Quotas1764950000000 } from './migrations/1764950000000-quotas';
import { Warehouse1765050000000 } from './migrations/1765050000000-warehouse';
import { PausedWorkspaces1765100000000 } from './migrations/1765100000000-paused-workspaces';
import { Promotions1765150000000 } from './migrations/1765150000000-promotions';
import { CanonicalTypeRefs1765210000000 } from './migrations/1765210000000-canonical-type-refs';
import { SourceSnapshotRefs1765230000000 } from './migrations/1765230000000-source-snapshot-refs';
import { DuePipelinesAt1765260000000 } from './migrations/1765260000000-due-pipelines-at';
import { CaseInsensitiveNames1765270000000 } from './migrations/1765270000000-case-insensitive-names';
import { DbtProjectRefs1765400000000 } from './migrations/1765400000000-dbt-project-refs';
import { Pipeline, PipelineRun } from './entities/pipeline.entity';
import { Connections1765000000000 } from './migrations/1765000000000-connections';
import { StoredFile } from './entities/file.entity';

export const SCHEMA = 'workspace';

export const workspaceDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Workspace, Connection, Pipeline, PipelineRun, StoredFile, OutboxEvent],
    migrations: [
      Init1764300000000,
      RowLevelSecurity1764600000000,
      DataKeys1764850000000,
      Pipelines1764900000000,
      Quotas1764950000000,
      Connections1765000000000,
      Warehouse1765050000000,
      PausedWorkspaces1765100000000,
      Promotions1765150000000,
      CanonicalTypeRefs1765210000000,
      SourceSnapshotRefs1765230000000,
      DuePipelinesAt1765260000000,
      CaseInsensitiveNames1765270000000,
      DbtProjectRefs1765400000000,
    ],
    poolMax,
    statementTimeoutMs,
  });
