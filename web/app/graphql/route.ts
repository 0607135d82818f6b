import { parseWebEnv } from '../../lib/env';
import { proxyToGateway } from '../../lib/gateway-proxy';

/** Where the explorer (served under /explorer) sends its queries: the same proxy as `/api/graphql`. */
export async function POST(request: Request): Promise<Response> {
  const env = parseWebEnv();
  return proxyToGateway(request, { gatewayUrl: env.GATEWAY_URL, timeoutMs: env.GATEWAY_TIMEOUT_MS });
}
