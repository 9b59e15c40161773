import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eventSink, type AuditEvent, type EventSink } from '../events/audit-event';
import { LockoutCache } from '../abuse/lockout-cache';
import { isDeviceScope } from '../scopes/scope';
import {
  normalizeClientLockout,
  normalizeLoginKey,
  normalizeLoginLockout,
  normalizeSessionPolicy,
  SESSION_DEFAULTS,
  type ClientLockout,
  type DeviceLimitPolicy,
  type LoginLockout,
  type SessionPolicy,
} from './session-options';
import { hashPassword, isPasswordHash, unmatchablePasswordHash, verifyPassword } from '../crypto/password-hash';
import { isScopeToken } from '../scopes/scope';
import type { FailureCounter, TokenStore } from '../stores/token-store';

/** Grant types the token endpoint implements. */
export type GrantType = 'password' | 'client_credentials' | 'refresh_token';
export const GRANT_TYPES: readonly GrantType[] = ['password', 'client_credentials', 'refresh_token'];

/** A registered (confidential) client. */
export interface ClientRecord {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Grant types this client may use. */
  readonly grants: readonly GrantType[];
  /** Access token lifetime in seconds. @default the router's `accessTokenTtl` */
  readonly accessTokenTtl?: number | undefined;
  /** Refresh token lifetime in seconds. @default the router's `refreshTokenTtl` */
  readonly refreshTokenTtl?: number | undefined;
  /** Roles of the client itself, for scopes of the `client_credentials` grant. @default [] */
  readonly roles?: readonly string[] | undefined;
  /** May introspect tokens issued to other clients (RFC 7662 resource server). @default false */
  readonly resourceServer?: boolean | undefined;
  /** @default the router's `refreshGracePeriod` */
  readonly refreshGracePeriod?: number | undefined;
  /** @default the router's `maxDevicesPerUser` */
  readonly maxDevicesPerUser?: number | undefined;
  /** @default the router's `onDeviceLimit` */
  readonly onDeviceLimit?: DeviceLimitPolicy | undefined;
  /** @default the router's `requireDevice` */
  readonly requireDevice?: boolean | undefined;
}

/** A resource owner in a static user list. Give exactly one of `password` and `passwordHash`. */
export interface UserRecord {
  readonly username: string;
  readonly password?: string | undefined;
  /** `scrypt$N$r$p$salt$hash`, as made by `hashPassword()`. */
  readonly passwordHash?: string | undefined;
  /** @default [] */
  readonly roles?: readonly string[] | undefined;
}

/** What a successful user authentication yields. */
export interface AuthenticatedUser {
  readonly username: string;
  readonly roles: readonly string[];
}

/** A static list of clients, or an async lookup by client id (database, config service…). */
export type ClientSource =
  | readonly ClientRecord[]
  | ((clientId: string) => Promise<ClientRecord | null | undefined> | ClientRecord | null | undefined);

/** A static list of users, or an async authenticate function (LDAP, database…). */
export type UserSource =
  | readonly UserRecord[]
  | ((username: string, password: string) => Promise<AuthenticatedUser | null | undefined> | AuthenticatedUser | null | undefined);

/** Who asks for a scope: the user (password grant) or the client itself (client_credentials). */
export interface ScopeRequester {
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly roles: readonly string[];
}

/**
 * Which roles may have each ordinary scope (`{ "orders:read": ["subscriber"] }`), or a function
 * deciding per scope. Device scopes never reach it.
 */
export type ScopePolicy =
  | Readonly<Record<string, readonly string[]>>
  | ((scope: string, requester: ScopeRequester) => boolean | Promise<boolean>);

/** Options of `createTokenRouter()`. */
export interface TokenRouterOptions {
  /** Where tokens live: `RedisTokenStore` or `MemoryTokenStore`. */
  readonly store: TokenStore;
  readonly clients: ClientSource;
  /** Needed when a client may use the `password` grant. */
  readonly users?: UserSource | undefined;
  /** @default {} (only `default` and device scopes are granted) */
  readonly scopes?: ScopePolicy | undefined;
  /**
   * Scopes matching any of these patterns are device scopes: granted without the permission
   * check and part of the token's identity (WSO2's scope allow-list).
   * @default [/^device_/]
   */
  readonly deviceScopePatterns?: readonly (RegExp | string)[] | undefined;
  /** Scope granted when no ordinary scope is left. @default "default" */
  readonly defaultScope?: string | undefined;
  /** Give back the live token of the same (client, user, scopes). @default true */
  readonly reuseTokens?: boolean | undefined;
  /** A token with this many seconds or fewer left is not reused but replaced. @default 60 */
  readonly reuseMinRemaining?: number | undefined;
  /** @default 3600 */
  readonly accessTokenTtl?: number | undefined;
  /** @default 86400 */
  readonly refreshTokenTtl?: number | undefined;
  /** Largest accepted request body. @default "16kb" */
  readonly bodyLimit?: string | number | undefined;
  /** Told about every 5xx the router answers (for logging); never given a token. */
  readonly onError?: ((error: unknown) => void) | undefined;
  /**
   * The issuer identifier (RFC 8414 §2): the public URL of *this router* as clients reach it,
   * mount path included (`https://gw.example.com` for a router at the root,
   * `https://gw.example.com/oauth` for `app.use('/oauth', …)`), without a trailing `/`, query or
   * fragment. The metadata document names it as `issuer` and builds the endpoint URLs from it
   * (`<issuer>/token`…); introspection answers carry it as `iss`. Set it in production: it is
   * what clients compare during discovery, and it must not depend on the request's Host header.
   * @default derived per request from `req.protocol`, `req.host` (both honour Express'
   *   `trust proxy` setting) and `req.baseUrl`; introspection answers then carry no `iss`
   */
  readonly issuer?: string | undefined;
  /**
   * Scopes the metadata document lists as `scopes_supported` (RFC 8414 §2; "servers MAY choose
   * not to advertise some supported scope values"). Each must have RFC 6749 §3.3 syntax.
   * @default none: `scopes_supported` is omitted
   */
  readonly scopesSupported?: readonly string[] | undefined;
  /**
   * Brute-force protection of the password grant (RFC 6749 §4.3.2), counted by the store (in
   * Redis, shared by every gateway instance): `perIp` failed logins of one user from one client
   * IP lock that user for that IP, `perUser` failures from all IPs lock the user everywhere, until
   * `window` seconds after the first counted failure. A locked login answers 429 `invalid_grant`
   * with `Retry-After`, right password or not, and costs no password hash. A successful login
   * clears what its IP counted. `false` switches it off (for example when `users` is a backend
   * that locks accounts itself).
   * `ipCeiling` failed logins from one IP whatever the usernames (password spraying) lock that
   * IP out of the password grant for the window.
   * @default { perIp: 10, perUser: 100, ipCeiling: 100, window: 900 }
   */
  readonly loginLockout?: Partial<LoginLockout> | false | undefined;
  /**
   * Throttling of failed client authentication: `perIp` failures of one client id from one IP
   * within `window` seconds answer 429 `invalid_client` (with `Retry-After`) to that pair until
   * the window ends. `false` switches it off.
   * @default { perIp: 20, window: 300 }
   */
  readonly clientLockout?: Partial<ClientLockout> | false | undefined;
  /**
   * Told about every audit event (issued, reused, refreshed, refresh replayed, revoked, session
   * ended, device limit, client and user authentication failed, throttled), with client, user,
   * device, IP and time; never a token, secret, password or hash. Errors it throws are ignored.
   */
  readonly onEvent?: ((event: AuditEvent) => void) | undefined;
  /**
   * The counting key of a username for `loginLockout`: a directory that matches usernames
   * case-insensitively must count `Alice` and `alice` together. Keep the user's hash tag: keys
   * that differ from the username only in case and Unicode compatibility forms are checked
   * inside the issuing script; others are still counted but checked only by this process' cache.
   * @default the username in Unicode NFKC form, lower case (`defaultLoginKey`)
   */
  readonly loginKey?: ((username: string) => string) | undefined;
  /**
   * Seconds during which a refresh token that was just rotated away answers with the session's
   * current tokens (a retry of a refresh whose answer was lost), while the token it was rotated
   * into is unused. 0: strict (the old token is a replay at once). Per client too.
   * @default 30
   */
  readonly refreshGracePeriod?: number | undefined;
  /** Live sessions of one user with one client (0: no bound). Per client too. @default 50 */
  readonly maxDevicesPerUser?: number | undefined;
  /** A new session beyond `maxDevicesPerUser` ends the least recently used one, or is refused. Per client too. @default "end-oldest" */
  readonly onDeviceLimit?: DeviceLimitPolicy | undefined;
  /** Token requests without a device scope are `invalid_scope`. Per client too. @default false */
  readonly requireDevice?: boolean | undefined;
  /** Mount `GET /devices`, `DELETE /devices/{id}` and `DELETE /devices` (self-service). @default false */
  readonly deviceEndpoints?: boolean | undefined;
}

/** The router's options after validation, with lookups in one shape. */
export interface NormalizedRouterOptions {
  readonly store: TokenStore;
  findClient(clientId: string): Promise<NormalizedClient | undefined>;
  authenticateUser(username: string, password: string): Promise<AuthenticatedUser | undefined>;
  isScopeAllowed(scope: string, requester: ScopeRequester): Promise<boolean>;
  readonly deviceScopePatterns: readonly RegExp[];
  readonly defaultScope: string;
  readonly reuse: false | { readonly minRemaining: number };
  readonly bodyLimit: string | number;
  readonly onError: ((error: unknown) => void) | undefined;
  readonly hasUsers: boolean;
  /** The configured issuer, or `undefined` to derive it from each request. */
  readonly issuer: string | undefined;
  readonly scopesSupported: readonly string[];
  /** The password grant's lockout; `undefined` when switched off. */
  readonly loginLockout: LoginLockout | undefined;
  readonly loginKey: (username: string) => string;
  /** Locks the store reported, kept until they end (see `LockoutCache`). */
  readonly lockouts: LockoutCache;
  /** Failed logins per IP across usernames; `undefined` when the lockout is off. */
  readonly ipFailures: FailureCounter | undefined;
  readonly clientLockout: ClientLockout | undefined;
  /** Failed client authentications per (client id, IP); `undefined` when off. */
  readonly clientFailures: FailureCounter | undefined;
  readonly emit: EventSink;
  readonly deviceEndpoints: boolean;
  /** Grant types some client may use: those of the static clients, or all for a lookup function. */
  readonly grantTypes: readonly GrantType[];
}

export interface NormalizedClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly grants: ReadonlySet<GrantType>;
  readonly accessTokenTtl: number;
  readonly refreshTokenTtl: number;
  readonly roles: readonly string[];
  readonly resourceServer: boolean;
  readonly sessions: SessionPolicy;
}

// What an unknown user's password is checked against: hashPassword()'s default parameters with a
// random salt and key made at load (no password matches it), so refusing an unknown user costs
// the same scrypt as refusing a known one, and no constant in the source says what it is.
const DUMMY_HASH = unmatchablePasswordHash();

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) <= 0) throw new TypeError(`${name} must be a positive integer (seconds)`);
  return value as number;
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(`${name} must be an array of strings`);
  }
  return [...value];
}

/** Validates one client record; `name` is its path in the options, for the message. */
export function normalizeClient(
  record: unknown,
  name: string,
  defaults: { accessTokenTtl: number; refreshTokenTtl: number; sessions: SessionPolicy },
): NormalizedClient {
  if (!isObject(record)) throw new TypeError(`${name} must be an object`);
  if (!isNonEmptyString(record.clientId)) throw new TypeError(`${name}.clientId must be a non-empty string`);
  if (!isNonEmptyString(record.clientSecret)) throw new TypeError(`${name}.clientSecret must be a non-empty string`);
  const grants = stringList(record.grants, `${name}.grants`);
  grants.forEach((grant, index) => {
    if (!GRANT_TYPES.includes(grant as GrantType)) {
      throw new TypeError(`${name}.grants[${index}] must be one of ${GRANT_TYPES.join(', ')} (got "${grant}")`);
    }
  });
  if (record.resourceServer !== undefined && typeof record.resourceServer !== 'boolean') {
    throw new TypeError(`${name}.resourceServer must be a boolean`);
  }
  return {
    clientId: record.clientId,
    clientSecret: record.clientSecret,
    grants: new Set(grants as GrantType[]),
    accessTokenTtl: positiveInteger(record.accessTokenTtl, defaults.accessTokenTtl, `${name}.accessTokenTtl`),
    refreshTokenTtl: positiveInteger(record.refreshTokenTtl, defaults.refreshTokenTtl, `${name}.refreshTokenTtl`),
    roles: stringList(record.roles, `${name}.roles`),
    resourceServer: record.resourceServer === true,
    sessions: normalizeSessionPolicy(record, name, defaults.sessions),
  };
}

function normalizeClients(
  clients: unknown,
  defaults: { accessTokenTtl: number; refreshTokenTtl: number; sessions: SessionPolicy },
): { find: NormalizedRouterOptions['findClient']; needsUsers: boolean; grantTypes: readonly GrantType[] } {
  if (typeof clients === 'function') {
    return {
      needsUsers: false,
      grantTypes: GRANT_TYPES,
      find: async (clientId) => {
        const record = await clients(clientId);
        return record ? normalizeClient(record, `options.clients("${clientId}")`, defaults) : undefined;
      },
    };
  }
  if (!Array.isArray(clients)) throw new TypeError('options.clients must be an array of clients or a lookup function');
  const byId = new Map<string, NormalizedClient>();
  clients.forEach((record, index) => {
    const client = normalizeClient(record, `options.clients[${index}]`, defaults);
    if (byId.has(client.clientId)) throw new TypeError(`options.clients[${index}].clientId "${client.clientId}" is listed twice`);
    byId.set(client.clientId, client);
  });
  return {
    needsUsers: [...byId.values()].some((client) => client.grants.has('password')),
    grantTypes: GRANT_TYPES.filter((grant) => [...byId.values()].some((client) => client.grants.has(grant))),
    find: async (clientId) => byId.get(clientId),
  };
}

function normalizeUsers(users: unknown): NormalizedRouterOptions['authenticateUser'] | undefined {
  if (users === undefined) return undefined;
  if (typeof users === 'function') {
    return async (username, password) => {
      const user = await users(username, password);
      if (!user) return undefined;
      if (!isObject(user) || !isNonEmptyString(user.username)) {
        throw new TypeError('options.users() must resolve to { username, roles } or nothing');
      }
      return { username: user.username, roles: stringList(user.roles, 'options.users().roles') };
    };
  }
  if (!Array.isArray(users)) throw new TypeError('options.users must be an array of users or an authenticate function');
  const records: { username: string; roles: string[]; password?: string; passwordHash?: string }[] = [];
  const names = new Set<string>();
  users.forEach((record: unknown, index) => {
    const name = `options.users[${index}]`;
    if (!isObject(record)) throw new TypeError(`${name} must be an object`);
    if (!isNonEmptyString(record.username)) throw new TypeError(`${name}.username must be a non-empty string`);
    if (names.has(record.username)) throw new TypeError(`${name}.username "${record.username}" is listed twice`);
    names.add(record.username);
    const { password, passwordHash } = record;
    if ((password === undefined) === (passwordHash === undefined)) {
      throw new TypeError(`${name} must have exactly one of password and passwordHash`);
    }
    if (password !== undefined && !isNonEmptyString(password)) throw new TypeError(`${name}.password must be a non-empty string`);
    if (passwordHash !== undefined && !isPasswordHash(passwordHash)) {
      throw new TypeError(`${name}.passwordHash must have the format scrypt$N$r$p$salt$hash (see hashPassword())`);
    }
    records.push({
      username: record.username,
      roles: stringList(record.roles, `${name}.roles`),
      ...(password === undefined ? { passwordHash: passwordHash as string } : { password: password as string }),
    });
  });
  // Equal work on every failure path (an unknown user, a wrong password of a plain-password user
  // and of a hashed user must take the same time): every check costs what the costliest kind of
  // user in the list costs.
  // - Some user has a passwordHash: plain passwords are hashed once, here, with hashPassword()'s
  //   defaults (the parameters of DUMMY_HASH), so every path is one scrypt. scrypt runs on
  //   libuv's thread pool, so building the router stays fast; a login arriving before the hashes
  //   are ready waits for them.
  // - Only plain passwords (demos, benchmarks): each is kept as an HMAC under a key made at load,
  //   and every path, an unknown user's included, is one HMAC and one constant-time compare.
  //   Nothing to hide costs a scrypt, and the plain passwords are not kept.
  if (records.every((record) => record.password !== undefined)) {
    const key = randomBytes(32);
    const digest = (password: string) => createHmac('sha256', key).update(password).digest();
    const byName = new Map(records.map(({ username, roles, password }) => [username, { roles, digest: digest(password!) }]));
    const unmatchable = randomBytes(32);
    return async (username, password) => {
      const user = byName.get(username);
      const matches = timingSafeEqual(digest(password), user?.digest ?? unmatchable);
      return user !== undefined && matches ? { username, roles: user.roles } : undefined;
    };
  }
  const directory = Promise.all(
    records.map(async ({ username, roles, password, passwordHash }) => {
      const hash = password === undefined ? passwordHash! : await hashPassword(password);
      return [username, { roles, passwordHash: hash }] as const;
    }),
  ).then((list) => new Map(list));
  // A failure surfaces on the first login (a 500), not as an unhandled rejection at start-up.
  directory.catch(() => undefined);
  return async (username, password) => {
    // Every login, of any user, waits for the directory, so even the first requests after
    // start-up take the same path whoever asks.
    const byName = await directory;
    const user = byName.get(username);
    // Exactly one scrypt verification on every path: unknown user, wrong and right password.
    const matches = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    return user !== undefined && matches ? { username, roles: user.roles } : undefined;
  };
}

function normalizeScopes(scopes: unknown): NormalizedRouterOptions['isScopeAllowed'] {
  if (scopes === undefined) return async () => false;
  if (typeof scopes === 'function') return async (scope, requester) => (await scopes(scope, requester)) === true;
  if (!isObject(scopes)) throw new TypeError('options.scopes must be an object of scope -> role names, or a function');
  const roles = new Map<string, ReadonlySet<string>>();
  for (const [scope, bound] of Object.entries(scopes)) {
    roles.set(scope, new Set(stringList(bound, `options.scopes["${scope}"]`)));
  }
  return async (scope, requester) => {
    const allowed = roles.get(scope);
    return allowed !== undefined && requester.roles.some((role) => allowed.has(role));
  };
}

function normalizePatterns(patterns: unknown): RegExp[] {
  if (patterns === undefined) return [/^device_/];
  if (!Array.isArray(patterns)) throw new TypeError('options.deviceScopePatterns must be an array of RegExp or strings');
  return patterns.map((pattern, index) => {
    if (pattern instanceof RegExp) return pattern;
    if (typeof pattern !== 'string') throw new TypeError(`options.deviceScopePatterns[${index}] must be a RegExp or a string`);
    try {
      return new RegExp(pattern);
    } catch {
      throw new TypeError(`options.deviceScopePatterns[${index}] is not a valid regular expression`);
    }
  });
}

/** RFC 8414 §2: an http(s) URL without query or fragment; no trailing `/` so `<issuer>/token` is clean. */
function normalizeIssuer(issuer: unknown): string | undefined {
  if (issuer === undefined) return undefined;
  const problem = 'options.issuer must be an absolute http(s) URL without query, fragment or trailing "/"';
  if (!isNonEmptyString(issuer)) throw new TypeError(problem);
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError(`${problem} (got "${issuer}")`);
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#') ||
    issuer.endsWith('/') || url.username !== '' || url.password !== ''
  ) {
    throw new TypeError(`${problem} (got "${issuer}")`);
  }
  return issuer;
}

function normalizeScopesSupported(scopes: unknown): string[] {
  const list = stringList(scopes, 'options.scopesSupported');
  list.forEach((scope, index) => {
    if (!isScopeToken(scope)) {
      throw new TypeError(`options.scopesSupported[${index}] must be a valid scope token (RFC 6749 §3.3)`);
    }
  });
  return [...new Set(list)];
}

/** An ordinary scope that a device pattern matches would skip the permission check: refused at start-up. */
function checkOrdinaryScopes(scopes: unknown, defaultScope: string, patterns: readonly RegExp[]): void {
  if (isDeviceScope(defaultScope, patterns)) {
    throw new TypeError(`options.defaultScope "${defaultScope}" matches a device scope pattern (options.deviceScopePatterns)`);
  }
  if (!isObject(scopes)) return;
  for (const scope of Object.keys(scopes)) {
    if (isDeviceScope(scope, patterns)) {
      throw new TypeError(`options.scopes["${scope}"] is a device scope (it matches options.deviceScopePatterns): device scopes need no roles`);
    }
  }
}

function onEvent(value: unknown): ((event: AuditEvent) => void) | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError('options.onEvent must be a function');
  return value as ((event: AuditEvent) => void) | undefined;
}

function deviceEndpoints(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError('options.deviceEndpoints must be a boolean');
  return value === true;
}

/**
 * Validates the options of `createTokenRouter()` once, at start-up.
 * @throws TypeError naming the first wrong option.
 */
export function normalizeRouterOptions(options: TokenRouterOptions): NormalizedRouterOptions {
  if (!isObject(options)) throw new TypeError('options must be an object');
  const store = options.store as unknown;
  if (!isObject(store) || !['issue', 'refresh', 'revoke', 'lookup', 'ping', 'recordLoginFailure', 'failureCounter', 'listDevices'].every((m) => typeof store[m] === 'function')) {
    throw new TypeError('options.store must be a TokenStore (RedisTokenStore or MemoryTokenStore)');
  }
  const accessTokenTtl = positiveInteger(options.accessTokenTtl, 3600, 'options.accessTokenTtl');
  const refreshTokenTtl = positiveInteger(options.refreshTokenTtl, 86400, 'options.refreshTokenTtl');
  const sessions = normalizeSessionPolicy(options as unknown as Record<string, unknown>, 'options', SESSION_DEFAULTS);
  const clients = normalizeClients(options.clients, { accessTokenTtl, refreshTokenTtl, sessions });
  const authenticateUser = normalizeUsers(options.users);
  if (clients.needsUsers && !authenticateUser) {
    throw new TypeError('options.users is required when a client may use the password grant');
  }
  const defaultScope = options.defaultScope ?? 'default';
  if (!isNonEmptyString(defaultScope) || !isScopeToken(defaultScope)) {
    throw new TypeError('options.defaultScope must be a valid scope token (RFC 6749 §3.3)');
  }
  if (options.reuseTokens !== undefined && typeof options.reuseTokens !== 'boolean') {
    throw new TypeError('options.reuseTokens must be a boolean');
  }
  const minRemaining = options.reuseMinRemaining ?? 60;
  if (!Number.isInteger(minRemaining) || minRemaining < 0) {
    throw new TypeError('options.reuseMinRemaining must be a non-negative integer (seconds)');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new TypeError('options.onError must be a function');
  }
  const bodyLimit = options.bodyLimit ?? '16kb';
  if (typeof bodyLimit !== 'string' && typeof bodyLimit !== 'number') {
    throw new TypeError('options.bodyLimit must be a byte count or a size string such as "16kb"');
  }
  const patterns = normalizePatterns(options.deviceScopePatterns);
  const loginLockout = normalizeLoginLockout(options.loginLockout);
  const clientLockout = normalizeClientLockout(options.clientLockout);
  checkOrdinaryScopes(options.scopes, defaultScope, patterns);
  return {
    store: options.store,
    findClient: clients.find,
    authenticateUser: authenticateUser ?? (async () => undefined),
    hasUsers: authenticateUser !== undefined,
    isScopeAllowed: normalizeScopes(options.scopes),
    deviceScopePatterns: patterns,
    defaultScope,
    reuse: options.reuseTokens === false ? false : { minRemaining },
    bodyLimit,
    onError: options.onError,
    issuer: normalizeIssuer(options.issuer),
    scopesSupported: normalizeScopesSupported(options.scopesSupported),
    loginLockout,
    loginKey: normalizeLoginKey(options.loginKey),
    lockouts: new LockoutCache(),
    ipFailures: loginLockout && options.store.failureCounter('login-ip', loginLockout.ipCeiling, loginLockout.window),
    clientLockout,
    clientFailures: clientLockout && options.store.failureCounter('client', clientLockout.perIp, clientLockout.window),
    emit: eventSink(onEvent(options.onEvent)),
    deviceEndpoints: deviceEndpoints(options.deviceEndpoints),
    grantTypes: clients.grantTypes,
  };
}
