import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { STREAMS, STREAM_MAX_AGE_DAYS } from '@datalinx/contracts';
import type { Logger } from '@datalinx/common';

export interface Nats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close: () => Promise<void>;
}

/**
 * TLS options for a NATS URL: a `tls://` server requires TLS, verified against TLS_CA_FILE (or
 * the system roots); TLS_CLIENT_CERT_FILE + TLS_CLIENT_KEY_FILE are presented when the server asks
 * (nats-server `verify: true`). Plain `nats://` URLs get no TLS options (the server may still
 * require TLS, and then nats.js upgrades with the same CA).
 */
export function natsTlsOptions(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): { servers: string[]; tls?: { caFile?: string; certFile?: string; keyFile?: string } } {
  const servers = url.split(',').map((s) => s.trim());
  const wantTls = servers.some((s) => /^tls:\/\//i.test(s));
  const files = {
    ...(env.TLS_CA_FILE ? { caFile: env.TLS_CA_FILE } : {}),
    ...(env.TLS_CLIENT_CERT_FILE && env.TLS_CLIENT_KEY_FILE ? { certFile: env.TLS_CLIENT_CERT_FILE, keyFile: env.TLS_CLIENT_KEY_FILE } : {}),
  };
  return {
    // nats.js dials host:port and upgrades after the server's INFO; the scheme only says "TLS required".
    servers: servers.map((s) => s.replace(/^tls:\/\//i, 'nats://')),
    ...(wantTls ? { tls: files } : {}),
  };
}

/** Whether this connection runs over TLS (the server required it, so nats.js refused anything else), and which version. */
export function natsTlsState(nc: NatsConnection): { tls: boolean; protocol: string | null } {
  const socket = (nc as unknown as { protocol?: { transport?: { socket?: { encrypted?: boolean; getProtocol?: () => string | null } } } }).protocol?.transport
    ?.socket;
  return { tls: socket?.encrypted === true, protocol: socket?.getProtocol?.() ?? null };
}

export async function connectNats(url: string, name: string, log?: Logger): Promise<Nats> {
  const nc = await connect({ ...natsTlsOptions(url), name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  log?.info({ server: nc.getServer(), tls: natsTlsState(nc).tls }, 'connected to NATS');
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

const RETENTION = {
  workqueue: RetentionPolicy.Workqueue,
  limits: RetentionPolicy.Limits,
} as const;

/**
 * Creates JOBS, RUNS and EVENTS if missing, or brings their subjects up to date. Safe to call
 * from every process at boot, concurrently.
 */
export async function ensureStreams(jsm: JetStreamManager, replicas = Number(process.env.NATS_STREAM_REPLICAS ?? 1)): Promise<void> {
  for (const s of Object.values(STREAMS)) {
    const cfg: Partial<StreamConfig> & { name: string } = {
      name: s.name,
      subjects: [...s.subjects],
      retention: RETENTION[s.retention],
      storage: StorageType.File,
      num_replicas: replicas,
      duplicate_window: 2 * 60 * 1_000_000_000, // ns: JetStream dedups msgIDs inside this window
      max_age: s.retention === 'workqueue' ? 0 : STREAM_MAX_AGE_DAYS * 24 * 3600 * 1_000_000_000,
    };
    try {
      const info = await jsm.streams.info(s.name);
      const have = new Set(info.config.subjects ?? []);
      if (s.subjects.some((x) => !have.has(x))) await jsm.streams.update(s.name, { ...info.config, subjects: [...s.subjects] });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await jsm.streams.add(cfg);
      } catch (addErr) {
        // Another process created it between info() and add(): fine.
        if (!/already in use|exists/i.test(String((addErr as Error).message))) throw addErr;
      }
    }
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || /not found/i.test(String(e?.message ?? ''));
}

export const encodeJson = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
export const decodeJson = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

/** /readyz check: the connection is open and the server answers a round trip. */
export function natsReadiness(nc: NatsConnection) {
  return async (): Promise<{ ok: boolean; error?: string }> => {
    if (nc.isClosed()) return { ok: false, error: 'connection closed' };
    await nc.flush();
    return { ok: true };
  };
}
