import { GraphQLError } from 'graphql';
import { allow, and, deny, or, rule, shield, type IRules } from 'graphql-shield';
import type { RequestContext } from './context';
import { hasOrgPermission, hasWorkspacePermission, type OrgPermission, type WorkspacePermission } from './permissions';

/**
 * Shield helpers. Every subgraph runs shield with `fallbackRule: deny` (deny by default); every
 * root field gets an explicit rule (a test enforces it). Federation's `_service`/`_entities`
 * are allowed here because the viewer assertion already guards them, and entity references
 * re-check ownership in their managers (`__resolveReference` is not covered by shield).
 */
export const unauthenticated = () => new GraphQLError('You must be signed in to do this.', { extensions: { code: 'UNAUTHENTICATED' } });
export const forbidden = (msg = 'You do not have permission to do this.') => new GraphQLError(msg, { extensions: { code: 'FORBIDDEN' } });

export const isAuthenticated = rule({ cache: 'contextual' })(async (_p, _a, ctx: RequestContext) =>
  ctx.viewer.kind === 'anonymous' ? unauthenticated() : true,
);

/** Public, tenant-free data (e.g. platform status). Spelled out so every use is deliberate. */
export const isPublic = allow;

export { allow, and, deny, or, rule };

export function createShield(rules: IRules) {
  const r = rules as Record<string, Record<string, unknown>>;
  const withFederation: IRules = {
    ...rules,
    Query: { ...(r.Query ?? {}), _service: allow, _entities: allow },
    _Service: allow,
  } as IRules;
  return shield(withFederation, {
    fallbackRule: deny,
    fallbackError: forbidden(),
    allowExternalErrors: true,
    debug: false,
  });
}

/**
 * Permission P in the workspace named by the arguments (coarse check; managers still re-check
 * that the object really lives in that workspace and org).
 */
let workspaceRuleSeq = 0;
export const canInWorkspace = (permission: WorkspacePermission, workspaceIdOf: (args: Record<string, unknown>) => unknown) =>
  // shield requires distinct names for distinct rule instances (each use has its own argument reader).
  rule(`ws:${permission}:${++workspaceRuleSeq}`, { cache: 'strict' })(async (_p, args: Record<string, unknown>, ctx: RequestContext) => {
    if (ctx.viewer.kind === 'anonymous') return unauthenticated();
    const workspaceId = workspaceIdOf(args);
    if (typeof workspaceId !== 'string' || !hasWorkspacePermission(ctx.viewer, workspaceId, permission)) return forbidden();
    return true;
  });

const orgPermRules = new Map<OrgPermission, ReturnType<typeof makeOrgPermRule>>();
/** One rule instance per permission: shield rejects two different rules with the same name. */
export const hasOrgPerm = (permission: OrgPermission) => {
  let r = orgPermRules.get(permission);
  if (!r) orgPermRules.set(permission, (r = makeOrgPermRule(permission)));
  return r;
};
const makeOrgPermRule = (permission: OrgPermission) =>
  rule(`org:${permission}`, { cache: 'contextual' })(async (_p, _a, ctx: RequestContext) => {
    if (ctx.viewer.kind === 'anonymous') return unauthenticated();
    return hasOrgPermission(ctx.viewer, permission) ? true : forbidden();
  });
