import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { RunManager } from '../managers/run.manager';
import type { AuditLogManager } from '../managers/audit-log.manager';

export interface MonitoringContext extends RequestContext {
  runs: RunManager;
  audit: AuditLogManager;
  status: () => Promise<ServiceStatus>;
}
