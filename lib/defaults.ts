/**
 * Every default of the package, once: the router's options (`createTokenRouter()`), the
 * session and abuse policies, the request limits and the stores' own. The code reads them from
 * here, the README's options reference and the example gateway's config docs name them, and
 * `test/unit/defaults.test.ts` checks the README against this object.
 */
export const DEFAULTS = {
  router: {
    /** Access token lifetime, seconds. */
    accessTokenTtl: 3600,
    /** Refresh token lifetime, seconds. */
    refreshTokenTtl: 86400,
    /** Scope granted when no ordinary scope is left. */
    defaultScope: 'default',
    /** Device scopes: granted without the permission check, part of the token's identity. */
    deviceScopePatterns: ['^device_'],
    reuseTokens: true,
    /** A token with this many seconds or fewer left is replaced, not reused (at most half its lifetime). */
    reuseMinRemaining: 60,
    /** Largest accepted request body. */
    bodyLimit: '16kb',
    deviceEndpoints: false,
  },
  sessions: {
    /** Seconds a refresh token just rotated away still answers with the current pair. */
    refreshGracePeriod: 30,
    /** Live sessions of one user with one client (0: no bound). */
    maxDevicesPerUser: 50,
    onDeviceLimit: 'end-oldest' as 'end-oldest' | 'refuse',
    requireDevice: false,
  },
  loginLockout: {
    /** Failed logins of one user from one IP that lock the user for that IP. */
    perIp: 10,
    /** Failed logins of one user from every IP that lock the user everywhere. */
    perUser: 100,
    /** Failed logins from one IP, whatever the usernames, that lock that IP out. */
    ipCeiling: 100,
    /** Seconds from the first counted failure until the counts end. */
    window: 15 * 60,
  },
  clientLockout: {
    /** Failed authentications of one client id from one IP that block that pair. */
    perIp: 20,
    /** Seconds from the first counted failure until the count ends. */
    window: 5 * 60,
  },
  limits: {
    /** Distinct scope tokens in one `scope` parameter. */
    scopes: 32,
    /** Characters of one scope token. */
    scopeLength: 128,
    /** Characters of `username`. */
    username: 256,
    /** Characters of any other parameter. */
    other: 4096,
  },
  stores: {
    /** Prefix of every Redis key. */
    keyPrefix: 'oauth:',
    /** Milliseconds after which a Redis call counts as failed. */
    operationTimeout: 1000,
    /** Milliseconds between sweeps of the memory store's expired records. */
    sweepInterval: 60_000,
  },
  requireToken: {
    realm: 'api',
  },
} as const;
