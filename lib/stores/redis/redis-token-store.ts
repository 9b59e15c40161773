import { DEFAULTS } from '../../defaults';
import { OptionError } from '../../errors/option-error';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { UnavailableError } from '../../errors/unavailable-error';
import type { TokenSecret } from '../../tokens/token-codec';
import { failureCounter } from '../failure-counter';
import { ScriptedTokenStore } from '../scripted-token-store';
import type { FailureCounter } from '../token-store';
import type { Reply, ScriptName, ScriptRunner } from '../scripts';
import { luaScripts } from './lua-scripts';

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /**
   * An ioredis `Redis` (single node or Sentinel) or `Cluster`. For quick 503s during an outage,
   * create it with `enableOfflineQueue: false` and a small `maxRetriesPerRequest`; the store
   * bounds every call by `operationTimeout` in any case.
   */
  readonly redis: Redis | Cluster;
  /** Server secret(s) for token MACs, newest first; ≥ 32 characters each. */
  readonly secret: TokenSecret;
  /**
   * Prefix of every key this store writes.
   * @default "oauth:"
   */
  readonly keyPrefix?: string | undefined;
  /**
   * Milliseconds after which a Redis call counts as failed (`UnavailableError`).
   * @default 1000
   */
  readonly operationTimeout?: number | undefined;
}

type Command = (...args: (string | number)[]) => Promise<Reply>;

/**
 * Redis answers that mean "not now" rather than "bug": answered with 503. OOM is Redis at its
 * `maxmemory` with `noeviction`; READONLY a replica after a failover; the others are Cluster and
 * replication states that pass.
 */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK|OOM|MISCONF|NOSCRIPT|UNBLOCKED|NOAUTH|WRONGPASS|NOPERM)\b/;

/**
 * {@link TokenStore} on Redis (single node, Sentinel or Cluster). Each operation is one Lua
 * script (validating an access token: one `HMGET`), so one round trip; all keys of a call share
 * the hash tag of one user.
 *
 * @example
 * import Redis from 'ioredis';
 * const store = new RedisTokenStore({
 *   redis: new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
 *   secret: process.env.TOKEN_SECRET!,
 * });
 */
export class RedisTokenStore extends ScriptedTokenStore {
  readonly keyPrefix: string;
  readonly operationTimeout: number;
  private readonly redis: Redis | Cluster;
  protected readonly scripts: ScriptRunner;
  protected readonly deadline: number;

  constructor(options: RedisTokenStoreOptions) {
    if (!options || typeof options !== 'object') throw new OptionError('options', 'must be an object');
    const redis = options.redis as unknown;
    if (!redis || typeof (redis as { defineCommand?: unknown }).defineCommand !== 'function') {
      throw new OptionError('options.redis', 'must be an ioredis Redis or Cluster instance');
    }
    const keyPrefix = options.keyPrefix ?? DEFAULTS.stores.keyPrefix;
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) {
      throw new OptionError('options.keyPrefix', 'must be a string without "{" or "}"');
    }
    const operationTimeout = options.operationTimeout ?? DEFAULTS.stores.operationTimeout;
    if (!Number.isInteger(operationTimeout) || operationTimeout <= 0) {
      throw new OptionError('options.operationTimeout', 'must be a positive integer (milliseconds)');
    }
    // Keys the scripts find through data are built from ARGV[1]; ioredis' own `keyPrefix` only
    // prefixes KEYS, so it goes into the base too.
    const clientPrefix = (options.redis.options as { keyPrefix?: string } | undefined)?.keyPrefix ?? '';
    super(options.secret, `${clientPrefix}${keyPrefix}`);
    this.keyPrefix = keyPrefix;
    this.operationTimeout = operationTimeout;
    this.deadline = operationTimeout;
    this.redis = options.redis;
    for (const script of Object.values(luaScripts)) {
      this.redis.defineCommand(script.command, {
        lua: script.lua,
        readOnly: script.readOnly,
        ...(script.numberOfKeys === undefined ? {} : { numberOfKeys: script.numberOfKeys }),
      });
    }
    const commands = this.redis as unknown as Record<string, Command>;
    const prefixLength = clientPrefix.length;
    this.scripts = {
      run: (name: ScriptName, keys, args) => {
        const script = luaScripts[name];
        // ioredis adds its keyPrefix to KEYS itself.
        const unprefixed = prefixLength === 0 ? keys : keys.map((k) => k.slice(prefixLength));
        const call =
          script.numberOfKeys === undefined
            ? commands[script.command]!.call(this.redis, unprefixed.length, ...unprefixed, ...args)
            : commands[script.command]!.call(this.redis, ...unprefixed, ...args);
        return this.bounded(call);
      },
      fields: (key, fields) => this.bounded(this.redis.hmget(prefixLength === 0 ? key : key.slice(prefixLength), ...fields)),
    };
  }

  async ping(): Promise<void> {
    await this.bounded(this.redis.ping());
  }

  failureCounter(name: string, limit: number, window: number): FailureCounter {
    const limiter = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: `${this.keyPrefix}limit:${name}`,
      points: limit,
      duration: window,
    });
    // One EVALSHA per failure; the wrapper bounds it by the store's timeout like every other call.
    return failureCounter(new RLWrapperTimeouts({ limiter, timeoutMs: this.operationTimeout }), toStoreError);
  }

  protected tooLate(): Error {
    return new UnavailableError('Redis ran the call after the caller had given up on it; nothing was changed');
  }

  /**
   * Bounds a Redis call by `operationTimeout` and maps outages to `UnavailableError`: one promise
   * and one timer per call (this is on every request's path). An answer after the timeout is
   * dropped; the call's own failure is always handled, so a late one is never unhandled.
   */
  private bounded<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UnavailableError(`Redis did not answer within ${this.operationTimeout} ms`)),
        this.operationTimeout,
      );
      call.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(toStoreError(error));
        },
      );
    });
  }
}

/**
 * An outage (no connection, a timeout, a transient Redis answer) becomes `UnavailableError`;
 * anything else is a bug and stays an error. Either way the message carries no command arguments
 * (ioredis' errors hold them in `command.args`: hashes, seeds), and the cause is kept without them.
 */
function toStoreError(error: unknown): Error {
  if (error instanceof UnavailableError) return error;
  const { name, message } = error as { name?: string; message?: string };
  const text = String(message ?? error)
    .split('\n')[0]!
    .slice(0, 200);
  const cause = scrubbed(error);
  if (name === 'ReplyError' && !TRANSIENT_REPLY.test(text)) {
    return new Error(`Redis refused a token store script: ${text}`, { cause });
  }
  return new UnavailableError(`Redis is unavailable: ${text}`, { cause });
}

/** The error without the command it came with (ioredis attaches `command: { name, args }`). */
function scrubbed(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const copy = new Error(error.message.split('\n')[0]!.slice(0, 200));
  copy.name = error.name;
  return copy;
}
