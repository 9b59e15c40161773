import { InvalidGrantError, TooManyLoginAttemptsError } from '../errors/oauth-error';
import { requireParam } from '../params/form-params';
import { grantScopes, parseScope } from '../scopes/scope';
import type { GrantHandler } from './grant-context';
import { issueTokens } from './issue-tokens';
import { counterKey, lockKey } from '../abuse/lockout-cache';

/**
 * RFC 6749 §4.3: resource owner password credentials, with per-device token reuse.
 *
 * Brute force (§4.3.2): a lock this process knows of is refused before the password is hashed; a
 * wrong password costs one store call that counts it per (user, IP) and per user, and one that
 * counts it per IP across usernames (spraying); the right password is checked against a lock and
 * clears this IP's count inside the issuing call, so a successful login is one round trip.
 */
export const passwordGrant: GrantHandler = async ({ client, params, options, ip }) => {
  const username = requireParam(params, 'username');
  const password = requireParam(params, 'password');
  const requested = parseScope(params.scope);
  const lockout = options.loginLockout;
  const countingKey = lockout ? options.loginKey(username) : '';
  const throttled = (retryAfter: number, reason: string): never => {
    options.emit({ type: 'throttled', clientId: client.clientId, username, ip, reason });
    throw new TooManyLoginAttemptsError(retryAfter);
  };
  if (lockout) {
    const retryAfter = options.lockouts.retryAfter(lockKey.user(countingKey), lockKey.userAtIp(countingKey, ip), lockKey.ip(ip));
    if (retryAfter > 0) throttled(retryAfter, 'locked');
  }
  const authenticated = options.authenticateUser(username, password);
  const user = authenticated instanceof Promise ? await authenticated : authenticated;
  if (!user) {
    options.emit({ type: 'user_auth_failed', clientId: client.clientId, username, ip, reason: 'wrong username or password' });
    if (lockout) {
      const [failures, ipBlocked] = await Promise.all([
        options.store.recordLoginFailure(countingKey, ip, lockout.window),
        options.ipFailures!.fail(counterKey(ip)),
      ]);
      if (ipBlocked > 0) options.lockouts.lock(lockKey.ip(ip), ipBlocked);
      if (failures.total >= lockout.perUser) options.lockouts.lock(lockKey.user(countingKey), failures.retryAfter);
      else if (failures.fromIp >= lockout.perIp) options.lockouts.lock(lockKey.userAtIp(countingKey, ip), failures.retryAfter);
    }
    throw new InvalidGrantError('the username or password is wrong');
  }
  const scopesGranted = grantScopes(
    requested,
    { clientId: client.clientId, username: user.username, roles: user.roles },
    options,
    client.sessions.requireDevice,
  );
  const granted = scopesGranted instanceof Promise ? await scopesGranted : scopesGranted;
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
      { ...options, ip },
      // RFC 6749 §4.3.3: a refresh token only for clients that may use it.
      client.grants.has('refresh_token'),
    );
  } catch (error) {
    // The store knew of a lock this process did not: remember it until it ends.
    if (error instanceof TooManyLoginAttemptsError) {
      options.lockouts.lock(lockKey.userAtIp(loginKey, ip), error.retryAfter!);
      throttled(error.retryAfter!, 'locked');
    }
    throw error;
  }
};
