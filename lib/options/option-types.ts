import type { LockoutCache } from '../abuse/lockout-cache';
import type { AuditEvent, EventSink } from '../events/audit-event';
import type { ScopeRequester } from '../scopes/scope';
import type { FailureCounter, TokenStore } from '../stores/token-store';
import type { ClientLockout, DeviceLimitPolicy, LoginLockout, SessionPolicy } from './session-options';

export type { ScopeRequester } from '../scopes/scope';

/** A value, or a promise of one. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The options of `createTokenRouter()` as users write them, and as the router uses them once
 * validated (`Normalized…`). Defaults are in `lib/defaults.ts`.
 */

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
  readonly ClientRecord[] | ((clientId: string) => Promise<ClientRecord | null | undefined> | ClientRecord | null | undefined);

/** A static list of users, or an async authenticate function (LDAP, database…). */
export type UserSource =
  | readonly UserRecord[]
  | ((username: string, password: string) => Promise<AuthenticatedUser | null | undefined> | AuthenticatedUser | null | undefined);

/**
 * Which roles may have each ordinary scope (`{ "orders:read": ["subscriber"] }`), or a function
 * deciding per scope. Device scopes never reach it.
 */
export type ScopePolicy =
  Readonly<Record<string, readonly string[]>> | ((scope: string, requester: ScopeRequester) => boolean | Promise<boolean>);

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
  // Answered synchronously where the options are static (lists, maps): each `await` of the
  // token path costs a trip through the microtask queue.
  findClient(clientId: string): Awaitable<NormalizedClient | undefined>;
  authenticateUser(username: string, password: string): Awaitable<AuthenticatedUser | undefined>;
  isScopeAllowed(scope: string, requester: ScopeRequester): Awaitable<boolean>;
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
