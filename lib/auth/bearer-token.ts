import type { Request, Response } from 'express';
import { InsufficientScopeError, InvalidRequestError, InvalidTokenError, type OAuthError } from '../errors/oauth-error';
import { safeDescription, sendOAuthError } from '../errors/render-error';

/**
 * RFC 6750 bearer tokens in the `Authorization` header, written once for every protected
 * resource of the package: `requireToken()` and the self-service `/devices` endpoints read the
 * token and answer failures with the same statuses and `WWW-Authenticate` challenges.
 */

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * What the `Authorization` header holds: a token, or the error to answer with and whether the
 * challenge may carry its details (RFC 6750 §3.1: a request without authentication
 * information, or with another scheme, gets a bare challenge with no error code).
 */
export type BearerHeader =
  { readonly token: string } | { readonly token?: undefined; readonly error: OAuthError; readonly withDetails: boolean };

/** Reads the bearer token of `req` (RFC 6750 §2.1). Never throws. */
export function readBearerToken(req: Request): BearerHeader {
  const header = req.get('authorization');
  if (header === undefined || !/^bearer(\s|$)/i.test(header)) {
    return { error: new InvalidTokenError('a bearer token is required'), withDetails: false };
  }
  const match = BEARER.exec(header);
  if (!match) return { error: new InvalidRequestError('malformed bearer token (RFC 6750 §2.1)'), withDetails: true };
  return { token: match[1]! };
}

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** RFC 6750 §3: the challenge for a failed request, with error details when there was a token. */
export function bearerChallenge(realm: string, error?: OAuthError): string {
  const parts = [`realm=${quoted(realm)}`];
  if (error && error.status < 500) {
    parts.push(`error=${quoted(error.error)}`, `error_description=${quoted(safeDescription(error.message))}`);
    if (error instanceof InsufficientScopeError) parts.push(`scope=${quoted(error.requiredScopes.join(' '))}`);
  }
  return `Bearer ${parts.join(', ')}`;
}

/**
 * Answers a request the bearer token could not authorize: the RFC error JSON (with `no-store`)
 * and, below 500, the `WWW-Authenticate` challenge. A 503 carries none: an outage is not a
 * problem of the token, and must not look like a logout.
 */
export function rejectBearer(res: Response, realm: string, error: OAuthError, withDetails = true): void {
  if (error.status < 500) res.set('WWW-Authenticate', bearerChallenge(realm, withDetails ? error : undefined));
  sendOAuthError(res, error);
}
