import { DEFAULTS } from '../defaults';
import type { Request, Response } from 'express';
import { readBearerToken, rejectBearer } from '../auth/bearer-token';
import { InvalidRequestError, InvalidTokenError, OAuthError } from '../errors/oauth-error';
import type { NormalizedRouterOptions } from '../options/router-options';
import { clientIp } from '../params/client-ip';
import type { CallerProblem, SessionInfo } from '../stores/token-store';
import { noStore, sendNoStoreJson } from './token-response';

/**
 * The self-service device endpoints (README, "Device session endpoints"), mounted by the router with
 * `deviceEndpoints: true`:
 *
 * - `GET /devices`: the caller's live sessions with the caller's client, most recently used first;
 * - `DELETE /devices/{id}`: ends one of them (204), 404 for any other id;
 * - `DELETE /devices`: ends all of them but the caller's own ("sign out all other devices").
 *
 * Each is authenticated by the caller's own access token (RFC 6750, the answers and challenges
 * of `requireToken()`) and acts only on that token's user and client. Each is exactly one store
 * call, the validation of the token included: one Redis round trip. A store outage is thrown to
 * the router's error renderer (503 `temporarily_unavailable`, never a 401).
 */

/** The challenge realm: the same as `requireToken()`'s default, so clients see one protected resource. */
const REALM = DEFAULTS.requireToken.realm;

/** One session as `GET /devices` shows it. Times are NumericDate seconds (RFC 7519 §2). */
export interface DeviceSessionView {
  /** Opaque session id (never a token or a hash), for `DELETE /devices/{id}`. */
  readonly id: string;
  /** The device scope, or `null` for a session without one. */
  readonly device: string | null;
  /** The granted scopes, space-separated (RFC 6749 §3.3). */
  readonly scope: string;
  readonly created_at: number;
  /** The last token request that issued, reused or refreshed it. */
  readonly last_used_at: number;
  readonly expires_at: number;
  /** Whether this is the session of the token that asked. */
  readonly current: boolean;
}

/** The body of `GET /devices`. */
export interface DeviceListResponse {
  readonly devices: readonly DeviceSessionView[];
}

/** The body of `DELETE /devices`. */
export interface EndedDevicesResponse {
  readonly ended: number;
}

/**
 * The caller's token cannot act on device sessions: dead (401 `invalid_token`, as
 * `requireToken()` answers) or without a user (a client_credentials token: 403, RFC 6750 §3.1
 * `insufficient_scope`, "the request requires higher privileges than provided by the access
 * token"; no `scope` attribute, since no scope would help).
 */
function callerError(problem: CallerProblem): OAuthError {
  if (problem === 'invalid_token') return new InvalidTokenError('the access token is invalid, expired or revoked');
  return new OAuthError('insufficient_scope', 'device sessions belong to a user: a client_credentials token has none', { status: 403 });
}

/** The bearer token of the request, or `undefined` once the request has been answered. */
function callerToken(req: Request, res: Response): string | undefined {
  const bearer = readBearerToken(req);
  if (bearer.token === undefined) {
    rejectBearer(res, REALM, bearer.error, bearer.withDetails);
    return undefined;
  }
  return bearer.token;
}

function view(session: SessionInfo, current: string): DeviceSessionView {
  return {
    id: session.id,
    device: session.device,
    scope: session.scopes.join(' '),
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    current: session.id === current,
  };
}

/** `GET /devices` → 200 `{"devices": [...]}`. */
export function listDevicesEndpoint(options: NormalizedRouterOptions) {
  return async function listDevices(req: Request, res: Response): Promise<void> {
    const token = callerToken(req, res);
    if (token === undefined) return;
    const outcome = await options.store.listDevices(token);
    if (typeof outcome === 'string') {
      rejectBearer(res, REALM, callerError(outcome));
      return;
    }
    const body: DeviceListResponse = { devices: outcome.sessions.map((session) => view(session, outcome.current)) };
    sendNoStoreJson(res, 200, body);
  };
}

/** `DELETE /devices/{id}` → 204, or 404 for an id that is not a live session of the caller's user and client. */
export function endDeviceEndpoint(options: NormalizedRouterOptions) {
  return async function endDevice(req: Request<{ id: string }>, res: Response): Promise<void> {
    const token = callerToken(req, res);
    if (token === undefined) return;
    // A malformed id names no session: the store says `not_found` after checking the token, so
    // an id never tells a dead token apart from a live one.
    const outcome = await options.store.endDevice(token, req.params.id);
    if (outcome === 'invalid_token' || outcome === 'no_user') {
      rejectBearer(res, REALM, callerError(outcome));
      return;
    }
    if (outcome === 'not_found') {
      // Nothing revealed: another user's session, another client's, an ended one and a made-up
      // id all get this same answer.
      throw new InvalidRequestError('no such device session', { status: 404 });
    }
    options.emit({
      type: 'session_ended',
      sessionId: req.params.id,
      ip: clientIp(req),
      reason: 'ended by its user (DELETE /devices/{id})',
    });
    noStore(res);
    res.status(204).end();
  };
}

/** `DELETE /devices` → 200 `{"ended": n}`: every session of the caller's user and client but the caller's own. */
export function endOtherDevicesEndpoint(options: NormalizedRouterOptions) {
  return async function endOtherDevices(req: Request, res: Response): Promise<void> {
    const token = callerToken(req, res);
    if (token === undefined) return;
    const outcome = await options.store.endOtherDevices(token);
    if (typeof outcome === 'string') {
      rejectBearer(res, REALM, callerError(outcome));
      return;
    }
    if (outcome.ended > 0) {
      options.emit({
        type: 'session_ended',
        ip: clientIp(req),
        reason: `${outcome.ended} other sessions ended by their user (DELETE /devices)`,
      });
    }
    const body: EndedDevicesResponse = { ended: outcome.ended };
    sendNoStoreJson(res, 200, body);
  };
}
