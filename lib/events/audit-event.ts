/**
 * Audit events (`onEvent`): what an operator alerts on. Each carries who and where, never a
 * token, secret, password or hash.
 */

/** What happened. */
export type AuditEventType =
  /** A new device session and its tokens. */
  | 'issued'
  /** The live tokens of a session were given back (same client, user and scopes). */
  | 'reused'
  /** A refresh token was rotated (or a lost rotation retried inside the grace period). */
  | 'refreshed'
  /** An already-rotated refresh token came back: its session was ended (OAuth 2.0 Security BCP). */
  | 'refresh_replayed'
  /** A token was revoked (RFC 7009): its session ended. */
  | 'revoked'
  /** A session was ended from `/devices` (by its user) or by the device limit. */
  | 'session_ended'
  /** A new session was refused, or made by ending the least recently used one, at `maxDevicesPerUser`. */
  | 'device_limit'
  /** A client presented wrong or no credentials. */
  | 'client_auth_failed'
  /** A password login failed. */
  | 'user_auth_failed'
  /** A request was refused with 429: a locked user, an IP over its ceiling, a client over its limit. */
  | 'throttled';

/** One audit event. */
export interface AuditEvent {
  readonly type: AuditEventType;
  /** When, ms since the epoch. */
  readonly time: number;
  /** The client it concerns, as authenticated (or as presented, for `client_auth_failed`). */
  readonly clientId?: string | undefined;
  /** The username it concerns (as presented, for `user_auth_failed` and `throttled`). */
  readonly username?: string | undefined;
  /** The device scope of the session, if it has one. */
  readonly device?: string | undefined;
  /** The session concerned (opaque id, never a token). */
  readonly sessionId?: string | undefined;
  /** The caller's IP address (Express' `req.ip`). */
  readonly ip?: string | undefined;
  /** A short reason in words (`"wrong password"`, `"user locked"`, `"end-oldest"` …). */
  readonly reason?: string | undefined;
}

/** Reports an event; a listener that throws is never allowed to break the request. */
export type EventSink = (event: Omit<AuditEvent, 'time'>) => void;

/** The router's `onEvent` as a sink that adds the time and swallows the listener's errors. */
export function eventSink(listener: ((event: AuditEvent) => void) | undefined): EventSink {
  if (!listener) return () => undefined;
  return (event) => {
    try {
      listener({ ...event, time: Date.now() });
    } catch {
      // An audit listener's bug must not turn a token answer into a 500.
    }
  };
}
