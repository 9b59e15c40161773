import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import request from 'supertest';
import { DEFAULT_LOGIN_LIMIT, type TokenRouterOptions } from '../../lib';
import { freePort } from '../support/redis-servers';
import { cleanupPrefix, createTestRedis, uniquePrefix } from '../support/redis';
import { basic, buildApp, form, IOS_APP, memoryStore, type StoreHandle } from './harness';

// RFC 6749 §4.3.2: "the authorization server MUST protect the endpoint against brute force
// attacks (e.g., using rate-limitation or generating alerts)".

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let handle: StoreHandle;
beforeAll(() => {
  handle = memoryStore();
});
afterAll(() => handle.close());

function gateway(overrides: Partial<TokenRouterOptions> = {}) {
  const app = buildApp(handle.store, overrides);
  return (username: string, password: string) =>
    request(app)
      .post('/token')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ grant_type: 'password', username, password, scope: 'device_ipad' }));
}

async function failTimes(login: ReturnType<typeof gateway>, username: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await login(username, `guess-${i}`)).status);
  return statuses;
}

describe('password brute-force protection', () => {
  it(`locks a user after ${DEFAULT_LOGIN_LIMIT.points} failed logins by default, even for the right password, and no one else`, async () => {
    const login = gateway();
    expect(await failTimes(login, 'alice', DEFAULT_LOGIN_LIMIT.points)).toEqual(Array(DEFAULT_LOGIN_LIMIT.points).fill(400));
    const locked = await login('alice', 'wonderland');
    expect(locked.status).toBe(429);
    expect(locked.body).toEqual({ error: 'invalid_grant', error_description: expect.stringMatching(/^too many failed logins/) });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(DEFAULT_LOGIN_LIMIT.duration - 60);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(DEFAULT_LOGIN_LIMIT.duration);
    expect(locked.headers['cache-control']).toBe('no-store');
    expect((await login('alice', 'still-guessing')).status).toBe(429);
    expect((await login('bob', 'builder')).status).toBe(200);
  });

  it('resets the count on a successful login', async () => {
    const login = gateway();
    const below = DEFAULT_LOGIN_LIMIT.points - 1;
    expect(await failTimes(login, 'alice', below)).toEqual(Array(below).fill(400));
    expect((await login('alice', 'wonderland')).status).toBe(200);
    expect(await failTimes(login, 'alice', below)).toEqual(Array(below).fill(400));
    expect((await login('alice', 'wonderland')).status).toBe(200);
  });

  it('counts unknown usernames too, and lets a user in again once the window has passed', async () => {
    const login = gateway({ loginLimiter: new RateLimiterMemory({ points: 2, duration: 1 }) });
    expect(await failTimes(login, 'nobody', 3)).toEqual([400, 400, 429]);
    expect(await failTimes(login, 'alice', 2)).toEqual([400, 400]);
    expect((await login('alice', 'wonderland')).status).toBe(429);
    await sleep(1_100);
    expect((await login('alice', 'wonderland')).status).toBe(200);
  });

  it('can be switched off', async () => {
    const login = gateway({ loginLimiter: false });
    expect(await failTimes(login, 'alice', 2 * DEFAULT_LOGIN_LIMIT.points)).toEqual(Array(2 * DEFAULT_LOGIN_LIMIT.points).fill(400));
    expect((await login('alice', 'wonderland')).status).toBe(200);
  });

  describe('with RateLimiterRedis', () => {
    const redis = createTestRedis();
    const keyPrefix = uniquePrefix('login-limiter');
    afterAll(async () => {
      await cleanupPrefix(redis, keyPrefix);
      await redis.quit();
    });
    const limiter = () => new RateLimiterRedis({ storeClient: redis, keyPrefix, points: 3, duration: 60 });

    it('shares the count between gateway instances', async () => {
      const [a, b] = [gateway({ loginLimiter: limiter() }), gateway({ loginLimiter: limiter() })];
      expect([...(await failTimes(a, 'alice', 2)), ...(await failTimes(b, 'alice', 1))]).toEqual([400, 400, 400]);
      expect((await a('alice', 'wonderland')).status).toBe(429);
      expect((await b('alice', 'wonderland')).status).toBe(429);
    });

    it('answers 503, not 500 or a free pass, when its Redis is unreachable', async () => {
      const down = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, disconnectTimeout: 10 });
      down.on('error', () => undefined);
      try {
        const login = gateway({ loginLimiter: new RateLimiterRedis({ storeClient: down, keyPrefix, points: 3, duration: 60 }) });
        for (const password of ['wrong', 'wonderland']) {
          const res = await login('alice', password);
          expect(res.status).toBe(503);
          expect(res.body.error).toBe('temporarily_unavailable');
        }
      } finally {
        down.disconnect();
      }
    });
  });
});
