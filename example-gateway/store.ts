import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MemoryTokenStore, RedisTokenStore, type TokenStore } from '../lib';
import type { GatewayEnvironment, RedisTarget } from './environment';

/** The token store the gateway runs on, with what it takes to start and stop it. */
export interface GatewayStore {
  readonly store: TokenStore;
  readonly kind: 'redis' | 'memory';
  /** Connects (Redis); resolves even when Redis is not there yet: requests then get 503 until it is. */
  connect(): Promise<void>;
  /** Closes the connection (Redis) or the sweep timer (memory). */
  close(): Promise<void>;
}

// Bounded waits, so an outage answers 503 within about a second instead of hanging requests
// (README, "Stores": an outage answers 503 within about a second): no offline queue, one retry, short connect timeout.
const CONNECT_TIMEOUT = 2000;
const STARTUP_WAIT = 5000;
const reconnectDelay = (attempt: number) => Math.min(100 + attempt * 200, 2000);

function redisClient(target: RedisTarget): Redis | Cluster {
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
  };
  if (target.kind === 'single') {
    return new Redis(target.url, {
      ...common,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT,
      retryStrategy: reconnectDelay,
    });
  }
  if (target.kind === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: [...target.sentinels],
      name: target.name,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT,
      retryStrategy: reconnectDelay,
      sentinelRetryStrategy: reconnectDelay,
    });
  }
  return new Cluster([...target.nodes], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: CONNECT_TIMEOUT,
    redisOptions: { ...common, maxRetriesPerRequest: 1, connectTimeout: CONNECT_TIMEOUT },
  });
}

/** Logs connection losses and recoveries once each, not once per reconnect attempt. */
function watchConnection(redis: Redis | Cluster, target: RedisTarget, logger: Logger): void {
  let healthy = true;
  redis.on('error', (error: Error) => {
    if (!healthy) return;
    healthy = false;
    logger.warn(
      { redis: target.display, err: { message: error.message } },
      'Redis connection lost: token requests get 503 until it returns',
    );
  });
  redis.on('ready', () => {
    if (healthy) return;
    healthy = true;
    logger.info({ redis: target.display }, 'Redis connection restored');
  });
}

function redisStore(target: RedisTarget, secrets: readonly string[], keyPrefix: string | undefined, logger: Logger): GatewayStore {
  const redis = redisClient(target);
  watchConnection(redis, target, logger);
  const store = new RedisTokenStore({ redis, secret: secrets, ...(keyPrefix === undefined ? {} : { keyPrefix }) });
  return {
    store,
    kind: 'redis',
    async connect() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${STARTUP_WAIT} ms`)), STARTUP_WAIT);
      });
      try {
        await Promise.race([redis.connect(), timeout]);
        const kind = { single: '', cluster: 'Cluster ', sentinel: 'Sentinel master ' }[target.kind];
        logger.info(
          { store: 'redis', redis: target.display, keyPrefix: store.keyPrefix },
          `token store: Redis ${kind}at ${target.display}`,
        );
      } catch (error) {
        // ioredis keeps reconnecting in the background; the gateway serves 503s meanwhile.
        logger.warn(
          { store: 'redis', redis: target.display, err: { message: (error as Error).message } },
          'token store: Redis is not reachable yet; starting anyway, token requests get 503 until it is',
        );
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      // QUIT lets Redis finish what it was sent; an unresponsive Redis must not hold the exit up.
      let timer: NodeJS.Timeout | undefined;
      const quit = redis.quit().then(
        () => true,
        () => false,
      );
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT)));
      const quitInTime = await Promise.race([quit, timeout]);
      clearTimeout(timer);
      if (!quitInTime) redis.disconnect();
    },
  };
}

/**
 * The store the environment asks for: Redis (single node, Cluster or Sentinel) when `REDIS_URL`,
 * `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS` is set, the in-memory store otherwise.
 * @param secrets the server secrets, newest first.
 */
export function createGatewayStore(
  env: Pick<GatewayEnvironment, 'redis' | 'redisKeyPrefix'>,
  secrets: readonly string[],
  logger: Logger,
): GatewayStore {
  if (env.redis) return redisStore(env.redis, secrets, env.redisKeyPrefix, logger);

  const store = new MemoryTokenStore({ secret: secrets });
  return {
    store,
    kind: 'memory',
    async connect() {
      logger.warn(
        { store: 'memory' },
        'token store: in-memory (no REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS set); tokens are lost on restart and not shared between instances',
      );
    },
    async close() {
      store.close();
    },
  };
}
