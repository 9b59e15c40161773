/**
 * The storage contract between the HTTP layer and a backend.
 *
 * A *grant* is what one device holds: one access token, at most one refresh token, the client,
 * the subject and the granted scopes. Its identity is (client, username, sorted granted scopes),
 * so a different `device_*` scope is a different grant. Each method is one atomic step in the
 * backend (one Redis round trip), so concurrent requests never see half of a change.
 *
 * Stores never see plain tokens at rest: they keep keyed hashes and, for reuse, ciphertexts
 * (see `TokenCodec`). Every record expires with the last token that needs it.
 */

/** What a live token stands for. */
export interface GrantClaims {
  /** Stable id of the grant; survives refresh-token rotation. */
  readonly grantId: string;
  readonly clientId: string;
  /** The username, or the client id for `client_credentials`. */
  readonly subject: string;
  /** The resource owner's username; absent for `client_credentials`. */
  readonly username?: string | undefined;
  /** Granted scopes, sorted and unique. */
  readonly scopes: readonly string[];
  /** The device scopes among `scopes` (the ones that make up the device's identity). */
  readonly deviceScopes: readonly string[];
}

/** A live token found by {@link TokenStore.lookup}. */
export interface TokenRecord extends GrantClaims {
  readonly tokenType: 'access_token' | 'refresh_token';
  /** Seconds since the epoch when this token was issued. */
  readonly issuedAt: number;
  /** Seconds since the epoch when this token expires. */
  readonly expiresAt: number;
}

/** Input of {@link TokenStore.issue}. Scopes must already be granted, sorted and unique. */
export interface IssueRequest {
  readonly clientId: string;
  readonly subject: string;
  readonly username?: string | undefined;
  readonly scopes: readonly string[];
  readonly deviceScopes: readonly string[];
  /** Access token lifetime in seconds. */
  readonly accessTokenTtl: number;
  /** Refresh token lifetime in seconds; `undefined` issues no refresh token. */
  readonly refreshTokenTtl?: number | undefined;
  /**
   * `false`: always mint a new grant. Otherwise reuse the identity's live grant while its
   * access token has more than `minRemaining` seconds left; a grant with less is replaced.
   */
  readonly reuse: false | { readonly minRemaining: number };
}

/** Tokens handed to the client. */
export interface TokenSet extends GrantClaims {
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  /** Whole seconds the access token has left. */
  readonly expiresIn: number;
  /** Whether these are the tokens of an existing grant. */
  readonly reused: boolean;
}

/** Input of {@link TokenStore.refresh}. */
export interface RefreshRequest {
  readonly refreshToken: string;
  /** The authenticated client; a refresh token of another client is `invalid`. */
  readonly clientId: string;
  /** A narrower scope set (sorted, unique); `undefined` keeps the grant's scopes. */
  readonly scopes?: readonly string[] | undefined;
  readonly accessTokenTtl: number;
  readonly refreshTokenTtl: number;
}

/**
 * `invalid`: unknown, expired or another client's refresh token.
 * `replayed`: an already-rotated refresh token; its grant has been ended (OAuth 2.0 Security BCP).
 * `invalid_scope`: the requested scope is wider than the grant's.
 */
export type RefreshResult =
  | { readonly status: 'ok'; readonly tokens: TokenSet }
  | { readonly status: 'invalid' | 'replayed' | 'invalid_scope' };

/** `foreign`: the token belongs to another client and was left alone. */
export type RevokeResult = 'revoked' | 'unknown' | 'foreign';

/** Which kinds of token a lookup or revocation considers, in order. */
export type TokenTypes = readonly ('access_token' | 'refresh_token')[];

/**
 * A token backend. Implementations: `RedisTokenStore`, `MemoryTokenStore`; both pass the same
 * contract suite (`test/stores/token-store.contract.ts`).
 *
 * Methods throw `StoreUnavailableError` when the backend cannot answer in time.
 */
export interface TokenStore {
  /**
   * Issue-or-reuse, atomically: concurrent identical requests yield one grant.
   * Writes the grant, its identity index and its token hashes, each expiring with the
   * longest-lived token of the grant.
   */
  issue(request: IssueRequest): Promise<TokenSet>;

  /**
   * Rotates a refresh token: the old refresh and access tokens die, the old refresh token is
   * remembered (until it would have expired) so a replay ends the grant.
   */
  refresh(request: RefreshRequest): Promise<RefreshResult>;

  /**
   * Ends the grant of an access or refresh token issued to `clientId` (RFC 7009).
   * Other grants of the same user, other devices included, are untouched.
   */
  revoke(token: string, clientId: string, types?: TokenTypes): Promise<RevokeResult>;

  /** The live token's record, or `null` for anything unknown, expired, revoked or malformed. */
  lookup(token: string, types?: TokenTypes): Promise<TokenRecord | null>;

  /** Resolves when the backend answers; throws `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;
}
