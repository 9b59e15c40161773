import { readFileSync } from 'node:fs';
// The error class alone: the gateway loads the rest of the package only once the config is read.
import { OptionError } from '../lib/errors/option-error';
import type { ClientRecord, TokenRouterOptions, UserRecord } from '../lib';
import { ConfigError } from './config-error';

/**
 * The JSON config file: who may get tokens and for which scopes. The field names are those of
 * `createTokenRouter()`'s options, so the README's options reference applies to them too.
 */
export interface GatewayConfig {
  readonly clients: readonly ClientRecord[];
  /** Needed when a client may use the `password` grant. @default [] */
  readonly users?: readonly UserRecord[] | undefined;
  /** Scope → the roles that may have it. @default {} */
  readonly scopes?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Regular expressions (as strings) of device scopes. @default ["^device_"] */
  readonly deviceScopePatterns?: readonly string[] | undefined;
  /** @default "default" */
  readonly defaultScope?: string | undefined;
  /** @default true */
  readonly reuseTokens?: boolean | undefined;
  /** Seconds. @default 60 */
  readonly reuseMinRemaining?: number | undefined;
  /** Seconds, for clients without their own. @default 3600 */
  readonly accessTokenTtl?: number | undefined;
  /** Seconds, for clients without their own. @default 86400 */
  readonly refreshTokenTtl?: number | undefined;
  /** The public URL of the gateway (RFC 8414 issuer). @default derived from each request */
  readonly issuer?: string | undefined;
  /** Scopes listed by the metadata document. @default none */
  readonly scopesSupported?: readonly string[] | undefined;
  /**
   * Mount `GET /devices`, `DELETE /devices/{id}` and `DELETE /devices` (self-service device
   * sessions). Off by default in the library, on in the gateway: `readGatewayConfig()` and
   * `checkGatewayConfig()` set it to `true` when the file does not say.
   * @default true
   */
  readonly deviceEndpoints?: boolean | undefined;
  /** Seconds a just-rotated refresh token still answers with the current pair; 0 = strict. Per client too. @default 30 */
  readonly refreshGracePeriod?: number | undefined;
  /** Live sessions of one user with one client (0: no bound). Per client too. @default 50 */
  readonly maxDevicesPerUser?: number | undefined;
  /** `"end-oldest"` or `"refuse"` a new session beyond `maxDevicesPerUser`. Per client too. @default "end-oldest" */
  readonly onDeviceLimit?: TokenRouterOptions['onDeviceLimit'];
  /** Token requests without a device scope are `invalid_scope`. Per client too. @default false */
  readonly requireDevice?: boolean | undefined;
  /** `{ perIp, perUser, ipCeiling, window }` of the password grant's lockout, or `false`. @default { perIp: 10, perUser: 100, ipCeiling: 100, window: 900 } */
  readonly loginLockout?: TokenRouterOptions['loginLockout'];
  /** `{ perIp, window }` of the throttling of failed client authentication, or `false`. @default { perIp: 20, window: 300 } */
  readonly clientLockout?: TokenRouterOptions['clientLockout'];
}

// Every field the file may have. An unknown one is a typo ("client", "role"…) and is refused:
// silently ignoring it would, say, leave a user without the roles the operator meant to give.
const TOP_LEVEL_FIELDS = [
  'clients',
  'users',
  'scopes',
  'deviceScopePatterns',
  'defaultScope',
  'reuseTokens',
  'reuseMinRemaining',
  'accessTokenTtl',
  'refreshTokenTtl',
  'issuer',
  'scopesSupported',
  'deviceEndpoints',
  'refreshGracePeriod',
  'maxDevicesPerUser',
  'onDeviceLimit',
  'requireDevice',
  'loginLockout',
  'clientLockout',
] as const satisfies readonly (keyof GatewayConfig)[];
const CLIENT_FIELDS = [
  'clientId',
  'clientSecret',
  'grants',
  'accessTokenTtl',
  'refreshTokenTtl',
  'roles',
  'resourceServer',
  'refreshGracePeriod',
  'maxDevicesPerUser',
  'onDeviceLimit',
  'requireDevice',
] as const satisfies readonly (keyof ClientRecord)[];
const USER_FIELDS = ['username', 'password', 'passwordHash', 'roles'] as const satisfies readonly (keyof UserRecord)[];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkFields(value: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const field of Object.keys(value)) {
    if (!known.includes(field)) {
      const name = path === '' ? field : `${path}.${field}`;
      throw new ConfigError(`${name} is not a known field (known: ${known.join(', ')})`);
    }
  }
}

function checkRecords(value: unknown, known: readonly string[], path: string): void {
  if (!Array.isArray(value)) throw new ConfigError(`${path} must be an array`);
  value.forEach((record, index) => {
    if (!isObject(record)) throw new ConfigError(`${path}[${index}] must be an object`);
    checkFields(record, known, `${path}[${index}]`);
  });
}

/**
 * Checks the shape of a parsed config file: an object with known fields, `clients` a non-empty
 * array, records without unknown fields. The values themselves are checked by
 * `createTokenRouter()` when the gateway is built (see {@link configErrorFrom}). Fills in the
 * gateway's own defaults: `deviceEndpoints: true`.
 * @throws ConfigError naming the field.
 */
export function checkGatewayConfig(value: unknown): GatewayConfig {
  if (!isObject(value)) throw new ConfigError('the config must be a JSON object with "clients", "users" and "scopes"');
  checkFields(value, TOP_LEVEL_FIELDS, '');
  if (value.clients === undefined) throw new ConfigError('clients is missing: list at least one client');
  checkRecords(value.clients, CLIENT_FIELDS, 'clients');
  if ((value.clients as unknown[]).length === 0) throw new ConfigError('clients must list at least one client');
  if (value.users !== undefined) checkRecords(value.users, USER_FIELDS, 'users');
  if (value.scopes !== undefined && !isObject(value.scopes)) {
    throw new ConfigError('scopes must be an object mapping each scope to an array of role names');
  }
  if (value.deviceScopePatterns !== undefined) {
    const patterns = value.deviceScopePatterns;
    if (!Array.isArray(patterns)) throw new ConfigError('deviceScopePatterns must be an array of regular expressions (strings)');
    patterns.forEach((pattern, index) => {
      if (typeof pattern !== 'string') throw new ConfigError(`deviceScopePatterns[${index}] must be a string (a regular expression)`);
    });
  }
  // The gateway shows the self-service device endpoints unless the file switches them off; a
  // value that is not a boolean is passed on for createTokenRouter() to name.
  return { ...value, deviceEndpoints: value.deviceEndpoints === undefined ? true : value.deviceEndpoints } as unknown as GatewayConfig;
}

/**
 * Reads and checks the config file.
 * @throws ConfigError for an unreadable file, invalid JSON or a wrong shape.
 */
export function readGatewayConfig(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`GATEWAY_CONFIG file ${path} cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`GATEWAY_CONFIG file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return checkGatewayConfig(parsed);
  } catch (error) {
    throw error instanceof ConfigError ? new ConfigError(error.message, path) : error;
  }
}

/**
 * `createTokenRouter()` names a wrong option by its path (`options.clients[0].grants[1] must be
 * one of …`); the config file has the same field names, so dropping `options.` names the field
 * as the operator wrote it.
 */
export function configErrorFrom(error: unknown, file?: string): unknown {
  if (error instanceof OptionError && error.path.startsWith('options.')) {
    return new ConfigError(`${error.path.slice('options.'.length)} ${error.problem}`, file);
  }
  return error;
}
