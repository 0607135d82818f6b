import type { ConnectionSecrets, ConnectionTestJobV1, ConnectionTestJobV2 } from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import type { RunReporter } from '../run-reporter';
import { runSteps, type ConnectorTest, type TestOutcome } from '../connectors/steps';
import { postgresTargetFromUrl, postgresTest } from '../connectors/postgres';
import { mysqlTest } from '../connectors/mysql';
import { fileTest, type FileStorage } from '../connectors/file';
import { restTest } from '../connectors/rest';

/** connection.test v1: a PostgreSQL connection string, mapped onto the PostgreSQL connector. */
export function testConnectionV1(job: ConnectionTestJobV1, connectionString: string, report: RunReporter): Promise<TestOutcome> {
  let target;
  try {
    target = postgresTargetFromUrl(connectionString);
  } catch {
    // Not retried (it cannot get better) and not quoted: the string holds the password.
    throw new PermanentJobError('the connection string is not a valid postgres:// URL', 'INVALID_CONNECTION_STRING');
  }
  return runSteps(postgresTest(target, job.payload.timeoutMs), report);
}

/**
 * connection.test v2: every connection type. Each step is reported on RUNS as it finishes; the
 * first failure stops the test with a typed code and a message that says what to do. Every
 * connector only reads, so running a test again is harmless (idempotent).
 */
export function testConnectionV2(job: ConnectionTestJobV2, secrets: ConnectionSecrets, storage: FileStorage, report: RunReporter): Promise<TestOutcome> {
  const { config, timeoutMs } = job.payload;
  let test: ConnectorTest;
  switch (config.type) {
    case 'POSTGRES':
      test = postgresTest({ ...config, password: secrets.password }, timeoutMs);
      break;
    case 'MYSQL':
      test = mysqlTest({ ...config, password: secrets.password }, timeoutMs);
      break;
    case 'FILE':
      test = fileTest({ ...config, workspaceId: job.workspaceId }, storage);
      break;
    case 'REST_API':
      test = restTest({ ...config, ...secrets, workspaceId: job.workspaceId }, storage.root, timeoutMs);
      break;
  }
  return runSteps(test, report);
}
