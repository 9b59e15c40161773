import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedConfig } from './demo';
import { killAllGateways, spawnGateway, type Exit } from './gateway-process';

/**
 * A wrong config file or environment stops the gateway before it listens, with one line on
 * stderr naming the field, a non-zero exit code (78, EX_CONFIG) and no stack trace.
 */

const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
afterAll(() => {
  killAllGateways();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes a config file: the shipped one changed by `change`, or raw text. */
function configFile(change: ((config: ReturnType<typeof shippedConfig>) => void) | string): string {
  const path = join(dir, `config-${++files}.json`);
  if (typeof change === 'string') {
    writeFileSync(path, change);
  } else {
    const config = shippedConfig();
    change(config);
    writeFileSync(path, JSON.stringify(config, null, 2));
  }
  return path;
}

interface Failure {
  readonly exit: Exit;
  readonly stdout: string;
  readonly stderr: string;
}

async function startExpectingFailure(env: Record<string, string>): Promise<Failure> {
  const gateway = spawnGateway({ PORT: '0', HTTPS_PORT: 'off', ...env });
  const exit = await gateway.waitForExit(10_000);
  return { exit, stdout: gateway.stdout, stderr: gateway.stderr };
}

/** One line, no stack frames, and (for a config error) nothing logged before it. */
function expectOneClearLine(failure: Failure, code: number, { loggedBefore = false } = {}): string {
  expect(failure.exit).toEqual({ code, signal: null });
  if (!loggedBefore) expect(failure.stdout).toBe('');
  const lines = failure.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(failure.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

const CONFIG_CASES: readonly [string, Parameters<typeof configFile>[0], string][] = [
  [
    'an unknown grant',
    (config) => (config.clients[0]!.grants = ['password', 'implicit']),
    'clients[0].grants[1] must be one of password, client_credentials, refresh_token (got "implicit")',
  ],
  ['a client without a secret', (config) => delete config.clients[0]!.clientSecret, 'clients[0].clientSecret must be a non-empty string'],
  [
    'a scope bound to a non-array',
    (config) => (config.scopes = { 'orders:read': 'subscriber' }),
    'scopes["orders:read"] must be an array of strings',
  ],
  ['a misspelt field', (config) => (config.users[1]!.role = ['admin']), 'users[1].role is not a known field'],
  [
    'a malformed passwordHash',
    (config) => (config.users[1]!.passwordHash = 'sha256$abc'),
    'users[1].passwordHash must have the format scrypt$N$r$p$salt$hash',
  ],
  [
    'a user with both password and passwordHash',
    (config) => (config.users[1]!.password = 'builder'),
    'users[1] must have exactly one of password and passwordHash',
  ],
  [
    'no users for the password grant',
    (config) => delete (config as Record<string, unknown>).users,
    'users is required when a client may use the password grant',
  ],
  [
    'a non-positive token lifetime',
    (config) => (config.clients[0]!.accessTokenTtl = 0),
    'clients[0].accessTokenTtl must be a positive integer',
  ],
  ['no clients', (config) => (config.clients = []), 'clients must list at least one client'],
  ['a list instead of an object', '[]', 'the config must be a JSON object'],
];

const ENV_CASES: readonly [string, Record<string, string>, RegExp][] = [
  ['a bad PORT', { PORT: 'http' }, /^config error: PORT must be a port number from 0 to 65535 or "off" \(got "http"\)$/],
  ['a bad HTTPS_PORT', { HTTPS_PORT: '70000' }, /^config error: HTTPS_PORT must be a port number/],
  [
    'a REDIS_URL that is not a Redis URL',
    { REDIS_URL: 'http://localhost:6379' },
    /^config error: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
  ],
  ['a REDIS_URL that is not a URL', { REDIS_URL: 'localhost:6379' }, /^config error: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
  [
    'both REDIS_URL and REDIS_CLUSTER_NODES',
    { REDIS_URL: 'redis://10.0.0.1:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000' },
    /^config error: REDIS_URL and REDIS_CLUSTER_NODES are both set/,
  ],
  [
    'a bad REDIS_CLUSTER_NODES entry',
    { REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' },
    /^config error: REDIS_CLUSTER_NODES\[1\] must be host:port/,
  ],
  ['a REDIS_KEY_PREFIX with a hash tag', { REDIS_KEY_PREFIX: 'gw:{x}:' }, /^config error: REDIS_KEY_PREFIX must not contain/],
  ['TLS_CERT without TLS_KEY', { HTTPS_PORT: '0', TLS_CERT: '/etc/ssl/cert.pem' }, /^config error: TLS_CERT is set but TLS_KEY is not/],
  [
    'unreadable certificate files',
    { HTTPS_PORT: '0', TLS_CERT: '/nonexistent/cert.pem', TLS_KEY: '/nonexistent/key.pem' },
    /^config error: TLS_CERT file \/nonexistent\/cert.pem cannot be read: ENOENT/,
  ],
  ['a bad LOG_LEVEL', { LOG_LEVEL: 'verbose' }, /^config error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
  ['a bad TRUST_PROXY', { TRUST_PROXY: '10.0.0.0/99' }, /^config error: TRUST_PROXY must be/],
  ['a bad SHUTDOWN_TIMEOUT', { SHUTDOWN_TIMEOUT: 'soon' }, /^config error: SHUTDOWN_TIMEOUT must be a positive number of seconds/],
  ['PORT and HTTPS_PORT both off', { PORT: 'off', HTTPS_PORT: 'off' }, /^config error: PORT and HTTPS_PORT are both "off"/],
];

const CONFIG_FILES = CONFIG_CASES.map(([, change]) => configFile(change));
const MISSING_FILE = join(dir, 'missing.json');
const NOT_JSON = configFile('{ "clients": [ { "clientId": "a", } ] }');

// Every failing start-up is independent: they all run at once, and each test reads its own.
const failures = new Map<string, Promise<Failure>>();
function failure(name: string, env: Record<string, string>): Promise<Failure> {
  if (!failures.has(name)) failures.set(name, startExpectingFailure(env));
  return failures.get(name)!;
}
beforeAll(async () => {
  // Each starts a gateway and is awaited below, all together.
  CONFIG_CASES.forEach(([name], index) => void failure(name, { GATEWAY_CONFIG: CONFIG_FILES[index]! }));
  void failure('missing file', { GATEWAY_CONFIG: MISSING_FILE });
  void failure('not JSON', { GATEWAY_CONFIG: NOT_JSON });
  ENV_CASES.forEach(([name, env]) => void failure(name, env));
  void failure('redis password', { REDIS_URL: 'http://gateway:hunter2-redis-password@redis.internal:6379' });
  void failure('short secret', { TOKEN_SECRET: 'too-short-but-secret' });
  await Promise.all(failures.values());
});

describe('a wrong config file', () => {
  it.each(CONFIG_CASES)('stops start-up naming the field: %s', async (name, _change, message) => {
    const file = CONFIG_FILES[CONFIG_CASES.findIndex(([other]) => other === name)]!;
    const line = expectOneClearLine(await failure(name, {}), 78);
    expect(line.startsWith(`config error in ${file}: `)).toBe(true);
    expect(line).toContain(message);
  });

  it('stops start-up when the file cannot be read', async () => {
    const line = expectOneClearLine(await failure('missing file', {}), 78);
    expect(line).toMatch(new RegExp(`^config error: GATEWAY_CONFIG file ${MISSING_FILE} cannot be read: ENOENT`));
  });

  it('stops start-up when the file is not JSON', async () => {
    const line = expectOneClearLine(await failure('not JSON', {}), 78);
    expect(line).toMatch(new RegExp(`^config error: GATEWAY_CONFIG file ${NOT_JSON} is not valid JSON: `));
  });
});

describe('a wrong environment', () => {
  it.each(ENV_CASES)('stops start-up naming the variable: %s', async (name, env, message) => {
    expect(expectOneClearLine(await failure(name, env), 78)).toMatch(message);
  });

  it('does not echo a REDIS_URL password or a short TOKEN_SECRET', async () => {
    expect(expectOneClearLine(await failure('redis password', {}), 78)).toBe(
      'config error: REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0 (got "http://gateway:***@redis.internal:6379/")',
    );
    expect(expectOneClearLine(await failure('short secret', {}), 78)).toBe(
      'config error: TOKEN_SECRET must be at least 32 characters long',
    );
  });
});

describe('a port in use', () => {
  let blocker: Server;
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('stops start-up naming the port (exit code 1)', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, () => resolve((blocker.address() as { port: number }).port)));
    const line = expectOneClearLine(await startExpectingFailure({ PORT: String(port) }), 1, { loggedBefore: true });
    expect(line).toBe(`start-up error: cannot listen on PORT ${port}: the port is in use`);
  });
});
