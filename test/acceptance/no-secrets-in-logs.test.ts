import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { hashPassword } from '../../lib/crypto/password-hash';
import { startRedis, type RedisServerHandle } from '../support/redis-servers';
import { uniquePrefix } from '../support/redis';
import { form } from './demo';
import { killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { request, type HttpAnswer } from './http';

// Issue 10, item 3: no token, refresh token, client secret, password, password hash, server
// secret or Redis password ever appears in what the gateway writes. The built gateway runs as a
// child process (LOG_LEVEL=trace, the most it ever says) on a private Redis that requires a
// password, given as `REDIS_URL=…?password=…`; a full flow is driven through it, Redis outage
// included; then everything it printed on stdout and stderr is searched for every secret it met.

/** A secret that cannot appear in a log by coincidence. */
const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

const REDIS_PASSWORD = secret('redis-password');
const TOKEN_SECRET = secret('token-secret');
const CLIENT = { clientId: 'leak-check-app', clientSecret: secret('client-secret') };
const SERVICE = { clientId: 'leak-check-service', clientSecret: secret('service-secret') };
const ERIN = { username: 'erin', password: secret('erin-password') }; // plain password in the config
const FRANK = { username: 'frank', password: secret('frank-password') }; // passwordHash in the config
const WRONG_PASSWORDS = [secret('wrong-password'), secret('wrong-password'), secret('wrong-password')];
const WRONG_CLIENT_SECRET = secret('wrong-client-secret');

/** `Authorization: Basic …` as RFC 6749 §2.3.1 builds it. */
const basic = (id: string, password: string) => `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`;

describe('the gateway never logs a secret', () => {
  let redis: RedisServerHandle;
  let gateway: ListeningGateway;
  let base: string;
  let dir: string;
  let frankHash: string;
  /** Every secret the gateway met during the run: none may appear in its output. */
  const secrets = new Map<string, string>();
  const remember = (label: string, value: unknown) => {
    if (typeof value === 'string' && value.length > 0) secrets.set(value, label);
  };

  /** Makes `server` require REDIS_PASSWORD (startRedis() has no option for it). */
  async function requirePassword(server: RedisServerHandle): Promise<void> {
    const admin = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      await admin.config('SET', 'requirepass', REDIS_PASSWORD);
    } finally {
      admin.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await startRedis();
    await requirePassword(redis);
    frankHash = await hashPassword(FRANK.password);
    dir = mkdtempSync(join(tmpdir(), 'no-secrets-'));
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        clients: [
          { ...CLIENT, grants: ['password', 'refresh_token'], accessTokenTtl: 3600, refreshTokenTtl: 86400 },
          { ...SERVICE, grants: ['client_credentials'], roles: ['subscriber'] },
        ],
        users: [
          { username: ERIN.username, password: ERIN.password, roles: ['subscriber'] },
          { username: FRANK.username, passwordHash: frankHash, roles: ['admin'] },
        ],
        scopes: { 'orders:read': ['subscriber', 'admin'] },
      }),
    );
    gateway = await startGateway({
      HTTPS_PORT: 'off',
      LOG_LEVEL: 'trace',
      GATEWAY_CONFIG: config,
      TOKEN_SECRET,
      REDIS_URL: `redis://127.0.0.1:${redis.port}/0?password=${REDIS_PASSWORD}`,
      REDIS_KEY_PREFIX: uniquePrefix('no-secrets'),
    });
    base = gateway.urls.http!;
  }, 30_000);

  afterAll(async () => {
    killAllGateways();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) => request(`${base}${path}`, { body, headers });
  const asClient = { authorization: basic(CLIENT.clientId, CLIENT.clientSecret) };

  async function login(username: string, password: string, scope: string): Promise<HttpAnswer> {
    const answer = await post('/token', form({ grant_type: 'password', username, password, scope }), asClient);
    remember('access token', answer.json?.access_token);
    remember('refresh token', answer.json?.refresh_token);
    return answer;
  }

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('drives a full flow, an outage included, and finds none of its secrets in the output', async () => {
    // Two devices of a plain-password user, and their reuse.
    const ipad = await login(ERIN.username, ERIN.password, 'device_ipad orders:read');
    const iphone = await login(ERIN.username, ERIN.password, 'device_iphone orders:read');
    expect([ipad.status, iphone.status]).toEqual([200, 200]);
    expect(ipad.json.access_token).not.toBe(iphone.json.access_token);
    const reused = await login(ERIN.username, ERIN.password, 'device_ipad orders:read');
    expect(reused.json.access_token).toBe(ipad.json.access_token);
    // A hashed user, and a service client.
    expect((await login(FRANK.username, FRANK.password, 'device_laptop orders:read')).status).toBe(200);
    const service = await post('/token', form({ grant_type: 'client_credentials', scope: 'orders:read' }), {
      authorization: basic(SERVICE.clientId, SERVICE.clientSecret),
    });
    expect(service.status).toBe(200);
    remember('access token', service.json.access_token);

    // Refresh (rotation), then a replay of the rotated refresh token.
    const refreshed = await post('/token', form({ grant_type: 'refresh_token', refresh_token: ipad.json.refresh_token }), asClient);
    expect(refreshed.status).toBe(200);
    remember('access token', refreshed.json.access_token);
    remember('refresh token', refreshed.json.refresh_token);
    const replay = await post('/token', form({ grant_type: 'refresh_token', refresh_token: ipad.json.refresh_token }), asClient);
    expect(replay.status).toBeLessThan(500);
    remember('access token', replay.json?.access_token);
    remember('refresh token', replay.json?.refresh_token);

    // A replay outside the grace period ends the device's grant; inside it, it answers the
    // current pair. Either way, the iPad logs in (or is handed) a live pair again.
    const current = replay.status === 200 ? replay : await login(ERIN.username, ERIN.password, 'device_ipad orders:read');
    expect(current.status).toBe(200);

    // Introspection, the protected API (header, and the token in the query string), revocation.
    const live = current.json.access_token as string;
    expect((await post('/introspect', form({ token: live }), asClient)).json.active).toBe(true);
    expect((await request(`${base}/api/orders`, { headers: { authorization: `Bearer ${iphone.json.access_token}` } })).status).toBe(200);
    expect((await request(`${base}/api/orders?access_token=${encodeURIComponent(live)}`)).status).toBeLessThan(500);
    expect((await post('/revoke', form({ token: iphone.json.refresh_token, token_type_hint: 'refresh_token' }), asClient)).status).toBe(
      200,
    );
    expect((await request(`${base}/api/orders`, { headers: { authorization: `Bearer ${iphone.json.access_token}` } })).status).toBe(401);
    expect((await post('/introspect', form({ token: iphone.json.access_token }), asClient)).json).toEqual({ active: false });

    // Wrong passwords (plain user, hashed user, unknown user), wrong client secrets.
    for (const [username, password] of [
      [ERIN.username, WRONG_PASSWORDS[0]!],
      [FRANK.username, WRONG_PASSWORDS[1]!],
      ['nobody', WRONG_PASSWORDS[2]!],
    ] as const) {
      expect((await login(username, password, 'device_ipad')).status).toBe(400);
    }
    expect(
      (await post('/token', form({ grant_type: 'password', ...ERIN }), { authorization: basic(CLIENT.clientId, WRONG_CLIENT_SECRET) }))
        .status,
    ).toBe(401);
    expect(
      (await post('/token', form({ grant_type: 'password', ...ERIN, client_id: CLIENT.clientId, client_secret: WRONG_CLIENT_SECRET })))
        .status,
    ).toBe(401);
    expect((await post('/introspect', form({ token: live }), { authorization: basic('no-such-client', WRONG_CLIENT_SECRET) })).status).toBe(
      401,
    );

    // Malformed requests that still carry secrets.
    const malformed: [string, string, Record<string, string>][] = [
      ['/token', `${form({ grant_type: 'password', ...ERIN })}&password=${ERIN.password}`, asClient], // repeated parameter
      ['/token', JSON.stringify({ grant_type: 'password', ...ERIN }), { ...asClient, 'content-type': 'application/json' }],
      [
        '/token',
        form({ grant_type: 'password', ...ERIN }),
        { ...asClient, 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' },
      ],
      ['/token', form({ grant_type: 'password', ...ERIN, client_secret: CLIENT.clientSecret }), asClient], // two client authentications
      ['/token', `${form({ grant_type: 'password', ...ERIN })}&pad=${'x'.repeat(20_000)}`, asClient], // beyond the body limit
      ['/token', form({ grant_type: 'refresh_token', refresh_token: `${live}%` }), asClient], // bad percent-encoding
      ['/token', form({ grant_type: 'password', ...ERIN }), { authorization: `Basic ${CLIENT.clientSecret}` }], // not base64
      ['/token', form({ grant_type: 'password', ...ERIN }), { authorization: `Bearer ${live}` }], // wrong scheme
      ['/revoke', form({ token: live }), { ...asClient, 'content-encoding': 'gzip' }], // not gzip at all
      ['/introspect', form({ token: live, client_secret: CLIENT.clientSecret }), asClient],
    ];
    for (const [path, body, headers] of malformed) {
      const answer = await post(path, body, headers);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    // Secrets in the query string, where they do not belong: the logged URL must not carry them.
    const inQuery = await post(
      `/token?client_secret=${CLIENT.clientSecret}&password=${ERIN.password}`,
      form({ grant_type: 'password', ...ERIN }),
      asClient,
    );
    expect(inQuery.status).toBeLessThan(500);
    remember('access token', inQuery.json?.access_token);
    remember('refresh token', inQuery.json?.refresh_token);
    for (const authorization of [
      `Bearer ${live}x`,
      `Bearer ${live} ${live}`,
      `bearer  ${ERIN.password}`,
      `Basic ${basic(CLIENT.clientId, CLIENT.clientSecret)}`,
    ]) {
      const answer = await request(`${base}/api/orders`, { headers: { authorization } });
      expect([400, 401]).toContain(answer.status);
    }

    // Redis stops: 503s and connection errors are logged; then it comes back, empty.
    const port = redis.port;
    await redis.stop();
    await until('a 503 from /token', async () => (await login(ERIN.username, ERIN.password, 'device_ipad')).status === 503);
    expect((await request(`${base}/api/orders`, { headers: { authorization: `Bearer ${live}` } })).status).toBe(503);
    expect((await post('/introspect', form({ token: live }), asClient)).status).toBe(503);
    expect((await post('/revoke', form({ token: live }), asClient)).status).toBe(503);
    expect((await post('/token', form({ grant_type: 'refresh_token', refresh_token: current.json.refresh_token }), asClient)).status).toBe(
      503,
    );
    await gateway.waitForLog((line) => /Redis connection lost/.test(line.msg ?? ''));
    redis = await startRedis({ port });
    await requirePassword(redis);
    await until('service back after Redis returned', async () => (await login(ERIN.username, ERIN.password, 'device_ipad')).status === 200);
    expect((await login(ERIN.username, WRONG_PASSWORDS[0]!, 'device_ipad')).status).toBe(400);

    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    remember('Redis password', REDIS_PASSWORD);
    remember('TOKEN_SECRET', TOKEN_SECRET);
    for (const client of [CLIENT, SERVICE]) remember(`client secret of ${client.clientId}`, client.clientSecret);
    remember('client secret', WRONG_CLIENT_SECRET);
    remember('Basic credentials', basic(CLIENT.clientId, CLIENT.clientSecret).slice('Basic '.length));
    for (const user of [ERIN, FRANK]) remember(`password of ${user.username}`, user.password);
    WRONG_PASSWORDS.forEach((password) => remember('wrong password', password));
    remember('password hash of frank', frankHash);
    remember('scrypt key of frank', frankHash.split('$').pop());
    // Each half of a token is long enough to be a secret on its own (its id and its secret part).
    for (const [value, label] of [...secrets]) {
      if (!label.includes('token')) continue;
      for (const part of value.split(/[.~]/)) if (part !== value && part.length >= 20) remember(`part of a ${label}`, part);
    }

    const output = gateway.output;
    // The run was logged, and so was the outage: a clean result means something. (Checked as
    // booleans: a failure message must not print the output, which would hold the secrets.)
    expect({
      logLines: gateway.logLines.length > 30,
      outageLogged: gateway.logLines.some((line) => JSON.stringify(line).includes('503')),
      // Wherever a password= appears (the Redis URL, a logged query string), it is masked.
      everyPasswordParameterMasked: !/password=(?!\*\*\*|\[redacted\])/i.test(output),
    }).toEqual({ logLines: true, outageLogged: true, everyPasswordParameterMasked: true });
    const leaked = [...secrets]
      .filter(([value]) => output.includes(value) || output.includes(encodeURIComponent(value)))
      .map(([, label]) => label);
    expect(leaked).toEqual([]);
    expect(secrets.size).toBeGreaterThan(20);
  }, 60_000);
});
