import { InvalidRequestError, InvalidScopeError } from '../errors/oauth-error';
import { DEFAULTS } from '../defaults';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one scope token of RFC 6749 §3.3 syntax. */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/**
 * Parses a `scope` parameter: space-delimited (RFC 6749 §3.3), each token checked for syntax,
 * duplicates collapsed, sorted case-sensitively. `undefined` or empty gives `[]`.
 * @throws InvalidScopeError on a character outside the scope-token syntax.
 */
export function parseScope(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const tokens = raw.split(' ').filter((token) => token !== '');
  for (const token of tokens) {
    if (token.length > DEFAULTS.limits.scopeLength) {
      throw new InvalidScopeError(`a scope is longer than ${DEFAULTS.limits.scopeLength} characters`);
    }
    if (!SCOPE_TOKEN.test(token)) throw new InvalidScopeError(`"${token.slice(0, 64)}" is not a valid scope (RFC 6749 §3.3)`);
  }
  const unique = [...new Set(tokens)];
  if (unique.length > DEFAULTS.limits.scopes) throw new InvalidScopeError(`more than ${DEFAULTS.limits.scopes} scopes were asked for`);
  return unique.sort(compareCodeUnits);
}

/** Byte-order comparison (scope tokens are ASCII), the same order Redis' Lua `table.sort` uses. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a scope is a device scope: it skips the permission check and names the device. */
export function isDeviceScope(scope: string, patterns: readonly RegExp[]): boolean {
  return patterns.some((pattern) => {
    pattern.lastIndex = 0; // a /g or /y pattern keeps state between calls
    return pattern.test(scope);
  });
}

/** Who asks for a scope: the user (password grant) or the client itself (client_credentials). */
export interface ScopeRequester {
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly roles: readonly string[];
}

/** What decides the granted scopes (from the router's options). */
export interface ScopeRules {
  readonly deviceScopePatterns: readonly RegExp[];
  isScopeAllowed(scope: string, requester: ScopeRequester): boolean | Promise<boolean>;
  readonly defaultScope: string;
}

/** The scopes a request is granted: device scopes, permitted ordinary scopes, else `default`. */
export interface GrantedScopes {
  readonly scopes: string[];
  readonly deviceScopes: string[];
}

/**
 * Decides the granted scopes (WSO2 behaviour): device scopes are granted as asked; an ordinary
 * scope only when the requester holds a role bound to it, otherwise it is dropped silently;
 * when no ordinary scope is left, the default scope is granted.
 * @throws InvalidRequestError for more than one device scope (a session belongs to one device);
 *   InvalidScopeError for none when `requireDevice` is set (a typo such as `DEVICE_ipad` must not
 *   silently give a shared, device-less token).
 */
export function grantScopes(
  requested: readonly string[],
  requester: ScopeRequester,
  options: ScopeRules,
  requireDevice = false,
): GrantedScopes | Promise<GrantedScopes> {
  const deviceScopes = requested.filter((scope) => isDeviceScope(scope, options.deviceScopePatterns));
  if (deviceScopes.length > 1) throw new InvalidRequestError('ask for one device scope at most: a token belongs to one device');
  if (requireDevice && deviceScopes.length === 0)
    throw new InvalidScopeError('this client must ask for a device scope (such as device_ipad)');
  const ordinary = requested.filter((scope) => !isDeviceScope(scope, options.deviceScopePatterns));
  const allowed = ordinary.map((scope) => options.isScopeAllowed(scope, requester));
  const decide = (answers: readonly boolean[]): GrantedScopes => {
    const permitted = ordinary.filter((_scope, index) => answers[index]);
    if (permitted.length === 0) permitted.push(options.defaultScope);
    return { scopes: [...new Set([...deviceScopes, ...permitted])].sort(compareCodeUnits), deviceScopes };
  };
  // A static scope map answers at once; only a scope function that returns promises is awaited.
  if (!allowed.some((answer) => answer instanceof Promise)) return decide(allowed as boolean[]);
  return Promise.all(allowed.map((answer) => Promise.resolve(answer))).then(decide);
}
