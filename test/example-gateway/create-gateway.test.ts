import { join } from 'node:path';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import request from 'supertest';
import { MemoryTokenStore, RedisTokenStore, type TokenStore } from '../../lib';
import { readGatewayConfig } from '../../example-gateway/config';
import { ConfigError } from '../../example-gateway/config-error';
import { createGateway, type GatewayOptions } from '../../example-gateway/create-gateway';
import { createLogger } from '../../example-gateway/logging';
import { DEMO, DEMO_BASIC, SHIPPED_CONFIG } from '../acceptance/demo';
import { cleanupPrefix, createTestRedis, uniquePrefix } from '../support/redis';

const SECRET = 'create-gateway-test-secret-0123456789abcdef';
const config = readGatewayConfig(SHIPPED_CONFIG);

/** A gateway whose JSON log lines land in `lines`. */
function gatewayWithLogs(store: TokenStore, options: Partial<GatewayOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const app = createGateway({ config, store, storeKind: 'memory', logger, ...options });
  return { app, lines, logs: () => lines.map((line) => JSON.parse(line) as Record<string, any>) };
}

function token(app: Parameters<typeof request>[0], fields: Record<string, string>) {
  return request(app).post('/token').set('Authorization', DEMO_BASIC).type('form').send(fields);
}

const aliceFor = (scope: string) => ({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope });

/** `GET /api/orders` with a token issued for `fields`. */
async function ordersWith(app: Parameters<typeof request>[0], fields: Record<string, string>) {
  const issued = await token(app, fields);
  return request(app).get('/api/orders').set('Authorization', `Bearer ${issued.body.access_token}`);
}

describe('createGateway()', () => {
  const store = new MemoryTokenStore({ secret: SECRET });
  afterAll(() => store.close());

  describe('GET /api/orders', () => {
    it('answers with the user, client, scopes and device of the token, and sample orders', async () => {
      const answer = await ordersWith(gatewayWithLogs(store).app, aliceFor('device_ipad orders:read'));
      expect(answer.status).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.body).toEqual({
        user: 'alice',
        client: 'demo-app',
        scopes: ['device_ipad', 'orders:read'],
        device: 'device_ipad',
        orders: expect.arrayContaining([expect.objectContaining({ id: expect.any(String), status: expect.any(String) })]),
      });
    });

    it('answers a client_credentials token with no user and no device', async () => {
      // The demo client's own subscriber role grants it orders:read.
      const answer = await ordersWith(gatewayWithLogs(store).app, { grant_type: 'client_credentials', scope: 'orders:read' });
      expect(answer.body).toMatchObject({ user: null, client: 'demo-app', scopes: ['orders:read'], device: null });
    });

    it('should 403 insufficient_scope for a token without orders:read', async () => {
      const answer = await ordersWith(gatewayWithLogs(store).app, aliceFor('device_ipad'));
      expect(answer.status).toBe(403);
      expect(answer.headers['www-authenticate']).toContain('scope="orders:read"');
    });

    it('should 401 without a token', async () => {
      const { app } = gatewayWithLogs(store);
      const answer = await request(app).get('/api/orders');
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="api"');
    });

    it('is matched as an Express route is: regardless of case and a trailing "/", HEAD answered as GET', async () => {
      const { app } = gatewayWithLogs(store);
      const issued = await token(app, aliceFor('device_ipad orders:read'));
      const bearer = `Bearer ${issued.body.access_token}`;
      for (const path of ['/API/Orders', '/api/orders/', '/api/orders?page=2']) {
        const answer = await request(app).get(path).set('Authorization', bearer);
        expect({ path, status: answer.status, user: answer.body.user }).toEqual({ path, status: 200, user: 'alice' });
      }
      const head = await request(app).head('/api/orders').set('Authorization', bearer);
      expect(head.status).toBe(200);
      expect(head.text).toBeUndefined();
    });

    it.each(['POST', 'DELETE', 'OPTIONS'])('should 404 with JSON for %s (as no route of that method is there)', async (method) => {
      const answer = await request(gatewayWithLogs(store).app)[method.toLowerCase() as 'post']('/api/orders');
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: 'not_found', error_description: 'no such endpoint' });
    });

    it('logs the request line of an answer the sample API gave, with the caller', async () => {
      const { app, logs } = gatewayWithLogs(store);
      await ordersWith(app, aliceFor('device_ipad orders:read'));
      const line = logs().find((entry) => entry.req?.url === '/api/orders');
      expect(line).toMatchObject({ res: { statusCode: 200 }, oauth: { clientId: 'demo-app', username: 'alice', device: 'device_ipad' } });
    });
  });

  describe('GET /healthz', () => {
    it('answers 200 ok with the store kind when the store answers', async () => {
      const answer = await request(gatewayWithLogs(store).app).get('/healthz');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok', store: 'memory' });
      expect(answer.headers['cache-control']).toBe('no-store');
    });

    it('should 503 shutting_down once the gateway drains', async () => {
      const answer = await request(gatewayWithLogs(store, { isDraining: () => true }).app).get('/healthz');
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ status: 'shutting_down', store: 'memory' });
    });
  });

  describe('GET /livez and GET /readyz', () => {
    it('/livez answers 200 without asking the store, even while draining', async () => {
      const answer = await request(gatewayWithLogs(store, { isDraining: () => true }).app).get('/livez');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok' });
      expect(answer.headers['cache-control']).toBe('no-store');
    });

    it('/readyz answers 200 when the store answers and 503 once the gateway drains', async () => {
      let draining = false;
      const { app } = gatewayWithLogs(store, { isDraining: () => draining });
      expect((await request(app).get('/readyz')).body).toEqual({ status: 'ok', store: 'memory' });
      draining = true;
      const answer = await request(app).get('/readyz');
      expect(answer.status).toBe(503);
      expect(answer.body).toEqual({ status: 'shutting_down', store: 'memory' });
    });

    it('log healthy probes at debug only', async () => {
      const { app, logs } = gatewayWithLogs(store);
      for (const path of ['/healthz', '/livez', '/readyz', '/metrics']) await request(app).get(path);
      await request(app).get('/api/orders');
      expect(
        logs()
          .filter((line) => line.res)
          .map((line) => [line.req.url, line.level]),
      ).toEqual([
        ['/healthz', 20],
        ['/livez', 20],
        ['/readyz', 20],
        ['/metrics', 20],
        ['/api/orders', 30],
      ]);
    });
  });

  describe('logs', () => {
    it('write one line per request with the caller, never its token, secret or password', async () => {
      const { app, lines, logs } = gatewayWithLogs(store);
      const issued = await token(app, aliceFor('device_iphone orders:read'));
      await request(app).get('/api/orders').set('Authorization', `Bearer ${issued.body.access_token}`).set('X-Request-Id', 'lb-1234');
      await request(app).get(`/api/orders?access_token=${issued.body.access_token}&x=1`);
      await request(app).post('/revoke').set('Authorization', DEMO_BASIC).type('form').send({ token: issued.body.refresh_token });

      const requests = logs().filter((line) => line.res);
      expect(requests.map((line) => [line.req.method, line.req.url, line.res.statusCode])).toEqual([
        ['POST', '/token', 200],
        ['GET', '/api/orders', 200],
        ['GET', '/api/orders?access_token=[redacted]&x=[redacted]', 401],
        ['POST', '/revoke', 200],
      ]);
      expect(requests[1]).toMatchObject({
        req: { id: 'lb-1234' },
        oauth: { clientId: 'demo-app', username: 'alice', device: 'device_iphone' },
      });
      const text = lines.join('');
      for (const secret of [
        issued.body.access_token,
        issued.body.refresh_token,
        DEMO.clientSecret,
        DEMO.alice.password,
        DEMO_BASIC.slice(6),
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/authorization/i);
    });

    it('echo a plain X-Request-Id and replace anything else', async () => {
      const { app } = gatewayWithLogs(store);
      expect((await request(app).get('/healthz').set('X-Request-Id', 'abc-123')).headers['x-request-id']).toBe('abc-123');
      const replaced = (await request(app).get('/healthz').set('X-Request-Id', 'a b{')).headers['x-request-id'];
      expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('should 404 with JSON for an unknown path', async () => {
    const answer = await request(gatewayWithLogs(store).app).get('/nope');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: 'not_found', error_description: 'no such endpoint' });
  });

  it('honours trust proxy for the metadata issuer (behind a TLS-terminating load balancer)', async () => {
    const { app } = gatewayWithLogs(store, { trustProxy: 1 });
    const answer = await request(app)
      .get('/.well-known/oauth-authorization-server')
      .set('X-Forwarded-Proto', 'https')
      .set('X-Forwarded-Host', 'gw.example.com');
    expect(answer.body.token_endpoint).toBe('https://gw.example.com/token');
  });

  it('throws a ConfigError naming the config field createTokenRouter() refused', () => {
    const bad = { ...config, clients: [{ ...config.clients[0]!, grants: ['password', 'implicit'] }] } as unknown as typeof config;
    const build = () => createGateway({ config: bad, store, storeKind: 'memory', configFile: '/etc/gw.json' });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow('clients[0].grants[1] must be one of password, client_credentials, refresh_token (got "implicit")');
    try {
      build();
    } catch (error) {
      expect((error as ConfigError).describe()).toMatch(/^config error in \/etc\/gw\.json: clients\[0\]\.grants\[1\] /);
    }
  });
});

describe('createGateway() on Redis', () => {
  const prefix = uniquePrefix('example-gateway-create');
  let redis: Redis;
  let store: RedisTokenStore;
  beforeAll(() => {
    redis = createTestRedis();
    store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: prefix });
  });
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await redis.quit();
  });

  it('serves the device story with the Redis store', async () => {
    const { app } = gatewayWithLogs(store, { storeKind: 'redis' });
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok', store: 'redis' });
    const ipad = await token(app, aliceFor('device_ipad orders:read'));
    const iphone = await token(app, aliceFor('device_iphone orders:read'));
    await request(app).post('/revoke').set('Authorization', DEMO_BASIC).type('form').send({ token: ipad.body.access_token }).expect(200);
    await request(app).get('/api/orders').set('Authorization', `Bearer ${iphone.body.access_token}`).expect(200);
    await request(app).get('/api/orders').set('Authorization', `Bearer ${ipad.body.access_token}`).expect(401);
  });

  it('should 503 on /healthz and /token when Redis is unreachable, and log no error stack for it', async () => {
    // A real client, pointed at a port where nothing listens.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const down = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => undefined);
    // Refused, and no retry: the client ends (and needs no disconnect).
    await new Promise((resolve) => down.once('end', resolve));
    const { app, logs } = gatewayWithLogs(new RedisTokenStore({ redis: down, secret: SECRET, keyPrefix: prefix }), { storeKind: 'redis' });
    const health = await request(app).get('/healthz');
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'unavailable', store: 'redis' });
    const issued = await token(app, aliceFor('device_ipad'));
    expect(issued.status).toBe(503);
    expect(issued.body.error).toBe('temporarily_unavailable');
    const requestLines = logs().filter((line) => line.res);
    expect(requestLines.map((line) => [line.level, line.res.statusCode])).toEqual([
      [40, 503],
      [40, 503],
    ]);
    expect(requestLines.every((line) => line.err === undefined)).toBe(true);
  });
});

describe('createGateway({ metrics: false })', () => {
  it('serves no /metrics and counts nothing, and still serves tokens and the API', async () => {
    const store = new MemoryTokenStore({ secret: 'a-secret-of-at-least-thirty-two-characters' });
    try {
      const app = createGateway({
        config: readGatewayConfig(join(__dirname, '../../example-gateway/config.json')),
        store,
        storeKind: 'memory',
        metrics: false,
      });
      expect((await request(app).get('/metrics')).status).toBe(404);
      const token = await request(app)
        .post('/token')
        .auth('demo-app', 'demo-app-secret')
        .type('form')
        .send({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_ipad orders:read' });
      expect(token.status).toBe(200);
      expect((await request(app).get('/api/orders').auth(token.body.access_token, { type: 'bearer' })).status).toBe(200);
    } finally {
      store.close();
    }
  });
});
