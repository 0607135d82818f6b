import { appendFileSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

/**
 * The external-process side of Dagster Pipes (protocol 0.1, as dagster-pipes 1.13.27 speaks it),
 * the part a worker step needs: read the context Dagster passes, write messages back.
 *
 * Dagster launches the process with two variables, each `base64(zlib(json))`:
 * - DAGSTER_PIPES_CONTEXT: `{ path }` (a JSON file of the context data) or `{ data }` (inline);
 * - DAGSTER_PIPES_MESSAGES: `{ path }`, a file to which every message is appended as one JSON line
 *   `{ "__dagster_pipes_version": "0.1", "method": ..., "params": ... }`: `opened` first,
 *   `closed` last, `log` and `report_custom_message` between.
 * Dagster reads the file while the process runs, so log lines appear in the run as they are written.
 */

export interface PipesContextData {
  run_id: string;
  job_name: string | null;
  retry_number: number;
  extras: Record<string, unknown>;
}

type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

const PROTOCOL_VERSION = '0.1';

export const decodePipesParam = (value: string): Record<string, unknown> => JSON.parse(inflateSync(Buffer.from(value, 'base64')).toString('utf8'));

/** Whether this process was launched by Dagster Pipes. */
export const isPipesProcess = (env: NodeJS.ProcessEnv = process.env) => Boolean(env.DAGSTER_PIPES_CONTEXT && env.DAGSTER_PIPES_MESSAGES);

export class PipesSession {
  readonly context: PipesContextData;
  private readonly messagesPath: string;
  private closed = false;

  private constructor(context: PipesContextData, messagesPath: string) {
    this.context = context;
    this.messagesPath = messagesPath;
  }

  /** Reads the context and opens the message channel (writes `opened`). */
  static open(env: NodeJS.ProcessEnv = process.env): PipesSession {
    if (!isPipesProcess(env)) throw new Error('not launched by Dagster Pipes: DAGSTER_PIPES_CONTEXT and DAGSTER_PIPES_MESSAGES are not set');
    const contextParams = decodePipesParam(env.DAGSTER_PIPES_CONTEXT!);
    const context = (typeof contextParams.path === 'string' ? JSON.parse(readFileSync(contextParams.path, 'utf8')) : contextParams.data) as
      PipesContextData | undefined;
    if (!context) throw new Error(`unsupported Dagster Pipes context params: ${Object.keys(contextParams).join(', ')}`);
    const messagesParams = decodePipesParam(env.DAGSTER_PIPES_MESSAGES!);
    if (typeof messagesParams.path !== 'string') {
      throw new Error(`unsupported Dagster Pipes message channel (only a file path is): ${Object.keys(messagesParams).join(', ')}`);
    }
    const session = new PipesSession(context, messagesParams.path);
    session.write('opened', { extras: {} });
    return session;
  }

  private write(method: string, params: Record<string, unknown> | null): void {
    if (this.closed) throw new Error(`Dagster Pipes channel is closed (${method})`);
    appendFileSync(this.messagesPath, JSON.stringify({ __dagster_pipes_version: PROTOCOL_VERSION, method, params }) + '\n');
  }

  /** A line of the step's log in Dagster. */
  log(message: string, level: Level = 'INFO'): void {
    this.write('log', { message, level });
  }

  /** A JSON value the op reads after the process ends (`get_custom_messages()`). */
  reportCustomMessage(payload: unknown): void {
    this.write('report_custom_message', { payload });
  }

  /** Writes `closed` (with the error, if the process failed); later writes throw. */
  close(error?: Error): void {
    if (this.closed) return;
    this.write(
      'closed',
      error ? { exception: { name: error.name, message: error.message, stack: (error.stack ?? '').split('\n'), cause: null, context: null } } : {},
    );
    this.closed = true;
  }
}
