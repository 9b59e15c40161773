import { createHash } from 'node:crypto';

/**
 * What the store has told this process about locks (a locked user, an IP over its ceiling, a
 * client over its limit), kept until each ends, so a locked attempt is refused before its
 * password is hashed (RFC 6749 §4.3.2) without asking Redis. Bounded: the oldest entries give way
 * once it is full (a forgotten lock is found again by the store on the next attempt).
 */
export class LockoutCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** Seconds until the longest-lasting lock among `keys` ends; 0 when none is known. */
  retryAfter(...keys: string[]): number {
    const now = Date.now();
    let end = 0;
    for (const key of keys) end = Math.max(end, this.live(key, now));
    return end === 0 ? 0 : Math.max(1, Math.ceil((end - now) / 1000));
  }

  /** Remembers that `key` is locked for `seconds`. */
  lock(key: string, seconds: number): void {
    this.until.delete(key);
    if (this.until.size >= this.capacity) this.until.delete(this.until.keys().next().value!);
    this.until.set(key, Date.now() + seconds * 1000);
  }

  private live(key: string, now: number): number {
    const end = this.until.get(key);
    if (end === undefined) return 0;
    if (end <= now) {
      this.until.delete(key);
      return 0;
    }
    return end;
  }
}

/** A fixed-length key for a failure counter (usernames, client ids and IPs are the caller's strings). */
export function counterKey(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** The cache keys of the password grant's and client authentication's locks. */
export const lockKey = {
  user: (loginKey: string) => `u\n${loginKey}`,
  userAtIp: (loginKey: string, ip: string) => `u\n${loginKey}\n${ip}`,
  ip: (ip: string) => `i\n${ip}`,
  client: (clientId: string, ip: string) => `c\n${clientId}\n${ip}`,
} as const;
