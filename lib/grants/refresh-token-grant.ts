import { InvalidGrantError, InvalidScopeError } from '../errors/oauth-error';
import { requireParam } from '../params/form-params';
import { parseScope } from '../scopes/scope';
import type { GrantHandler } from './grant-context';

/**
 * RFC 6749 §6: refresh with rotation. The old refresh and access tokens die; a replayed
 * (already rotated) refresh token ends that device's session (OAuth 2.0 Security BCP §4.14.2),
 * except for a retry inside the client's `refreshGracePeriod`, which gets the current pair.
 */
export const refreshTokenGrant: GrantHandler = async ({ client, params, options, ip }) => {
  const refreshToken = requireParam(params, 'refresh_token');
  const requested = parseScope(params.scope);
  const result = await options.store.refresh({
    refreshToken,
    clientId: client.clientId,
    // RFC 6749 §6: an omitted scope means the scope originally granted.
    scopes: requested.length > 0 ? requested : undefined,
    accessTokenTtl: client.accessTokenTtl,
    refreshTokenTtl: client.refreshTokenTtl,
    reuse: options.reuse !== false,
    gracePeriod: client.sessions.refreshGracePeriod,
  });
  const who = { clientId: client.clientId, ip };
  switch (result.status) {
    case 'ok':
      options.emit({
        type: 'refreshed',
        ...who,
        username: result.tokens.username,
        device: result.tokens.deviceScopes[0],
        sessionId: result.tokens.sessionId,
        ...(result.retried ? { reason: 'retry inside the grace period: the current tokens again' } : {}),
      });
      return result.tokens;
    case 'invalid_scope':
      throw new InvalidScopeError('the requested scope exceeds the scope originally granted');
    case 'replayed':
      options.emit({
        type: 'refresh_replayed',
        ...who,
        sessionId: result.sessionId,
        reason: 'a rotated refresh token came back: its session was ended',
      });
      options.emit({ type: 'session_ended', ...who, sessionId: result.sessionId, reason: 'refresh token replay' });
      throw new InvalidGrantError('the refresh token was already used; the grant has been revoked');
    case 'invalid':
      throw new InvalidGrantError('the refresh token is invalid, expired or revoked');
  }
};
