import { parseWebEnv } from '../../../../lib/env';
import { proxySessionToGateway } from '../../../../lib/gateway-proxy';

/**
 * Same-origin browser-session endpoint: `POST { refreshToken }` turns a sign-in into the
 * `dlx_session` (httpOnly) and `dlx_csrf` cookies; `DELETE` signs the session out. Both are the
 * gateway's `/auth/session`, forwarded with the caller's cookies and CSRF header.
 */
export async function POST(request: Request): Promise<Response> {
  const env = parseWebEnv();
  return proxySessionToGateway(request, { gatewayUrl: env.GATEWAY_URL, timeoutMs: env.GATEWAY_TIMEOUT_MS });
}

export async function DELETE(request: Request): Promise<Response> {
  const env = parseWebEnv();
  return proxySessionToGateway(request, { gatewayUrl: env.GATEWAY_URL, timeoutMs: env.GATEWAY_TIMEOUT_MS });
}
