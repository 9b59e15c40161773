import { OptionError } from '../../lib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { MemoryTokenStore } from '../../lib';
import { checkGatewayConfig, configErrorFrom, readGatewayConfig, type GatewayConfig } from '../../example-gateway/config';
import { ConfigError } from '../../example-gateway/config-error';
import { createGateway } from '../../example-gateway/create-gateway';
import { DEMO, DEMO_BASIC, SHIPPED_CONFIG, shippedConfig } from '../acceptance/demo';
import { configErrorMessage } from './config-error-message';

describe('the shipped config', () => {
  it('has a demo client with three grants, two users (one with a passwordHash) and the orders scopes', () => {
    const config = readGatewayConfig(SHIPPED_CONFIG);
    expect(config.clients).toHaveLength(1);
    expect(config.clients[0]!.grants).toEqual(['password', 'refresh_token', 'client_credentials']);
    expect(config.users!.map((user) => Object.keys(user).filter((key) => key.startsWith('password')))).toEqual([
      ['password'],
      ['passwordHash'],
    ]);
    expect(config.scopes).toEqual({ 'orders:read': ['subscriber', 'admin'], 'orders:write': ['admin'] });
  });

  it('turns the device endpoints on, since the file does not say', () => {
    expect(readGatewayConfig(SHIPPED_CONFIG).deviceEndpoints).toBe(true);
  });
});

describe('the device session and abuse options in the config', () => {
  const store = new MemoryTokenStore({ secret: 'config-test-secret-0123456789abcdef0123' });
  afterAll(() => store.close());

  /** The shipped config with `change` applied, checked as `readGatewayConfig()` checks it. */
  const configWith = (change: (config: ReturnType<typeof shippedConfig>) => void): GatewayConfig => {
    const config = shippedConfig();
    change(config);
    return checkGatewayConfig(config);
  };
  /** The ConfigError the gateway's start-up would print for that config. */
  const startupError = (config: GatewayConfig) =>
    configErrorMessage(() => {
      try {
        createGateway({ config, store, storeKind: 'memory' });
      } catch (error) {
        throw configErrorFrom(error);
      }
    });
  const login = (app: ReturnType<typeof createGateway>, scope: string) =>
    request(app)
      .post('/token')
      .set('Authorization', DEMO_BASIC)
      .type('form')
      .send({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope });

  it('keeps deviceEndpoints: false, and the gateway then mounts no /devices', async () => {
    const config = configWith((c) => (c.deviceEndpoints = false));
    expect(config.deviceEndpoints).toBe(false);
    const app = createGateway({ config, store, storeKind: 'memory' });
    const token = (await login(app, 'device_ipad orders:read')).body.access_token;
    expect((await request(app).get('/devices').set('Authorization', `Bearer ${token}`)).status).toBe(404);
  });

  it('serves GET /devices with the shipped config', async () => {
    const app = createGateway({ config: readGatewayConfig(SHIPPED_CONFIG), store, storeKind: 'memory' });
    const token = (await login(app, 'device_ipad orders:read')).body.access_token;
    const res = await request(app).get('/devices').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.devices).toEqual([expect.objectContaining({ device: 'device_ipad', current: true })]);
  });

  it('accepts every router option of device sessions and abuse, top level and per client', () => {
    const config = configWith((c) => {
      Object.assign(c, {
        deviceEndpoints: true,
        refreshGracePeriod: 10,
        maxDevicesPerUser: 5,
        onDeviceLimit: 'refuse',
        requireDevice: false,
        loginLockout: { perIp: 5, perUser: 50, window: 600 },
        clientLockout: { perIp: 10, window: 60 },
      });
      Object.assign(c.clients[0]!, { refreshGracePeriod: 0, maxDevicesPerUser: 2, onDeviceLimit: 'end-oldest', requireDevice: true });
    });
    expect(() => createGateway({ config, store, storeKind: 'memory' })).not.toThrow();
    expect(() => createGateway({ config: configWith((c) => (c.loginLockout = false)), store, storeKind: 'memory' })).not.toThrow();
  });

  it('applies them: a client with requireDevice refuses a request without a device scope, and its cap refuses a third device', async () => {
    const config = configWith((c) => Object.assign(c.clients[0]!, { requireDevice: true, maxDevicesPerUser: 2, onDeviceLimit: 'refuse' }));
    // A store of its own: the cap counts alice's sessions, whatever the other tests left.
    const own = new MemoryTokenStore({ secret: 'config-test-secret-0123456789abcdef0123' });
    try {
      const app = createGateway({ config, store: own, storeKind: 'memory' });
      expect((await login(app, 'orders:read')).body.error).toBe('invalid_scope');
      expect((await login(app, 'device_one orders:read')).status).toBe(200);
      expect((await login(app, 'device_two orders:read')).status).toBe(200);
      const third = await login(app, 'device_three orders:read');
      expect(third.status).toBe(400);
      expect(third.body.error_description).toMatch(/2/);
    } finally {
      own.close();
    }
  });

  it('names a wrong value by its field, at the top level and on a client', () => {
    expect(startupError(configWith((c) => (c.onDeviceLimit = 'drop')))).toBe('onDeviceLimit must be "end-oldest" or "refuse"');
    expect(startupError(configWith((c) => (c.deviceEndpoints = 'yes')))).toBe('deviceEndpoints must be a boolean');
    expect(startupError(configWith((c) => (c.refreshGracePeriod = -1)))).toMatch(/^refreshGracePeriod must be a non-negative integer/);
    expect(startupError(configWith((c) => (c.clients[0]!.maxDevicesPerUser = 1.5)))).toMatch(
      /^clients\[0\]\.maxDevicesPerUser must be a non-negative integer/,
    );
    expect(startupError(configWith((c) => (c.clients[0]!.requireDevice = 'true')))).toBe('clients[0].requireDevice must be a boolean');
    expect(startupError(configWith((c) => (c.loginLockout = { perIp: 0 })))).toMatch(/^loginLockout\.perIp must be a positive integer/);
    expect(startupError(configWith((c) => (c.loginLockout = { tries: 3 })))).toMatch(/^loginLockout\.tries is not an option/);
  });

  it('refuses a misspelt option as an unknown field', () => {
    expect(configErrorMessage(() => configWith((c) => (c.maxDevices = 5)))).toMatch(/^maxDevices is not a known field/);
    expect(configErrorMessage(() => configWith((c) => (c.clients[0]!.deviceEndpoints = true)))).toMatch(
      /^clients\[0\]\.deviceEndpoints is not a known field/,
    );
  });
});

describe('checkGatewayConfig()', () => {
  it('refuses unknown fields at every level, naming them', () => {
    const withTypo = (change: (config: ReturnType<typeof shippedConfig>) => void) => {
      const config = shippedConfig();
      change(config);
      return configErrorMessage(() => checkGatewayConfig(config));
    };
    expect(withTypo((config) => (config.client = []))).toMatch(/^client is not a known field \(known: clients, users, scopes, /);
    expect(withTypo((config) => (config.clients[0]!.secret = 'x'))).toMatch(/^clients\[0\]\.secret is not a known field/);
    expect(withTypo((config) => (config.users[0]!.role = 'admin'))).toMatch(/^users\[0\]\.role is not a known field/);
  });

  it('checks the shape of clients, users, scopes and deviceScopePatterns', () => {
    expect(configErrorMessage(() => checkGatewayConfig({}))).toBe('clients is missing: list at least one client');
    expect(configErrorMessage(() => checkGatewayConfig({ clients: {} }))).toBe('clients must be an array');
    expect(configErrorMessage(() => checkGatewayConfig({ clients: ['demo'] }))).toBe('clients[0] must be an object');
    expect(configErrorMessage(() => checkGatewayConfig({ clients: [{}], users: {} }))).toBe('users must be an array');
    expect(configErrorMessage(() => checkGatewayConfig({ clients: [{}], scopes: [] }))).toBe(
      'scopes must be an object mapping each scope to an array of role names',
    );
    expect(configErrorMessage(() => checkGatewayConfig({ clients: [{}], deviceScopePatterns: [/x/] }))).toBe(
      'deviceScopePatterns[0] must be a string (a regular expression)',
    );
    expect(configErrorMessage(() => checkGatewayConfig(null))).toMatch(/^the config must be a JSON object/);
  });
});

describe('readGatewayConfig()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-config-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file when it cannot be read or is not JSON, and for a wrong shape', () => {
    const missing = join(dir, 'missing.json');
    expect(configErrorMessage(() => readGatewayConfig(missing))).toMatch(
      new RegExp(`^GATEWAY_CONFIG file ${missing} cannot be read: ENOENT`),
    );
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ clients: [] }');
    expect(configErrorMessage(() => readGatewayConfig(broken))).toMatch(new RegExp(`^GATEWAY_CONFIG file ${broken} is not valid JSON: `));
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, '{ "clients": [] }');
    try {
      readGatewayConfig(wrong);
    } catch (error) {
      expect((error as ConfigError).describe()).toBe(`config error in ${wrong}: clients must list at least one client`);
    }
  });
});

describe('configErrorFrom()', () => {
  it('turns an option path of createTokenRouter() into a config field, and leaves other errors alone', () => {
    const translated = configErrorFrom(new OptionError('options.scopes["orders:read"]', 'must be an array of strings'), '/etc/gw.json');
    expect(translated).toBeInstanceOf(ConfigError);
    expect((translated as ConfigError).describe()).toBe('config error in /etc/gw.json: scopes["orders:read"] must be an array of strings');
    const other = new Error('boom');
    expect(configErrorFrom(other)).toBe(other);
    // The path is read from the error, never guessed from a message that looks like one.
    const lookalike = new TypeError('options.scopes must be an object');
    expect(configErrorFrom(lookalike)).toBe(lookalike);
  });
});
