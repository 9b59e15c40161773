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
    ['a user with both password forms', { users: [{ username: 'u', password: 'p', passwordHash: 'x' }] }, 'options.users[0] must have exactly one'],
    ['a malformed passwordHash', { users: [{ username: 'u', passwordHash: 'md5$abc' }] }, 'options.users[0].passwordHash'],
    ['user roles not a list', { users: [{ username: 'u', password: 'p', roles: 'admin' }] }, 'options.users[0].roles'],
    ['a scope bound to a non-array', { scopes: { 'orders:read': 'admin' } }, 'options.scopes["orders:read"] must be an array'],
    ['a bad device pattern', { deviceScopePatterns: ['('] }, 'options.deviceScopePatterns[0]'],
    ['a bad default scope', { defaultScope: 'two words' }, 'options.defaultScope'],
    ['a non-boolean reuse switch', { reuseTokens: 'yes' }, 'options.reuseTokens'],
    ['a negative reuse margin', { reuseMinRemaining: -1 }, 'options.reuseMinRemaining'],
    ['a fractional TTL', { accessTokenTtl: 1.5 }, 'options.accessTokenTtl'],
    ['a bad onError', { onError: 'log' }, 'options.onError'],
    ['a login limiter that is not a rate limiter', { loginLimiter: { points: 10 } }, 'options.loginLimiter must be a rate-limiter-flexible limiter'],
  ])('throws a TypeError naming the option for %s', (_name, override, message) => {
    const options = override === null ? null : { ...valid, ...override };
    expect(() => createTokenRouter(options as TokenRouterOptions)).toThrow(TypeError);
    expect(() => createTokenRouter(options as TokenRouterOptions)).toThrow(message);
  });
});
