import { parseWebEnv } from '../../../lib/env';
import { proxyExplorerAsset } from '../../../lib/gateway-proxy';

/** The gateway's GraphiQL explorer on this origin, signed in as the person through the session cookie. */
export async function GET(request: Request): Promise<Response> {
  const env = parseWebEnv();
  return proxyExplorerAsset(request, { gatewayUrl: env.GATEWAY_URL, timeoutMs: env.GATEWAY_TIMEOUT_MS });
}
