import type { EventSink } from '../events/audit-event';
import { InvalidRequestError, TooManyLoginAttemptsError } from '../errors/oauth-error';
import type { NormalizedClient, NormalizedRouterOptions } from '../options/router-options';
import type { GrantedScopes } from '../scopes/scope';
import type { LoginCheck, TokenSet } from '../stores/token-store';

/** Who the session is for, and the password grant's lock check. */
export interface SessionOwner {
  /** The username, or the client id for client_credentials. */
  readonly subject: string;
  readonly username?: string | undefined;
  readonly login?: LoginCheck | undefined;
}

/**
 * One store call that issues or reuses the device session, with the client's limits; a lock
 * or the device limit becomes the RFC error the client gets.
 */
export async function issueTokens(
  client: NormalizedClient,
  owner: SessionOwner,
  granted: GrantedScopes,
  options: Pick<NormalizedRouterOptions, 'store' | 'reuse'> & { readonly emit: EventSink; readonly ip: string },
  refresh: boolean,
): Promise<TokenSet> {
  const { maxDevicesPerUser, onDeviceLimit } = client.sessions;
  const result = await options.store.issue({
    clientId: client.clientId,
    subject: owner.subject,
    username: owner.username,
    scopes: granted.scopes,
    deviceScopes: granted.deviceScopes,
    accessTokenTtl: client.accessTokenTtl,
    refreshTokenTtl: refresh ? client.refreshTokenTtl : undefined,
    reuse: options.reuse,
    deviceLimit: maxDevicesPerUser > 0 ? { max: maxDevicesPerUser, onLimit: onDeviceLimit } : undefined,
    login: owner.login,
  });
  const who = { clientId: client.clientId, username: owner.username, device: granted.deviceScopes[0], ip: options.ip };
  switch (result.status) {
    case 'issued':
      if (result.endedSessionId !== undefined) {
        options.emit({
          type: 'device_limit',
          ...who,
          sessionId: result.endedSessionId,
          reason: `end-oldest at maxDevicesPerUser ${maxDevicesPerUser}`,
        });
        options.emit({ type: 'session_ended', ...who, device: undefined, sessionId: result.endedSessionId, reason: 'device limit' });
      }
      options.emit({ type: 'issued', ...who, sessionId: result.tokens.sessionId });
      return result.tokens;
    case 'reused':
      options.emit({ type: 'reused', ...who, sessionId: result.tokens.sessionId });
      return result.tokens;
    case 'locked':
      throw new TooManyLoginAttemptsError(result.retryAfter);
    case 'device_limit':
      options.emit({ type: 'device_limit', ...who, reason: `refused at maxDevicesPerUser ${maxDevicesPerUser}` });
      throw new InvalidRequestError(
        `this user already has the most devices signed in with this client (maxDevicesPerUser ${maxDevicesPerUser}): sign one out first`,
      );
  }
}
