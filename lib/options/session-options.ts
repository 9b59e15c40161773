import { OptionError } from '../errors/option-error';
import { DEFAULTS } from '../defaults';

/**
 * Options about device sessions and abuse, router-wide and per client: the graceful refresh
 * rotation, the device limit, `requireDevice`, the password grant's lockout, and the limits on
 * request parameters. Defaults live here once; the docs and the gateway config name these.
 */

/** What a new session beyond `maxDevicesPerUser` does. */
export type DeviceLimitPolicy = 'end-oldest' | 'refuse';

/** Per-client session behaviour (each falls back to the router-wide option). */
export interface SessionPolicy {
  /** Seconds the refresh token just rotated away still answers with the current pair. */
  readonly refreshGracePeriod: number;
  /** Live sessions of one user with this client; 0 for no bound. */
  readonly maxDevicesPerUser: number;
  readonly onDeviceLimit: DeviceLimitPolicy;
  /** A token request without a device scope is `invalid_scope`. */
  readonly requireDevice: boolean;
}

export const SESSION_DEFAULTS: SessionPolicy = DEFAULTS.sessions;

/** Brute-force protection of the password grant (RFC 6749 §4.3.2). */
export interface LoginLockout {
  /** Failed logins of one user from one client IP that lock the user for that IP. */
  readonly perIp: number;
  /** Failed logins of one user from all IPs that lock the user everywhere (the backstop). */
  readonly perUser: number;
  /** Failed logins from one IP, whatever the usernames, that lock that IP out (password spraying). */
  readonly ipCeiling: number;
  /** Seconds from a user's first counted failure until the counts (and a lock) end. */
  readonly window: number;
}

export const LOGIN_LOCKOUT_DEFAULTS: LoginLockout = DEFAULTS.loginLockout;

/** Throttling of failed client authentication (a guessed client secret). */
export interface ClientLockout {
  /** Failed authentications of one client id from one IP that block that pair. */
  readonly perIp: number;
  /** Seconds from the first counted failure until the count (and a block) ends. */
  readonly window: number;
}

export const CLIENT_LOCKOUT_DEFAULTS: ClientLockout = DEFAULTS.clientLockout;

/** Longest accepted request parameters (longer: `invalid_request` / `invalid_scope`). */
export const PARAMETER_LIMITS = DEFAULTS.limits;

/**
 * The default `loginKey`: a username's failed logins are counted under its Unicode NFKC form in
 * lower case, so `Alice`, `alice` and `ａｌｉｃｅ` share one count (a case-insensitive directory
 * such as LDAP would otherwise give an attacker a fresh count per spelling).
 */
export function defaultLoginKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

function nonNegativeInteger(value: unknown, fallback: number, name: string, unit: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 0) throw new OptionError(`${name}`, `must be a non-negative integer (${unit})`);
  return value as number;
}

/**
 * Validates the session options of a client record or of the router; `name` is the path
 * prefix for messages (`options` or `options.clients[0]`).
 */
export function normalizeSessionPolicy(record: Readonly<Record<string, unknown>>, name: string, defaults: SessionPolicy): SessionPolicy {
  const onDeviceLimit = record.onDeviceLimit ?? defaults.onDeviceLimit;
  if (onDeviceLimit !== 'end-oldest' && onDeviceLimit !== 'refuse') {
    throw new OptionError(`${name}.onDeviceLimit`, `must be "end-oldest" or "refuse"`);
  }
  const requireDevice = record.requireDevice ?? defaults.requireDevice;
  if (typeof requireDevice !== 'boolean') throw new OptionError(`${name}.requireDevice`, `must be a boolean`);
  return {
    refreshGracePeriod: nonNegativeInteger(record.refreshGracePeriod, defaults.refreshGracePeriod, `${name}.refreshGracePeriod`, 'seconds'),
    maxDevicesPerUser: nonNegativeInteger(
      record.maxDevicesPerUser,
      defaults.maxDevicesPerUser,
      `${name}.maxDevicesPerUser`,
      '0 for no limit',
    ),
    onDeviceLimit,
    requireDevice,
  };
}

/**
 * A thresholds object (`options.<name>`) over its defaults, or `false` to switch it off.
 * @throws TypeError naming the option for anything but positive integers and known fields.
 */
function thresholds<T extends object>(value: unknown, name: string, defaults: T): T | undefined {
  if (value === false) return undefined;
  if (value === undefined) return defaults;
  const fields = Object.keys(defaults).join(', ');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(`options.${name}`, `must be an object { ${fields} } or false`);
  }
  const given = value as Record<string, unknown>;
  for (const field of Object.keys(given)) {
    if (!(field in defaults)) throw new OptionError(`options.${name}.${field}`, `is not an option (${fields})`);
  }
  return Object.fromEntries(
    Object.entries(defaults).map(([field, fallback]) => {
      const v: unknown = given[field] ?? fallback;
      if (!Number.isInteger(v) || (v as number) <= 0) throw new OptionError(`options.${name}.${field}`, `must be a positive integer`);
      return [field, v];
    }),
  ) as T;
}

/** `options.loginLockout`: thresholds, or `false` to switch the protection off. */
export function normalizeLoginLockout(value: unknown): LoginLockout | undefined {
  return thresholds(value, 'loginLockout', LOGIN_LOCKOUT_DEFAULTS);
}

/** `options.clientLockout`: thresholds, or `false` to switch the throttling off. */
export function normalizeClientLockout(value: unknown): ClientLockout | undefined {
  return thresholds(value, 'clientLockout', CLIENT_LOCKOUT_DEFAULTS);
}

/** `options.loginKey`: a function from username to counting key. */
export function normalizeLoginKey(value: unknown): (username: string) => string {
  if (value === undefined) return defaultLoginKey;
  if (typeof value !== 'function') throw new OptionError('options.loginKey', 'must be a function (username) => string');
  return (username) => {
    const key = (value as (username: string) => unknown)(username);
    if (typeof key !== 'string') throw new OptionError('options.loginKey()', 'must return a string');
    return key;
  };
}
