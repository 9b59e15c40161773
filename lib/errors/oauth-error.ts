/**
 * OAuth 2.0 errors: one class per RFC error code this package sends.
 *
 * Every error carries the RFC `error` code, a human `error_description`, the HTTP status
 * and whether its description may be shown to the caller (`expose`). One renderer
 * (`lib/errors/render-error.ts`) turns them into the RFC JSON body.
 */

/** Error codes of RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and the 503 we send. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'temporarily_unavailable'
  | 'server_error';

/** How an {@link OAuthError} is answered, besides its code and description. */
export interface OAuthErrorOptions {
  /** HTTP status. @default the code's own (400 for most, 401, 403, 429, 503 …) */
  readonly status?: number | undefined;
  /** `WWW-Authenticate` value to send (RFC 6749 §5.2 after HTTP Basic; RFC 6750 §3). */
  readonly challenge?: string | undefined;
  /** Seconds for the `Retry-After` header (429 and 503 answers). */
  readonly retryAfter?: number | undefined;
  /** What caused it (a store outage behind a 503, say): kept for logs, never sent. */
  readonly cause?: unknown;
  /** Whether the description may be sent to the client. @default true */
  readonly expose?: boolean | undefined;
}

/** The `WWW-Authenticate` challenge of a client that tried HTTP Basic (RFC 6749 §5.2). */
export const BASIC_CHALLENGE = 'Basic realm="oauth", charset="UTF-8"';

/**
 * Base class of every OAuth error.
 *
 * @example
 * throw new InvalidRequestError('the "username" parameter is required');
 * throw new TemporarilyUnavailableError(undefined, { cause: outage });
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Whether `message` may be sent to the client as `error_description`. */
  readonly expose: boolean;
  /** Seconds for the `Retry-After` header (429 and 503 answers). */
  readonly retryAfter: number | undefined;
  /** `WWW-Authenticate` value the renderer sends, if any. */
  readonly challenge: string | undefined;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.error = error;
    this.status = options.status ?? 400;
    this.expose = options.expose ?? true;
    this.retryAfter = options.retryAfter;
    this.challenge = options.challenge;
  }
}

/** RFC 6749 §5.2: missing, repeated or malformed parameter. */
export class InvalidRequestError extends OAuthError {
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_request', description, options);
  }
}

/**
 * RFC 6749 §5.2: client authentication failed. 401, with `challenge: BASIC_CHALLENGE` when the
 * client tried HTTP Basic (or sent no credentials at all).
 */
export class InvalidClientError extends OAuthError {
  constructor(description = 'client authentication failed', options?: Omit<OAuthErrorOptions, 'status'>) {
    super('invalid_client', description, { ...options, status: 401 });
  }
}

/** RFC 6749 §5.2: bad resource owner credentials or a dead/foreign refresh token. */
export class InvalidGrantError extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', description);
  }
}

/** RFC 6749 §5.2: the client may not use this grant type (or this operation). */
export class UnauthorizedClientError extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', description);
  }
}

/** RFC 6749 §5.2: the grant type is not supported by this server. */
export class UnsupportedGrantTypeError extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', description);
  }
}

/** RFC 6749 §5.2: malformed scope, or wider than the original grant. */
export class InvalidScopeError extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description);
  }
}

/** RFC 7009 §2.2.1: `token_type_hint` names a type this server does not know. */
export class UnsupportedTokenTypeError extends OAuthError {
  constructor(description: string) {
    super('unsupported_token_type', description);
  }
}

/** RFC 6750 §3.1: the access token is missing, expired, revoked or malformed. */
export class InvalidTokenError extends OAuthError {
  constructor(description = 'the access token is missing, expired or revoked') {
    super('invalid_token', description, { status: 401 });
  }
}

/** RFC 6750 §3.1: the token is live but lacks a scope the resource needs. */
export class InsufficientScopeError extends OAuthError {
  constructor(readonly requiredScopes: readonly string[]) {
    super('insufficient_scope', `the access token lacks a required scope: ${requiredScopes.join(' ')}`, { status: 403 });
  }
}

/**
 * RFC 6749 §4.1.2.1 `temporarily_unavailable`, sent with 503 when the token store
 * cannot be reached in time. An outage must never look like a logout.
 */
export class TemporarilyUnavailableError extends OAuthError {
  constructor(description = 'the token store is temporarily unavailable, try again', options?: Pick<OAuthErrorOptions, 'cause'>) {
    super('temporarily_unavailable', description, { status: 503, retryAfter: 1, cause: options?.cause });
  }
}

/**
 * 429 after too many failed password logins of one user (RFC 6749 §4.3.2 brute-force
 * protection). Its code is `invalid_grant`, so any OAuth client treats it as a failed login.
 */
export class TooManyLoginAttemptsError extends OAuthError {
  constructor(retryAfter: number) {
    super('invalid_grant', `too many failed logins for this user, try again in ${retryAfter} seconds`, { status: 429, retryAfter });
  }
}

/**
 * 429 after too many failed authentications of one client id from one IP (a guessed client
 * secret). Its code is `invalid_client`, so any OAuth client treats it as failed authentication.
 */
export class TooManyClientAttemptsError extends OAuthError {
  constructor(retryAfter: number) {
    super('invalid_client', `too many failed client authentications, try again in ${retryAfter} seconds`, { status: 429, retryAfter });
  }
}

/** Anything unexpected. Its description is never shown to the caller. */
export class ServerError extends OAuthError {
  constructor(description = 'internal server error', options?: Pick<OAuthErrorOptions, 'cause'>) {
    super('server_error', description, { status: 500, expose: false, cause: options?.cause });
  }
}
