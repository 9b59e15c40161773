import request from 'supertest';
import { type ClientRecord, type ScopeRequester, StoreUnavailableError, type TokenRouterOptions } from '../../lib';
import { basic, buildApp, form, IOS_APP, memoryStore, SERVICE, type StoreHandle } from './harness';

// clients, users and scopes given as (async) functions, as an operator backs them with a database
// or LDAP, and the device-scope and default-scope options.

const PASSWORD_FORM = { grant_type: 'password', username: 'carol', password: 'ldap-pass' };

describe('pluggable clients, users and scope policy', () => {
  let handle: StoreHandle;
  beforeAll(() => {
    handle = memoryStore();
  });
  afterAll(() => handle.close());

  /** A router whose clients come from an async lookup and whose users from an async authenticate. */
  function ldapApp(overrides: Partial<TokenRouterOptions> = {}) {
    const lookedUp: string[] = [];
    const authenticated: [string, string][] = [];
    const clients = async (clientId: string): Promise<ClientRecord | undefined> => {
      lookedUp.push(clientId);
      await new Promise((resolve) => setImmediate(resolve));
      return [IOS_APP, SERVICE].find((client) => client.clientId === clientId);
    };
    const users = async (username: string, password: string) => {
      authenticated.push([username, password]);
      return username === 'carol' && password === 'ldap-pass' ? { username: 'carol', roles: ['subscriber'] } : undefined;
    };
    const app = buildApp(handle.store, { clients, users, ...overrides });
    return { app, lookedUp, authenticated };
  }

  const post = (app: ReturnType<typeof buildApp>, body: Record<string, string>, client: ClientRecord = IOS_APP) =>
    request(app).post('/token').set('Authorization', basic(client.clientId, client.clientSecret)).type('form').send(form(body));

  it('authenticates a client found by an async lookup and applies its own token lifetime', async () => {
    const { app, lookedUp } = ldapApp();
    const res = await post(app, { ...PASSWORD_FORM, scope: 'device_ipad orders:read' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ expires_in: IOS_APP.accessTokenTtl, scope: 'device_ipad orders:read' });
    expect(lookedUp).toEqual([IOS_APP.clientId]);
  });

  it('answers 401 invalid_client when the lookup finds nothing or the secret is wrong', async () => {
    const { app } = ldapApp();
    const unknown = await post(app, PASSWORD_FORM, { ...IOS_APP, clientId: 'nobody' });
    const wrong = await post(app, PASSWORD_FORM, { ...IOS_APP, clientSecret: 'wrong' });
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
  });

  it('passes the username and password as sent to the authenticate function and uses the roles it returns', async () => {
    const { app, authenticated } = ldapApp();
    const ok = await post(app, { ...PASSWORD_FORM, scope: 'device_iphone orders:read orders:write' });
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('device_iphone orders:read');
    const refused = await post(app, { ...PASSWORD_FORM, password: 'guess' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    expect(authenticated).toEqual([
      ['carol', 'ldap-pass'],
      ['carol', 'guess'],
    ]);
  });

  it('asks a scope policy function about ordinary scopes only, with who is asking', async () => {
    const asked: [string, ScopeRequester][] = [];
    const scopes = async (scope: string, requester: ScopeRequester) => {
      asked.push([scope, requester]);
      return (scope === 'reports:read' && requester.roles.includes('admin')) || scope === 'orders:read';
    };
    const { app } = ldapApp({ scopes });
    const user = await post(app, { ...PASSWORD_FORM, scope: 'device_ipad orders:read reports:read' });
    expect(user.body.scope).toBe('device_ipad orders:read');
    expect(asked).toEqual([
      ['orders:read', { clientId: IOS_APP.clientId, username: 'carol', roles: ['subscriber'] }],
      ['reports:read', { clientId: IOS_APP.clientId, username: 'carol', roles: ['subscriber'] }],
    ]);
    asked.length = 0;
    const service = await post(app, { grant_type: 'client_credentials', scope: 'reports:read' }, SERVICE);
    expect(service.body.scope).toBe('reports:read');
    expect(asked).toEqual([['reports:read', { clientId: SERVICE.clientId, roles: SERVICE.roles }]]);
  });

  it('answers 500 server_error, and tells onError, when a lookup fails or returns a malformed client', async () => {
    const errors: unknown[] = [];
    const failing = buildApp(handle.store, {
      clients: async () => {
        throw new Error('connection to the client database lost (password=hunter2)');
      },
      onError: (error) => errors.push(error),
    });
    const malformed = buildApp(handle.store, {
      clients: async () => ({ clientId: 'ios-app', clientSecret: 's', grants: ['implicit'] }) as unknown as ClientRecord,
      onError: (error) => errors.push(error),
    });
    for (const app of [failing, malformed]) {
      const res = await post(app, PASSWORD_FORM);
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('server_error');
      expect(JSON.stringify(res.body)).not.toContain('hunter2');
    }
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'connection to the client database lost (password=hunter2)',
      expect.stringContaining('options.clients("ios-app").grants[0] must be one of'),
    ]);
  });

  it('answers 503 temporarily_unavailable when a lookup throws StoreUnavailableError', async () => {
    const app = buildApp(handle.store, {
      users: async () => {
        throw new StoreUnavailableError('LDAP is down');
      },
    });
    const res = await post(app, PASSWORD_FORM);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
  });
});

describe('device and default scope options', () => {
  let handle: StoreHandle;
  beforeAll(() => {
    handle = memoryStore();
  });
  afterAll(() => handle.close());

  const token = (app: ReturnType<typeof buildApp>, scope: string) =>
    request(app)
      .post('/token')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope }));

  it('treats scopes matching any configured pattern as devices, and device_ as ordinary when not listed', async () => {
    const app = buildApp(handle.store, { deviceScopePatterns: ['^hw-', /^dev:/] });
    const first = await token(app, 'hw-4711 orders:read device_ipad');
    expect(first.body.scope).toBe('hw-4711 orders:read');
    const other = await token(app, 'dev:tablet orders:read');
    expect(other.body.access_token).not.toBe(first.body.access_token);
    const again = await token(app, 'orders:read hw-4711');
    expect(again.body.access_token).toBe(first.body.access_token);
    const api = await request(app).get('/api/orders').set('Authorization', `Bearer ${first.body.access_token}`);
    expect(api.body.oauth).toMatchObject({ deviceScopes: ['hw-4711'], device: 'hw-4711' });
  });

  it('grants the configured default scope when no ordinary scope is left', async () => {
    const app = buildApp(handle.store, { defaultScope: 'basic' });
    const res = await token(app, 'device_watch orders:write');
    expect(res.body.scope).toBe('basic device_watch');
  });
});
