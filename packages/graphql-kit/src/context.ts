import type { Logger } from '@datalinx/common';
import type { Viewer } from './viewer';

export interface RequestContext {
  viewer: Viewer;
  requestId: string;
  log: Logger;
  /** The end user's IP address, from the signed viewer assertion (absent when the gateway did not know it). */
  clientIp?: string;
  /** The caller's User-Agent as the gateway saw it (informational, never a security decision). */
  userAgent?: string;
}
