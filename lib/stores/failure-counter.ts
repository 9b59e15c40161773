import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { UnavailableError } from '../errors/unavailable-error';
import type { FailureCounter } from './token-store';

/**
 * A {@link FailureCounter} on a rate-limiter-flexible limiter: each failure consumes one point;
 * the key is blocked once its points are used up, until the limiter's window ends. A limiter that
 * cannot answer (its backend down or slow) is the store being unavailable.
 */
export function failureCounter(limiter: Pick<RateLimiterAbstract, 'consume'>, toError: (error: unknown) => unknown): FailureCounter {
  const blockedFor = (res: RateLimiterRes) => (res.remainingPoints > 0 ? 0 : Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
  return {
    async fail(key) {
      try {
        return blockedFor(await limiter.consume(key));
      } catch (error) {
        if (error instanceof RateLimiterRes) return blockedFor(error);
        const mapped = toError(error);
        throw mapped instanceof Error ? mapped : new UnavailableError('the failure counter is unavailable', { cause: error });
      }
    },
  };
}
