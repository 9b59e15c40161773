import type { ErrorRequestHandler, Response } from 'express';
import { InvalidRequestError, OAuthError, ServerError, TemporarilyUnavailableError } from './oauth-error';
import { UnavailableError } from './unavailable-error';

/** What the renderer reports about a 5xx it hid from the client. */
export type ErrorListener = (error: unknown) => void;

/**
 * Maps anything thrown while serving a request to an {@link OAuthError}:
 * body-parser's request errors become `invalid_request` with their own status,
 * store outages become 503 `temporarily_unavailable`, everything else `server_error`.
 */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof UnavailableError) return new TemporarilyUnavailableError(undefined, { cause: error });
  const httpError = error as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown };
  if (typeof httpError?.status === 'number' && httpError.status >= 400 && httpError.status < 500 && httpError.expose === true) {
    // body-parser: entity.too.large, entity.parse.failed, charset.unsupported, …
    return new InvalidRequestError(`malformed request body (${typeof httpError.type === 'string' ? httpError.type : 'unknown'})`, {
      status: httpError.status,
      cause: error,
    });
  }
  return new ServerError(undefined, { cause: error });
}

/**
 * RFC 6749 §5.2 and RFC 6750 §3: values of `error_description` "MUST NOT include characters
 * outside the set %x20-21 / %x23-5B / %x5D-7E". Descriptions quote parameter names, cite
 * sections (§) and may echo what the client sent, so they are folded into that set here.
 */
export function safeDescription(text: string): string {
  return text
    .replace(/§/g, 'section ')
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?');
}

/** Sends the RFC 6749 §5.2 error JSON, with `no-store` and the challenge headers. */
export function sendOAuthError(res: Response, error: OAuthError): void {
  res.set('Cache-Control', 'no-store');
  res.set('Pragma', 'no-cache');
  // RFC 6749 §5.2: a 401 after HTTP Basic MUST carry WWW-Authenticate for that scheme.
  if (error.challenge !== undefined) res.set('WWW-Authenticate', error.challenge);
  if (error.retryAfter !== undefined) res.set('Retry-After', String(error.retryAfter));
  res.status(error.status).json({
    error: error.error,
    error_description: error.expose ? safeDescription(error.message) : 'internal server error',
  });
}

/** Express error handler of the token router: every failure ends as RFC error JSON. */
export function oauthErrorHandler(onError?: ErrorListener): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const oauthError = toOAuthError(err);
    if (oauthError.status >= 500 && onError) onError(err);
    sendOAuthError(res, oauthError);
  };
}
