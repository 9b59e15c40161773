import { DEFAULTS } from '../defaults';
import { OptionError } from '../errors/option-error';
import { isDeviceScope } from '../scopes/scope';
import type { NormalizedRouterOptions, ScopeRequester } from './option-types';
import { isObject, stringList } from './validate';

/** Which roles may have which scope, and which scopes are device scopes. */

export function normalizeScopes(scopes: unknown): NormalizedRouterOptions['isScopeAllowed'] {
  if (scopes === undefined) return () => false;
  if (typeof scopes === 'function') {
    const allowed = scopes as (scope: string, requester: ScopeRequester) => unknown;
    return async (scope, requester) => (await allowed(scope, requester)) === true;
  }
  if (!isObject(scopes)) throw new OptionError('options.scopes', 'must be an object of scope -> role names, or a function');
  const roles = new Map<string, ReadonlySet<string>>();
  for (const [scope, bound] of Object.entries(scopes)) {
    roles.set(scope, new Set(stringList(bound, `options.scopes["${scope}"]`)));
  }
  return (scope, requester) => {
    const allowed = roles.get(scope);
    return allowed !== undefined && requester.roles.some((role) => allowed.has(role));
  };
}

export function normalizePatterns(patterns: unknown): RegExp[] {
  if (patterns === undefined) return DEFAULTS.router.deviceScopePatterns.map((pattern) => new RegExp(pattern));
  if (!Array.isArray(patterns)) throw new OptionError('options.deviceScopePatterns', 'must be an array of RegExp or strings');
  return patterns.map((pattern, index) => {
    if (pattern instanceof RegExp) return pattern;
    if (typeof pattern !== 'string') throw new OptionError(`options.deviceScopePatterns[${index}]`, `must be a RegExp or a string`);
    try {
      return new RegExp(pattern);
    } catch {
      throw new OptionError(`options.deviceScopePatterns[${index}]`, `is not a valid regular expression`);
    }
  });
}

/** An ordinary scope that a device pattern matches would skip the permission check: refused at start-up. */
export function checkOrdinaryScopes(scopes: unknown, defaultScope: string, patterns: readonly RegExp[]): void {
  if (isDeviceScope(defaultScope, patterns)) {
    throw new OptionError(`options.defaultScope`, `"${defaultScope}" matches a device scope pattern (options.deviceScopePatterns)`);
  }
  if (!isObject(scopes)) return;
  for (const scope of Object.keys(scopes)) {
    if (isDeviceScope(scope, patterns)) {
      throw new OptionError(
        `options.scopes["${scope}"]`,
        `is a device scope (it matches options.deviceScopePatterns): device scopes need no roles`,
      );
    }
  }
}
