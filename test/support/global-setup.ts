import { type RedisClusterHandle, type RedisServerHandle, startRedis, startRedisCluster, stopAll } from './redis-servers';

// Jest globalSetup: gives the suite a standalone Redis (REDIS_URL) and a Redis Cluster
// (REDIS_CLUSTER_NODES). A variable that is already set is used as it is; otherwise a private
// server / 3-node cluster is started on free ports of 127.0.0.1. The environment variables set
// here are inherited by the jest workers, which are spawned after globalSetup has finished.

/** What this setup started, so that teardown stops exactly that and nothing else. */
export interface StartedRedis {
  servers: (RedisServerHandle | RedisClusterHandle)[];
  /** Environment variables this setup set (and teardown removes again, e.g. for watch mode). */
  env: string[];
}

export const STARTED_KEY = Symbol.for('express-oauth-device-tokens/test/started-redis');

type WithStarted = typeof globalThis & { [STARTED_KEY]?: StartedRedis };

export function takeStartedRedis(): StartedRedis | undefined {
  const holder = globalThis as WithStarted;
  const started = holder[STARTED_KEY];
  delete holder[STARTED_KEY];
  return started;
}

export default async function globalSetup(): Promise<void> {
  const wantServer = !process.env.REDIS_URL;
  const wantCluster = !process.env.REDIS_CLUSTER_NODES;
  const [server, cluster] = await Promise.allSettled([
    wantServer ? startRedis() : Promise.resolve(undefined),
    wantCluster ? startRedisCluster() : Promise.resolve(undefined),
  ]);
  const servers: (RedisServerHandle | RedisClusterHandle)[] = [];
  if (server.status === 'fulfilled' && server.value) servers.push(server.value);
  if (cluster.status === 'fulfilled' && cluster.value) servers.push(cluster.value);
  const failed = [server, cluster].find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    // Jest does not run globalTeardown when globalSetup throws: stop what did start.
    await stopAll(servers).catch(() => undefined);
    throw failed.reason;
  }

  const env: string[] = [];
  if (server.status === 'fulfilled' && server.value) {
    process.env.REDIS_URL = server.value.url;
    env.push('REDIS_URL');
  }
  if (cluster.status === 'fulfilled' && cluster.value) {
    process.env.REDIS_CLUSTER_NODES = cluster.value.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
    env.push('REDIS_CLUSTER_NODES');
  }
  (globalThis as WithStarted)[STARTED_KEY] = { servers, env };
}
