import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { allKeysWithPrefix, cleanupPrefix, clusterNodes, createTestCluster, createTestRedis, redisUrl, uniquePrefix } from './redis';

// Proves the test infrastructure: a real standalone Redis and a real Redis Cluster, reached
// through the environment set by globalSetup, and prefix cleanup that deletes nothing else.

describe('test Redis infrastructure', () => {
  it('hands the workers REDIS_URL and REDIS_CLUSTER_NODES from globalSetup', () => {
    expect(redisUrl()).toMatch(/^rediss?:\/\/.+:\d+/);
    expect(clusterNodes().length).toBeGreaterThanOrEqual(1);
  });

  it('uniquePrefix gives each caller its own prefix and keeps Redis pattern characters out', () => {
    const a = uniquePrefix('infra');
    const b = uniquePrefix('infra');
    expect(a).toMatch(/^test:infra:[0-9a-f]{12}:$/);
    expect(b).not.toBe(a);
    expect(uniquePrefix('a{b}*c?[d] e')).toMatch(/^test:a_b__c__d__e:[0-9a-f]{12}:$/);
  });

  describe('standalone', () => {
    let redis: Redis;
    const prefix = uniquePrefix('infra-single');
    const other = uniquePrefix('infra-single-other');

    beforeAll(() => {
      redis = createTestRedis();
    });
    afterAll(async () => {
      await cleanupPrefix(redis, prefix);
      await cleanupPrefix(redis, other);
      await redis.quit();
    });

    it('answers PING', async () => {
      expect(await redis.ping()).toBe('PONG');
    });

    it('SET/GET under the prefix; cleanupPrefix deletes only that prefix', async () => {
      await redis.set(`${prefix}a`, '1', 'EX', 60);
      await redis.set(`${prefix}b`, '2', 'EX', 60);
      await redis.hset(`${prefix}nested:h`, 'f', 'v');
      await redis.set(`${other}survivor`, 'x', 'EX', 60);
      // A key that only *looks* like the prefix as a glob pattern must survive as well.
      const lookalike = `${prefix.slice(0, -1)}X:z`;
      await redis.set(lookalike, 'y', 'EX', 60);

      expect(await redis.get(`${prefix}a`)).toBe('1');
      expect(await allKeysWithPrefix(redis, prefix)).toEqual([`${prefix}a`, `${prefix}b`, `${prefix}nested:h`]);

      expect(await cleanupPrefix(redis, prefix)).toBe(3);
      expect(await allKeysWithPrefix(redis, prefix)).toEqual([]);
      expect(await redis.get(`${other}survivor`)).toBe('x');
      expect(await redis.get(lookalike)).toBe('y');

      // ...and then the test removes its other keys itself.
      expect(await cleanupPrefix(redis, other)).toBe(1);
      expect(await redis.unlink(lookalike)).toBe(1);
      expect(await redis.exists(`${other}survivor`)).toBe(0);
    });

    it('refuses an empty prefix', async () => {
      await expect(cleanupPrefix(redis, '')).rejects.toThrow(/empty key prefix/);
      await expect(allKeysWithPrefix(redis, '')).rejects.toThrow(/empty key prefix/);
    });
  });

  describe('cluster', () => {
    let cluster: Cluster;
    const prefix = uniquePrefix('infra-cluster');
    const other = uniquePrefix('infra-cluster-other');

    beforeAll(() => {
      cluster = createTestCluster();
    });
    afterAll(async () => {
      await cleanupPrefix(cluster, prefix);
      await cleanupPrefix(cluster, other);
      await cluster.quit();
    });

    it('every master reports cluster_state:ok with all 16384 slots assigned', async () => {
      await cluster.ping();
      const masters = cluster.nodes('master');
      expect(masters.length).toBeGreaterThanOrEqual(3);
      for (const node of masters) {
        const info = (await node.call('CLUSTER', 'INFO')) as string;
        expect(info).toMatch(/^cluster_state:ok\r?$/m);
        expect(info).toMatch(/^cluster_slots_assigned:16384\r?$/m);
      }
    });

    it('runs a multi-key command on keys with one {hash tag}, refuses keys in different slots with CROSSSLOT', async () => {
      const tag = `${prefix}{same}`;
      expect(await cluster.mset(`${tag}:a`, '1', `${tag}:b`, '2')).toBe('OK');
      expect(await cluster.mget(`${tag}:a`, `${tag}:b`)).toEqual(['1', '2']);

      // Two keys the server itself says are in different slots.
      const slot = async (key: string) => Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
      const first = `${prefix}x0`;
      let second = `${prefix}x1`;
      for (let i = 2; (await slot(second)) === (await slot(first)); i++) second = `${prefix}x${i}`;
      await expect(cluster.mset(first, '1', second, '2')).rejects.toThrow(/CROSSSLOT/);
    });

    it('finds and deletes the keys of a prefix on every master, and nothing else', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `${prefix}k${i}`);
      await Promise.all(keys.map((key) => cluster.set(key, 'v', 'EX', 60)));
      await cluster.set(`${other}survivor`, 'x', 'EX', 60);

      // The keys really are spread over several masters.
      const perMaster = await Promise.all(
        cluster.nodes('master').map(async (node) => (await node.scan('0', 'MATCH', `${prefix}k*`, 'COUNT', 1000))[1].length),
      );
      expect(perMaster.filter((count) => count > 0).length).toBeGreaterThan(1);

      const found = await allKeysWithPrefix(cluster, prefix);
      expect(found).toEqual(expect.arrayContaining(keys));
      expect(found.every((key) => key.startsWith(prefix))).toBe(true);

      await cleanupPrefix(cluster, prefix);
      expect(await allKeysWithPrefix(cluster, prefix)).toEqual([]);
      expect(await cluster.get(`${other}survivor`)).toBe('x');

      expect(await cleanupPrefix(cluster, other)).toBe(1);
      expect(await cluster.exists(`${other}survivor`)).toBe(0);
    });
  });
});
