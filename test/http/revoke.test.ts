import request from 'supertest';
import type { Express } from 'express';
import { ANDROID_APP, basic, buildApp, form, IOS_APP, STORES, type StoreHandle } from './harness';

describe.each(STORES)('POST /revoke on %s', (storeName, makeStore) => {
  let handle: StoreHandle;
  let app: Express;
  beforeAll(() => {
    handle = makeStore(`revoke-${storeName}`);
    app = buildApp(handle.store);
  });
  afterAll(() => handle.close());

  const login = (scope: string, client: { clientId: string; clientSecret: string } = IOS_APP) =>
    request(app)
      .post('/token')
      .set('Authorization', basic(client.clientId, client.clientSecret))
      .type('form')
      .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope }));
  const revoke = (params: Record<string, string>, client: { clientId: string; clientSecret: string } = IOS_APP) =>
    request(app).post('/revoke').set('Authorization', basic(client.clientId, client.clientSecret)).type('form').send(form(params));
  const call = (token: string) => request(app).get('/api/anything').set('Authorization', `Bearer ${token}`);

  it('revokes by refresh token, ending the access token of that device', async () => {
    const tokens = await login('device_a');
    const res = await revoke({ token: tokens.body.refresh_token, token_type_hint: 'refresh_token' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await call(tokens.body.access_token)).status).toBe(401);
  });

  it("refuses another client's token and leaves it working", async () => {
    const tokens = await login('device_d');
    const res = await revoke({ token: tokens.body.access_token }, ANDROID_APP);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect((await call(tokens.body.access_token)).status).toBe(200);
  });

  it('answers unsupported_token_type for an unknown hint, invalid_request without token, invalid_client without credentials', async () => {
    const hint = await revoke({ token: 'x', token_type_hint: 'id_token' });
    expect(hint.status).toBe(400);
    expect(hint.body.error).toBe('unsupported_token_type');
    const missing = await revoke({});
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const anonymous = await request(app)
      .post('/revoke')
      .type('form')
      .send(form({ token: 'x' }));
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe('invalid_client');
  });
});
