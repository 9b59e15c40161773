/**
 * The storage contract between the HTTP layer and a backend.
 *
 * A *device session* is one live grant: one device's access token and (at most one) refresh
 * token for one client and user. Its identity is (client, username, sorted granted scopes), so a
 * different `device_*` scope is a different session. Each method is one atomic step in the
 * backend (one Redis round trip), so concurrent requests never see half of a change.
 *
 * Stores never see plain tokens at rest (see `TokenCodec`). Every record expires with the last
 * token that needs it.
 */

/** What a live token stands for. */
export interface SessionClaims {
  /**
   * The device session's id: 16 characters, opaque, never a token or a hash of one. It survives
   * refresh-token rotation, except one that narrows the scope: that makes the session the
   * narrower identity's, under that identity's id.
   */
  readonly sessionId: string;
  readonly clientId: string;
  /** The username, or the client id for `client_credentials`. */
  readonly subject: string;
  /** The resource owner's username; absent for `client_credentials`. */
  readonly username?: string | undefined;
  /** Granted scopes, sorted and unique. */
  readonly scopes: readonly string[];
  /** The device scope among `scopes`, as a list of at most one. */
  readonly deviceScopes: readonly string[];
}

/** A live token found by {@link TokenStore.lookup}. */
export interface TokenRecord extends SessionClaims {
  readonly tokenType: 'access_token' | 'refresh_token';
  /** Seconds since the epoch when this token was issued. */
  readonly issuedAt: number;
  /** Seconds since the epoch when this token expires. */
  readonly expiresAt: number;
}

/** The password grant's brute-force check, done inside {@link TokenStore.issue}. */
export interface LoginCheck {
  /** The counting key of the username (the router's `loginKey`). */
  readonly key: string;
  /** The client's IP address. */
  readonly ip: string;
  /** Failed logins from this IP that lock the user for this IP. */
  readonly maxPerIp: number;
  /** Failed logins from every IP that lock the user everywhere. */
  readonly maxPerUser: number;
}

/** Input of {@link TokenStore.issue}. Scopes must already be granted, sorted and unique. */
export interface IssueRequest {
  readonly clientId: string;
  readonly subject: string;
  readonly username?: string | undefined;
  readonly scopes: readonly string[];
  /** The device scope among `scopes`, as a list of at most one. */
  readonly deviceScopes: readonly string[];
  /** Access token lifetime in seconds. */
  readonly accessTokenTtl: number;
  /** Refresh token lifetime in seconds; `undefined` issues no refresh token. */
  readonly refreshTokenTtl?: number | undefined;
  /**
   * `false`: always make a new session and store nothing a token can be rebuilt from.
   * Otherwise reuse the identity's live session while its access token has more than
   * `minRemaining` seconds left (never more than half its lifetime, see {@link reuseThreshold}).
   */
  readonly reuse: false | { readonly minRemaining: number };
  /** Bounds the live sessions of this user with this client. @default no bound */
  readonly deviceLimit?: { readonly max: number; readonly onLimit: 'end-oldest' | 'refuse' } | undefined;
  /** The password grant: refuse while the user is locked, and clear this IP's failures on success. */
  readonly login?: LoginCheck | undefined;
}

/** Tokens handed to the client. */
export interface TokenSet extends SessionClaims {
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  /** Whole seconds the access token has left. */
  readonly expiresIn: number;
  /** Whether these are the tokens of an existing session. */
  readonly reused: boolean;
}

/**
 * `issued`/`reused`: the tokens (`endedSessionId` names a session the device limit ended).
 * `locked`: the login is refused until `retryAfter` seconds have passed.
 * `device_limit`: a new session would exceed `IssueRequest.deviceLimit` (`onLimit: "refuse"`).
 */
export type IssueResult =
  | { readonly status: 'issued' | 'reused'; readonly tokens: TokenSet; readonly endedSessionId?: string | undefined }
  | { readonly status: 'locked'; readonly retryAfter: number }
  | { readonly status: 'device_limit' };

/** Input of {@link TokenStore.refresh}. */
export interface RefreshRequest {
  readonly refreshToken: string;
  /** The authenticated client; a refresh token of another client is `invalid`. */
  readonly clientId: string;
  /** A narrower scope set (sorted, unique); `undefined` keeps the session's scopes. */
  readonly scopes?: readonly string[] | undefined;
  readonly accessTokenTtl: number;
  readonly refreshTokenTtl: number;
  /** Whether the new tokens may be rebuilt for reuse (the router's `reuseTokens`). @default true */
  readonly reuse?: boolean | undefined;
  /**
   * Seconds during which the refresh token just rotated away still answers with the session's
   * current tokens (a lost answer retried). 0: strict, the old token is a replay at once.
   * @default 0
   */
  readonly gracePeriod?: number | undefined;
}

/**
 * `invalid`: unknown, expired or another client's refresh token.
 * `replayed`: an already-rotated refresh token; its session has been ended (OAuth 2.0 Security BCP).
 * `invalid_scope`: the requested scope is wider than the session's.
 * `ok` with `retried`: the grace period gave back the session's current tokens.
 */
export type RefreshResult =
  | { readonly status: 'ok'; readonly tokens: TokenSet; readonly retried: boolean }
  | { readonly status: 'replayed'; readonly sessionId: string }
  | { readonly status: 'invalid' | 'invalid_scope' };

/** `foreign`: the token belongs to another client and was left alone. */
export type RevokeResult = 'revoked' | 'unknown' | 'foreign';

/** Which kinds of token a lookup or revocation considers, in order. */
export type TokenTypes = readonly ('access_token' | 'refresh_token')[];

/** One device session as users and operators see it. Times in seconds since the epoch. */
export interface SessionInfo {
  /** Opaque session id (never a token or a hash). */
  readonly id: string;
  readonly clientId: string;
  readonly username: string;
  /** The device scope, or `null`. */
  readonly device: string | null;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  /** The last token request that issued, reused or refreshed it. */
  readonly lastUsedAt: number;
  readonly expiresAt: number;
}

/** What the self-service calls answer when the caller's token cannot act. */
export type CallerProblem = 'invalid_token' | 'no_user';

/** Counts of a user's failed logins after {@link TokenStore.recordLoginFailure}. */
export interface LoginFailures {
  /** Failures from every IP in the current window. */
  readonly total: number;
  /** Failures from this IP in the current window. */
  readonly fromIp: number;
  /** Seconds until the window ends (and the counts with it). */
  readonly retryAfter: number;
}

/**
 * Counts failures of one kind per key in fixed windows (rate-limiter-flexible on the store's
 * backend, each call bounded by the store's operation timeout). For limits that are not on the
 * success path's round trip: failed logins per IP across usernames, failed client authentication.
 */
export interface FailureCounter {
  /** Counts one failure of `key`; resolves to the seconds `key` is now blocked for (0: not blocked). */
  fail(key: string): Promise<number>;
}

/**
 * A token backend. Implementations: `RedisTokenStore`, `MemoryTokenStore`; both run the same
 * scripts on the same data model and pass the same contract suite
 * (`test/stores/token-store.contract.ts`).
 *
 * Methods throw `UnavailableError` when the backend cannot answer in time.
 */
export interface TokenStore {
  /**
   * Issue-or-reuse, atomically: concurrent identical requests yield one session. Writes the
   * session, its identity, its token pointers and its index entry, each expiring with the
   * longest-lived token of the session.
   */
  issue(request: IssueRequest): Promise<IssueResult>;

  /**
   * Rotates a refresh token: the old refresh and access tokens die, the old refresh token is
   * remembered (until it would have expired) so presenting it again is a grace-period retry or a
   * replay that ends the session.
   */
  refresh(request: RefreshRequest): Promise<RefreshResult>;

  /**
   * Ends the session of an access or refresh token issued to `clientId` (RFC 7009).
   * Other sessions of the same user, other devices included, are untouched.
   */
  revoke(token: string, clientId: string, types?: TokenTypes): Promise<RevokeResult>;

  /** The live token's record, or `null` for anything unknown, expired, revoked or malformed. */
  lookup(token: string, types?: TokenTypes): Promise<TokenRecord | null>;

  /** Counts a failed password login of `loginKey` from `ip` in a window of `window` seconds. */
  recordLoginFailure(loginKey: string, ip: string, window: number): Promise<LoginFailures>;

  /** The caller's sessions with the caller's client, most recently used first. */
  listDevices(accessToken: string): Promise<{ readonly current: string; readonly sessions: readonly SessionInfo[] } | CallerProblem>;

  /** Ends one session of the caller's user and client; `not_found` for any other id. */
  endDevice(accessToken: string, sessionId: string): Promise<'ended' | 'not_found' | CallerProblem>;

  /** Ends every session of the caller's user and client but the caller's own. */
  endOtherDevices(accessToken: string): Promise<{ readonly ended: number } | CallerProblem>;

  /** Operators: a user's live sessions, with one client or all, most recently used first. */
  listSessions(username: string, clientId?: string): Promise<SessionInfo[]>;

  /** Operators: ends one session of a user; `false` when it is not a live session of theirs. */
  endSession(username: string, sessionId: string): Promise<boolean>;

  /** Operators: ends every session of a user with every client (after a password change). */
  endUserSessions(username: string): Promise<number>;

  /** Operators: forgets the failed logins counted against `loginKey` (unlocks the user). */
  clearLoginFailures(loginKey: string): Promise<void>;

  /**
   * A failure counter named `name` (one key space per name) that blocks a key once it has
   * failed `limit` times within `window` seconds, until that window ends.
   */
  failureCounter(name: string, limit: number, window: number): FailureCounter;

  /** Resolves when the backend answers; throws `UnavailableError` otherwise. */
  ping(): Promise<void>;
}

/**
 * The reuse threshold in ms: a token is reused while more than this is left. Never more than half
 * the token's own lifetime, so a short-lived token (even 2 s) is still reused while it is live.
 */
export function reuseThreshold(minRemaining: number, accessTokenTtl: number): number {
  return Math.min(minRemaining * 1000, Math.floor((accessTokenTtl * 1000) / 2));
}
