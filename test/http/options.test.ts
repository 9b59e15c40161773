import { createTokenRouter, MemoryTokenStore, type TokenRouterOptions } from '../../lib';
import { SECRET } from './harness';

describe('createTokenRouter() options', () => {
  const store = new MemoryTokenStore({ secret: SECRET });
  afterAll(() => store.close());
  const client = { clientId: 'app', clientSecret: 's', grants: ['password' as const] };
  const valid: TokenRouterOptions = { store, clients: [client], users: [{ username: 'u', password: 'p' }] };

  it('builds a router from valid options', () => {
    expect(typeof createTokenRouter(valid)).toBe('function');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['options itself', null as never, 'options must be an object'],
    ['a missing store', { store: undefined }, 'options.store must be a TokenStore'],
    ['clients not a list', { clients: 'app' }, 'options.clients must be an array'],
    ['a client without secret', { clients: [{ clientId: 'app', grants: [] }] }, 'options.clients[0].clientSecret'],
    ['an unknown grant', { clients: [{ ...client, grants: ['password', 'implicit'] }] }, 'options.clients[0].grants[1] must be one of'],
    ['a bad client TTL', { clients: [{ ...client, accessTokenTtl: 0 }] }, 'options.clients[0].accessTokenTtl'],
    ['a duplicated client', { clients: [client, client] }, 'options.clients[1].clientId "app" is listed twice'],
    ['password grant without users', { users: undefined }, 'options.users is required'],
    [
      'a user with both password forms',
      { users: [{ username: 'u', password: 'p', passwordHash: 'x' }] },
      'options.users[0] must have exactly one',
    ],
    ['a malformed passwordHash', { users: [{ username: 'u', passwordHash: 'md5$abc' }] }, 'options.users[0].passwordHash'],
    ['user roles not a list', { users: [{ username: 'u', password: 'p', roles: 'admin' }] }, 'options.users[0].roles'],
    ['a scope bound to a non-array', { scopes: { 'orders:read': 'admin' } }, 'options.scopes["orders:read"] must be an array'],
    ['a bad device pattern', { deviceScopePatterns: ['('] }, 'options.deviceScopePatterns[0]'],
    ['a bad default scope', { defaultScope: 'two words' }, 'options.defaultScope'],
    ['a non-boolean reuse switch', { reuseTokens: 'yes' }, 'options.reuseTokens'],
    ['a negative reuse margin', { reuseMinRemaining: -1 }, 'options.reuseMinRemaining'],
    ['a fractional TTL', { accessTokenTtl: 1.5 }, 'options.accessTokenTtl'],
    ['a bad onError', { onError: 'log' }, 'options.onError'],
    ['a lockout that is not an object', { loginLockout: 10 }, 'options.loginLockout must be an object'],
    ['a lockout with a zero threshold', { loginLockout: { perIp: 0 } }, 'options.loginLockout.perIp must be a positive integer'],
    ['a lockout with an unknown field', { loginLockout: { attempts: 5 } }, 'options.loginLockout.attempts is not an option'],
    ['a client lockout with a bad window', { clientLockout: { window: -1 } }, 'options.clientLockout.window'],
    ['a loginKey that is not a function', { loginKey: 'lower' }, 'options.loginKey must be a function'],
    ['an onEvent that is not a function', { onEvent: true }, 'options.onEvent must be a function'],
    ['a negative grace period', { refreshGracePeriod: -1 }, 'options.refreshGracePeriod'],
    ['a fractional device limit on a client', { clients: [{ ...client, maxDevicesPerUser: 2.5 }] }, 'options.clients[0].maxDevicesPerUser'],
    ['an unknown device-limit policy', { onDeviceLimit: 'drop' }, 'options.onDeviceLimit must be "end-oldest" or "refuse"'],
    ['a non-boolean requireDevice on a client', { clients: [{ ...client, requireDevice: 'yes' }] }, 'options.clients[0].requireDevice'],
    ['a non-boolean deviceEndpoints', { deviceEndpoints: 1 }, 'options.deviceEndpoints'],
    ['a bodyLimit that is no size', { bodyLimit: '16 parsecs' }, 'options.bodyLimit must be a byte count or a size string'],
    ['a negative bodyLimit', { bodyLimit: -5 }, 'options.bodyLimit must be a byte count or a size string'],
    [
      'an ordinary scope that is a device scope',
      { scopes: { device_admin: ['admin'] } },
      'options.scopes["device_admin"] is a device scope',
    ],
    [
      'a default scope that is a device scope',
      { defaultScope: 'device_any' },
      'options.defaultScope "device_any" matches a device scope pattern',
    ],
  ])('throws a TypeError naming the option for %s', (_name, override, message) => {
    const options = override === null ? null : { ...valid, ...override };
    expect(() => createTokenRouter(options as TokenRouterOptions)).toThrow(TypeError);
    expect(() => createTokenRouter(options as TokenRouterOptions)).toThrow(message);
  });
});
