import type { ZodError } from 'zod';
import {
  connectionConfig,
  connectionSecrets,
  mysqlConnectionConfig,
  postgresConnectionConfig,
  restApiConnectionConfig,
  type ConnectionConfig,
  type ConnectionSecrets,
  type ConnectionType,
} from '@datalinx/contracts';
import type { StoredFile } from '../entities/file.entity';
import { userError, type UserError } from './user-error';

/** The GraphQL input's sub-object name for each type (no input unions in GraphQL). */
export const CONFIG_KEY = { POSTGRES: 'postgres', MYSQL: 'mysql', FILE: 'file', REST_API: 'restApi' } as const satisfies Record<ConnectionType, string>;
export type ConfigKey = (typeof CONFIG_KEY)[ConnectionType];

const SSL_MODES = { DISABLE: 'disable', PREFER: 'prefer', REQUIRE: 'require', VERIFY_FULL: 'verify-full' } as const;
export type SslModeEnum = keyof typeof SSL_MODES;
export const sslModeToEnum = (m: string): SslModeEnum => (Object.entries(SSL_MODES).find(([, v]) => v === m)?.[0] ?? 'PREFER') as SslModeEnum;

export interface PostgresConfigInput {
  host: string;
  port?: number | null;
  database: string;
  user: string;
  sslMode?: SslModeEnum | null;
  schema?: string | null;
}
export interface MysqlConfigInput {
  host: string;
  port?: number | null;
  database: string;
  user: string;
  ssl?: boolean | null;
}
export interface FileConfigInput {
  fileId: string;
  format?: 'CSV' | 'JSON' | 'JSONL' | null;
  delimiter?: string | null;
  encoding?: string | null;
}
export interface RestApiConfigInput {
  baseUrl: string;
  auth?: 'NONE' | 'BEARER' | 'API_KEY' | 'BASIC' | null;
  apiKeyHeader?: string | null;
  username?: string | null;
  openApiUrl?: string | null;
  openApiFileId?: string | null;
}
export interface ConfigInputs {
  postgres?: PostgresConfigInput | null;
  mysql?: MysqlConfigInput | null;
  file?: FileConfigInput | null;
  restApi?: RestApiConfigInput | null;
}
export interface SecretsInput {
  password?: string | null;
  token?: string | null;
  apiKey?: string | null;
}

/** Null / undefined GraphQL fields → absent (so zod defaults apply). */
const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;

/** zod issues → typed field-level errors, e.g. `config.postgres.port`. */
export function zodErrors(err: ZodError, prefix: string, code: UserError['code'] = 'INVALID_CONFIG'): UserError[] {
  return err.issues.map((i) => userError(code, [prefix, ...i.path.filter((p) => p !== 'type')].join('.'), `${i.path.join('.') || prefix}: ${i.message}`));
}

/** The stored config (jsonb) checked, with its type and defaults. */
export function configOf(type: ConnectionType, stored: ConnectionConfig): ConnectionConfig {
  return connectionConfig.parse({ ...stored, type });
}

/** FILE format from the upload's content type (unless the input names one). */
const FORMAT_OF: Record<StoredFile['contentType'], 'CSV' | 'JSON' | 'JSONL'> = {
  'text/csv': 'CSV',
  'application/json': 'JSON',
  'application/x-ndjson': 'JSONL',
};

/**
 * Validates the input's config for `type`: exactly the matching sub-object, checked by the
 * contracts' schema for that type. Files named by id are looked up with `fileOf` (same workspace
 * only): a FILE config takes its name and size from the upload.
 */
export async function buildConfig(
  type: ConnectionType,
  input: ConfigInputs,
  fileOf: (fileId: string) => Promise<StoredFile | null>,
): Promise<{ config: ConnectionConfig | null; errors: UserError[] }> {
  const errors: UserError[] = [];
  const key = CONFIG_KEY[type];
  for (const other of Object.values(CONFIG_KEY)) {
    if (other !== key && input[other])
      errors.push(userError('CONFIG_TYPE_MISMATCH', `config.${other}`, `A ${type} connection takes its settings in \`${key}\`; remove \`${other}\`.`));
  }
  const raw = input[key];
  if (!raw) return { config: null, errors: [...errors, userError('CONFIG_REQUIRED', `config.${key}`, `Give the ${type} settings in \`${key}\`.`)] };
  let parsed: ReturnType<typeof connectionConfig.safeParse>;
  switch (type) {
    case 'POSTGRES': {
      const p = raw as PostgresConfigInput;
      parsed = postgresConnectionConfig.safeParse({ ...defined(p), sslMode: p.sslMode ? SSL_MODES[p.sslMode] : undefined, type });
      break;
    }
    case 'MYSQL':
      parsed = mysqlConnectionConfig.safeParse({ ...defined(raw as MysqlConfigInput), type });
      break;
    case 'REST_API': {
      const r = defined(raw as RestApiConfigInput);
      parsed = restApiConnectionConfig.safeParse({ auth: 'NONE', ...r, type });
      if (parsed.success && r.openApiFileId && !(await fileOf(r.openApiFileId))) {
        errors.push(
          userError(
            'FILE_NOT_FOUND',
            `config.${key}.openApiFileId`,
            'No such uploaded file in this workspace. Upload the OpenAPI document with POST /files first.',
          ),
        );
      }
      if (parsed.success && parsed.data.type === 'REST_API' && parsed.data.auth === 'BASIC' && !parsed.data.username) {
        errors.push(userError('INVALID_CONFIG', `config.${key}.username`, 'BASIC authentication needs a username (the password goes in `secrets.password`).'));
      }
      break;
    }
    case 'FILE': {
      const f = raw as FileConfigInput;
      const file = await fileOf(f.fileId);
      if (!file)
        return {
          config: null,
          errors: [
            ...errors,
            userError(
              'FILE_NOT_FOUND',
              `config.${key}.fileId`,
              'No such uploaded file in this workspace. Upload it with POST /files and use the fileId it answers.',
            ),
          ],
        };
      parsed = connectionConfig.safeParse({
        ...defined(f),
        type,
        fileName: file.name,
        sizeBytes: Number(file.sizeBytes),
        format: f.format ?? FORMAT_OF[file.contentType],
      });
      break;
    }
  }
  if (!parsed.success) errors.push(...zodErrors(parsed.error, `config.${key}`));
  return errors.length ? { config: null, errors } : { config: parsed.data!, errors: [] };
}

/** Which secret each REST API auth scheme needs. */
const REST_SECRET: Record<string, keyof ConnectionSecrets | null> = { NONE: null, BEARER: 'token', API_KEY: 'apiKey', BASIC: 'password' };

/** Validates the secrets input (and, for a REST API, that its auth scheme's secret is there). */
export function buildSecrets(
  input: SecretsInput | null | undefined,
  config: ConnectionConfig | null,
  /** Creating (or replacing the secrets): the REST API auth scheme's secret must be among them. */
  o: { complete: boolean },
): { secrets: ConnectionSecrets | null; errors: UserError[] } {
  if (!input && !o.complete) return { secrets: null, errors: [] };
  const parsed = connectionSecrets.safeParse(defined(input ?? {}));
  if (!parsed.success) return { secrets: null, errors: zodErrors(parsed.error, 'secrets', 'INVALID_SECRET') };
  const errors: UserError[] = [];
  if (config?.type === 'FILE' && Object.keys(parsed.data).length)
    errors.push(userError('INVALID_SECRET', 'secrets', 'A FILE connection has no secrets; remove `secrets`.'));
  if (config?.type === 'REST_API') {
    const need = REST_SECRET[config.auth];
    if (need && !parsed.data[need]) errors.push(userError('SECRET_REQUIRED', `secrets.${need}`, `${config.auth} authentication needs \`secrets.${need}\`.`));
  }
  // No input while creating: no secrets (an empty document, nothing is stored).
  return { secrets: errors.length ? null : input ? parsed.data : null, errors };
}

/** GraphQL output types of `Connection.config` (codegen mappers). */
export type PostgresConfigValue = Extract<ConnectionConfig, { type: 'POSTGRES' }>;
export type MysqlConfigValue = Extract<ConnectionConfig, { type: 'MYSQL' }>;
export type FileConfigValue = Extract<ConnectionConfig, { type: 'FILE' }>;
export type RestApiConfigValue = Extract<ConnectionConfig, { type: 'REST_API' }>;
