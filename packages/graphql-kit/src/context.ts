import type { Logger } from '@datalinx/common';
import type { Viewer } from './viewer';

export interface RequestContext {
  viewer: Viewer;
  requestId: string;
  log: Logger;
}
