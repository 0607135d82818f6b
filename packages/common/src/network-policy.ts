import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';

/**
 * Where a tenant's configuration may make the platform connect (sources, external warehouses,
 * REST APIs, webhooks): the defence against server-side request forgery. A host name is resolved
 * once, every address it resolves to is checked, and the caller connects to the checked address
 * (`resolve` returns it), so a second DNS answer cannot swap in another destination.
 *
 * Refused, in this order:
 * 1. the platform's own endpoints (its database, NATS, services…; address and port), always;
 * 2. cloud metadata addresses, always;
 * 3. loopback, private, shared (CGNAT), link-local, unspecified, multicast, broadcast and reserved
 *    addresses, IPv4-mapped IPv6 forms included, unless an allowed network (CIDR) covers them.
 */

export type AddressFamily = 4 | 6;
export interface ResolvedAddress {
  address: string;
  family: AddressFamily;
}
/** Every address of a host name (node's `dns.lookup(host, { all: true })` by default). */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

export type AddressRange = 'loopback' | 'private' | 'shared' | 'link-local' | 'unspecified' | 'multicast' | 'broadcast' | 'reserved';

/** Why a destination is refused: the platform's own endpoint, a cloud metadata address, or a special-purpose range. */
export type RefusalReason = { kind: 'platform-endpoint'; endpoint: string } | { kind: 'cloud-metadata' } | { kind: 'range'; range: AddressRange; cidr: string };

export const DESTINATION_NOT_ALLOWED = 'DESTINATION_NOT_ALLOWED';

/** A destination the policy refuses; thrown before any packet is sent to it. */
export class DestinationNotAllowedError extends Error {
  override readonly name = 'DestinationNotAllowedError';
  readonly code = DESTINATION_NOT_ALLOWED;
  constructor(
    readonly host: string,
    readonly address: string,
    readonly port: number,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** The address a caller connects to: checked by the policy, with the name it was resolved from (TLS `servername`). */
export interface CheckedDestination {
  host: string;
  address: string;
  family: AddressFamily;
  port: number;
}

interface RangeRule {
  range: AddressRange;
  cidr: string;
}

/** Special-purpose ranges (RFC 6890), checked in this order: the first that covers an address names it. */
const RANGES: RangeRule[] = [
  { range: 'unspecified', cidr: '0.0.0.0/8' },
  { range: 'loopback', cidr: '127.0.0.0/8' },
  { range: 'private', cidr: '10.0.0.0/8' },
  { range: 'private', cidr: '172.16.0.0/12' },
  { range: 'private', cidr: '192.168.0.0/16' },
  { range: 'shared', cidr: '100.64.0.0/10' },
  { range: 'link-local', cidr: '169.254.0.0/16' },
  { range: 'multicast', cidr: '224.0.0.0/4' },
  { range: 'broadcast', cidr: '255.255.255.255/32' },
  { range: 'reserved', cidr: '240.0.0.0/4' },
  { range: 'unspecified', cidr: '::/128' },
  { range: 'loopback', cidr: '::1/128' },
  // IPv4-compatible addresses (deprecated): ::127.0.0.1 must not slip past the IPv4 rules.
  { range: 'reserved', cidr: '::/96' },
  { range: 'private', cidr: 'fc00::/7' },
  { range: 'private', cidr: 'fec0::/10' },
  { range: 'link-local', cidr: 'fe80::/10' },
  { range: 'multicast', cidr: 'ff00::/8' },
];

/** Instance metadata services (AWS, GCP, Azure, OCI; AWS IPv6; ECS task credentials; Alibaba): never reachable, whatever is allowed. */
export const CLOUD_METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200'];

const DESCRIBED: Record<AddressRange, string> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  shared: 'a shared (carrier-grade NAT) address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

const familyOf = (address: string): 'ipv4' | 'ipv6' => (net.isIPv4(address) ? 'ipv4' : 'ipv6');

/** Parses `10.0.0.0/8`, `::1/128` or a bare address (a single host). */
export function parseCidr(text: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [network = '', bits, extra] = text.trim().split('/');
  const version = net.isIP(network);
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!version || extra !== undefined || !/^\d+$/.test(bits ?? String(max)) || prefix > max) {
    throw new Error(`"${text}" is not a CIDR range (e.g. 10.0.0.0/8, 127.0.0.0/8, ::1/128)`);
  }
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockListOf(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const { network, prefix, family } = parseCidr(c);
    list.addSubnet(network, prefix, family);
  }
  return list;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted quad included). */
function ipv6Words(address: string): number[] {
  let text = address;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -quad[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

const MAPPED = (() => {
  const list = new net.BlockList();
  list.addSubnet('::ffff:0:0', 96, 'ipv6');
  return list;
})();

/** `::ffff:127.0.0.1` (or `::ffff:7f00:1`) as `127.0.0.1`; any address lower-cased, without a zone id. */
export function canonicalAddress(address: string): string {
  const plain = address.replace(/%.*$/, '').toLowerCase();
  if (!net.isIPv6(plain) || !MAPPED.check(plain, 'ipv6')) return plain;
  const w = ipv6Words(plain);
  return [w[6]! >> 8, w[6]! & 255, w[7]! >> 8, w[7]! & 255].join('.');
}

/** The range (and its CIDR) a special-purpose address is in; undefined for a public address. */
export function classifyAddress(address: string): RangeRule | undefined {
  const a = canonicalAddress(address);
  const family = familyOf(a);
  return RANGES.find((r) => {
    const { network, prefix, family: f } = parseCidr(r.cidr);
    if (f !== family) return false;
    const one = new net.BlockList();
    one.addSubnet(network, prefix, f);
    return one.check(a, family);
  });
}

/** `host:port`, `[v6]:port`: the platform endpoints' notation (DLX_PLATFORM_ENDPOINTS). */
export function parseHostPort(text: string): { host: string; port: number } {
  const t = text.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(t) ?? /^([^:[\]]+):(\d+)$/.exec(t);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`"${text}" is not host:port (e.g. postgres:5432, 127.0.0.1:4222, [::1]:5432)`);
  return { host: m[1]!, port };
}

/** A comma-separated list as its non-empty items. */
export const listSetting = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The host:port of each server of a NATS_URL (`nats://a:4222,nats://b:4222`; default port 4222). */
export function natsEndpoints(natsUrl: string): string[] {
  return listSetting(natsUrl).map((s) => {
    const u = new URL(/^\w+:\/\//.test(s) ? s : `nats://${s}`);
    return `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port || 4222}`;
  });
}

export interface NetworkPolicyOptions {
  /** CONNECTION_ALLOWED_NETWORKS: CIDRs of special-purpose ranges the operator allows (e.g. 127.0.0.0/8 for local databases). */
  allowedNetworks?: string[];
  /** host:port of every platform endpoint (never reachable); names are resolved when a destination is checked. */
  platformEndpoints?: string[];
  /** Default: `dns.lookup(host, { all: true, verbatim: true })`. */
  resolver?: HostResolver;
  /** This machine's own addresses (default: every interface's, from os.networkInterfaces()). */
  localAddresses?: () => string[];
}

const defaultResolver: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));

const interfaceAddresses = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => Boolean(a));

/**
 * The outbound network policy. `resolve(host, port)` is what every connection a tenant's
 * configuration causes goes through: it resolves the name once, checks every address, and returns
 * the address to connect to, or throws DestinationNotAllowedError (resolution errors are thrown
 * as dns.lookup gives them, e.g. ENOTFOUND).
 */
export class NetworkPolicy {
  private readonly allowed: net.BlockList;
  private readonly allowedCidrs: string[];
  private readonly metadata = new Set(CLOUD_METADATA_ADDRESSES.map(canonicalAddress));
  private readonly endpoints: Array<{ host: string; port: number; text: string }>;
  private readonly resolver: HostResolver;
  private readonly localAddresses: () => string[];

  constructor(o: NetworkPolicyOptions = {}) {
    this.allowedCidrs = o.allowedNetworks ?? [];
    this.allowed = blockListOf(this.allowedCidrs);
    this.endpoints = (o.platformEndpoints ?? []).map((e) => ({ ...parseHostPort(e), text: e.trim() }));
    this.resolver = o.resolver ?? defaultResolver;
    this.localAddresses = o.localAddresses ?? interfaceAddresses;
  }

  /** The settings as a log line shows them (no secrets in either). */
  describe(): { allowedNetworks: string[]; platformEndpoints: string[] } {
    return { allowedNetworks: [...this.allowedCidrs], platformEndpoints: this.endpoints.map((e) => e.text) };
  }

  /** Resolves `host` once and checks every address; the first one is the address to connect to. */
  async resolve(host: string, port: number): Promise<CheckedDestination> {
    const name = host.replace(/^\[|\]$/g, '');
    const addresses: ResolvedAddress[] = net.isIP(name) ? [{ address: name, family: net.isIPv4(name) ? 4 : 6 }] : await this.resolver(name);
    if (!addresses.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND', hostname: name });
    for (const a of addresses) await this.check(name, a.address, port);
    return { host: name, address: addresses[0]!.address, family: addresses[0]!.family, port };
  }

  /** Throws DestinationNotAllowedError when `address:port` is refused (`host`: the name it came from, for the message). */
  async check(host: string, address: string, port: number): Promise<void> {
    const reason = await this.refusal(address, port);
    if (reason) throw new DestinationNotAllowedError(host, address, port, reason, this.message(host, address, port, reason));
  }

  /** Why `address:port` is refused, or undefined when it is allowed. */
  async refusal(address: string, port: number): Promise<RefusalReason | undefined> {
    const a = canonicalAddress(address);
    const endpoint = await this.platformEndpointAt(a, port);
    if (endpoint) return { kind: 'platform-endpoint', endpoint };
    if (this.metadata.has(a)) return { kind: 'cloud-metadata' };
    const rule = classifyAddress(a);
    if (!rule) return undefined;
    // The allow list is checked on the address as given too: an operator may list ::ffff:10.0.0.0/104.
    if (this.allowed.check(a, familyOf(a)) || (a !== address && net.isIPv6(address) && this.allowed.check(address.replace(/%.*$/, ''), 'ipv6')))
      return undefined;
    return { kind: 'range', range: rule.range, cidr: rule.cidr };
  }

  /**
   * The platform endpoint `address:port` reaches, if any. An endpoint on this machine (loopback,
   * unspecified or one of its interfaces' addresses) is reached through any of them: a server
   * listening on 0.0.0.0 answers on every local address.
   */
  private async platformEndpointAt(address: string, port: number): Promise<string | undefined> {
    const candidates = this.endpoints.filter((e) => e.port === port);
    if (!candidates.length) return undefined;
    const local = new Set(this.localAddresses().map(canonicalAddress));
    const isLocal = (x: string) => local.has(x) || ['loopback', 'unspecified'].includes(classifyAddress(x)?.range ?? '');
    for (const e of candidates) {
      let resolved: string[];
      try {
        resolved = net.isIP(e.host) ? [e.host] : (await this.resolver(e.host)).map((r) => r.address);
      } catch {
        continue; // not resolvable from here: nothing can reach it through that name
      }
      for (const r of resolved.map(canonicalAddress)) {
        if (r === address || (isLocal(r) && isLocal(address))) return e.text;
      }
    }
    return undefined;
  }

  private message(host: string, address: string, port: number, reason: RefusalReason): string {
    const shown = host === address ? address : `${host} (${address})`;
    switch (reason.kind) {
      case 'platform-endpoint':
        return `${shown}:${port} is one of the platform's own endpoints (${reason.endpoint}), which connections can never reach. Point the connection at your own server.`;
      case 'cloud-metadata':
        return `${shown} is a cloud metadata address, which connections can never reach. Point the connection at your own server.`;
      case 'range': {
        const mapped = canonicalAddress(address) !== address.toLowerCase() ? ` (IPv4-mapped ${canonicalAddress(address)})` : '';
        return `${shown}${mapped} is ${DESCRIBED[reason.range]}; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=${reason.cidr}.`;
      }
    }
  }
}

/** A comma-separated setting, each item validated by `parse` (every bad item is listed). */
const listOf = (parse: (item: string) => unknown) =>
  z
    .string()
    .default('')
    .transform((value, ctx) => {
      const items = listSetting(value);
      for (const item of items) {
        try {
          parse(item);
        } catch (err) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        }
      }
      return items;
    });

/**
 * The network policy's settings, for every process that connects where a tenant says:
 * CONNECTION_ALLOWED_NETWORKS (comma-separated CIDRs of special-purpose ranges to allow, e.g.
 * `127.0.0.0/8,::1/128` for databases on the same machine; default none) and
 * DLX_PLATFORM_ENDPOINTS (comma-separated host:port of the platform's own servers, never reachable).
 */
export const networkPolicyEnv = {
  CONNECTION_ALLOWED_NETWORKS: listOf(parseCidr),
  DLX_PLATFORM_ENDPOINTS: listOf(parseHostPort),
};
