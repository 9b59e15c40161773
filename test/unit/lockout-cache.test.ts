import { counterKey, LockoutCache, lockKey } from '../../lib/abuse/lockout-cache';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LockoutCache', () => {
  it('knows no lock at first', () => {
    expect(new LockoutCache().retryAfter('a', 'b')).toBe(0);
    expect(new LockoutCache().retryAfter()).toBe(0);
  });

  it('answers the seconds left of the longest lock among the keys asked for, at least 1', () => {
    const cache = new LockoutCache();
    cache.lock('a', 30);
    cache.lock('b', 0.2);
    expect(cache.retryAfter('a')).toBe(30);
    expect(cache.retryAfter('b')).toBe(1);
    expect(cache.retryAfter('b', 'a', 'c')).toBe(30);
    expect(cache.retryAfter('c')).toBe(0);
  });

  it('forgets a lock once it ends', async () => {
    const cache = new LockoutCache();
    cache.lock('a', 0.05);
    expect(cache.retryAfter('a')).toBe(1);
    await sleep(80);
    expect(cache.retryAfter('a')).toBe(0);
  });

  it('believes a lock for at most recheckAfter seconds (an unlock elsewhere takes effect)', async () => {
    const cache = new LockoutCache(10, 0.05);
    cache.lock('a', 30);
    expect(cache.retryAfter('a')).toBe(30);
    await sleep(80);
    expect(cache.retryAfter('a')).toBe(0);
  });

  it('replaces a lock when it is locked again', () => {
    const cache = new LockoutCache();
    cache.lock('a', 30);
    cache.lock('a', 5);
    expect(cache.retryAfter('a')).toBe(5);
  });

  it('stays bounded: the oldest entry gives way once it is full, and a renewed lock counts as new', () => {
    const cache = new LockoutCache(3);
    cache.lock('a', 30);
    cache.lock('b', 30);
    cache.lock('c', 30);
    cache.lock('a', 30); // renewed: now the newest
    cache.lock('d', 30); // evicts b, the oldest
    expect(['a', 'b', 'c', 'd'].map((key) => cache.retryAfter(key))).toEqual([30, 0, 30, 30]);
  });
});

describe('lockKey', () => {
  it('gives different locks different keys whatever characters usernames and client ids hold', () => {
    const keys = [
      lockKey.user('alice'),
      lockKey.user('alice\n10.0.0.5'), // a username an attacker may type
      lockKey.userAtIp('alice', '10.0.0.5'),
      lockKey.userAtIp('alice', '10.0.0.6'),
      lockKey.ip('10.0.0.5'),
      lockKey.client('app', '10.0.0.5'),
      lockKey.client('app\n10.0.0.5', '10.0.0.5'),
      lockKey.user('i'),
      lockKey.ip('u'),
    ];
    const seen = new Map<string, number>();
    const clashes: [number, number][] = [];
    keys.forEach((key, i) => {
      if (seen.has(key)) clashes.push([seen.get(key)!, i]);
      else seen.set(key, i);
    });
    expect(clashes).toEqual([]);
  });
});

describe('counterKey', () => {
  it('is a fixed-length digest of its input', () => {
    expect(counterKey('a')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(counterKey('a'.repeat(5000))).toHaveLength(22);
    expect(counterKey('a')).toBe(counterKey('a'));
    expect(counterKey('a')).not.toBe(counterKey('b'));
  });
});
