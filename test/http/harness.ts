import express, { type Express } from 'express';
import { createTokenRouter, requireToken, type TokenRouterOptions, type TokenStore } from '../../lib';
import { basicHeader, form, openStore, SCOPES, USERS, type StoreHandle } from '../support/token-app';

export { form, SCOPES, USERS, type StoreHandle };

export const SECRET = 'http-suite-secret-0123456789abcdef0123';

export const IOS_APP = {
  clientId: 'ios-app',
  clientSecret: 'ios-app-secret',
  grants: ['password', 'refresh_token'] as const,
  accessTokenTtl: 3600,
  refreshTokenTtl: 86400,
};
export const ANDROID_APP = {
  clientId: 'android-app',
  clientSecret: 'android-app-secret',
  grants: ['password', 'refresh_token'] as const,
};
export const SERVICE = {
  clientId: 'reporting',
  clientSecret: 'reporting-secret',
  grants: ['client_credentials'] as const,
  roles: ['admin'],
  accessTokenTtl: 900,
};
export const NO_REFRESH = {
  clientId: 'kiosk',
  clientSecret: 'kiosk-secret',
  grants: ['password'] as const,
  accessTokenTtl: 120,
};

/** `Authorization: Basic …` as RFC 6749 §2.3.1 builds it (form-urlencoded, then base64). */
export const basic = basicHeader;

/**
 * A gateway as a user would build it: the token router at the root and a protected
 * `/api/orders` that echoes what `requireToken` tells it.
 */
export function buildApp(store: TokenStore, overrides: Partial<TokenRouterOptions> = {}): Express {
  const app = express();
  app.use(
    createTokenRouter({
      store,
      clients: [IOS_APP, ANDROID_APP, SERVICE, NO_REFRESH],
      users: USERS,
      scopes: SCOPES,
      ...overrides,
    }),
  );
  app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
    res.json({ oauth: req.oauth });
  });
  app.get('/api/anything', requireToken({ store }), (req, res) => {
    res.json({ oauth: req.oauth });
  });
  return app;
}

export function memoryStore(): StoreHandle {
  return openStore('MemoryTokenStore', 'memory', SECRET);
}

/** A RedisTokenStore on the test Redis, under a key prefix of its own that `close()` cleans. */
export function redisStore(name: string): StoreHandle {
  return openStore('RedisTokenStore', name, SECRET);
}

/** The stores every HTTP suite runs against. */
export const STORES: readonly [string, (name: string) => StoreHandle][] = [
  ['MemoryTokenStore', () => memoryStore()],
  ['RedisTokenStore', (name) => redisStore(name)],
];
