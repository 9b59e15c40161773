import { join } from 'node:path';
import { defaultConfigPath, readEnvironment, repositoryRoot } from '../../example-gateway/environment';
import { ROOT, SHIPPED_CONFIG } from '../acceptance/demo';
import { configErrorMessage } from './config-error-message';

const SECRET = 'environment-test-secret-0123456789abcdef';

const configErrorOf = (env: Record<string, string>) => configErrorMessage(() => readEnvironment(env));

describe('readEnvironment()', () => {
  it('has the documented defaults', () => {
    expect(readEnvironment({})).toEqual({
      host: undefined,
      httpPort: 8280,
      httpsPort: 8243,
      tls: undefined,
      redis: undefined,
      redisKeyPrefix: undefined,
      configPath: SHIPPED_CONFIG,
      tokenSecrets: [],
      trustProxy: false,
      logLevel: 'info',
      shutdownTimeout: 10_000,
      metrics: true,
    });
  });

  it('treats blank variables as unset', () => {
    expect(readEnvironment({ PORT: '', REDIS_URL: ' ', TOKEN_SECRET: '' })).toMatchObject({
      httpPort: 8280,
      redis: undefined,
      tokenSecrets: [],
    });
  });

  it('reads ports, "off" and port 0 (any free port)', () => {
    expect(readEnvironment({ PORT: '0', HTTPS_PORT: 'off' })).toMatchObject({ httpPort: 0, httpsPort: 'off' });
    expect(readEnvironment({ PORT: 'OFF', HTTPS_PORT: '443' })).toMatchObject({ httpPort: 'off', httpsPort: 443 });
    expect(configErrorOf({ PORT: '8280x' })).toBe('PORT must be a port number from 0 to 65535 or "off" (got "8280x")');
    expect(configErrorOf({ PORT: '9000', HTTPS_PORT: '9000' })).toBe('PORT and HTTPS_PORT must differ (both are 9000)');
  });

  it('needs TLS_CERT and TLS_KEY together, and resolves them against the working directory', () => {
    expect(readEnvironment({ TLS_CERT: 'cert.pem', TLS_KEY: '/etc/key.pem' }).tls).toEqual({
      certFile: join(process.cwd(), 'cert.pem'),
      keyFile: '/etc/key.pem',
    });
    expect(configErrorOf({ TLS_KEY: 'key.pem' })).toBe('TLS_KEY is set but TLS_CERT is not: give both or neither');
  });

  it('reads REDIS_URL and masks its password for the logs', () => {
    expect(readEnvironment({ REDIS_URL: 'rediss://gw:s3cret@redis.internal:6380/2' }).redis).toEqual({
      kind: 'single',
      url: 'rediss://gw:s3cret@redis.internal:6380/2',
      display: 'rediss://gw:***@redis.internal:6380/2',
      username: undefined,
      password: undefined,
    });
    expect(configErrorOf({ REDIS_URL: 'redis://gw:s3cret@redis.internal:6379/db' })).toBe(
      'REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0: the path must be a database number (got "redis://gw:***@redis.internal:6379/db")',
    );
  });

  it('reads REDIS_CLUSTER_NODES, IPv6 included, with REDIS_USERNAME and REDIS_PASSWORD', () => {
    expect(readEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, [::1]:7001', REDIS_USERNAME: 'gw', REDIS_PASSWORD: 'pw' }).redis).toEqual(
      {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '::1', port: 7001 },
        ],
        display: '10.0.0.1:7000,::1:7001',
        username: 'gw',
        password: 'pw',
      },
    );
    expect(configErrorOf({ REDIS_CLUSTER_NODES: '10.0.0.1:0' })).toMatch(/^REDIS_CLUSTER_NODES\[0\] must be host:port/);
  });

  it('reads REDIS_SENTINELS and REDIS_SENTINEL_NAME (default mymaster), and refuses two Redis targets at once', () => {
    expect(readEnvironment({ REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379', REDIS_PASSWORD: 'pw' }).redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      display: 'mymaster via sentinels 10.0.0.1:26379,10.0.0.2:26379',
      username: undefined,
      password: 'pw',
    });
    expect(readEnvironment({ REDIS_SENTINELS: '[::1]:26379', REDIS_SENTINEL_NAME: 'tokens-1' }).redis).toMatchObject({
      sentinels: [{ host: '::1', port: 26379 }],
      name: 'tokens-1',
    });
    expect(configErrorOf({ REDIS_SENTINELS: 'sentinel.internal' })).toMatch(/^REDIS_SENTINELS\[0\] must be host:port/);
    expect(configErrorOf({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'my master' })).toMatch(
      /^REDIS_SENTINEL_NAME must be a master name/,
    );
    expect(configErrorOf({ REDIS_SENTINEL_NAME: 'mymaster' })).toBe('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not');
    expect(configErrorOf({ REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 'a:26379' })).toBe(
      'REDIS_URL and REDIS_SENTINELS are both set: give one of them',
    );
    expect(configErrorOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 'a:26379' })).toBe(
      'REDIS_URL and REDIS_CLUSTER_NODES and REDIS_SENTINELS are all set: give one of them',
    );
  });

  it('reads TOKEN_SECRET and TOKEN_SECRET_PREVIOUS, newest first, without ever echoing them', () => {
    expect(readEnvironment({ TOKEN_SECRET: SECRET, TOKEN_SECRET_PREVIOUS: `old-${SECRET}` }).tokenSecrets).toEqual([
      SECRET,
      `old-${SECRET}`,
    ]);
    expect(configErrorOf({ TOKEN_SECRET: 'short' })).toBe('TOKEN_SECRET must be at least 32 characters long');
    expect(configErrorOf({ TOKEN_SECRET_PREVIOUS: SECRET })).toBe('TOKEN_SECRET_PREVIOUS is set but TOKEN_SECRET is not');
  });

  it('reads TRUST_PROXY as Express takes it', () => {
    expect(readEnvironment({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(readEnvironment({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(readEnvironment({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8' }).trustProxy).toBe('loopback, 10.0.0.0/8, fd00::/8');
    expect(configErrorOf({ TRUST_PROXY: 'lb.internal' })).toMatch(/^TRUST_PROXY must be .* \(got "lb.internal"\)$/);
  });

  it('reads SHUTDOWN_TIMEOUT in seconds and LOG_LEVEL', () => {
    expect(readEnvironment({ SHUTDOWN_TIMEOUT: '2.5', LOG_LEVEL: 'warn' })).toMatchObject({ shutdownTimeout: 2500, logLevel: 'warn' });
    expect(configErrorOf({ SHUTDOWN_TIMEOUT: '0' })).toBe('SHUTDOWN_TIMEOUT must be a positive number of seconds (got "0")');
  });

  it('reads GATEWAY_METRICS on or off', () => {
    expect(readEnvironment({ GATEWAY_METRICS: 'off' })).toMatchObject({ metrics: false });
    expect(readEnvironment({ GATEWAY_METRICS: 'on' })).toMatchObject({ metrics: true });
    expect(configErrorOf({ GATEWAY_METRICS: 'no' })).toBe('GATEWAY_METRICS must be on or off (got "no")');
  });
});

describe('defaultConfigPath()', () => {
  it('is the shipped config, found from the module, not the working directory', () => {
    expect(defaultConfigPath()).toBe(SHIPPED_CONFIG);
    expect(repositoryRoot(join(ROOT, 'dist', 'example-gateway'))).toBe(ROOT);
  });
});
