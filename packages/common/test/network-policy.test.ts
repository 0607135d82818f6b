import {
  canonicalAddress,
  classifyAddress,
  DestinationNotAllowedError,
  natsEndpoints,
  NetworkPolicy,
  parseCidr,
  parseHostPort,
  type HostResolver,
  type NetworkPolicyOptions,
} from '@datalinx/common';

/** A resolver answering from a table (no DNS): counts its calls per name. */
function tableResolver(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolver: HostResolver = async (host) => {
    calls.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolver, calls };
}

const newPolicy = (o: NetworkPolicyOptions = {}) =>
  new NetworkPolicy({ localAddresses: () => ['127.0.0.1', '::1', '203.0.113.7'], resolver: tableResolver({}).resolver, ...o });

async function refusal(p: NetworkPolicy, host: string, port = 5432): Promise<string | undefined> {
  try {
    await p.resolve(host, port);
    return undefined;
  } catch (err) {
    if (err instanceof DestinationNotAllowedError) return err.message;
    throw err;
  }
}

describe('network policy: special-purpose ranges', () => {
  it.each([
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['127.8.9.10', 'loopback', '127.0.0.0/8'],
    ['::1', 'loopback', '::1/128'],
    ['10.1.2.3', 'private', '10.0.0.0/8'],
    ['172.16.0.1', 'private', '172.16.0.0/12'],
    ['172.31.255.255', 'private', '172.16.0.0/12'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['100.64.0.1', 'shared', '100.64.0.0/10'],
    ['fd12:3456::1', 'private', 'fc00::/7'],
    ['169.254.1.1', 'link-local', '169.254.0.0/16'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
    ['::', 'unspecified', '::/128'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['ff02::1', 'multicast', 'ff00::/8'],
    ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.0/8'],
    ['0:0:0:0:0:ffff:a01:203', 'private', '10.0.0.0/8'],
    ['::127.0.0.1', 'reserved', '::/96'],
  ])('%s is %s (%s)', (address, range, cidr) => {
    expect(classifyAddress(address)).toEqual({ range, cidr });
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2001:db8::1', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });

  it('canonicalizes IPv4-mapped IPv6 addresses to IPv4', () => {
    expect(['::ffff:127.0.0.1', '::FFFF:7f00:1', '0:0:0:0:0:ffff:a01:203', 'fe80::1%eth0', '::1'].map(canonicalAddress)).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '10.1.2.3',
      'fe80::1',
      '::1',
    ]);
  });

  it('refuses every special-purpose address by default, naming it and the setting that allows it', async () => {
    const p = newPolicy();
    expect(await refusal(p, '127.0.0.1')).toBe('127.0.0.1 is a loopback address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=127.0.0.0/8.');
    expect(await refusal(p, '::ffff:127.0.0.1')).toBe(
      '::ffff:127.0.0.1 (IPv4-mapped 127.0.0.1) is a loopback address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=127.0.0.0/8.',
    );
    expect(await refusal(p, '10.1.2.3')).toMatch(
      /^10\.1\.2\.3 is a private network address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=10\.0\.0\.0\/8\.$/,
    );
    expect(await refusal(p, '[fe80::1]')).toMatch(/^fe80::1 is a link-local address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=fe80::\/10\.$/);
    expect(await refusal(p, '8.8.8.8')).toBeUndefined();
  });

  it('allows what CONNECTION_ALLOWED_NETWORKS covers, mapped forms included, and nothing else', async () => {
    const p = newPolicy({ allowedNetworks: ['127.0.0.0/8', '::1/128'] });
    expect(await refusal(p, '127.0.0.1')).toBeUndefined();
    expect(await refusal(p, '::ffff:127.0.0.2')).toBeUndefined();
    expect(await refusal(p, '::1')).toBeUndefined();
    expect(await refusal(p, '10.1.2.3')).toMatch(/private network/);
    expect(await refusal(p, '0.0.0.0')).toMatch(/unspecified/);
  });

  it('never allows cloud metadata addresses, even inside an allowed network', async () => {
    const p = newPolicy({ allowedNetworks: ['169.254.0.0/16', 'fd00::/8', '0.0.0.0/0'] });
    expect(await refusal(p, '169.254.169.254', 80)).toBe(
      '169.254.169.254 is a cloud metadata address, which connections can never reach. Point the connection at your own server.',
    );
    expect(await refusal(p, 'fd00:ec2::254', 80)).toMatch(/cloud metadata/);
    expect(await refusal(p, '::ffff:169.254.169.254', 80)).toMatch(/cloud metadata/);
    expect(await refusal(p, '169.254.1.1', 80)).toBeUndefined();
  });
});

describe('network policy: platform endpoints', () => {
  it('refuses them by resolved address and port, even where loopback is allowed', async () => {
    const { resolver } = tableResolver({ postgres: ['10.0.0.5'], 'db.example.com': ['10.0.0.5'] });
    const p = newPolicy({ allowedNetworks: ['0.0.0.0/0', '::/0'], platformEndpoints: ['postgres:5432', '127.0.0.1:4222'], resolver });
    expect(await refusal(p, 'db.example.com', 5432)).toBe(
      `db.example.com (10.0.0.5):5432 is one of the platform's own endpoints (postgres:5432), which connections can never reach. Point the connection at your own server.`,
    );
    expect(await refusal(p, '10.0.0.5', 5433)).toBeUndefined();
    expect(await refusal(p, '127.0.0.1', 4222)).toMatch(/platform's own endpoints \(127\.0\.0\.1:4222\)/);
  });

  it('treats an endpoint on this machine as reachable through every local address', async () => {
    const p = newPolicy({
      allowedNetworks: ['0.0.0.0/0', '::/0'],
      platformEndpoints: ['localhost:5432'],
      resolver: tableResolver({ localhost: ['127.0.0.1'] }).resolver,
    });
    for (const a of ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '::ffff:127.0.0.1', '203.0.113.7'])
      expect(await refusal(p, a, 5432)).toMatch(/platform's own endpoints/);
    expect(await refusal(p, '198.51.100.1', 5432)).toBeUndefined();
  });

  it('takes the NATS servers of NATS_URL as endpoints (default port 4222)', () => {
    expect(natsEndpoints('nats://127.0.0.1:4222,nats://nats:4333, tls://[::1]')).toEqual(['127.0.0.1:4222', 'nats:4333', '[::1]:4222']);
  });
});

describe('network policy: resolving', () => {
  it('resolves a name once, checks every address, and answers the checked one to connect to', async () => {
    const { resolver, calls } = tableResolver({ 'api.example.com': ['198.51.100.1', '2001:db8::1'] });
    const p = newPolicy({ resolver });
    expect(await p.resolve('api.example.com', 443)).toEqual({ host: 'api.example.com', address: '198.51.100.1', family: 4, port: 443 });
    expect(calls).toEqual(['api.example.com']);
  });

  it('refuses a name when any of its addresses is refused', async () => {
    const p = newPolicy({ resolver: tableResolver({ 'mixed.example.com': ['198.51.100.1', '127.0.0.1'] }).resolver });
    expect(await refusal(p, 'mixed.example.com')).toBe(
      'mixed.example.com (127.0.0.1) is a loopback address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=127.0.0.0/8.',
    );
  });

  it('passes resolution errors on as the resolver gives them', async () => {
    await expect(newPolicy().resolve('nothing.invalid', 5432)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('network policy: settings', () => {
  it('parses CIDRs and host:port, and names what is wrong', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ network: '::1', prefix: 128, family: 'ipv6' });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/not a CIDR/);
    expect(() => parseCidr('localhost/8')).toThrow(/not a CIDR/);
    expect(parseHostPort('[::1]:5432')).toEqual({ host: '::1', port: 5432 });
    expect(parseHostPort('postgres:5432')).toEqual({ host: 'postgres', port: 5432 });
    expect(() => parseHostPort('postgres')).toThrow(/not host:port/);
  });
});
