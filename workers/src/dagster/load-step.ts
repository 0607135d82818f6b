import { z } from 'zod';
import { natsEndpoints, NetworkPolicy } from '@datalinx/common';
import { networkPolicyEnv } from '@datalinx/common';
import { pipelineRunJobV2, type PipelineRunJobV2 } from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import { fileStorageDir } from '../env';
import { JobSecrets } from '../job-secrets';
import { setNetworkPolicy } from '../connectors/net';
import { runPipelineSourceLoad } from '../jobs/pipeline-run';
import type { SyncOutcome, SyncReporter } from '../sync/outcome';
import { PipesSession } from './pipes';

/**
 * The `load` step of a Dagster `pipeline_run` (workers/python/datalinx_dagster/pipeline.py): one
 * source of a pipeline run loaded by the worker's TypeScript sync, as an external process of
 * Dagster Pipes. Run as `node workers/dist/dagster/load-step.js` by the op's
 * PipesSubprocessClient; the Pipes context's extras carry the `pipeline.run` job (its secrets
 * sealed) and the index of the source in the pipeline's definition.
 *
 * The sealed secrets are opened here, with DLX_MASTER_KEY from this process's environment (the
 * Dagster daemon's, as the workers'), so no plaintext secret is in the run config, Dagster's
 * storage or its logs. Every step of the sync is a log line of the Dagster step; the process ends
 * with one custom message `{ type: 'result', ok, rows, summary, error?, steps }` from which the op
 * reports the rows (output metadata) or fails with the sync's code and message.
 */

const envSchema = z.object({
  DLX_MASTER_KEY: z.string().min(40),
  WAREHOUSE_ADMIN_URL: z.string().url().optional(),
  DLX_DATA_DIR: z.string().optional(),
  DLX_FILE_STORAGE_DIR: z.string().min(1).optional(),
  FILE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(100 * 1024 * 1024),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  SYNC_BATCH_DELAY_MS: z.coerce.number().int().min(0).max(60000).default(0),
  ...networkPolicyEnv,
});

const extrasSchema = z.object({ job: z.string(), sourceIndex: z.number().int().min(0), rowsBefore: z.number().int().min(0).default(0) });

interface StepRecord {
  step: string;
  status: 'SUCCESS' | 'FAILURE' | 'SKIPPED';
  message: string;
  durationMs: number;
}

/** Progress lines at most this often per step in the Dagster log. */
const PROGRESS_LOG_MS = 5000;

async function main(): Promise<number> {
  const pipes = PipesSession.open();
  const steps: StepRecord[] = [];
  const finish = (r: SyncOutcome): number => {
    pipes.reportCustomMessage({ type: 'result', ok: r.ok, rows: r.rows, summary: r.summary, ...(r.error ? { error: r.error } : {}), steps });
    pipes.log(r.ok ? r.summary : `${r.error?.code}: ${r.error?.message}`, r.ok ? 'INFO' : 'ERROR');
    pipes.close();
    // A failed load is a result too (the op fails the step with its code): only a crash exits non-zero.
    return 0;
  };
  try {
    const env = envSchema.parse(process.env);
    setNetworkPolicy(
      new NetworkPolicy({
        allowedNetworks: env.CONNECTION_ALLOWED_NETWORKS,
        platformEndpoints: [...natsEndpoints(env.NATS_URL), ...env.DLX_PLATFORM_ENDPOINTS],
      }),
    );
    const extras = extrasSchema.parse(pipes.context.extras);
    const job: PipelineRunJobV2 = pipelineRunJobV2.parse(JSON.parse(extras.job));
    const secrets = new JobSecrets(env.DLX_MASTER_KEY);
    const lastProgress = new Map<string, number>();
    const report: SyncReporter = {
      step: async (step, status, message, durationMs) => {
        steps.push({ step, status, message, durationMs });
        pipes.log(`${step}: ${status} — ${message} (${durationMs} ms)`, status === 'FAILURE' ? 'ERROR' : 'INFO');
      },
      progress: async (step, p) => {
        const now = Date.now();
        if (now - (lastProgress.get(step) ?? 0) < PROGRESS_LOG_MS) return;
        lastProgress.set(step, now);
        pipes.log(`${step}: ${p.rows} rows${p.totalRows !== undefined ? ` of ~${p.totalRows}` : ''} so far`);
      },
    };
    const destination = job.payload.load.destination;
    if (!('external' in destination) && !env.WAREHOUSE_ADMIN_URL) {
      return finish({
        ok: false,
        rows: 0,
        summary: 'nothing loaded',
        error: { code: 'WAREHOUSE_NOT_CONFIGURED', message: 'The Dagster run has no WAREHOUSE_ADMIN_URL: it cannot load into the platform warehouse.' },
      });
    }
    const result = await runPipelineSourceLoad(
      job,
      extras.sourceIndex,
      extras.rowsBefore,
      {
        warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL,
        destinationSecrets: secrets.destination(job.jobId, destination, { pipeline: true }),
        fileStorage: { root: fileStorageDir(env), maxBytes: env.FILE_MAX_BYTES },
        batchDelayMs: env.SYNC_BATCH_DELAY_MS,
        openSecrets: (source) => secrets.pipelineSource(job.jobId, source),
      },
      report,
    );
    return finish(result);
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const code = err instanceof PermanentJobError || typeof e.code === 'string' ? String(e.code) : 'LOAD_FAILED';
    return finish({ ok: false, rows: 0, summary: 'nothing loaded', error: { code, message: e.message } });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`load step failed: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
