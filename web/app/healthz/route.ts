/** Liveness probe for load balancers and compose: the Next.js server is up and routing. */
export function GET(): Response {
  return new Response('ok', {
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  });
}
