import { connection } from 'next/server';
import { HealthDashboard } from '../components/health-dashboard';
import { parseWebEnv } from '../lib/env';

/**
 * Rendered per request (`connection()`), so the gateway address shown in messages is the one
 * this server was started with, not the one present at build time.
 */
export default async function HomePage() {
  await connection();
  const { GATEWAY_URL } = parseWebEnv();
  return <HealthDashboard gatewayUrl={GATEWAY_URL} />;
}
