import { sha256Base64url } from '../crypto/fast-crypto';

/**
 * What the store has told this process about locks (a locked user, an IP over its ceiling, a
 * client over its limit), so a locked attempt is refused before its password is hashed (RFC 6749
 * §4.3.2) without asking Redis. A lock is kept until it ends, but believed for at most
 * `recheckAfter` seconds: an operator's unlock (another process) then takes effect everywhere
 * within that time, at the cost of one checked attempt per lock and interval. Bounded: the oldest
 * entries give way once it is full (a forgotten lock is found again by the store).
 */
export class LockoutCache {
  private readonly locks = new Map<string, { readonly end: number; readonly recheckAt: number }>();

  constructor(
    private readonly capacity = 10_000,
    private readonly recheckAfter = 10,
  ) {}

  /** Seconds until the longest-lasting lock among `keys` ends; 0 when none is known. */
  retryAfter(...keys: string[]): number {
    const now = Date.now();
    let end = 0;
    for (const key of keys) end = Math.max(end, this.live(key, now));
    return end === 0 ? 0 : Math.max(1, Math.ceil((end - now) / 1000));
  }

  /** Remembers that `key` is locked for `seconds`. */
  lock(key: string, seconds: number): void {
    this.locks.delete(key);
    if (this.locks.size >= this.capacity) this.locks.delete(this.locks.keys().next().value!);
    const now = Date.now();
    this.locks.set(key, { end: now + seconds * 1000, recheckAt: now + Math.min(seconds, this.recheckAfter) * 1000 });
  }

  private live(key: string, now: number): number {
    const lock = this.locks.get(key);
    if (lock === undefined) return 0;
    if (lock.recheckAt <= now) {
      this.locks.delete(key);
      return 0;
    }
    return lock.end;
  }
}

/** A fixed-length key for a failure counter (usernames, client ids and IPs are the caller's strings). */
export function counterKey(text: string): string {
  return sha256Base64url(text).slice(0, 22);
}

/** The cache keys of the password grant's and client authentication's locks. */
// JSON arrays: no two different (kind, parts) give the same key, whatever the parts contain.
export const lockKey = {
  user: (loginKey: string) => JSON.stringify(['user', loginKey]),
  userAtIp: (loginKey: string, ip: string) => JSON.stringify(['user at ip', loginKey, ip]),
  ip: (ip: string) => JSON.stringify(['ip', ip]),
  client: (clientId: string, ip: string) => JSON.stringify(['client', clientId, ip]),
} as const;
