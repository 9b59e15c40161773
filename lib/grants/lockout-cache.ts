/**
 * What the store has told this process about locked logins, kept until each lock ends, so a
 * locked attempt is refused before its password is hashed (RFC 6749 §4.3.2) without asking Redis.
 * Bounded: the oldest entries give way once it is full (a forgotten lock is found again by the
 * store on the next attempt, at the cost of one hash).
 */
export class LockoutCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** Seconds until the lock of `loginKey` (for `ip`, or everywhere) ends; 0 when none is known. */
  lockedFor(loginKey: string, ip: string): number {
    const now = Date.now();
    const end = Math.max(this.live(`${loginKey}\n`, now), this.live(`${loginKey}\n${ip}`, now));
    return end === 0 ? 0 : Math.max(1, Math.ceil((end - now) / 1000));
  }

  /** Remembers a lock of `loginKey` for `ip`, or for every IP when `ip` is `undefined`. */
  lock(loginKey: string, ip: string | undefined, seconds: number): void {
    const key = `${loginKey}\n${ip ?? ''}`;
    this.until.delete(key);
    if (this.until.size >= this.capacity) this.until.delete(this.until.keys().next().value!);
    this.until.set(key, Date.now() + seconds * 1000);
  }

  /** Forgets every lock of `loginKey` (after a successful login or an operator's unlock). */
  forget(loginKey: string, ip: string): void {
    this.until.delete(`${loginKey}\n${ip}`);
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
