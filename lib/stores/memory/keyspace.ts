/**
 * The Redis commands the stores' scripts use, on process memory: strings, hashes and sorted
 * sets with millisecond TTLs, expired lazily on access and by a periodic sweep. The memory
 * store's scripts (`scripts.ts`) are line-by-line twins of the Lua scripts on this keyspace, so
 * both stores hold the same keys and fields.
 */

type Value = string | Map<string, string> | Map<string, number>;

interface Entry {
  readonly value: Value;
  /** Epoch ms, or `Infinity` for no TTL. */
  expiresAt: number;
}

export class Keyspace {
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | undefined;

  /** Drops expired keys every `interval` ms (the timer does not keep the process alive). */
  startSweeping(interval: number): void {
    this.sweeper ??= setInterval(() => this.sweep(), interval).unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** How many live keys there are (DBSIZE). */
  size(): number {
    this.sweep();
    return this.entries.size;
  }

  get(key: string): string | undefined {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  /** SET key value PX ttl */
  set(key: string, value: string, ttl: number): void {
    this.entries.set(key, { value, expiresAt: Date.now() + ttl });
  }

  /** DEL: how many of the keys existed. */
  del(...keys: string[]): number {
    let count = 0;
    for (const key of keys) if (this.live(key) && this.entries.delete(key)) count += 1;
    return count;
  }

  /** PTTL: ms left, -1 without a TTL, -2 for a missing key. */
  pttl(key: string): number {
    const entry = this.live(key);
    if (!entry) return -2;
    return entry.expiresAt === Infinity ? -1 : Math.max(0, entry.expiresAt - Date.now());
  }

  /** RENAME: the value and TTL move to `to` (replacing whatever it held); `from` must exist. */
  rename(from: string, to: string): void {
    const entry = this.live(from);
    if (!entry) throw new Error('ERR no such key');
    this.entries.delete(from);
    this.entries.set(to, entry);
  }

  pexpire(key: string, ttl: number): void {
    const entry = this.live(key);
    if (entry) entry.expiresAt = Date.now() + ttl;
  }

  hget(key: string, field: string): string | undefined {
    return this.hash(key)?.get(field);
  }

  hmget(key: string, ...fields: string[]): (string | undefined)[] {
    const hash = this.hash(key);
    return fields.map((field) => hash?.get(field));
  }

  hset(key: string, fields: Readonly<Record<string, string | number>>): void {
    const hash = this.hash(key, true)!;
    for (const [field, value] of Object.entries(fields)) hash.set(field, String(value));
  }

  hdel(key: string, field: string): void {
    const hash = this.hash(key);
    if (!hash) return;
    hash.delete(field);
    if (hash.size === 0) this.entries.delete(key);
  }

  hexists(key: string, field: string): boolean {
    return this.hash(key)?.has(field) ?? false;
  }

  hlen(key: string): number {
    return this.hash(key)?.size ?? 0;
  }

  hincrby(key: string, field: string, by: number): number {
    const hash = this.hash(key, true)!;
    const value = Number(hash.get(field) ?? 0) + by;
    hash.set(field, String(value));
    return value;
  }

  zadd(key: string, score: number, member: string): void {
    this.zset(key, true)!.set(member, score);
  }

  zrem(key: string, member: string): void {
    const zset = this.zset(key);
    if (!zset) return;
    zset.delete(member);
    if (zset.size === 0) this.entries.delete(key);
  }

  /**
   * ZRANGE key min max BYSCORE (`(` bounds with minOpen / maxOpen): members by score, then by
   * member (byte order), as Redis orders them.
   */
  zrangebyscore(key: string, min: number, max: number, minOpen = false, maxOpen = false): string[] {
    const zset = this.zset(key);
    if (!zset) return [];
    return [...zset]
      .filter(([, score]) => (minOpen ? score > min : score >= min) && (maxOpen ? score < max : score <= max))
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .map(([member]) => member);
  }

  zscore(key: string, member: string): number | undefined {
    return this.zset(key)?.get(member);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private hash(key: string, create = false): Map<string, string> | undefined {
    return this.typed(
      key,
      create,
      () => new Map<string, string>(),
      (value) => value instanceof Map,
    ) as Map<string, string> | undefined;
  }

  private zset(key: string, create = false): Map<string, number> | undefined {
    return this.typed(
      key,
      create,
      () => new Map<string, number>(),
      (value) => value instanceof Map,
    ) as Map<string, number> | undefined;
  }

  private typed(key: string, create: boolean, make: () => Value, is: (value: Value) => boolean): Value | undefined {
    const entry = this.live(key);
    if (entry) {
      // A script bug, as Redis' WRONGTYPE would be.
      if (!is(entry.value)) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
      return entry.value;
    }
    if (!create) return undefined;
    const value = make();
    this.entries.set(key, { value, expiresAt: Infinity });
    return value;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
