import { LOGIN_LOCKOUT_DEFAULTS } from '../../lib';
import { redisUrl, uniquePrefix } from '../support/redis';
import { DEMO, DEMO_BASIC, form } from './demo';
import { killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { deleteGatewayKeys, gatewayKeys, withTestRedis } from './redis-keys';
import { request } from './http';

/**
 * Several instances behind a load balancer: the same Redis, REDIS_KEY_PREFIX and TOKEN_SECRET
 * make them one token service (README, "Behind a load balancer").
 */

const prefix = uniquePrefix('acceptance-load-balanced');
const shared = () => ({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, HTTPS_PORT: 'off' });
let a: ListeningGateway;
let b: ListeningGateway;
let otherSecret: ListeningGateway;

beforeAll(async () => {
  [a, b, otherSecret] = await Promise.all([
    startGateway({ ...shared(), TOKEN_SECRET: 'load-balanced-shared-secret-0123456789abcdef' }),
    startGateway({ ...shared(), TOKEN_SECRET: 'load-balanced-shared-secret-0123456789abcdef' }),
    startGateway({ ...shared(), TOKEN_SECRET: 'another-instance-own-secret-0123456789abcdef' }),
  ]);
});

afterAll(async () => {
  killAllGateways();
  await deleteGatewayKeys(prefix);
});

const ipadLogin = (gateway: ListeningGateway) =>
  request(`${gateway.urls.http}/token`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_ipad orders:read' }),
  });
const orders = (gateway: ListeningGateway, token: string) =>
  request(`${gateway.urls.http}/api/orders`, { headers: { authorization: `Bearer ${token}` } });

describe('instances sharing Redis and TOKEN_SECRET', () => {
  it('reuse, accept and revoke each other’s tokens', async () => {
    const fromA = await ipadLogin(a);
    expect(fromA.status).toBe(200);
    const fromB = await ipadLogin(b);
    expect(fromB.json.access_token).toBe(fromA.json.access_token); // the same device, the same token
    expect((await orders(b, fromA.json.access_token)).status).toBe(200);

    const revoked = await request(`${b.urls.http}/revoke`, {
      headers: { authorization: DEMO_BASIC },
      body: form({ token: fromA.json.access_token }),
    });
    expect(revoked.status).toBe(200);
    expect((await orders(a, fromA.json.access_token)).status).toBe(401);
  });

  it('count failed logins together (RFC 6749 section 4.3.2), in Redis keys with a TTL', async () => {
    const attempt = (gateway: ListeningGateway, password: string) =>
      request(`${gateway.urls.http}/token`, {
        headers: { authorization: DEMO_BASIC },
        body: form({ grant_type: 'password', username: DEMO.bob.username, password, scope: 'device_ipad' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_LOCKOUT_DEFAULTS.perIp; i++) statuses.push((await attempt(i % 2 === 0 ? a : b, `guess-${i}`)).status);
    expect(statuses).toEqual(Array(LOGIN_LOCKOUT_DEFAULTS.perIp).fill(400));
    for (const gateway of [a, b]) {
      const locked = await attempt(gateway, DEMO.bob.password);
      expect(locked.status).toBe(429);
      expect(locked.json.error).toBe('invalid_grant');
    }
    // bob's failure counters: one hash in his own slot, with a TTL (the window)
    const keys = (await gatewayKeys(prefix)).filter((key) => /^[^{]*\{[^}]+\}:f:/.test(key.slice(prefix.length - 1)));
    expect(keys).toHaveLength(1);
    expect(await withTestRedis((redis) => redis.pttl(keys[0]!))).toBeGreaterThan(0);
  });

  it('an instance with another TOKEN_SECRET does not accept their tokens', async () => {
    const fromA = await ipadLogin(a);
    expect((await orders(otherSecret, fromA.json.access_token)).status).toBe(401);
  });
});
