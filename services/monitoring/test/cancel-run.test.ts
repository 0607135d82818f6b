import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Subscription } from '@nats-io/nats-core';
import { createLogger } from '@datalinx/common';
import { runCancelSubject, type RunCancelReplyV1 } from '@datalinx/contracts';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { connectNats, type Nats } from '@datalinx/messaging';
import type { DataSource } from 'typeorm';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMonitoringServer } from '../src/app';
import { RunRecorder } from '../src/managers/run-recorder';
import { natsRunCanceler } from '../src/managers/run-canceler';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';
import { at, newRunRef, stateEvent, type RunRef } from './support/run-events';

interface Payload {
  cancelRun: { run: { id: string; state: string } | null; errors: { code: string; field: string | null; message: string }[] };
}

/**
 * cancelRun through the monitoring subgraph over real PostgreSQL and NATS: the request it sends on
 * `dlx.run.cancel.<workspaceId>` is answered here as the workers with Dagster answer it
 * (workers/test/pipeline-dagster.e2e.test.ts drives the workers' side against a real Dagster).
 */
describe('cancelRun', () => {
  let db: TestDatabase;
  let app: DataSource;
  let keys: TestKeys;
  let nats: Nats;
  let server: Awaited<ReturnType<typeof createMonitoringServer>>;
  let httpServer: http.Server;
  let url: string;
  let responder: Subscription;
  const requests: unknown[] = [];
  /** What the stand-in worker answers, per run id (default: accepted, CANCELING). */
  const replies = new Map<string, RunCancelReplyV1>();

  const org = randomUUID();
  const ws = randomUUID();
  /** A workspace no worker answers for. */
  const wsUnserved = randomUUID();
  const editor = userViewer({
    orgId: org,
    grants: [
      { workspaceId: ws, role: 'EDITOR' },
      { workspaceId: wsUnserved, role: 'EDITOR' },
    ],
  });
  const reader = userViewer({ orgId: org, grants: [{ workspaceId: ws, role: 'VIEWER' }] });
  const stranger = userViewer({ orgId: randomUUID(), orgRole: 'ADMIN' });

  const running = newRunRef({ orgId: org, workspaceId: ws, kind: 'pipeline.run' });
  const notLaunched = newRunRef({ orgId: org, workspaceId: ws, kind: 'pipeline.run' });
  const finished = newRunRef({ orgId: org, workspaceId: ws, kind: 'pipeline.run' });
  const test = newRunRef({ orgId: org, workspaceId: ws, kind: 'connection.test' });
  const unserved = newRunRef({ orgId: org, workspaceId: wsUnserved, kind: 'pipeline.run' });

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    keys = await makeTestKeys();
    const rec = new RunRecorder(app);
    for (const r of [running, notLaunched, test, unserved]) await rec.record(stateEvent(r, 'STARTED', { at: at(1000) }));
    await rec.record(stateEvent(finished, 'SUCCESS', { at: at(2000) }));
    replies.set(notLaunched.runId, { ok: false, error: { code: 'RUN_NOT_FOUND', message: 'no Dagster run' } });
    nats = await connectNats(process.env.NATS_URL!, 'cancel-run-test');
    responder = nats.nc.subscribe(runCancelSubject(ws), {
      callback: (_err, m) => {
        const body = m.json<{ runId: string }>();
        requests.push(body);
        m.respond(JSON.stringify(replies.get(body.runId) ?? { ok: true, dagsterRunId: 'dagster-1', state: 'CANCELING' }));
      },
    });
    await nats.nc.flush();
    server = await createMonitoringServer({
      ds: app,
      verifier: keys.verifier,
      log: createLogger('monitoring-test', 'silent'),
      canceler: natsRunCanceler(nats.nc, 3000),
    });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    responder?.unsubscribe();
    await server?.stop();
    await nats?.close();
    await app?.destroy();
    await db?.drop();
  });

  beforeEach(() => (requests.length = 0));

  const cancel = async (viewer: Viewer, r: RunRef) => {
    const res = await postGraphQL<Payload>(
      url,
      `mutation($id: ID!){ cancelRun(id: $id) { run { id state } errors { code field message } } }`,
      { id: r.runId },
      { [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.cancelRun;
  };

  it('asks the workers of the run’s workspace to cancel a running pipeline run', async () => {
    expect(await cancel(editor, running)).toEqual({ run: { id: running.runId, state: 'STARTED' }, errors: [] });
    expect(requests).toEqual([{ v: 1, workspaceId: ws, runId: running.runId }]);
  });

  it('refuses without runs:cancel (FORBIDDEN), and a run of another org is not found; neither reaches the workers', async () => {
    expect((await cancel(reader, running)).errors).toEqual([expect.objectContaining({ code: 'FORBIDDEN', field: 'id' })]);
    expect(await cancel(stranger, running)).toEqual({ run: null, errors: [expect.objectContaining({ code: 'RUN_NOT_FOUND' })] });
    expect(requests).toEqual([]);
  });

  it('refuses a finished run and a run that is not a pipeline run without asking the workers', async () => {
    expect((await cancel(editor, finished)).errors).toEqual([
      expect.objectContaining({ code: 'RUN_FINISHED', message: 'The run has already finished (SUCCESS).' }),
    ]);
    expect((await cancel(editor, test)).errors).toEqual([expect.objectContaining({ code: 'RUN_NOT_CANCELABLE' })]);
    expect(requests).toEqual([]);
  });

  it('says what the workers answered: a run not launched in Dagster yet, or no worker at all', async () => {
    expect((await cancel(editor, notLaunched)).errors).toEqual([
      expect.objectContaining({ code: 'RUN_NOT_CANCELABLE', message: 'The run has not been started in Dagster yet; try again in a moment.' }),
    ]);
    expect((await cancel(editor, unserved)).errors).toEqual([
      expect.objectContaining({ code: 'CANCEL_UNAVAILABLE', field: null, message: expect.stringMatching(/^The run could not be canceled now: /) }),
    ]);
  });
});
