import { randomBytes } from 'node:crypto';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

// Helpers for test files. The servers come from test/support/global-setup.ts (private ones on free
// ports, or REDIS_URL / REDIS_CLUSTER_NODES when set). Every test file works under its own key
// prefix and deletes only the keys under that prefix: never FLUSHALL / FLUSHDB.

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export type TestRedisClient = Redis | Cluster;

const NOT_SET =
  'is not set: run the tests through jest (test/support/global-setup.ts starts private Redis servers), ' +
  'or set it to an existing server';

/** The standalone Redis of the test run: `REDIS_URL`. */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error(`REDIS_URL ${NOT_SET} (redis://host:port)`);
  return url;
}

/** The Redis Cluster of the test run: `REDIS_CLUSTER_NODES` (`host:port,host:port,...`). */
export function clusterNodes(): RedisNodeAddress[] {
  const value = process.env.REDIS_CLUSTER_NODES;
  if (!value) throw new Error(`REDIS_CLUSTER_NODES ${NOT_SET} (host:port,host:port,...)`);
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      const host = entry.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      const port = Number(entry.slice(colon + 1));
      if (colon <= 0 || !host || !Number.isInteger(port) || port <= 0 || port > 65_535) {
        throw new Error(`REDIS_CLUSTER_NODES: "${entry}" is not host:port`);
      }
      return { host, port };
    });
}

/** A client for the standalone test Redis. The caller quits it (e.g. in afterAll). */
// ioredis' own option types disagree about `replyMapping` under exactOptionalPropertyTypes
// (`RedisOptions` allows undefined, the constructors do not): the helpers take options without it.
export function createTestRedis(options: Omit<RedisOptions, 'replyMapping'> = {}): Redis {
  return new Redis(redisUrl(), options);
}

/** A client for the test Redis Cluster. The caller quits it (e.g. in afterAll). */
export function createTestCluster(options: Omit<ClusterOptions, 'redisOptions'> = {}): Cluster {
  return new Cluster(clusterNodes(), options);
}

/**
 * A key prefix of its own for a test file or suite: `test:<name>:<12 hex>:`. Characters of `name`
 * that mean something to Redis (glob patterns, `{hash tags}`, spaces) become `_`.
 */
export function uniquePrefix(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.:-]/g, '_');
  return `test:${safe}:${randomBytes(6).toString('hex')}:`;
}

/** `prefix` as a SCAN MATCH pattern matching exactly the keys that start with it. */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\*?[\]]/g, '\\$&')}*`;
}

function checkArguments(client: TestRedisClient, prefix: string): void {
  if (!prefix) throw new Error('refusing to scan/delete with an empty key prefix');
  if (client.options.keyPrefix) {
    throw new Error('use a client without the ioredis keyPrefix option: SCAN patterns are not prefixed by ioredis');
  }
}

/** `isCluster` rather than instanceof: works for a client from another copy of ioredis too. */
function isCluster(client: TestRedisClient): client is Cluster {
  return client.isCluster;
}

/** Waits until a Cluster client has its slot map, so that `nodes('master')` is complete. */
async function clusterReady(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') return;
  if (cluster.status === 'wait') {
    await cluster.connect();
    return;
  }
  if (cluster.status === 'end' || cluster.status === 'close' || cluster.status === 'disconnecting') {
    throw new Error(`the cluster client is ${cluster.status}`);
  }
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      cluster.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      cluster.off('ready', onReady);
      reject(new Error('the cluster client ended before it was ready'));
    };
    cluster.once('ready', onReady);
    cluster.once('end', onEnd);
  });
}

/** The connections to scan: the client itself, or every master of a cluster. */
async function scanTargets(client: TestRedisClient): Promise<Redis[]> {
  if (isCluster(client)) {
    await clusterReady(client);
    const masters = client.nodes('master');
    if (masters.length === 0) throw new Error('the cluster client knows no master nodes');
    return masters;
  }
  return [client];
}

/** Every key (as raw bytes) starting with `prefix`, over all targets, without duplicates. */
async function scanKeys(client: TestRedisClient, prefix: string): Promise<Buffer[]> {
  const pattern = prefixPattern(prefix);
  const found = new Map<string, Buffer>();
  for (const node of await scanTargets(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const key of keys) found.set(key.toString('hex'), key);
      cursor = next.toString();
    } while (cursor !== '0');
  }
  return [...found.values()];
}

/** Every key that starts with `prefix` (sorted), on a standalone Redis or across all masters of a cluster. */
export async function allKeysWithPrefix(client: TestRedisClient, prefix: string): Promise<string[]> {
  checkArguments(client, prefix);
  return (await scanKeys(client, prefix)).map((key) => key.toString()).sort();
}

/**
 * Deletes (UNLINK) exactly the keys that start with `prefix` and nothing else; resolves to how many
 * were deleted. On a cluster every master is scanned and each key is deleted on its own (keys of
 * one prefix live in many slots, and a multi-key command across slots is refused with CROSSSLOT).
 */
export async function cleanupPrefix(client: TestRedisClient, prefix: string): Promise<number> {
  checkArguments(client, prefix);
  const keys = await scanKeys(client, prefix);
  let deleted = 0;
  const BATCH = 500;
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    if (isCluster(client)) {
      const counts = await Promise.all(batch.map((key) => client.unlink(key)));
      deleted += counts.reduce((sum, count) => sum + count, 0);
    } else {
      deleted += await client.unlink(...batch);
    }
  }
  return deleted;
}
