import express from 'express';
import request from 'supertest';
import { requireToken, StoreUnavailableError, type TokenStore } from '../../lib';
import { basic, buildApp, form, IOS_APP, memoryStore, type StoreHandle } from './harness';

describe('requireToken()', () => {
  let handle: StoreHandle;
  beforeAll(() => {
    handle = memoryStore();
  });
  afterAll(() => handle.close());

  async function tokenFor(scope: string): Promise<string> {
    const res = await request(buildApp(handle.store))
      .post('/token')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope }));
    return res.body.access_token;
  }

  it('lets a live token with the scope through and describes it on req.oauth', async () => {
    const token = await tokenFor('device_ipad orders:read');
    const res = await request(buildApp(handle.store)).get('/api/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.oauth).toEqual({
      clientId: IOS_APP.clientId,
      subject: 'alice',
      username: 'alice',
      scopes: ['device_ipad', 'orders:read'],
      deviceScopes: ['device_ipad'],
      device: 'device_ipad',
      sessionId: expect.any(String),
      issuedAt: expect.any(Number),
      expiresAt: expect.any(Number),
    });
    expect(JSON.stringify(res.body)).not.toContain(token);
  });

  it('answers 400 invalid_request for a malformed Authorization header', async () => {
    const res = await request(buildApp(handle.store)).get('/api/orders').set('Authorization', 'Bearer two words');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('answers 503, not 401, when the store is unavailable', async () => {
    const down: TokenStore = {
      ...handle.store,
      lookup: async () => {
        throw new StoreUnavailableError('down');
      },
    };
    const errors: unknown[] = [];
    const app = express();
    app.get('/x', requireToken({ store: down, onError: (error) => errors.push(error) }), (_req, res) => {
      res.end();
    });
    const res = await request(app)
      .get('/x')
      .set('Authorization', `Bearer ${'A'.repeat(12)}.${'B'.repeat(43)}`);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('throws at construction naming the wrong option', () => {
    expect(() => requireToken({} as never)).toThrow('options.store');
    expect(() => requireToken({ store: handle.store, scopes: 'orders:read' as never })).toThrow('options.scopes');
    expect(() => requireToken({ store: handle.store, realm: 5 as never })).toThrow('options.realm');
  });
});
