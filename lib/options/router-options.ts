import { LockoutCache } from '../abuse/lockout-cache';
import { DEFAULTS } from '../defaults';
import { OptionError } from '../errors/option-error';
import { eventSink, type AuditEvent } from '../events/audit-event';
import { isScopeToken } from '../scopes/scope';
import { normalizeClients } from './client-registry';
import { normalizeIssuer, normalizeScopesSupported } from './metadata-options';
import type { NormalizedRouterOptions, TokenRouterOptions } from './option-types';
import { checkOrdinaryScopes, normalizePatterns, normalizeScopes } from './scope-policy';
import {
  normalizeClientLockout,
  normalizeLoginKey,
  normalizeLoginLockout,
  normalizeSessionPolicy,
  SESSION_DEFAULTS,
} from './session-options';
import { normalizeUsers } from './user-directory';
import { isNonEmptyString, isObject, positiveInteger } from './validate';

export * from './option-types';

function onEvent(value: unknown): ((event: AuditEvent) => void) | undefined {
  if (value !== undefined && typeof value !== 'function') throw new OptionError('options.onEvent', 'must be a function');
  return value as ((event: AuditEvent) => void) | undefined;
}

function deviceEndpoints(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new OptionError('options.deviceEndpoints', 'must be a boolean');
  return value === true;
}

/**
 * Validates the options of `createTokenRouter()` once, at start-up.
 * @throws TypeError naming the first wrong option.
 */
export function normalizeRouterOptions(options: TokenRouterOptions): NormalizedRouterOptions {
  if (!isObject(options)) throw new OptionError('options', 'must be an object');
  const store = options.store as unknown;
  if (
    !isObject(store) ||
    !['issue', 'refresh', 'revoke', 'lookup', 'ping', 'recordLoginFailure', 'failureCounter', 'listDevices'].every(
      (m) => typeof store[m] === 'function',
    )
  ) {
    throw new OptionError('options.store', 'must be a TokenStore (RedisTokenStore or MemoryTokenStore)');
  }
  const accessTokenTtl = positiveInteger(options.accessTokenTtl, DEFAULTS.router.accessTokenTtl, 'options.accessTokenTtl');
  const refreshTokenTtl = positiveInteger(options.refreshTokenTtl, DEFAULTS.router.refreshTokenTtl, 'options.refreshTokenTtl');
  const sessions = normalizeSessionPolicy(options, 'options', SESSION_DEFAULTS);
  const clients = normalizeClients(options.clients, { accessTokenTtl, refreshTokenTtl, sessions });
  const authenticateUser = normalizeUsers(options.users);
  if (clients.needsUsers && !authenticateUser) {
    throw new OptionError('options.users', 'is required when a client may use the password grant');
  }
  const defaultScope = options.defaultScope ?? DEFAULTS.router.defaultScope;
  if (!isNonEmptyString(defaultScope) || !isScopeToken(defaultScope)) {
    throw new OptionError('options.defaultScope', 'must be a valid scope token (RFC 6749 §3.3)');
  }
  if (options.reuseTokens !== undefined && typeof options.reuseTokens !== 'boolean') {
    throw new OptionError('options.reuseTokens', 'must be a boolean');
  }
  const minRemaining = options.reuseMinRemaining ?? DEFAULTS.router.reuseMinRemaining;
  if (!Number.isInteger(minRemaining) || minRemaining < 0) {
    throw new OptionError('options.reuseMinRemaining', 'must be a non-negative integer (seconds)');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new OptionError('options.onError', 'must be a function');
  }
  const bodyLimit = options.bodyLimit ?? DEFAULTS.router.bodyLimit;
  if (typeof bodyLimit !== 'string' && typeof bodyLimit !== 'number') {
    throw new OptionError('options.bodyLimit', 'must be a byte count or a size string such as "16kb"');
  }
  const patterns = normalizePatterns(options.deviceScopePatterns);
  const loginLockout = normalizeLoginLockout(options.loginLockout);
  const clientLockout = normalizeClientLockout(options.clientLockout);
  checkOrdinaryScopes(options.scopes, defaultScope, patterns);
  return {
    store: options.store,
    findClient: clients.find,
    authenticateUser: authenticateUser ?? (() => undefined),
    hasUsers: authenticateUser !== undefined,
    isScopeAllowed: normalizeScopes(options.scopes),
    deviceScopePatterns: patterns,
    defaultScope,
    reuse: options.reuseTokens === false ? false : { minRemaining },
    bodyLimit,
    onError: options.onError,
    issuer: normalizeIssuer(options.issuer),
    scopesSupported: normalizeScopesSupported(options.scopesSupported),
    loginLockout,
    loginKey: normalizeLoginKey(options.loginKey),
    lockouts: new LockoutCache(),
    ipFailures: loginLockout && options.store.failureCounter('login-ip', loginLockout.ipCeiling, loginLockout.window),
    clientLockout,
    clientFailures: clientLockout && options.store.failureCounter('client', clientLockout.perIp, clientLockout.window),
    emit: eventSink(onEvent(options.onEvent)),
    deviceEndpoints: deviceEndpoints(options.deviceEndpoints),
    grantTypes: clients.grantTypes,
  };
}
