import { parseKey, unseal } from '@datalinx/common';
import {
  connectionSecrets,
  isExternalDestination,
  pipelineSecretAad,
  type ConnectionSecrets,
  type PipelineLoadSource,
  type SealedSecret,
  type WarehouseDestination,
} from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';

const WRONG_KEY = 'the job secret cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s)';

/**
 * Opens the secrets a job carries, sealed by the control plane with the data-plane key
 * (DLX_MASTER_KEY) and an AAD that binds them to the job: `job:<jobId>`, or for a pipeline run's
 * connections `pipelineSecretAad(jobId, connectionId)`. A value sealed for another job or
 * connection does not open. Anything that does not open or parse is SECRET_UNREADABLE (a
 * permanent failure); the messages name what (a source, a destination connection), never a value.
 * The only place in the worker that unseals.
 */
export class JobSecrets {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    this.key = parseKey(masterKey);
  }

  /** One sealed value of the job (warehouse.provision's role password), AAD `job:<jobId>`. */
  value(jobId: string, sealed: SealedSecret): string {
    return this.open(`job:${jobId}`, sealed, WRONG_KEY);
  }

  /** A connection's secrets (`connectionSecrets` JSON) sealed to the job, AAD `job:<jobId>`; none (null): `{}`. */
  connection(jobId: string, sealed: SealedSecret | null): ConnectionSecrets {
    return this.connectionSecrets(`job:${jobId}`, sealed, 'the job secrets', WRONG_KEY);
  }

  /**
   * A pipeline run's source secrets, sealed per connection (AAD `pipelineSecretAad(jobId,
   * connectionId)`): one source's sealed value moved onto another source, or into another job,
   * does not open. The error names the source.
   */
  pipelineSource(jobId: string, source: PipelineLoadSource): ConnectionSecrets {
    return this.connectionSecrets(
      pipelineSecretAad(jobId, source.connectionId),
      source.secrets,
      `the secrets of source ${source.name}`,
      `the secrets of source ${source.name} cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s, or they were sealed for another job or connection); run the pipeline again, and check the workers' DLX_MASTER_KEY if it persists`,
    );
  }

  /**
   * An EXTERNAL warehouse destination's secrets (the destination connection's password), sealed
   * with the job's AAD (`job:<jobId>`), or for a pipeline run (`pipeline: true`) with
   * `pipelineSecretAad(jobId, <destination connectionId>)`. Undefined for a PLATFORM destination
   * (the worker reaches it through WAREHOUSE_ADMIN_URL).
   */
  destination(jobId: string, d: WarehouseDestination, o: { pipeline?: boolean } = {}): ConnectionSecrets | undefined {
    if (!isExternalDestination(d)) return undefined;
    const aad = o.pipeline ? pipelineSecretAad(jobId, d.external.connectionId) : `job:${jobId}`;
    return this.connectionSecrets(
      aad,
      d.external.secrets,
      `the secrets of the warehouse's destination connection ${d.external.connectionId}`,
      `the secrets of the workspace's external warehouse (destination connection ${d.external.connectionId}) cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s, or they were sealed for another job); run it again, and check the workers' DLX_MASTER_KEY if it persists`,
    );
  }

  /** `unreadable`: the run's message when the value does not open (wrong key or wrong AAD). */
  private open(aad: string, sealed: SealedSecret, unreadable: string): string {
    try {
      return unseal(this.key, sealed, aad);
    } catch {
      throw new PermanentJobError(unreadable, 'SECRET_UNREADABLE');
    }
  }

  private connectionSecrets(aad: string, sealed: SealedSecret | null, what: string, unreadable: string): ConnectionSecrets {
    if (!sealed) return {};
    const opened = this.open(aad, sealed, unreadable);
    let parsed: unknown;
    try {
      parsed = JSON.parse(opened);
    } catch {
      throw new PermanentJobError(`${what} opened but are not JSON (the control plane sealed something else)`, 'SECRET_UNREADABLE');
    }
    const secrets = connectionSecrets.safeParse(parsed);
    // The issues name fields only, never values: nothing secret reaches the run or the logs.
    if (!secrets.success)
      throw new PermanentJobError(
        `${what} do not match the contract (${secrets.error.issues.map((i) => i.path.join('.') || i.code).join(', ')})`,
        'SECRET_UNREADABLE',
      );
    return secrets.data;
  }
}
