import type { Metadata } from 'next';
import { connection } from 'next/server';
import { HealthDashboard } from '../../components/health-dashboard';
import { parseWebEnv } from '../../lib/env';
import '../globals.css';

export const metadata: Metadata = { title: { absolute: 'Datalinx — platform health' } };

/**
 * Platform health, public (no sign-in): rendered per request (`connection()`), so the gateway
 * address shown in messages is the one this server was started with, not the one present at
 * build time.
 */
export default async function StatusPage() {
  await connection();
  const { GATEWAY_URL } = parseWebEnv();
  return <HealthDashboard gatewayUrl={GATEWAY_URL} />;
}
