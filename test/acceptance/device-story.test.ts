import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterNodes, createTestCluster, createTestRedis, redisUrl, uniquePrefix, type TestRedisClient } from '../support/redis';
import { DEMO, DEMO_BASIC, form } from './demo';
import { killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { request } from './http';
import { deleteGatewayKeys, gatewayKeys } from './redis-keys';

/**
 * The seed's story, told to the gateway as a user runs it (`node dist/example-gateway/server.js`,
 * the shipped config, real ports), on each store it supports.
 */

const TOKEN_SECRET = 'acceptance-token-secret-0123456789abcdef';

interface Mode {
  readonly name: 'memory' | 'redis' | 'cluster';
  readonly env: () => Record<string, string>;
  readonly client?: () => TestRedisClient;
}

const prefixes = { redis: uniquePrefix('acceptance-story-redis'), cluster: uniquePrefix('acceptance-story-cluster') };
// The in-memory gateway runs from another directory: the default GATEWAY_CONFIG must not depend on the cwd.
const elsewhere = mkdtempSync(join(tmpdir(), 'gateway-cwd-'));

const MODES: readonly Mode[] = [
  { name: 'memory', env: () => ({}) },
  {
    name: 'redis',
    env: () => ({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefixes.redis, TOKEN_SECRET }),
    client: () => createTestRedis(),
  },
  {
    name: 'cluster',
    env: () => ({
      REDIS_CLUSTER_NODES: clusterNodes()
        .map(({ host, port }) => `${host}:${port}`)
        .join(','),
      REDIS_KEY_PREFIX: prefixes.cluster,
      TOKEN_SECRET,
    }),
    client: () => createTestCluster(),
  },
];

const gateways = new Map<Mode['name'], ListeningGateway>();

beforeAll(async () => {
  const started = await Promise.all(MODES.map((mode) => startGateway(mode.env(), mode.name === 'memory' ? elsewhere : undefined)));
  MODES.forEach((mode, index) => gateways.set(mode.name, started[index]!));
});

afterAll(async () => {
  killAllGateways();
  rmSync(elsewhere, { recursive: true, force: true });
  await Promise.all(
    MODES.filter((mode) => mode.client).map((mode) => deleteGatewayKeys(prefixes[mode.name as 'redis' | 'cluster'], mode.client)),
  );
});

function passwordGrant(url: string, username: string, password: string, scope: string) {
  return request(`${url}/token`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ grant_type: 'password', username, password, scope }),
  });
}

/** `curl` exactly as the seed wrote it, plus `-s` and a status line. */
function curl(args: string[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', ...args], { timeout: 10_000 }, (error, stdout) => {
      if (error) {
        reject(new Error(`curl failed: ${error.message}`));
        return;
      }
      const at = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(at + 1)), body: JSON.parse(stdout.slice(0, at)) });
    });
  });
}

describe.each(MODES)('the example gateway on the $name store', (mode) => {
  // The steps share the tokens of one story, so they run in this order.
  const tokens: Record<string, { access_token: string; refresh_token: string; expires_in: number }> = {};
  const gateway = () => gateways.get(mode.name)!;

  it(`reports the ${mode.name === 'memory' ? 'memory' : 'redis'} store on /healthz`, async () => {
    const answer = await request(`${gateway().urls.http}/healthz`);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'ok', store: mode.name === 'memory' ? 'memory' : 'redis' });
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('gives the iPhone and the iPad each their own token (password grant, HTTP Basic)', async () => {
    const [iphone, ipad] = await Promise.all([
      passwordGrant(gateway().urls.http!, DEMO.alice.username, DEMO.alice.password, 'device_iphone orders:read'),
      passwordGrant(gateway().urls.http!, DEMO.alice.username, DEMO.alice.password, 'device_ipad orders:read'),
    ]);
    for (const answer of [iphone, ipad]) {
      expect(answer.status).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.json).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    }
    expect(iphone.json.scope).toBe('device_iphone orders:read');
    expect(ipad.json.scope).toBe('device_ipad orders:read');
    expect(iphone.json.access_token).not.toBe(ipad.json.access_token);
    tokens.iphone = iphone.json;
    tokens.ipad = ipad.json;
  });

  it('reuses each device’s live token on a repeat request, with a smaller expires_in', async () => {
    // expires_in counts whole seconds left: any time passed since the first answer makes it smaller.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const [device, scope] of [
      ['iphone', 'device_iphone orders:read'],
      ['ipad', 'orders:read device_ipad'],
    ] as const) {
      const again = await passwordGrant(gateway().urls.http!, DEMO.alice.username, DEMO.alice.password, scope);
      expect(again.status).toBe(200);
      expect(again.json.access_token).toBe(tokens[device]!.access_token);
      expect(again.json.refresh_token).toBe(tokens[device]!.refresh_token);
      expect(again.json.expires_in).toBeLessThan(tokens[device]!.expires_in);
    }
  });

  it('answers /api/orders with the user, client, scopes and device of each token', async () => {
    for (const device of ['iphone', 'ipad'] as const) {
      const answer = await request(`${gateway().urls.http}/api/orders`, {
        headers: { authorization: `Bearer ${tokens[device]!.access_token}` },
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        user: 'alice',
        client: DEMO.clientId,
        scopes: [`device_${device}`, 'orders:read'].sort(),
        device: `device_${device}`,
        orders: expect.any(Array),
      });
    }
  });

  it('keeps the iPhone’s token working after the iPad’s is revoked; the iPad’s gets 401', async () => {
    const revoked = await request(`${gateway().urls.http}/revoke`, {
      headers: { authorization: DEMO_BASIC },
      body: form({ token: tokens.ipad!.access_token }),
    });
    expect(revoked.status).toBe(200);

    const [iphone, ipad] = await Promise.all(
      [tokens.iphone!, tokens.ipad!].map((token) =>
        request(`${gateway().urls.http}/api/orders`, { headers: { authorization: `Bearer ${token.access_token}` } }),
      ),
    );
    expect(iphone!.status).toBe(200);
    expect(iphone!.json.device).toBe('device_iphone');
    expect(ipad!.status).toBe(401);
    expect(ipad!.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
  });

  it('logs bob in with the passwordHash of the shipped config and grants his admin scope', async () => {
    const answer = await passwordGrant(gateway().urls.http!, DEMO.bob.username, DEMO.bob.password, 'device_ipad orders:read orders:write');
    expect(answer.status).toBe(200);
    expect(answer.json.scope).toBe('device_ipad orders:read orders:write');
    tokens.bob = answer.json;
    const wrong = await passwordGrant(gateway().urls.http!, DEMO.bob.username, 'not-his-password', 'device_ipad');
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('invalid_grant');
  });

  it('answers the seed’s curl request over HTTPS with -k (self-signed certificate made at start-up)', async () => {
    try {
      execFileSync('which', ['curl']);
    } catch {
      throw new Error('curl is not installed: this test runs the seed’s curl command as written (apt-get install -y curl)');
    }
    const { status, body } = await curl([
      '-k',
      '-d',
      `grant_type=password&username=${DEMO.alice.username}&password=${DEMO.alice.password}&scope=device_ipad`,
      '-H',
      `Authorization: ${DEMO_BASIC}`,
      `https://localhost:${new URL(gateway().urls.https!).port}/token`,
    ]);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'default device_ipad', access_token: expect.any(String) });
    tokens.curl = body;
  });

  if (mode.client) {
    it('keeps its keys in Redis under REDIS_KEY_PREFIX', async () => {
      const keys = await gatewayKeys(prefixes[mode.name as 'redis' | 'cluster'], mode.client);
      expect(keys.length).toBeGreaterThan(0);
      // Stored by keyed hash only: no key holds a plain token, nor its seed (the part before the MAC).
      for (const token of Object.values(tokens)) expect(keys.join('\n')).not.toContain(token.access_token.split('.').at(-2));
    });
  }

  it('exits 0 on SIGTERM, and never logged a token, the client secret or a password', async () => {
    const exit = await gateway().stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(gateway().logLines.at(-1)?.msg).toBe('stopped');

    const output = gateway().output;
    // Every request of the story left a log line…
    expect(gateway().logLines.filter((line) => line.req?.url === '/api/orders').length).toBeGreaterThanOrEqual(4);
    // …and none of what they carried.
    const secrets = [DEMO.clientSecret, DEMO_BASIC.slice('Basic '.length), DEMO.alice.password, DEMO.bob.password, TOKEN_SECRET];
    for (const token of Object.values(tokens)) {
      secrets.push(token.access_token, token.refresh_token, token.access_token.split('.').at(-2)!, token.refresh_token.split('.').at(-2)!);
    }
    for (const secret of secrets) expect(output).not.toContain(secret);
  });
});
