import { ConnectionSecretBox } from '../secrets/connection-secrets';
import { Keyring } from '../secrets/keyring';

/**
 * What every job that carries a connection's secrets to the data plane needs (connection.test,
 * source.discover, source.sync, pipeline.run): the box that opens the stored secrets, the
 * current master key the job's copy is re-sealed with (the workers open it with AAD
 * `job:<jobId>`), and the connection test's timeout.
 */
export interface JobDispatchSettings {
  /** The current master key: what the workers open the job's secrets with. */
  masterKey: Buffer;
  box: ConnectionSecretBox;
  testTimeoutMs: number;
}

/** Dispatch settings from the process's keys: a keyring that also holds the previous master key during a rotation. */
export function jobDispatchSettings(s: { masterKey: Buffer; previousMasterKeys?: Buffer[]; testTimeoutMs: number }, keyring?: Keyring): JobDispatchSettings {
  return {
    masterKey: s.masterKey,
    testTimeoutMs: s.testTimeoutMs,
    box: new ConnectionSecretBox(keyring ?? new Keyring(s.masterKey, s.previousMasterKeys ?? [])),
  };
}
