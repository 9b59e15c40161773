import { MemoryTokenStore, RedisTokenStore, type TokenStore } from '../../lib';
import { cleanupPrefix, createTestRedis, uniquePrefix } from './redis';

// What every HTTP-level suite shares (test/http, test/compliance, test/faults …): the users and
// scopes, how clients authenticate, form bodies, and the two stores each suite runs on.

/** The resource owners of the test gateways. */
export const USERS = [
  { username: 'alice', password: 'wonderland', roles: ['subscriber'] },
  { username: 'bob', password: 'builder', roles: ['admin'] },
];

export const SCOPES = { 'orders:read': ['subscriber', 'admin'], 'orders:write': ['admin'] };

/** RFC 6749 Appendix B: application/x-www-form-urlencoded, as §2.3.1 applies it to credentials. */
export function formUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** `Authorization: Basic …` as RFC 6749 §2.3.1 builds it (form-urlencoded, then base64). */
export function basicHeader(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`).toString('base64')}`;
}

/** A form body (for supertest's `.send()` or fetch). */
export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

export interface StoreHandle {
  readonly store: TokenStore;
  close(): Promise<void>;
}

export type StoreKind = 'MemoryTokenStore' | 'RedisTokenStore';
export const STORE_KINDS: readonly StoreKind[] = ['MemoryTokenStore', 'RedisTokenStore'];

/** A store for one suite; the Redis one (on the test Redis) lives under a key prefix of its own, cleaned on close. */
export function openStore(kind: StoreKind, suite: string, secret: string): StoreHandle {
  if (kind === 'MemoryTokenStore') {
    const store = new MemoryTokenStore({ secret });
    return { store, close: async () => store.close() };
  }
  const redis = createTestRedis();
  const keyPrefix = uniquePrefix(suite);
  return {
    store: new RedisTokenStore({ redis, secret, keyPrefix }),
    close: async () => {
      await cleanupPrefix(redis, keyPrefix);
      await redis.quit();
    },
  };
}
