import { DEFAULTS } from '../../defaults';
import { OptionError } from '../../errors/option-error';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { TokenSecret } from '../../tokens/token-codec';
import { failureCounter } from '../failure-counter';
import type { FailureCounter } from '../token-store';
import { ScriptedTokenStore } from '../scripted-token-store';
import type { ScriptRunner } from '../scripts';
import { Keyspace } from './keyspace';
import { runTwin } from './scripts';

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** Server secret(s) for token MACs, newest first; ≥ 32 characters each. */
  readonly secret: TokenSecret;
  /**
   * Milliseconds between sweeps of expired records (the sweep timer does not keep the process alive).
   * @default 60000
   */
  readonly sweepInterval?: number | undefined;
  /**
   * The records to work on. Two stores given the same `MemoryTokenData` see the same tokens,
   * as two processes on one Redis do (for example while rotating secrets).
   * @default a new, private `MemoryTokenData`
   */
  readonly data?: MemoryTokenData | undefined;
}

/** The records behind one or more {@link MemoryTokenStore}s: the same keys a Redis store writes. */
export class MemoryTokenData extends Keyspace {}

/**
 * {@link TokenStore} in process memory: the embedded default for trying the plugin out and for
 * tests without Redis. It runs TS twins of the Redis store's Lua scripts on the same keys and
 * fields, and passes the same contract suite; state is lost on restart and not shared between
 * processes.
 *
 * @example
 * const store = new MemoryTokenStore({ secret: process.env.TOKEN_SECRET! });
 */
export class MemoryTokenStore extends ScriptedTokenStore {
  /** The records, as `MemoryTokenData` (a keyspace of Redis-like keys). */
  readonly data: MemoryTokenData;
  protected readonly scripts: ScriptRunner;
  // Every script here runs to its end at once: the caller never gives up on one.
  protected readonly deadline = 10 ** 12;

  constructor(options: MemoryTokenStoreOptions) {
    if (!options || typeof options !== 'object') throw new OptionError('options', 'must be an object');
    const sweepInterval = options.sweepInterval ?? DEFAULTS.stores.sweepInterval;
    if (!Number.isInteger(sweepInterval) || sweepInterval <= 0) {
      throw new OptionError('options.sweepInterval', 'must be a positive integer (milliseconds)');
    }
    if (options.data !== undefined && !(options.data instanceof MemoryTokenData)) {
      throw new OptionError('options.data', 'must be a MemoryTokenData');
    }
    super(options.secret, DEFAULTS.stores.keyPrefix);
    const data = options.data ?? new MemoryTokenData();
    data.startSweeping(sweepInterval);
    this.data = data;
    // Each twin runs synchronously inside its promise: atomic on the event loop.
    this.scripts = {
      run: async (name, keys, args) => runTwin(data, name, keys, args),
      fields: async (key, fields) => data.hmget(key, ...fields).map((value) => value ?? null),
    };
  }

  async ping(): Promise<void> {}

  failureCounter(name: string, limit: number, window: number): FailureCounter {
    return failureCounter(new RateLimiterMemory({ keyPrefix: name, points: limit, duration: window }), (error) => error);
  }

  /** Stops the sweep timer of this store's data. */
  close(): void {
    this.data.close();
  }

  protected tooLate(): Error {
    return new Error('unreachable: the memory store never runs a call late');
  }
}
