import type { ConnectionSecrets, ConnectionTestJobV2 } from '@datalinx/contracts';
import type { RunReporter } from '../run-reporter';
import { runSteps, type ConnectorTest, type TestOutcome } from '../connectors/steps';
import { postgresTest } from '../connectors/postgres';
import { mysqlTest } from '../connectors/mysql';
import { fileTest, type FileStorage } from '../connectors/file';
import { restTest } from '../connectors/rest';

/**
 * connection.test: every connection type. Each step is reported on RUNS as it finishes; the
 * first failure stops the test with a typed code and a message that says what to do. Every
 * connector only reads, so running a test again is harmless (idempotent).
 */
export function testConnection(job: ConnectionTestJobV2, secrets: ConnectionSecrets, storage: FileStorage, report: RunReporter): Promise<TestOutcome> {
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
