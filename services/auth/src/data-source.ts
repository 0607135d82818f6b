import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Organization } from './entities/organization.entity';
import { User } from './entities/user.entity';
import { Init1764300000000 } from './migrations/1764300000000-init';

export const SCHEMA = 'auth';

export const authDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Organization, User, OutboxEvent],
    migrations: [Init1764300000000],
    poolMax,
    statementTimeoutMs,
  });
