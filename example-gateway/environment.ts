import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from './config-error';

/**
 * The gateway's deployment settings, read from environment variables. Everything about *what*
 * the token service grants lives in the JSON config file instead (see `config.ts`).
 */
export interface GatewayEnvironment {
  /** Address to listen on; `undefined` = all interfaces. From `HOST`. */
  readonly host: string | undefined;
  /** From `PORT`. @default 8280 */
  readonly httpPort: number | 'off';
  /** From `HTTPS_PORT`. @default 8243 */
  readonly httpsPort: number | 'off';
  /** PEM files from `TLS_CERT`/`TLS_KEY`; `undefined` = a self-signed certificate made at start-up. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** From `REDIS_URL`, `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS`; `undefined` = the in-memory store. */
  readonly redis: RedisTarget | undefined;
  /** From `REDIS_KEY_PREFIX`. @default "oauth:" */
  readonly redisKeyPrefix: string | undefined;
  /** From `GATEWAY_CONFIG`. @default example-gateway/config.json in the repository */
  readonly configPath: string;
  /** `TOKEN_SECRET` first, then `TOKEN_SECRET_PREVIOUS`; empty = a random secret for this process. */
  readonly tokenSecrets: readonly string[];
  /** Express' `trust proxy` setting, from `TRUST_PROXY`. @default false */
  readonly trustProxy: boolean | number | string;
  /** From `LOG_LEVEL`. @default "info" */
  readonly logLevel: LogLevel;
  /** Milliseconds to wait for requests in flight at shutdown, from `SHUTDOWN_TIMEOUT` (seconds). @default 10000 */
  readonly shutdownTimeout: number;
  /** `GET /metrics` and its per-request counting, from `GATEWAY_METRICS` (`on` or `off`). @default true */
  readonly metrics: boolean;
}

export type RedisTarget =
  | {
      readonly kind: 'single';
      readonly url: string;
      /** The URL with its password masked, for logs. */
      readonly display: string;
      readonly username: string | undefined;
      readonly password: string | undefined;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly HostPort[];
      readonly display: string;
      readonly username: string | undefined;
      readonly password: string | undefined;
    }
  | {
      readonly kind: 'sentinel';
      /** The Sentinels to ask for the current master. */
      readonly sentinels: readonly HostPort[];
      /** The master name the Sentinels monitor, from `REDIS_SENTINEL_NAME`. */
      readonly name: string;
      readonly display: string;
      /** Credentials of the master (and replicas), not of the Sentinels. */
      readonly username: string | undefined;
      readonly password: string | undefined;
    };

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const MIN_SECRET_LENGTH = 32;

type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value, or `undefined` when unset or blank (an empty `FOO=` counts as unset). */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The directory holding `package.json` above `from`: the repository root from `example-gateway/` and from `dist/example-gateway/`. */
export function repositoryRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve(from, '..');
    dir = parent;
  }
  return dir;
}

/** The shipped config, found from this module (so it works from `dist/` and from any cwd). */
export function defaultConfigPath(): string {
  return join(repositoryRoot(), 'example-gateway', 'config.json');
}

function port(env: Env, name: string, fallback: number, allowOff: boolean): number | 'off' {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (allowOff && value.toLowerCase() === 'off') return 'off';
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`${name} must be a port number from 0 to 65535${allowOff ? ' or "off"' : ''} (got "${value}")`);
  }
  return Number(value);
}

/**
 * Query parameters that carry credentials: ioredis reads every query parameter of the URL as an
 * option, so `?password=…` (and `sentinelPassword`…) authenticate as well as the userinfo does.
 */
const SECRET_QUERY_PARAMETER = /pass|secret|token|auth|credential/i;

/**
 * A `redis://` URL with every credential replaced by `***`, safe to log and to put in an error
 * message: the userinfo password (`redis://:pw@host`, `redis://user:pw@host`) and query
 * parameters such as `?password=pw`.
 */
export function maskRedisUrl(url: URL): string {
  const masked = new URL(url.href);
  if (masked.password !== '') masked.password = '***';
  for (const name of new Set(masked.searchParams.keys())) {
    if (SECRET_QUERY_PARAMETER.test(name)) masked.searchParams.set(name, '***');
  }
  return masked.href;
}

function redisUrl(value: string, credentials: { username: string | undefined; password: string | undefined }): RedisTarget {
  const problem = 'REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw new ConfigError(`${problem} (the value given is not a URL)`);
  }
  const display = maskRedisUrl(url);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`${problem} (got "${display}")`);
  if (url.hostname === '') throw new ConfigError(`${problem}: the host is missing (got "${display}")`);
  if (!/^\/?(\d+)?$/.test(url.pathname)) {
    throw new ConfigError(`${problem}: the path must be a database number (got "${display}")`);
  }
  return { kind: 'single', url: url.href, display, ...credentials };
}

/** `host:port,host:port` (IPv6 as `[addr]:port`); `variable` names the list in errors. */
function hostPorts(value: string, variable: string): HostPort[] {
  return value.split(',').map((entry, index) => {
    const node = entry.trim();
    // host:port, or [ipv6]:port
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(node);
    const nodePort = Number(match?.[3]);
    if (!match || nodePort < 1 || nodePort > 65535) {
      throw new ConfigError(`${variable}[${index}] must be host:port, e.g. 10.0.0.1:6379 (got "${node}")`);
    }
    return { host: (match[1] ?? match[2])!, port: nodePort };
  });
}

const listed = (nodes: readonly HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');

function clusterNodes(value: string, credentials: { username: string | undefined; password: string | undefined }): RedisTarget {
  const nodes = hostPorts(value, 'REDIS_CLUSTER_NODES');
  return { kind: 'cluster', nodes, display: listed(nodes), ...credentials };
}

const SENTINEL_NAME = /^[A-Za-z0-9._-]+$/;

function sentinels(value: string, env: Env, credentials: { username: string | undefined; password: string | undefined }): RedisTarget {
  const nodes = hostPorts(value, 'REDIS_SENTINELS');
  const name = read(env, 'REDIS_SENTINEL_NAME') ?? 'mymaster';
  if (!SENTINEL_NAME.test(name)) {
    throw new ConfigError(`REDIS_SENTINEL_NAME must be a master name of letters, digits, ".", "_" or "-" (got "${name}")`);
  }
  return { kind: 'sentinel', sentinels: nodes, name, display: `${name} via sentinels ${listed(nodes)}`, ...credentials };
}

// Express' `trust proxy` accepts these names besides addresses and subnets (proxy-addr).
const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxy(env: Env): boolean | number | string {
  const value = read(env, 'TRUST_PROXY');
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  for (const entry of value.split(',').map((item) => item.trim())) {
    const [address, bits, extra] = entry.split('/');
    const ipVersion = isIP(address ?? '');
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (ipVersion === 6 ? 128 : 32));
    if (!(TRUST_NAMES.has(entry) || (ipVersion !== 0 && validBits && extra === undefined))) {
      throw new ConfigError(
        `TRUST_PROXY must be true, a number of hops, or a comma-separated list of addresses, subnets or loopback/linklocal/uniquelocal (got "${entry}")`,
      );
    }
  }
  return value;
}

function secrets(env: Env): string[] {
  const list: string[] = [];
  for (const name of ['TOKEN_SECRET', 'TOKEN_SECRET_PREVIOUS']) {
    const value = read(env, name);
    if (value === undefined) continue;
    // The value itself is never echoed.
    if (value.length < MIN_SECRET_LENGTH) throw new ConfigError(`${name} must be at least ${MIN_SECRET_LENGTH} characters long`);
    list.push(value);
  }
  if (list.length === 1 && read(env, 'TOKEN_SECRET') === undefined) {
    throw new ConfigError('TOKEN_SECRET_PREVIOUS is set but TOKEN_SECRET is not');
  }
  return list;
}

/**
 * Reads and checks the gateway's environment variables.
 * @throws ConfigError naming the first wrong variable.
 */
export function readEnvironment(env: Env = process.env): GatewayEnvironment {
  const httpPort = port(env, 'PORT', 8280, true);
  const httpsPort = port(env, 'HTTPS_PORT', 8243, true);
  if (httpPort === 'off' && httpsPort === 'off') throw new ConfigError('PORT and HTTPS_PORT are both "off": nothing to listen on');
  if (httpPort === httpsPort && httpPort !== 0) throw new ConfigError(`PORT and HTTPS_PORT must differ (both are ${httpPort})`);

  const certFile = read(env, 'TLS_CERT');
  const keyFile = read(env, 'TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined
        ? 'TLS_KEY is set but TLS_CERT is not: give both or neither'
        : 'TLS_CERT is set but TLS_KEY is not: give both or neither',
    );
  }

  const url = read(env, 'REDIS_URL');
  const nodes = read(env, 'REDIS_CLUSTER_NODES');
  const sentinelNodes = read(env, 'REDIS_SENTINELS');
  const redisVariables = Object.entries({ REDIS_URL: url, REDIS_CLUSTER_NODES: nodes, REDIS_SENTINELS: sentinelNodes })
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (redisVariables.length > 1) {
    throw new ConfigError(`${redisVariables.join(' and ')} are ${redisVariables.length === 2 ? 'both' : 'all'} set: give one of them`);
  }
  if (sentinelNodes === undefined && read(env, 'REDIS_SENTINEL_NAME') !== undefined) {
    throw new ConfigError('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not');
  }
  const credentials = { username: read(env, 'REDIS_USERNAME'), password: read(env, 'REDIS_PASSWORD') };

  const redisKeyPrefix = env.REDIS_KEY_PREFIX;
  // Braces would break the store's Cluster hash tags.
  if (redisKeyPrefix !== undefined && /[{}\s]/.test(redisKeyPrefix)) {
    throw new ConfigError(`REDIS_KEY_PREFIX must not contain "{", "}" or spaces (got "${redisKeyPrefix}")`);
  }

  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const shutdown = read(env, 'SHUTDOWN_TIMEOUT') ?? '10';
  if (!/^\d+(\.\d+)?$/.test(shutdown) || Number(shutdown) <= 0) {
    throw new ConfigError(`SHUTDOWN_TIMEOUT must be a positive number of seconds (got "${shutdown}")`);
  }

  const metrics = read(env, 'GATEWAY_METRICS') ?? 'on';
  if (metrics !== 'on' && metrics !== 'off') throw new ConfigError(`GATEWAY_METRICS must be on or off (got "${metrics}")`);

  const configFile = read(env, 'GATEWAY_CONFIG');
  const redisTarget = (): RedisTarget | undefined => {
    if (url !== undefined) return redisUrl(url, credentials);
    if (nodes !== undefined) return clusterNodes(nodes, credentials);
    if (sentinelNodes !== undefined) return sentinels(sentinelNodes, env, credentials);
    return undefined;
  };
  return {
    host: read(env, 'HOST'),
    httpPort,
    httpsPort,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile: resolve(certFile), keyFile: resolve(keyFile) } : undefined,
    redis: redisTarget(),
    redisKeyPrefix: redisKeyPrefix === '' ? undefined : redisKeyPrefix,
    configPath: configFile === undefined ? defaultConfigPath() : resolve(configFile),
    tokenSecrets: secrets(env),
    trustProxy: trustProxy(env),
    logLevel,
    shutdownTimeout: Math.round(Number(shutdown) * 1000),
    metrics: metrics === 'on',
  };
}
