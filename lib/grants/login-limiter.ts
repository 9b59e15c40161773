import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StoreUnavailableError, TooManyLoginAttemptsError } from '../errors/oauth-error';

/**
 * RFC 6749 §4.3.2: "the authorization server MUST protect the endpoint against brute force
 * attacks (e.g., using rate-limitation or generating alerts)". Failed password logins count
 * against the username in a rate-limiter-flexible limiter; once its points are used up, every
 * login of that user (right password or not) answers 429 until the limiter's window has passed,
 * so a guesser learns nothing from the answers. A successful login resets the count.
 */

/** 10 failed logins per user in 15 minutes. */
export const DEFAULT_LOGIN_LIMIT = { points: 10, duration: 15 * 60 } as const;

export interface LoginLimiter {
  /** Call after the password was wrong. @throws TooManyLoginAttemptsError when the user is now past the limit. */
  failed(username: string): Promise<void>;
  /** Call after the password was right. @throws TooManyLoginAttemptsError while the user is locked. */
  passed(username: string): Promise<void>;
}

const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/** A rejection of the limiter: over the limit (429), or its own store is down (503). */
function limiterRejection(error: unknown): never {
  if (error instanceof RateLimiterRes) throw new TooManyLoginAttemptsError(retryAfter(error));
  throw new StoreUnavailableError(`the login rate limiter is unavailable: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

export function loginLimiter(limiter: RateLimiterAbstract): LoginLimiter {
  return {
    async failed(username) {
      await limiter.consume(username).catch(limiterRejection);
    },
    async passed(username) {
      const res = await limiter.get(username).catch(limiterRejection);
      if (res === null || res.consumedPoints === 0) return;
      if (res.remainingPoints <= 0) throw new TooManyLoginAttemptsError(retryAfter(res));
      await limiter.delete(username).catch(limiterRejection);
    },
  };
}

/** `options.loginLimiter`: a limiter, `false` for none, or the in-memory default. */
export function normalizeLoginLimiter(value: unknown): LoginLimiter | undefined {
  if (value === false) return undefined;
  if (value === undefined) return loginLimiter(new RateLimiterMemory(DEFAULT_LOGIN_LIMIT));
  const candidate = value as Partial<RateLimiterAbstract> | null;
  if (!candidate || typeof candidate.consume !== 'function' || typeof candidate.get !== 'function' || typeof candidate.delete !== 'function') {
    throw new TypeError('options.loginLimiter must be a rate-limiter-flexible limiter (RateLimiterMemory, RateLimiterRedis …) or false');
  }
  return loginLimiter(value as RateLimiterAbstract);
}
