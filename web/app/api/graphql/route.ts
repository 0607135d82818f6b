import { parseWebEnv } from '../../../lib/env';
import { proxyToGateway } from '../../../lib/gateway-proxy';

/**
 * Same-origin GraphQL endpoint for the browser. Forwards POST bodies to the gateway named by
 * `GATEWAY_URL`, read per request so one build runs against any gateway.
 */
export async function POST(request: Request): Promise<Response> {
  const env = parseWebEnv();
  return proxyToGateway(request, { gatewayUrl: env.GATEWAY_URL, timeoutMs: env.GATEWAY_TIMEOUT_MS });
}
