import { InvalidGrantError } from '../errors/oauth-error';
import { requireParam } from '../endpoints/form-body';
import { grantScopes, parseScope } from '../scopes/scope';
import type { GrantHandler } from './grant-context';

/** RFC 6749 §4.3: resource owner password credentials, with per-device token reuse. */
export const passwordGrant: GrantHandler = async ({ client, params, options }) => {
  const username = requireParam(params, 'username');
  const password = requireParam(params, 'password');
  const requested = parseScope(params.scope);
  const user = await options.authenticateUser(username, password);
  if (!user) {
    await options.loginLimiter?.failed(username);
    throw new InvalidGrantError('the username or password is wrong');
  }
  // RFC 6749 §4.3.2: a locked user is refused even with the right password.
  await options.loginLimiter?.passed(username);
  const granted = await grantScopes(requested, { clientId: client.clientId, username: user.username, roles: user.roles }, options);
  return options.store.issue({
    clientId: client.clientId,
    subject: user.username,
    username: user.username,
    scopes: granted.scopes,
    deviceScopes: granted.deviceScopes,
    accessTokenTtl: client.accessTokenTtl,
    // RFC 6749 §4.3.3: a refresh token only for clients that may use it.
    refreshTokenTtl: client.grants.has('refresh_token') ? client.refreshTokenTtl : undefined,
    reuse: options.reuse,
  });
};
