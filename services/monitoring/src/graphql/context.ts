import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { RunManager } from '../managers/run.manager';

export interface MonitoringContext extends RequestContext {
  runs: RunManager;
  status: () => Promise<ServiceStatus>;
}
