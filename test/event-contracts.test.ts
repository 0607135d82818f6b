import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as contracts from '@datalinx/contracts';
import { EVENT_CONTRACTS, auditSubject, eventContractOf, jobSubject, parseEventBody, promotionCompletedSubject, runSubject } from '@datalinx/contracts';
import { enqueueOutbox } from '@datalinx/messaging';
import { MAPPING_CREATED_V1 as MAPPING_SERVICE_CREATED_V1 } from '../services/mapping/src/events';

/**
 * Every subject a service enqueues has a contract in the registry of @datalinx/contracts. The
 * compiler checks the calls (enqueueOutbox takes a RegisteredSubject and its body); this test
 * reads every enqueueOutbox call in services/*\/src, so a subject that slipped past the types (a
 * cast) fails here too.
 */
const root = join(__dirname, '..');
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === '__generated__' ? [] : sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const calls = readdirSync(join(root, 'services')).flatMap((svc) =>
  sources(join(root, 'services', svc, 'src')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/enqueueOutbox\(\s*\w+,\s*([^,]+?),/g)].map((m) => ({ file: file.slice(root.length + 1), subject: m[1]!.trim() })),
  ),
);

const id = '00000000-0000-4000-8000-000000000001';
/** What each subject expression found in the services evaluates to (builders with sample ids). */
function evaluate(expr: string): string | undefined {
  const literal = /^'([^']+)'$/.exec(expr);
  if (literal) return literal[1];
  if (/^[A-Z0-9_]+$/.test(expr))
    return expr === 'MAPPING_CREATED_V1' ? MAPPING_SERVICE_CREATED_V1 : ((contracts as Record<string, unknown>)[expr] as string | undefined);
  if (expr.startsWith('auditSubject(')) return auditSubject(id);
  if (expr.startsWith('runSubject(')) return runSubject(id, id);
  if (expr.startsWith('jobSubject(')) return jobSubject('connection.test', id);
  const promo = /^promotionCompletedSubject\('(mapping|schema)'\)$/.exec(expr);
  if (promo) return promotionCompletedSubject(promo[1] as 'mapping' | 'schema');
  if (expr === 'msg.subject') return MAPPING_SERVICE_CREATED_V1;
  return undefined;
}

describe('event registry', () => {
  it('finds the enqueue calls of the services', () => {
    expect(calls.length).toBeGreaterThanOrEqual(10);
  });

  it.each(calls.map((c) => [`${c.file}: ${c.subject}`, c.subject] as const))('%s is registered', (_where, expr) => {
    const subject = evaluate(expr);
    if (!subject) throw new Error(`cannot tell which subject ${expr} is: name it in this test`);
    expect(eventContractOf(subject)?.key).toBeDefined();
  });

  it('registers the subject of every job kind', () => {
    const kinds = contracts.jobMessage.options.map((o) => o.shape.kind.value);
    expect(kinds.length).toBeGreaterThan(3);
    for (const kind of kinds) expect([kind, eventContractOf(jobSubject(kind, id))?.key]).toEqual([kind, 'jobs.*.*.*']);
  });

  it('refuses a subject without a contract and a body that breaks its contract', () => {
    expect(() => parseEventBody('workspace.connection.exploded.v1', {})).toThrow('no event contract');
    expect(() => parseEventBody('workspace.connection.deleted.v1', { orgId: id, workspaceId: id })).toThrow('connectionId');
    expect(parseEventBody('workspace.connection.deleted.v1', { orgId: id, workspaceId: id, connectionId: id })).toEqual({
      orgId: id,
      workspaceId: id,
      connectionId: id,
    });
  });

  it('enqueueOutbox throws on a bad body before it touches the transaction', async () => {
    const untouched = new Proxy(
      {},
      {
        get: () => {
          throw new Error('the transaction was used');
        },
      },
    );
    await expect(enqueueOutbox(untouched as never, 'workspace.connection.deleted.v1', { orgId: id } as never)).rejects.toThrow('breaks its contract');
  });

  it('gives every registered contract a version', () => {
    for (const [key, c] of Object.entries(EVENT_CONTRACTS)) expect([key, c.version]).toEqual([key, expect.any(Number)]);
  });
});
