import express, { type Express } from 'express';
import Redis from 'ioredis';
import request, { type Response } from 'supertest';
import { createTokenRouter, MemoryTokenStore, RedisTokenStore, StoreUnavailableError } from '../../lib';
import { freePort, startRedis, type RedisServerHandle } from '../support/redis-servers';
import { ANDROID_APP, basic, buildApp, form, IOS_APP, SECRET, SERVICE, STORES, USERS, SCOPES, type StoreHandle } from './harness';

/**
 * The self-service device endpoints (README, "Device session endpoints"): `GET /devices`,
 * `DELETE /devices/{id}` and `DELETE /devices`, authenticated by the caller's own bearer token
 * (RFC 6750), acting only on that token's user and client.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every answer of these endpoints carries a token-bearing resource's cache headers (RFC 6749 §5.1). */
function expectNoStore(res: Response): void {
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
}

type Client = { clientId: string; clientSecret: string };

function tokenRequest(app: Express, client: Client, params: Record<string, string>) {
  return request(app).post('/token').set('Authorization', basic(client.clientId, client.clientSecret)).type('form').send(form(params));
}

async function login(
  app: Express,
  scope: string,
  options: { username?: string; password?: string; client?: Client } = {},
): Promise<string> {
  const username = options.username ?? 'alice';
  const password = options.password ?? USERS.find((user) => user.username === username)!.password;
  const res = await tokenRequest(app, options.client ?? IOS_APP, { grant_type: 'password', username, password, scope });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

const bearer = (token: string) => `Bearer ${token}`;

describe.each(STORES)('the device endpoints on %s', (storeName, makeStore) => {
  let handle: StoreHandle;
  let app: Express;
  beforeAll(() => {
    handle = makeStore(`devices-${storeName}`);
    app = buildApp(handle.store, { deviceEndpoints: true });
  });
  afterAll(() => handle.close());

  const list = (token: string) => request(app).get('/devices').set('Authorization', bearer(token));
  const endOne = (token: string, id: string) =>
    request(app)
      .delete(`/devices/${encodeURIComponent(id)}`)
      .set('Authorization', bearer(token));
  const endOthers = (token: string) => request(app).delete('/devices').set('Authorization', bearer(token));
  const orders = (token: string) => request(app).get('/api/orders').set('Authorization', bearer(token));

  /** The session id of the device `device` among what `token`'s owner lists. */
  async function idOf(token: string, device: string): Promise<string> {
    const res = await list(token);
    const found = (res.body.devices as { id: string; device: string | null }[]).find((session) => session.device === device);
    if (!found) throw new Error(`no session of ${device} in ${JSON.stringify(res.body)}`);
    return found.id;
  }

  it('lists both devices of the user, most recently used first, with the caller marked current', async () => {
    const before = Math.floor(Date.now() / 1000);
    const iphone = await login(app, 'device_iphone orders:read', { username: 'bob' });
    await sleep(5);
    const ipad = await login(app, 'device_ipad orders:read', { username: 'bob' });

    const fromIpad = await list(ipad);
    expect(fromIpad.status).toBe(200);
    expectNoStore(fromIpad);
    expect(fromIpad.body).toEqual({
      devices: [
        {
          id: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
          device: 'device_ipad',
          scope: 'device_ipad orders:read',
          created_at: expect.any(Number),
          last_used_at: expect.any(Number),
          expires_at: expect.any(Number),
          current: true,
        },
        expect.objectContaining({ device: 'device_iphone', scope: 'device_iphone orders:read', current: false }),
      ],
    });
    const [ipadSession] = fromIpad.body.devices;
    expect(ipadSession.created_at).toBeGreaterThanOrEqual(before);
    expect(ipadSession.last_used_at).toBeGreaterThanOrEqual(ipadSession.created_at);
    // The refresh token outlives the access token: the session lasts as long as it (86400 s).
    expect(ipadSession.expires_at).toBeGreaterThanOrEqual(before + IOS_APP.refreshTokenTtl);
    // Nothing of a token in the answer.
    expect(fromIpad.text).not.toContain(ipad);
    expect(fromIpad.text).not.toContain(iphone);
    expect(fromIpad.text).not.toContain(ipad.split('.').at(-2)); // its seed

    // The iPhone asks for its token again (a reuse): it is now the most recently used.
    await sleep(5);
    expect(await login(app, 'device_iphone orders:read', { username: 'bob' })).toBe(iphone);
    const fromIphone = await list(iphone);
    expect(fromIphone.body.devices.map((d: { device: string; current: boolean }) => [d.device, d.current])).toEqual([
      ['device_iphone', true],
      ['device_ipad', false],
    ]);
  });

  it('lists a session without a device scope with device null', async () => {
    const token = await login(app, 'orders:read', { client: ANDROID_APP, username: 'bob' });
    const res = await list(token);
    expect(res.status).toBe(200);
    expect(res.body.devices).toEqual([expect.objectContaining({ device: null, scope: 'orders:read', current: true })]);
  });

  it('ends one device with DELETE /devices/{id}: 204, then its token gets 401 everywhere', async () => {
    const iphone = await login(app, 'device_iphone orders:read');
    const ipad = await login(app, 'device_ipad orders:read');
    const iphoneId = await idOf(ipad, 'device_iphone');

    const ended = await endOne(ipad, iphoneId);
    expect(ended.status).toBe(204);
    expect(ended.text).toBe('');
    expectNoStore(ended);

    const onApi = await orders(iphone);
    expect(onApi.status).toBe(401);
    expect(onApi.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
    const onDevices = await list(iphone);
    expect(onDevices.status).toBe(401);
    expect(onDevices.body.error).toBe('invalid_token');
    expect(onDevices.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
    expectNoStore(onDevices);

    // The iPad is untouched and sees itself alone; ending the same id again is a 404.
    expect((await orders(ipad)).status).toBe(200);
    expect((await list(ipad)).body.devices.map((d: { device: string }) => d.device)).toEqual(['device_ipad']);
    const again = await endOne(ipad, iphoneId);
    expect(again.status).toBe(404);
    expectNoStore(again);
  });

  it("answers 404 for another user's or another client's session id, and ends nothing", async () => {
    const alice = await login(app, 'device_desk orders:read');
    const bob = await login(app, 'device_desk orders:read', { username: 'bob' });
    const aliceOnAndroid = await login(app, 'device_desk orders:read', { client: ANDROID_APP });
    const bobId = await idOf(bob, 'device_desk');
    const androidId = await idOf(aliceOnAndroid, 'device_desk');

    for (const id of [bobId, androidId]) {
      const res = await endOne(alice, id);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'no such device session' });
      expect(res.headers['www-authenticate']).toBeUndefined();
      expectNoStore(res);
    }
    expect((await orders(bob)).status).toBe(200);
    expect((await orders(aliceOnAndroid)).status).toBe(200);
    expect((await list(bob)).body.devices.map((d: { id: string }) => d.id)).toContain(bobId);
    // alice's list with the iOS app shows none of them.
    const ids = (await list(alice)).body.devices.map((d: { id: string }) => d.id);
    expect(ids).not.toContain(bobId);
    expect(ids).not.toContain(androidId);
  });

  it('answers 404 for a malformed or made-up id', async () => {
    const token = await login(app, 'device_probe orders:read');
    for (const id of ['nope', 'A'.repeat(16), 'A'.repeat(200), '../x', "' or 1=1", '{tag}', '%00']) {
      const res = await endOne(token, id);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('invalid_request');
      expectNoStore(res);
    }
    expect((await orders(token)).status).toBe(200);
  });

  it("ends every other device of the user and client with DELETE /devices, and keeps the caller's", async () => {
    // A user of its own, so the count is exact whatever the other tests left.
    const users = [{ username: 'carol', password: 'c-password', roles: ['subscriber'] }];
    const own = buildApp(handle.store, { deviceEndpoints: true, users: [...USERS, ...users] });
    const carol = (scope: string, client: Client = IOS_APP) => login(own, scope, { username: 'carol', password: 'c-password', client });
    const phone = await carol('device_phone orders:read');
    const tablet = await carol('device_tablet orders:read');
    const laptop = await carol('device_laptop orders:read');
    const elsewhere = await carol('device_phone orders:read', ANDROID_APP);

    const res = await request(own).delete('/devices').set('Authorization', bearer(laptop));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ended: 2 });
    expectNoStore(res);
    expect((await request(own).get('/api/orders').set('Authorization', bearer(phone))).status).toBe(401);
    expect((await request(own).get('/api/orders').set('Authorization', bearer(tablet))).status).toBe(401);
    expect((await request(own).get('/api/orders').set('Authorization', bearer(laptop))).status).toBe(200);
    // Another client's session of the same user is not "another device" of this app.
    expect((await request(own).get('/api/orders').set('Authorization', bearer(elsewhere))).status).toBe(200);
    const after = await request(own).get('/devices').set('Authorization', bearer(laptop));
    expect(after.body.devices.map((d: { device: string; current: boolean }) => [d.device, d.current])).toEqual([['device_laptop', true]]);
    // Nothing left to end.
    expect((await request(own).delete('/devices').set('Authorization', bearer(laptop))).body).toEqual({ ended: 0 });
  });

  it('answers 403 with error JSON to a client_credentials token (no user)', async () => {
    const res = await tokenRequest(app, SERVICE, { grant_type: 'client_credentials', scope: 'orders:read' });
    const token = res.body.access_token as string;
    for (const answer of [await list(token), await endOne(token, 'A'.repeat(16)), await endOthers(token)]) {
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ error: 'insufficient_scope', error_description: expect.stringContaining('client_credentials') });
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="insufficient_scope", error_description="[^"]+"$/);
      expectNoStore(answer);
    }
    // The token is still live for the APIs it was meant for.
    expect((await orders(token)).status).toBe(200);
  });

  it('answers 401 with the RFC 6750 challenge without a token, with a dead one, and 400 for a malformed header', async () => {
    const dead = await login(app, 'device_gone orders:read');
    await request(app)
      .post('/revoke')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ token: dead }));
    const calls = [
      () => request(app).get('/devices'),
      () => request(app).delete('/devices/AAAAAAAAAAAAAAAA'),
      () => request(app).delete('/devices'),
    ];
    for (const call of calls) {
      const none = await call();
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(none.body.error).toBe('invalid_token');
      expectNoStore(none);

      const basicAuth = await call().set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret));
      expect(basicAuth.status).toBe(401);
      expect(basicAuth.headers['www-authenticate']).toBe('Bearer realm="api"');

      for (const token of [dead, `${'A'.repeat(12)}.${'B'.repeat(43)}`, 'not-a-token']) {
        const rejected = await call().set('Authorization', bearer(token));
        expect(rejected.status).toBe(401);
        expect(rejected.body.error).toBe('invalid_token');
        expect(rejected.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
        expectNoStore(rejected);
      }

      const malformed = await call().set('Authorization', 'Bearer two words');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toBe('invalid_request');
      expect(malformed.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_request"/);
      expectNoStore(malformed);
    }
  });

  it('answers 405 with Allow to other methods', async () => {
    const token = await login(app, 'device_methods orders:read');
    const onList = await request(app).post('/devices').set('Authorization', bearer(token));
    expect(onList.status).toBe(405);
    expect(onList.headers.allow).toBe('GET, HEAD, DELETE');
    expect(onList.body.error).toBe('invalid_request');
    expectNoStore(onList);
    const onOne = await request(app).get('/devices/AAAAAAAAAAAAAAAA').set('Authorization', bearer(token));
    expect(onOne.status).toBe(405);
    expect(onOne.headers.allow).toBe('DELETE');
    expectNoStore(onOne);
    expect((await request(app).put('/devices').set('Authorization', bearer(token))).status).toBe(405);
    // HEAD is GET without the body.
    const head = await request(app).head('/devices').set('Authorization', bearer(token));
    expect(head.status).toBe(200);
    expectNoStore(head);
  });
});

describe('the device endpoints when not switched on', () => {
  it('are not mounted (deviceEndpoints is off by default)', async () => {
    const store = new MemoryTokenStore({ secret: SECRET });
    try {
      const app = buildApp(store);
      const token = await login(app, 'device_ipad orders:read');
      expect((await request(app).get('/devices').set('Authorization', bearer(token))).status).toBe(404);
      expect((await request(app).delete('/devices').set('Authorization', bearer(token))).status).toBe(404);
    } finally {
      store.close();
    }
  });

  it('refuses a deviceEndpoints option that is not a boolean, naming it', () => {
    const store = new MemoryTokenStore({ secret: SECRET });
    try {
      expect(() => createTokenRouter({ store, clients: [IOS_APP], users: USERS, deviceEndpoints: 'yes' as never })).toThrow(
        'options.deviceEndpoints',
      );
    } finally {
      store.close();
    }
  });
});

describe('the device endpoints when Redis cannot be reached', () => {
  let redis: Redis;
  let app: Express;
  const errors: unknown[] = [];
  let token: string;

  beforeAll(async () => {
    // A real client pointed at a port nobody listens on, with no offline queue: every command fails at once.
    redis = new Redis({
      host: '127.0.0.1',
      port: await freePort(),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 200,
      disconnectTimeout: 20,
    });
    redis.on('error', () => undefined);
    const store = new RedisTokenStore({ redis, secret: SECRET, operationTimeout: 500 });
    app = express();
    app.use(
      createTokenRouter({
        store,
        clients: [IOS_APP],
        users: USERS,
        scopes: SCOPES,
        deviceEndpoints: true,
        onError: (error) => errors.push(error),
      }),
    );
    // A well-formed token (made by a store with the same secret), so the call does reach Redis.
    const memory = new MemoryTokenStore({ secret: SECRET });
    token = await login(buildApp(memory), 'device_ipad orders:read');
    memory.close();
  });
  afterAll(async () => {
    redis.disconnect();
    await sleep(50);
  });

  it.each<[string, () => request.Test]>([
    ['GET /devices', () => request(app).get('/devices')],
    ['DELETE /devices/{id}', () => request(app).delete('/devices/AAAAAAAAAAAAAAAA')],
    ['DELETE /devices', () => request(app).delete('/devices')],
  ])('%s answers 503 temporarily_unavailable, not 401, within about a second', async (_name, call) => {
    const before = errors.length;
    const started = Date.now();
    const res = await call().set('Authorization', bearer(token));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expectNoStore(res);
    expect(errors.length).toBe(before + 1);
    expect(errors[errors.length - 1]).toBeInstanceOf(StoreUnavailableError);
    expect(res.text).not.toContain(token);
  });
});

describe('the device endpoints cost one Redis round trip each', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let client: Redis;
  let app: Express;

  beforeAll(async () => {
    // A private server: MONITOR sees only this file's commands.
    server = await startRedis();
    admin = new Redis(server.url);
    client = new Redis(server.url);
    const store = new RedisTokenStore({ redis: client, secret: SECRET });
    app = buildApp(store, { deviceEndpoints: true });
  });
  afterAll(async () => {
    await Promise.all([client.quit(), admin.quit()]);
    await server.stop();
  });

  /** The commands `operation` sends, as MONITOR sees them (commands run inside a script are left out). */
  async function commandsOf(operation: () => Promise<unknown>): Promise<string[]> {
    const monitor = await admin.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') sent.push(args[0]!.toLowerCase());
    });
    try {
      await operation();
      // MONITOR output is asynchronous: a marker command shows everything before it has arrived.
      await admin.echo(`marker-${Math.random()}`);
      for (let i = 0; i < 100 && !sent.includes('echo'); i++) await sleep(10);
      return sent.filter((command) => command !== 'echo');
    } finally {
      monitor.disconnect();
    }
  }

  it('GET /devices, DELETE /devices/{id} and DELETE /devices are each one EVALSHA, token validation included', async () => {
    const ipad = await login(app, 'device_ipad orders:read');
    const iphone = await login(app, 'device_iphone orders:read');
    await login(app, 'device_watch orders:read');
    // Warm-up: ioredis loads the script once (EVALSHA, NOSCRIPT, EVAL) on first use.
    await request(app).delete('/devices/AAAAAAAAAAAAAAAA').set('Authorization', bearer(ipad));
    const listed = await request(app).get('/devices').set('Authorization', bearer(ipad));
    const iphoneId = (listed.body.devices as { id: string; device: string }[]).find((d) => d.device === 'device_iphone')!.id;

    let status = 0;
    expect(await commandsOf(async () => (status = (await request(app).get('/devices').set('Authorization', bearer(ipad))).status))).toEqual(
      ['evalsha'],
    );
    expect(status).toBe(200);
    expect(
      await commandsOf(
        async () => (status = (await request(app).delete(`/devices/${iphoneId}`).set('Authorization', bearer(ipad))).status),
      ),
    ).toEqual(['evalsha']);
    expect(status).toBe(204);
    expect(
      await commandsOf(async () => (status = (await request(app).delete('/devices/nope').set('Authorization', bearer(ipad))).status)),
    ).toEqual(['evalsha']);
    expect(status).toBe(404);
    expect(
      await commandsOf(async () => (status = (await request(app).delete('/devices').set('Authorization', bearer(ipad))).status)),
    ).toEqual(['evalsha']);
    expect(status).toBe(200);
    // A dead token is found dead in that same one round trip.
    expect(
      await commandsOf(async () => (status = (await request(app).get('/devices').set('Authorization', bearer(iphone))).status)),
    ).toEqual(['evalsha']);
    expect(status).toBe(401);
  });
});
