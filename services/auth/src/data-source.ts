import { createDataSource } from '@datalinx/db';
import { OutboxEvent } from '@datalinx/messaging';
import { Organization } from './entities/organization.entity';
import { User } from './entities/user.entity';
import { Session } from './entities/session.entity';
import { RefreshToken } from './entities/refresh-token.entity';
import { PasswordHistory } from './entities/password-history.entity';
import { WorkspaceGrant } from './entities/workspace-grant.entity';
import { Init1764300000000 } from './migrations/1764300000000-init';
import { Identity1764400000000 } from './migrations/1764400000000-identity';
import { Mfa1764500000000 } from './migrations/1764500000000-mfa';
import { LoginAttempts1764600000000 } from './migrations/1764600000000-login-attempts';
import { ServiceAccounts1764700000000 } from './migrations/1764700000000-service-accounts';
import { WorkspaceRef1764750000000 } from './migrations/1764750000000-workspace-ref';
import { SessionCookie1764800000000 } from './migrations/1764800000000-session-cookie';
import { Invitations1764900000000 } from './migrations/1764900000000-invitations';
import { People1764950000000 } from './migrations/1764950000000-people';
import { AuthRowLevelSecurity1765000000000 } from './migrations/1765000000000-row-level-security';
import { DurableRevocations1765100000000 } from './migrations/1765100000000-durable-revocations';
import { EmailOutboxRecipient1765200000000 } from './migrations/1765200000000-email-outbox-recipient';

export const SCHEMA = 'auth';

export const authDataSource = (url: string, poolMax = 10, statementTimeoutMs = 15000) =>
  createDataSource({
    url,
    schema: SCHEMA,
    entities: [Organization, User, Session, RefreshToken, PasswordHistory, WorkspaceGrant, OutboxEvent],
    migrations: [
      Init1764300000000,
      Identity1764400000000,
      Mfa1764500000000,
      LoginAttempts1764600000000,
      ServiceAccounts1764700000000,
      WorkspaceRef1764750000000,
      SessionCookie1764800000000,
      Invitations1764900000000,
      People1764950000000,
      AuthRowLevelSecurity1765000000000,
      DurableRevocations1765100000000,
      EmailOutboxRecipient1765200000000,
    ],
    poolMax,
    statementTimeoutMs,
  });
