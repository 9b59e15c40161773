import { InvalidGrantError, TooManyLoginAttemptsError } from '../errors/oauth-error';
import { requireParam } from '../endpoints/form-body';
import { grantScopes, parseScope } from '../scopes/scope';
import type { GrantHandler } from './grant-context';
import { issueTokens } from './issue-tokens';

/**
 * RFC 6749 §4.3: resource owner password credentials, with per-device token reuse.
 *
 * Brute force (§4.3.2): a lock this process knows of is refused before the password is hashed; a
 * wrong password costs one store call that counts it; the right one is checked against a lock and
 * clears this IP's count inside the issuing call, so a successful login is one round trip.
 */
export const passwordGrant: GrantHandler = async ({ client, params, options, ip }) => {
  const username = requireParam(params, 'username');
  const password = requireParam(params, 'password');
  const requested = parseScope(params.scope);
  const lockout = options.loginLockout;
  const countingKey = lockout ? options.loginKey(username) : '';
  if (lockout) {
    const retryAfter = options.lockouts.lockedFor(countingKey, ip);
    if (retryAfter > 0) throw new TooManyLoginAttemptsError(retryAfter);
  }
  const user = await options.authenticateUser(username, password);
  if (!user) {
    if (lockout) {
      const failures = await options.store.recordLoginFailure(countingKey, ip, lockout.window);
      if (failures.total >= lockout.perUser) options.lockouts.lock(countingKey, undefined, failures.retryAfter);
      else if (failures.fromIp >= lockout.perIp) options.lockouts.lock(countingKey, ip, failures.retryAfter);
    }
    throw new InvalidGrantError('the username or password is wrong');
  }
  const granted = await grantScopes(
    requested,
    { clientId: client.clientId, username: user.username, roles: user.roles },
    options,
    client.sessions.requireDevice,
  );
  const loginKey = lockout ? options.loginKey(user.username) : '';
  try {
    return await issueTokens(
      client,
      {
        subject: user.username,
        username: user.username,
        login: lockout ? { key: loginKey, ip, maxPerIp: lockout.perIp, maxPerUser: lockout.perUser } : undefined,
      },
      granted,
      options,
      // RFC 6749 §4.3.3: a refresh token only for clients that may use it.
      client.grants.has('refresh_token'),
    );
  } catch (error) {
    // The store knew of a lock this process did not: remember it until it ends.
    if (error instanceof TooManyLoginAttemptsError) options.lockouts.lock(loginKey, ip, error.retryAfter!);
    throw error;
  }
};
