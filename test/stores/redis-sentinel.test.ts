import Redis from 'ioredis';
import { RedisTokenStore, StoreUnavailableError } from '../../lib';
import { type RedisSentinelHandle, startRedisSentinel } from '../support/redis-servers';
import { userUsage } from './redis-usage';
import { describeTokenStoreContract, issueRequest, tokensOf, SECRET } from './token-store.contract';

// The Redis store behind Redis Sentinel: a private master, replica and Sentinel started by this
// file. The README tells operators to give the store an ioredis client built for Sentinel; this
// is that client, through a failover.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisTokenStore on Redis Sentinel', () => {
  let sentinel: RedisSentinelHandle;
  let redis: Redis;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    redis = new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.name,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      disconnectTimeout: 100,
    });
    redis.on('error', () => undefined); // the failover below drops the connection on purpose
    await new Promise((resolve) => redis.once('ready', resolve));
  }, 30_000);
  afterAll(async () => {
    redis.disconnect();
    await sentinel.stop();
  });

  describeTokenStoreContract('Redis Sentinel', () => ({
    store: new RedisTokenStore({ redis, secret: SECRET }),
    withSecret: (secret) => new RedisTokenStore({ redis, secret }),
    // The Sentinel's master is this file's own: the store's default prefix is this test's.
    usage: (tag) => userUsage(redis, 'oauth:', tag),
  }));

  it('answers StoreUnavailableError while the master is gone and serves the same tokens from the promoted replica', async () => {
    const store = new RedisTokenStore({ redis, secret: SECRET, operationTimeout: 500 });
    const tokens = await tokensOf(store, issueRequest());
    const oldMaster = sentinel.master.port;
    expect(await redis.call('WAIT', '1', '2000')).toBe(1); // the replica has the token's keys

    process.kill(sentinel.master.pid, 'SIGKILL');
    await expect(store.lookup(tokens.accessToken)).rejects.toThrow(StoreUnavailableError);

    let record = await store.lookup(tokens.accessToken).catch(() => undefined);
    for (let i = 0; i < 150 && !record; i++) {
      await sleep(100);
      record = await store.lookup(tokens.accessToken).catch(() => undefined);
    }
    expect(record).toMatchObject({ tokenType: 'access_token', clientId: 'app', deviceScopes: ['device_ipad'] });
    const serving = /tcp_port:(\d+)/.exec(await redis.info('server'))![1];
    expect(Number(serving)).not.toBe(oldMaster);

    // the promoted replica takes writes: the same device gets its token back, a revoke ends it
    const again = await tokensOf(store, { ...issueRequest(), clientId: 'app', subject: record!.subject, username: record!.username });
    expect(again).toMatchObject({ reused: true, accessToken: tokens.accessToken });
    expect(await store.revoke(tokens.accessToken, 'app')).toBe('revoked');
    expect(await store.lookup(tokens.accessToken)).toBeNull();
  }, 30_000);
});
