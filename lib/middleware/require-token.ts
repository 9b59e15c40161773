import { DEFAULTS } from '../defaults';
import { OptionError } from '../errors/option-error';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readBearerToken, rejectBearer } from '../auth/bearer-token';
import { InsufficientScopeError, InvalidTokenError, type OAuthError } from '../errors/oauth-error';
import { toOAuthError } from '../errors/render-error';
import type { TokenStore } from '../stores/token-store';

/** What `requireToken` tells the handler about the calling token (never the token itself). */
export interface AccessTokenInfo {
  readonly clientId: string;
  /** The username, or the client id for a client_credentials token. */
  readonly subject: string;
  readonly username?: string | undefined;
  readonly scopes: readonly string[];
  /** The device scopes of the token (e.g. `["device_ipad"]`). */
  readonly deviceScopes: readonly string[];
  /** The device scopes joined by spaces, or `undefined` for a token without a device. */
  readonly device?: string | undefined;
  readonly sessionId: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `requireToken()` for a request with a live bearer token. */
    oauth?: AccessTokenInfo;
  }
}

/** Options of {@link requireToken}. */
export interface RequireTokenOptions {
  readonly store: TokenStore;
  /** Scopes the token must all carry. @default [] */
  readonly scopes?: readonly string[] | undefined;
  /** `realm` of the `WWW-Authenticate` challenge. @default "api" */
  readonly realm?: string | undefined;
  /** Told about every 5xx answered (for logging). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/**
 * Protects the gateway's own APIs with bearer tokens (RFC 6750): 401 `invalid_token` for a
 * missing, dead or malformed token, 403 `insufficient_scope` for a live token without every
 * required scope, 503 when the store is down (an outage must not look like a logout).
 * On success `req.oauth` describes the token's client, user, scopes and device.
 *
 * @throws TypeError naming the wrong option.
 * @example
 * app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
 *   res.json({ user: req.oauth!.username, device: req.oauth!.device });
 * });
 */
export function requireToken(options: RequireTokenOptions): RequestHandler {
  if (!options || typeof options !== 'object') throw new OptionError('options', 'must be an object');
  if (!options.store || typeof options.store.lookup !== 'function') throw new OptionError('options.store', 'must be a TokenStore');
  const given: unknown = options.scopes ?? [];
  if (!Array.isArray(given) || !given.every((scope) => typeof scope === 'string' && scope !== '')) {
    throw new OptionError('options.scopes', 'must be an array of scope names');
  }
  const required = given as readonly string[];
  const realm = options.realm ?? DEFAULTS.requireToken.realm;
  if (typeof realm !== 'string') throw new OptionError('options.realm', 'must be a string');
  const { store, onError } = options;

  function reject(res: Response, error: OAuthError, withDetails: boolean): void {
    rejectBearer(res, realm, error, withDetails);
  }

  return async function requireTokenMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    // RFC 6750 §3.1: no authentication information, or "an unsupported authentication method",
    // gets a bare challenge, no error code.
    const bearer = readBearerToken(req);
    if (bearer.token === undefined) {
      reject(res, bearer.error, bearer.withDetails);
      return;
    }
    let record;
    try {
      record = await store.lookup(bearer.token, ['access_token']);
    } catch (error) {
      const oauthError = toOAuthError(error);
      if (oauthError.status >= 500 && onError) onError(error);
      reject(res, oauthError, true);
      return;
    }
    if (!record) {
      reject(res, new InvalidTokenError('the access token is invalid, expired or revoked'), true);
      return;
    }
    const missing = required.filter((scope) => !record.scopes.includes(scope));
    if (missing.length > 0) {
      reject(res, new InsufficientScopeError(required), true);
      return;
    }
    req.oauth = {
      clientId: record.clientId,
      subject: record.subject,
      username: record.username,
      scopes: record.scopes,
      deviceScopes: record.deviceScopes,
      device: record.deviceScopes.length > 0 ? record.deviceScopes.join(' ') : undefined,
      sessionId: record.sessionId,
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
    };
    next();
  };
}
