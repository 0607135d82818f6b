import { gql } from 'urql';
import type { CombinedError } from 'urql';

/**
 * The platform health check. Served by the federated gateway: every subgraph contributes one
 * field of the `Platform` entity, so one query shows whether each service, its database and its
 * migrations are in order.
 */
export const PLATFORM_HEALTH_QUERY = gql`
  query PlatformHealth {
    platform {
      id
      checkedAt
      auth {
        ...S
      }
      workspace {
        ...S
      }
      schema {
        ...S
      }
      mapping {
        ...S
      }
      monitoring {
        ...S
      }
    }
  }
  fragment S on ServiceStatus {
    service
    ok
    database
    latencyMs
    migrations {
      name
      version
    }
  }
`;

export interface AppliedMigration {
  name: string;
  /** When the migration was written: its version timestamp, ISO 8601. */
  version: string;
}

export interface ServiceStatus {
  service: string;
  ok: boolean;
  database: string;
  latencyMs: number;
  migrations: AppliedMigration[];
}

/** The subgraphs, in the order the page shows them. */
export const SERVICE_KEYS = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'] as const;
export type ServiceKey = (typeof SERVICE_KEYS)[number];

/**
 * Service fields are typed nullable on purpose: when one subgraph is down the gateway answers
 * with the other fields and an error whose path names the missing one.
 */
export type PlatformHealth = {
  id: string;
  checkedAt: string;
} & { [K in ServiceKey]: ServiceStatus | null };

export interface PlatformHealthQuery {
  platform: PlatformHealth | null;
}

export const SERVICE_LABELS: Record<ServiceKey, string> = {
  auth: 'Auth',
  workspace: 'Workspace',
  schema: 'Schema',
  mapping: 'Mapping',
  monitoring: 'Monitoring',
};

/**
 * The most recently applied migration, or null when none. Subgraphs list migrations in the
 * order they were applied (their migrations table's id order), so it is the last one.
 */
export function latestMigration(migrations: readonly AppliedMigration[]): AppliedMigration | null {
  return migrations.length > 0 ? migrations[migrations.length - 1] : null;
}

export interface ServiceView {
  key: ServiceKey;
  label: string;
  status: ServiceStatus | null;
  /** Error messages the gateway attached to this service's field. */
  errors: string[];
  ok: boolean;
}

/** Pairs each service with its status and with the GraphQL errors whose path points at it. */
export function serviceViews(platform: PlatformHealth | null | undefined, error: CombinedError | undefined): ServiceView[] {
  return SERVICE_KEYS.map((key) => {
    const status = platform?.[key] ?? null;
    const errors = (error?.graphQLErrors ?? []).filter((e) => isServicePath(e.path) && e.path?.[1] === key).map((e) => e.message);
    return { key, label: SERVICE_LABELS[key], status, errors, ok: status?.ok === true };
  });
}

function isServicePath(path: readonly (string | number)[] | undefined): boolean {
  return path?.[0] === 'platform' && SERVICE_KEYS.some((key) => key === path[1]);
}

/** Errors not tied to one service (gateway down, auth, the whole `platform` field failing). */
export function generalErrors(error: CombinedError | undefined): string[] {
  if (!error) return [];
  const messages = error.graphQLErrors.filter((e) => !isServicePath(e.path)).map((e) => e.message);
  if (error.networkError) messages.push(error.networkError.message);
  return messages;
}

/** Every message of an error, GraphQL and network alike; service errors name their service. */
export function allErrorMessages(error: CombinedError): string[] {
  const messages = error.graphQLErrors.map((e) => (isServicePath(e.path) ? `${SERVICE_LABELS[e.path?.[1] as ServiceKey]}: ${e.message}` : e.message));
  if (error.networkError) messages.push(error.networkError.message);
  return messages;
}

export function isGatewayUnreachable(error: CombinedError | undefined): boolean {
  return (error?.graphQLErrors ?? []).some((e) => {
    const code = e.extensions?.code;
    return code === 'GATEWAY_UNREACHABLE' || code === 'GATEWAY_TIMEOUT';
  });
}
