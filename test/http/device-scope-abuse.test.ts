import request from 'supertest';
import { createTokenRouter, MemoryTokenStore } from '../../lib';
import { basic, buildApp, form, IOS_APP, SCOPES, SECRET, STORES, USERS } from './harness';

// Device-scope abuse (SECURITY.md): a device scope is part of a token's identity and skips the
// permission check, so it must never carry a permission, never be two devices at once, and a
// client that requires one must not silently get a shared, device-less token.

describe.each(STORES)('device scopes cannot be abused (%s)', (_name, makeStore) => {
  const handle = makeStore('device-scope-abuse');
  const app = buildApp(handle.store, {
    clients: [IOS_APP, { clientId: 'kiosk-fleet', clientSecret: 'kiosk-fleet-secret', grants: ['password'], requireDevice: true }],
  });
  afterAll(() => handle.close());

  const token = (client: string, secret: string, scope: string, username = 'alice', password = 'wonderland') =>
    request(app)
      .post('/token')
      .set('Authorization', basic(client, secret))
      .type('form')
      .send(form({ grant_type: 'password', username, password, scope }));

  it('refuses two device scopes in one request with invalid_request (a session belongs to one device)', async () => {
    const res = await token(IOS_APP.clientId, IOS_APP.clientSecret, 'device_ipad device_iphone orders:read');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.access_token).toBeUndefined();
  });

  it('grants no permission through a device scope: device_* skips the role check but carries none', async () => {
    // alice is a subscriber: orders:write needs admin, whatever device scope comes with it
    const res = await token(IOS_APP.clientId, IOS_APP.clientSecret, 'device_admin orders:write');
    expect(res.status).toBe(200);
    expect(res.body.scope.split(' ').sort()).toEqual(['default', 'device_admin']);
  });

  it('gives a requireDevice client invalid_scope, not a shared token, for a mistyped device scope', async () => {
    const res = await token('kiosk-fleet', 'kiosk-fleet-secret', 'DEVICE_ipad orders:read');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
    const ok = await token('kiosk-fleet', 'kiosk-fleet-secret', 'device_kiosk7 orders:read');
    expect(ok.status).toBe(200);
  });
});

describe('an ordinary scope that a device pattern matches', () => {
  it('is refused at start-up (it would skip the permission check)', () => {
    const store = new MemoryTokenStore({ secret: SECRET });
    try {
      expect(() => createTokenRouter({ store, clients: [IOS_APP], users: USERS, scopes: { ...SCOPES, device_admin: ['admin'] } })).toThrow(
        /device/,
      );
    } finally {
      store.close();
    }
  });
});
