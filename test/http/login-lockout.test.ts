import Redis from 'ioredis';
import request from 'supertest';
import { LOGIN_LOCKOUT_DEFAULTS, RedisTokenStore, type AuditEvent, type TokenRouterOptions, type TokenStore } from '../../lib';
import { freePort } from '../support/redis-servers';
import { basic, buildApp, form, IOS_APP, SECRET, STORES, type StoreHandle } from './harness';

// RFC 6749 §4.3.2: "the authorization server MUST protect the endpoint against brute force
// attacks (e.g., using rate-limitation or generating alerts)". README, "How tokens are issued" (brute force); SECURITY.md.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(STORES)('brute-force protection on %s', (name, makeStore) => {
  let handle: StoreHandle;
  beforeAll(() => {
    handle = makeStore(`lockout-${name}`);
  });
  afterAll(() => handle.close());

  /** A gateway behind a proxy that says who the client is (X-Forwarded-For), so tests can be many IPs. */
  function gateway(overrides: Partial<TokenRouterOptions> = {}, store: TokenStore = handle.store) {
    const app = buildApp(store, overrides);
    app.set('trust proxy', true);
    const login = (username: string, password: string, ip = '203.0.113.1') =>
      request(app)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .set('X-Forwarded-For', ip)
        .type('form')
        .send(form({ grant_type: 'password', username, password, scope: 'device_ipad' }));
    return Object.assign(login, { app });
  }
  type Login = ReturnType<typeof gateway>;

  async function failTimes(login: Login, username: string, times: number, ip?: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < times; i++) statuses.push((await login(username, `guess-${i}`, ip)).status);
    return statuses;
  }

  // Every test has users of its own: the store keeps counts between tests.
  let n = 0;
  const fresh = () => {
    n += 1;
    return { username: `user${n}-${name.length}-${Math.random().toString(36).slice(2, 7)}`, password: `pw-${n}` };
  };

  it(`locks a user for the IP that failed ${LOGIN_LOCKOUT_DEFAULTS.perIp} times, right password or not, and not for the user elsewhere`, async () => {
    const alice = fresh();
    const login = gateway({ users: [{ ...alice, roles: [] }] });
    const limit = LOGIN_LOCKOUT_DEFAULTS.perIp;
    expect(await failTimes(login, alice.username, limit, '198.51.100.7')).toEqual(Array(limit).fill(400));
    const locked = await login(alice.username, alice.password, '198.51.100.7');
    expect(locked.status).toBe(429);
    expect(locked.body).toEqual({ error: 'invalid_grant', error_description: expect.stringMatching(/^too many failed logins/) });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(LOGIN_LOCKOUT_DEFAULTS.window - 60);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(LOGIN_LOCKOUT_DEFAULTS.window);
    expect(locked.headers['cache-control']).toBe('no-store');
    // The victim, from her own phone: the attacker's failures are below the backstop.
    expect((await login(alice.username, alice.password, '192.0.2.55')).status).toBe(200);
  });

  it('locks a user everywhere at the per-user backstop (distributed guessing)', async () => {
    const bob = fresh();
    const login = gateway({ users: [{ ...bob, roles: [] }], loginLockout: { perIp: 3, perUser: 6 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(bob.username, `guess-${i}`, `10.0.0.${i}`)).status);
    expect(statuses).toEqual(Array(6).fill(400));
    expect((await login(bob.username, bob.password, '192.0.2.99')).status).toBe(429);
  });

  it('locks out one IP spraying one guess over many usernames (the per-IP ceiling)', async () => {
    const victim = fresh();
    const login = gateway({ users: [{ ...victim, roles: [] }], loginLockout: { ipCeiling: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(`${fresh().username}`, 'Summer2026!', '198.51.100.200')).status);
    expect(statuses).toEqual(Array(5).fill(400));
    const sprayed = await login(victim.username, 'Summer2026!', '198.51.100.200');
    expect(sprayed.status).toBe(429);
    expect((await login(victim.username, victim.password, '198.51.100.201')).status).toBe(200);
  });

  it('checks the lock before the password: a locked attempt never reaches the user directory', async () => {
    const carol = fresh();
    let checks = 0;
    const login = gateway({
      users: async (username, password) => {
        checks += 1;
        return username === carol.username && password === carol.password ? { username, roles: [] } : undefined;
      },
      loginLockout: { perIp: 2 },
    });
    expect(await failTimes(login, carol.username, 2)).toEqual([400, 400]);
    const before = checks;
    for (let i = 0; i < 5; i++) expect((await login(carol.username, carol.password)).status).toBe(429);
    expect(checks).toBe(before);
  });

  it('counts every spelling of a username together (loginKey: case-insensitive directories)', async () => {
    const dave = fresh();
    const login = gateway({
      users: async (username, password) =>
        username.toLowerCase() === dave.username && password === dave.password ? { username: dave.username, roles: [] } : undefined,
      loginLockout: { perIp: 4 },
    });
    const spellings = [
      dave.username,
      dave.username.toUpperCase(),
      `${dave.username[0]!.toUpperCase()}${dave.username.slice(1)}`,
      dave.username,
    ];
    const statuses: number[] = [];
    for (const spelling of spellings) statuses.push((await login(spelling, 'guess')).status);
    expect(statuses).toEqual([400, 400, 400, 400]);
    expect((await login(dave.username.toUpperCase(), dave.password)).status).toBe(429);
  });

  it('clears what an IP counted when the user logs in from it, and lets the user in once the window ends', async () => {
    const erin = fresh();
    const login = gateway({ users: [{ ...erin, roles: [] }], loginLockout: { perIp: 3, window: 1 } });
    expect(await failTimes(login, erin.username, 2)).toEqual([400, 400]);
    expect((await login(erin.username, erin.password)).status).toBe(200);
    expect(await failTimes(login, erin.username, 2)).toEqual([400, 400]);
    expect((await login(erin.username, erin.password)).status).toBe(200);
    expect(await failTimes(login, erin.username, 3)).toEqual([400, 400, 400]);
    expect((await login(erin.username, erin.password)).status).toBe(429);
    await sleep(1_100);
    expect((await login(erin.username, erin.password)).status).toBe(200);
  });

  it('shares the count between gateway instances on the same store', async () => {
    const frank = fresh();
    const [a, b] = [
      gateway({ users: [{ ...frank, roles: [] }], loginLockout: { perIp: 3 } }),
      gateway({ users: [{ ...frank, roles: [] }], loginLockout: { perIp: 3 } }),
    ];
    expect([...(await failTimes(a, frank.username, 2)), ...(await failTimes(b, frank.username, 1))]).toEqual([400, 400, 400]);
    expect((await a(frank.username, frank.password)).status).toBe(429);
    expect((await b(frank.username, frank.password)).status).toBe(429);
  });

  it('can be switched off', async () => {
    const gina = fresh();
    const login = gateway({ users: [{ ...gina, roles: [] }], loginLockout: false });
    expect(await failTimes(login, gina.username, 15)).toEqual(Array(15).fill(400));
    expect((await login(gina.username, gina.password)).status).toBe(200);
  });

  it('throttles wrong client secrets per (client id, IP) with 429 invalid_client, leaving other IPs alone', async () => {
    const app = gateway({ clientLockout: { perIp: 5 } }).app;
    const attempt = (secret: string, ip: string) =>
      request(app)
        .post('/token')
        .set('X-Forwarded-For', ip)
        .set('Authorization', basic(IOS_APP.clientId, secret))
        .type('form')
        .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_ipad' }));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt(`wrong-${i}`, '198.51.100.66')).status);
    expect(statuses).toEqual(Array(5).fill(401));
    const throttled = await attempt(IOS_APP.clientSecret, '198.51.100.66');
    expect(throttled.status).toBe(429);
    expect(throttled.body.error).toBe('invalid_client');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect((await attempt(IOS_APP.clientSecret, '198.51.100.67')).status).toBe(200);
  });

  it('reports user_auth_failed, throttled and client_auth_failed events with who and where, and no secret', async () => {
    const hank = fresh();
    const events: AuditEvent[] = [];
    const login = gateway({ users: [{ ...hank, roles: [] }], loginLockout: { perIp: 2 }, onEvent: (event) => events.push(event) });
    await failTimes(login, hank.username, 2, '198.51.100.9');
    await login(hank.username, hank.password, '198.51.100.9');
    expect(events.map((e) => e.type)).toEqual(['user_auth_failed', 'user_auth_failed', 'throttled']);
    for (const event of events) {
      expect(event).toMatchObject({ clientId: IOS_APP.clientId, username: hank.username, ip: '198.51.100.9', time: expect.any(Number) });
      expect(JSON.stringify(event)).not.toContain(hank.password);
      expect(JSON.stringify(event)).not.toContain('guess-');
    }
  });

  it('refuses a username over 256 characters with invalid_request before anything is counted', async () => {
    const login = gateway();
    const res = await login('x'.repeat(257), 'whatever');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('brute-force protection with Redis unreachable', () => {
  it('answers 503, not 500, 400 or a free pass, for wrong and right passwords', async () => {
    const down = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    down.on('error', () => undefined);
    try {
      const store = new RedisTokenStore({ redis: down, secret: SECRET, operationTimeout: 300 });
      const app = buildApp(store);
      for (const password of ['wrong', 'wonderland']) {
        const started = Date.now();
        const res = await request(app)
          .post('/token')
          .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
          .type('form')
          .send(form({ grant_type: 'password', username: 'alice', password, scope: 'device_ipad' }));
        expect(res.status).toBe(503);
        expect(res.body.error).toBe('temporarily_unavailable');
        expect(Date.now() - started).toBeLessThan(1_500);
      }
    } finally {
      down.disconnect();
    }
  });
});
