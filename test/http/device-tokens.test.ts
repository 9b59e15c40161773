import request from 'supertest';
import type { Express } from 'express';
import { basic, buildApp, form, IOS_APP, STORES, type StoreHandle } from './harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The seed's story: alice has the app on an iPhone and an iPad. */
describe.each(STORES)('one token per device on %s', (storeName, makeStore) => {
  let handle: StoreHandle;
  let app: Express;
  beforeAll(() => {
    handle = makeStore(`device-tokens-${storeName}`);
    app = buildApp(handle.store);
  });
  afterAll(() => handle.close());

  const login = (scope: string, username = 'alice', password = 'wonderland') =>
    request(app)
      .post('/token')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ grant_type: 'password', username, password, scope }));
  const orders = (token: string) => request(app).get('/api/orders').set('Authorization', `Bearer ${token}`);
  const revoke = (token: string) =>
    request(app).post('/revoke').set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret)).type('form').send(form({ token }));

  it('gives two devices of one user different tokens', async () => {
    const iphone = await login('device_iphone orders:read');
    const ipad = await login('device_ipad orders:read');
    expect(iphone.status).toBe(200);
    expect(ipad.status).toBe(200);
    expect(ipad.body.access_token).not.toBe(iphone.body.access_token);
    expect(ipad.body.refresh_token).not.toBe(iphone.body.refresh_token);
  });

  it('gives the same device the same tokens again, with a smaller expires_in', async () => {
    const first = await login('orders:read device_iphone', 'bob', 'builder');
    await sleep(1100);
    const second = await login('device_iphone orders:read', 'bob', 'builder');
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(second.body.refresh_token).toBe(first.body.refresh_token);
    expect(second.body.expires_in).toBeLessThan(first.body.expires_in);
    expect(second.body.scope).toBe(first.body.scope);
  });

  it("revoking the iPad's token logs out the iPad only", async () => {
    const iphone = await login('device_iphone orders:read');
    const ipad = await login('device_ipad orders:read');
    expect((await orders(ipad.body.access_token)).status).toBe(200);

    const revoked = await revoke(ipad.body.access_token);
    expect(revoked.status).toBe(200);

    const ipadCall = await orders(ipad.body.access_token);
    expect(ipadCall.status).toBe(401);
    expect(ipadCall.headers['www-authenticate']).toContain('error="invalid_token"');
    const iphoneCall = await orders(iphone.body.access_token);
    expect(iphoneCall.status).toBe(200);
    expect(iphoneCall.body.oauth).toMatchObject({ username: 'alice', device: 'device_iphone', clientId: IOS_APP.clientId });

    // The iPad logs in again and gets a fresh token; the iPhone keeps its own.
    const ipadAgain = await login('device_ipad orders:read');
    expect(ipadAgain.body.access_token).not.toBe(ipad.body.access_token);
    expect((await login('device_iphone orders:read')).body.access_token).toBe(iphone.body.access_token);
  });

  it('yields one token for 100 parallel identical requests', async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, () => login('device_watch orders:read', 'bob', 'builder')));
    expect(responses.every((res) => res.status === 200)).toBe(true);
    expect(new Set(responses.map((res) => res.body.access_token)).size).toBe(1);
    expect(new Set(responses.map((res) => res.body.refresh_token)).size).toBe(1);
  });

  it('issues a new token per request when reuse is switched off', async () => {
    const noReuse = buildApp(handle.store, { reuseTokens: false });
    const ask = () =>
      request(noReuse)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .type('form')
        .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_pc' }));
    const [a, b] = [await ask(), await ask()];
    expect(b.body.access_token).not.toBe(a.body.access_token);
    expect((await request(noReuse).get('/api/anything').set('Authorization', `Bearer ${a.body.access_token}`)).status).toBe(200);
  });
});
