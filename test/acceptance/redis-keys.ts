import { allKeysWithPrefix, cleanupPrefix, createTestRedis, type TestRedisClient } from '../support/redis';

/** Runs `use` with a fresh client of the test Redis (or Cluster), quitting it afterwards. */
export async function withTestRedis<T>(
  use: (client: TestRedisClient) => Promise<T>,
  connect: () => TestRedisClient = createTestRedis,
): Promise<T> {
  const client = connect();
  try {
    return await use(client);
  } finally {
    await client.quit();
  }
}

/** Deletes the keys a gateway wrote under `REDIS_KEY_PREFIX=prefix`, and nothing else. */
export function deleteGatewayKeys(prefix: string, connect?: () => TestRedisClient): Promise<number> {
  return withTestRedis((client) => cleanupPrefix(client, prefix), connect);
}

/** The keys a gateway wrote under `REDIS_KEY_PREFIX=prefix`. */
export function gatewayKeys(prefix: string, connect?: () => TestRedisClient): Promise<string[]> {
  return withTestRedis((client) => allKeysWithPrefix(client, prefix), connect);
}
