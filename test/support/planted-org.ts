import { randomUUID } from 'node:crypto';
import type { Viewer } from '@datalinx/graphql-kit';
import type { Platform } from './platform';
import { userViewer } from './viewers';

/**
 * An organization and its ADMIN written straight into auth's tables (as the admin connection),
 * for tests about the other fields that only need an org to act in: the platform harness passes
 * the viewer in a test header, so no sign-up or sign-in is involved.
 */
export async function plantOrgAdmin(p: Pick<Platform, 'sources'>, name = 'Planted Org'): Promise<{ orgId: string; userId: string; admin: Viewer }> {
  const tag = randomUUID().slice(0, 8);
  const [{ id: orgId }] = await p.sources.auth.query(
    `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1, $2, 'eu', 'UTC') RETURNING id`,
    [`planted-${tag}`, name],
  );
  const [{ id: userId }] = await p.sources.auth.query(
    `INSERT INTO auth."user" (org_id, email, display_name, org_role) VALUES ($1, $2, 'Planted Admin', 'ADMIN') RETURNING id`,
    [orgId, `planted-${tag}@example.test`],
  );
  return { orgId, userId, admin: userViewer({ orgId, userId, orgRole: 'ADMIN' }) };
}
