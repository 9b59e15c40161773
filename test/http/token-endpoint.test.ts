import request from 'supertest';
import type { Express } from 'express';
import { ANDROID_APP, basic, buildApp, form, IOS_APP, NO_REFRESH, SERVICE, STORES, type StoreHandle } from './harness';

// <user tag>.<256-bit seed>.<128-bit MAC>
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/;
// An access token names its device session: <tag>.<sid>.<seed>.<mac>.
const ACCESS_TOKEN_SHAPE = /^[A-Za-z0-9_-]{12}\.[0-9]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/;

describe.each(STORES)('POST /token on %s', (storeName, makeStore) => {
  let handle: StoreHandle;
  let app: Express;
  beforeAll(() => {
    handle = makeStore(`token-endpoint-${storeName}`);
    app = buildApp(handle.store);
  });
  afterAll(() => handle.close());

  const password = (params: Record<string, string>, auth = basic(IOS_APP.clientId, IOS_APP.clientSecret)) =>
    request(app)
      .post('/token')
      .set('Authorization', auth)
      .type('form')
      .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', ...params }));

  describe('password grant', () => {
    it('issues a bearer token with refresh token, expires_in and granted scope, never cached', async () => {
      const res = await password({ scope: 'device_ipad orders:read' });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        access_token: expect.stringMatching(ACCESS_TOKEN_SHAPE),
        token_type: 'Bearer',
        expires_in: IOS_APP.accessTokenTtl,
        refresh_token: expect.stringMatching(TOKEN_SHAPE),
        scope: 'device_ipad orders:read',
      });
    });

    it('normalises scopes: repeated spaces ignored, duplicates collapsed, sorted case-sensitively', async () => {
      const res = await password({ scope: '  orders:read device_iphone  orders:read Device_X device_iphone ' });
      expect(res.status).toBe(200);
      // "Device_X" is not a device scope (case-sensitive pattern) and no role is bound to it.
      expect(res.body.scope).toBe('device_iphone orders:read');
    });

    it('grants device scopes without any role bound to them, and default when no ordinary scope is left', async () => {
      const res = await password({ scope: 'device_tablet' });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('default device_tablet');
    });

    it('drops an ordinary scope the user may not have, silently', async () => {
      const res = await password({ scope: 'device_ipad orders:read orders:write' });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('device_ipad orders:read');
    });

    it('drops a scope bound to no role', async () => {
      const res = await password({ scope: 'unknown:scope orders:read device_x1' });
      expect(res.body.scope).toBe('device_x1 orders:read');
    });

    it('grants default when no scope is asked for', async () => {
      const res = await password({});
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('default');
    });

    it('answers invalid_scope for a scope outside the RFC 6749 §3.3 syntax', async () => {
      for (const scope of ['orders"read', 'a\\b', 'tab\there', 'naïve']) {
        const res = await password({ scope });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_scope');
      }
    });

    it('answers invalid_grant for a wrong password and for an unknown user', async () => {
      for (const params of [{ password: 'nope' }, { username: 'mallory' }] as Record<string, string>[]) {
        const res = await password(params);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('answers invalid_request for a missing username or password', async () => {
      for (const missing of ['username', 'password']) {
        const res = await request(app)
          .post('/token')
          .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
          .type('form')
          .send(form({ grant_type: 'password', ...(missing === 'username' ? { password: 'x' } : { username: 'alice' }) }));
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_request');
        expect(res.body.error_description).toContain(missing);
      }
    });

    it('issues no refresh token to a client that may not use the refresh_token grant', async () => {
      const res = await password({}, basic(NO_REFRESH.clientId, NO_REFRESH.clientSecret));
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toBeUndefined();
      expect(res.body.expires_in).toBe(NO_REFRESH.accessTokenTtl);
    });
  });

  describe('client authentication', () => {
    it('answers 401 for a malformed Basic header', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', 'Basic %%%')
        .type('form')
        .send(form({ grant_type: 'client_credentials' }));
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });
  });

  describe('grant types and request shape', () => {
    it('answers invalid_request for a missing grant_type', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .type('form')
        .send('username=alice');
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });

    it('answers invalid_request for a repeated parameter', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .type('form')
        .send('grant_type=password&username=alice&username=bob&password=wonderland');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('username') });
    });

    it('answers invalid_request for a JSON body, a missing body and a malformed charset', async () => {
      const auth = basic(IOS_APP.clientId, IOS_APP.clientSecret);
      const json = await request(app).post('/token').set('Authorization', auth).send({ grant_type: 'password' });
      const empty = await request(app).post('/token').set('Authorization', auth);
      const charset = await request(app)
        .post('/token')
        .set('Authorization', auth)
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=klingon')
        .send('grant_type=password');
      for (const res of [json, empty, charset]) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(['invalid_request', 'invalid_client']).toContain(res.body.error);
      }
      expect(json.body.error).toBe('invalid_request');
    });

    it('answers 413 invalid_request for an oversized body, not a 500', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .type('form')
        .send(form({ grant_type: 'password', username: 'a'.repeat(64 * 1024), password: 'x' }));
      expect(res.status).toBe(413);
      expect(res.body.error).toBe('invalid_request');
    });
  });

  describe('client_credentials grant', () => {
    it('issues a token without refresh token, scoped by the client roles, with the client lifetime', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', basic(SERVICE.clientId, SERVICE.clientSecret))
        .type('form')
        .send(form({ grant_type: 'client_credentials', scope: 'orders:write device_batch nope' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.stringMatching(ACCESS_TOKEN_SHAPE),
        token_type: 'Bearer',
        expires_in: SERVICE.accessTokenTtl,
        scope: 'device_batch orders:write',
      });
      const api = await request(app).get('/api/anything').set('Authorization', `Bearer ${res.body.access_token}`);
      expect(api.status).toBe(200);
      expect(api.body.oauth).toMatchObject({ clientId: SERVICE.clientId, subject: SERVICE.clientId, device: 'device_batch' });
      expect(api.body.oauth.username).toBeUndefined();
    });
  });

  describe('refresh_token grant', () => {
    const refresh = (refreshToken: string, extra: Record<string, string> = {}, auth = basic(IOS_APP.clientId, IOS_APP.clientSecret)) =>
      request(app)
        .post('/token')
        .set('Authorization', auth)
        .type('form')
        .send(form({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }));

    it('rotates the refresh token, ends the old access token and keeps the device', async () => {
      const first = await password({ scope: 'device_ipad orders:read', username: 'bob', password: 'builder' });
      const res = await refresh(first.body.refresh_token);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.scope).toBe('device_ipad orders:read');
      expect(res.body.refresh_token).not.toBe(first.body.refresh_token);
      expect(res.body.access_token).not.toBe(first.body.access_token);
      expect((await request(app).get('/api/orders').set('Authorization', `Bearer ${first.body.access_token}`)).status).toBe(401);
      const api = await request(app).get('/api/orders').set('Authorization', `Bearer ${res.body.access_token}`);
      expect(api.status).toBe(200);
      expect(api.body.oauth).toMatchObject({ username: 'bob', device: 'device_ipad', clientId: IOS_APP.clientId });
    });

    it('allows a narrower scope and refuses a wider one with invalid_scope', async () => {
      const first = await password({ scope: 'device_watch orders:read orders:write', username: 'bob', password: 'builder' });
      expect(first.body.scope).toBe('device_watch orders:read orders:write');
      const wider = await refresh(first.body.refresh_token, { scope: 'orders:read admin:all' });
      expect(wider.status).toBe(400);
      expect(wider.body.error).toBe('invalid_scope');
      const narrower = await refresh(first.body.refresh_token, { scope: 'orders:read' });
      expect(narrower.status).toBe(200);
      expect(narrower.body.scope).toBe('device_watch orders:read');
    });

    it('answers a retry of a refresh whose answer was lost with the same pair, never a third (refreshGracePeriod)', async () => {
      const ipad = await password({ scope: 'device_ipad', username: 'bob', password: 'builder' });
      const rotated = await refresh(ipad.body.refresh_token);
      expect(rotated.status).toBe(200);
      const retried = await refresh(ipad.body.refresh_token);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ access_token: rotated.body.access_token, refresh_token: rotated.body.refresh_token });
      expect(retried.body.expires_in).toBeLessThanOrEqual(rotated.body.expires_in);
      expect((await request(app).get('/api/anything').set('Authorization', `Bearer ${rotated.body.access_token}`)).status).toBe(200);
    });

    it("answers invalid_grant for a replayed refresh token once its successor was used, and ends that device's grant only", async () => {
      const ipad = await password({ scope: 'device_ipad', username: 'bob', password: 'builder' });
      const iphone = await password({ scope: 'device_iphone', username: 'bob', password: 'builder' });
      const rotated = await refresh(ipad.body.refresh_token);
      expect(rotated.status).toBe(200);
      const again = await refresh(rotated.body.refresh_token);
      expect(again.status).toBe(200);
      const replay = await refresh(ipad.body.refresh_token);
      expect(replay.status).toBe(400);
      expect(replay.body.error).toBe('invalid_grant');
      expect((await request(app).get('/api/anything').set('Authorization', `Bearer ${again.body.access_token}`)).status).toBe(401);
      expect((await request(app).get('/api/anything').set('Authorization', `Bearer ${iphone.body.access_token}`)).status).toBe(200);
    });

    it("answers invalid_grant for another client's refresh token and for garbage", async () => {
      const first = await password({ scope: 'device_tv' });
      const other = await refresh(first.body.refresh_token, {}, basic(ANDROID_APP.clientId, ANDROID_APP.clientSecret));
      expect(other.status).toBe(400);
      expect(other.body.error).toBe('invalid_grant');
      // The rightful client's grant is untouched.
      expect((await request(app).get('/api/anything').set('Authorization', `Bearer ${first.body.access_token}`)).status).toBe(200);
      const garbage = await refresh('not-a-token');
      expect(garbage.status).toBe(400);
      expect(garbage.body.error).toBe('invalid_grant');
    });

    it('answers invalid_request when refresh_token is missing', async () => {
      const res = await request(app)
        .post('/token')
        .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
        .type('form')
        .send('grant_type=refresh_token');
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });
  });
});
