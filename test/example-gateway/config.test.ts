import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGatewayConfig, configErrorFrom, readGatewayConfig } from '../../example-gateway/config';
import { ConfigError } from '../../example-gateway/config-error';
import { SHIPPED_CONFIG, shippedConfig } from '../acceptance/demo';
import { configErrorMessage } from './config-error-message';

describe('the shipped config', () => {
  it('has a demo client with three grants, two users (one with a passwordHash) and the orders scopes', () => {
    const config = readGatewayConfig(SHIPPED_CONFIG);
    expect(config.clients).toHaveLength(1);
    expect(config.clients[0]!.grants).toEqual(['password', 'refresh_token', 'client_credentials']);
    expect(config.users!.map((user) => Object.keys(user).filter((key) => key.startsWith('password')))).toEqual([['password'], ['passwordHash']]);
    expect(config.scopes).toEqual({ 'orders:read': ['subscriber', 'admin'], 'orders:write': ['admin'] });
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
    expect(configErrorMessage(() => checkGatewayConfig({ clients: [{}], scopes: [] }))).toBe('scopes must be an object mapping each scope to an array of role names');
    expect(configErrorMessage(() => checkGatewayConfig({ clients: [{}], deviceScopePatterns: [/x/] }))).toBe('deviceScopePatterns[0] must be a string (a regular expression)');
    expect(configErrorMessage(() => checkGatewayConfig(null))).toMatch(/^the config must be a JSON object/);
  });
});

describe('readGatewayConfig()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-config-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the file when it cannot be read or is not JSON, and for a wrong shape', () => {
    const missing = join(dir, 'missing.json');
    expect(configErrorMessage(() => readGatewayConfig(missing))).toMatch(new RegExp(`^GATEWAY_CONFIG file ${missing} cannot be read: ENOENT`));
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
    const translated = configErrorFrom(new TypeError('options.scopes["orders:read"] must be an array of strings'), '/etc/gw.json');
    expect(translated).toBeInstanceOf(ConfigError);
    expect((translated as ConfigError).describe()).toBe('config error in /etc/gw.json: scopes["orders:read"] must be an array of strings');
    const other = new Error('boom');
    expect(configErrorFrom(other)).toBe(other);
  });
});
