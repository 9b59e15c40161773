import { type RedisSentinelHandle, startRedisSentinel } from '../support/redis-servers';
import { DEMO, DEMO_BASIC, form } from './demo';
import { killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { request } from './http';

/**
 * The gateway on Redis Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`), as an operator runs
 * it: a private master, replica and Sentinel, and a failover while the gateway is serving.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let sentinel: RedisSentinelHandle;
let gateway: ListeningGateway;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  gateway = await startGateway({
    REDIS_SENTINELS: sentinel.sentinels.map(({ host, port }) => `${host}:${port}`).join(','),
    REDIS_SENTINEL_NAME: sentinel.name,
    TOKEN_SECRET: 'acceptance-sentinel-secret-0123456789abcdef',
    HTTPS_PORT: 'off',
  });
}, 30_000);

afterAll(async () => {
  killAllGateways();
  await sentinel.stop();
});

const login = (scope: string) =>
  request(`${gateway.urls.http}/token`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope }),
  });
const orders = (token: string) => request(`${gateway.urls.http}/api/orders`, { headers: { authorization: `Bearer ${token}` } });

it('says it runs on the Sentinel master and walks the device story', async () => {
  expect(
    gateway.logLines.some(
      (line) =>
        line.msg ===
        `token store: Redis Sentinel master at ${sentinel.name} via sentinels ${sentinel.sentinels[0]!.host}:${sentinel.sentinels[0]!.port}`,
    ),
  ).toBe(true);
  const iphone = await login('device_iphone orders:read');
  const ipad = await login('device_ipad orders:read');
  expect(iphone.status).toBe(200);
  expect(ipad.json.access_token).not.toBe(iphone.json.access_token);
  expect((await login('device_iphone orders:read')).json.access_token).toBe(iphone.json.access_token);
  expect((await orders(ipad.json.access_token)).json).toMatchObject({ user: 'alice', device: 'device_ipad' });
});

it('answers 503 during a failover and serves the same tokens from the promoted replica', async () => {
  const iphone = await login('device_iphone orders:read');
  expect(iphone.status).toBe(200);
  await sleep(200); // asynchronous replication of the keys just written

  process.kill(sentinel.master.pid, 'SIGKILL');
  const during = await orders(iphone.json.access_token);
  expect(during.status).toBe(503);
  expect(during.json.error).toBe('temporarily_unavailable');

  let after = await orders(iphone.json.access_token);
  for (let i = 0; i < 150 && after.status !== 200; i++) {
    await sleep(100);
    after = await orders(iphone.json.access_token);
  }
  expect(after.status).toBe(200);
  expect(after.json).toMatchObject({ user: 'alice', device: 'device_iphone' });
  expect((await request(`${gateway.urls.http}/healthz`)).json).toEqual({ status: 'ok', store: 'redis' });

  const revoked = await request(`${gateway.urls.http}/revoke`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ token: iphone.json.access_token }),
  });
  expect(revoked.status).toBe(200);
  expect((await orders(iphone.json.access_token)).status).toBe(401);
}, 30_000);
