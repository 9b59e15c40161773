import request from 'supertest';
import type { TokenStore, TokenTypes } from '../../lib';
import {
  basic,
  type ClientCredentials,
  MOBILE_APP,
  ORDERS_API,
  passwordTokens,
  postForm,
  REPORTING,
  SHORT_LIVED,
  sleep,
  STORE_KINDS,
  WEB_APP,
  useComplianceApp,
} from './compliance-app';

// RFC 7662, OAuth 2.0 Token Introspection: `POST /introspect`.

const ISSUER = 'https://gateway.example.com';

describe.each(STORE_KINDS)('RFC 7662 token introspection on %s', (kind) => {
  const lookups: TokenTypes[] = [];
  // Counts the store round trips introspection makes (DESIGN: one per request).
  const counting = (store: TokenStore): TokenStore => {
    // The real store, with its lookups counted on the way through.
    const lookup = store.lookup.bind(store);
    return Object.assign(Object.create(store) as TokenStore, {
      lookup: (token: string, types?: TokenTypes) => {
        lookups.push(types ?? []);
        return lookup(token, types);
      },
    });
  };
  const suite = useComplianceApp(kind, `rfc7662-${kind}`, { issuer: ISSUER }, counting);

  const introspect = (params: Record<string, string>, client: ClientCredentials | null = MOBILE_APP) =>
    postForm(suite.app, '/introspect', params, client);

  it('§2.2: a live access token is "active": true with scope, client_id, username, token_type, exp, iat, sub, iss — and the device', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { access_token } = await passwordTokens(suite.app, 'device_ipad orders:read');
    lookups.length = 0;
    const res = await introspect({ token: access_token });
    expect(res.status).toBe(200);
    expect(lookups).toEqual([['access_token', 'refresh_token']]);
    expect(res.body).toEqual({
      active: true,
      scope: 'device_ipad orders:read',
      client_id: MOBILE_APP.clientId,
      username: 'alice',
      sub: 'alice',
      token_type: 'Bearer',
      iat: expect.any(Number),
      exp: expect.any(Number),
      device: 'device_ipad',
      iss: ISSUER,
    });
    // "exp: Integer timestamp, measured in the number of seconds since January 1 1970 UTC"
    expect(Number.isInteger(res.body.exp) && Number.isInteger(res.body.iat)).toBe(true);
    expect(res.body.iat).toBeGreaterThanOrEqual(before - 1);
    expect(res.body.exp - res.body.iat).toBe(MOBILE_APP.accessTokenTtl);
  });

  it('§2.2: a client_credentials token has no username (no resource owner) and no device', async () => {
    const issued = await postForm(suite.app, '/token', { grant_type: 'client_credentials', scope: 'orders:write' }, REPORTING);
    const res = await introspect({ token: issued.body.access_token }, REPORTING);
    expect(res.body).toEqual({
      active: true,
      scope: 'orders:write',
      client_id: REPORTING.clientId,
      sub: REPORTING.clientId,
      token_type: 'Bearer',
      iat: expect.any(Number),
      exp: expect.any(Number),
      iss: ISSUER,
    });
  });

  it('§2.2: a live refresh token is active, with its own expiry and token_type "refresh_token"', async () => {
    const { refresh_token } = await passwordTokens(suite.app, 'device_phone');
    const res = await introspect({ token: refresh_token, token_type_hint: 'refresh_token' });
    expect(res.body).toMatchObject({ active: true, token_type: 'refresh_token', device: 'device_phone', username: 'alice' });
    expect(res.body.exp - res.body.iat).toBe(MOBILE_APP.refreshTokenTtl);
  });

  it('§2.2: "If the introspection call is properly authorized but the token is not active, does not exist on this server ..., the authorization server MUST return ... active set to false" — and nothing else', async () => {
    const revoked = await passwordTokens(suite.app, 'device_revoked');
    expect((await postForm(suite.app, '/revoke', { token: revoked.access_token }, MOBILE_APP)).status).toBe(200);
    const expired = await passwordTokens(suite.app, 'device_short', SHORT_LIVED);
    await sleep(1100);
    const dead = [revoked.access_token, revoked.refresh_token, expired.access_token, 'unknown', `${'A'.repeat(12)}.${'B'.repeat(43)}`, '%'];
    for (const token of dead) {
      const client = token === expired.access_token ? SHORT_LIVED : MOBILE_APP;
      const res = await introspect({ token }, client);
      expect(res.status).toBe(200);
      // "SHOULD NOT include any additional information about an inactive token"
      expect(res.body).toStrictEqual({ active: false });
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('§2.2: "... or the protected resource is not allowed to introspect this particular token": another client gets active false', async () => {
    const { access_token, refresh_token } = await passwordTokens(suite.app, 'device_private');
    for (const token of [access_token, refresh_token]) {
      const res = await introspect({ token }, WEB_APP);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ active: false });
    }
  });

  it('§2.2 "MAY respond differently to different protected resources": a client marked resourceServer sees every client\'s tokens', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_rs orders:read');
    const res = await introspect({ token: access_token }, ORDERS_API);
    expect(res.body).toMatchObject({ active: true, client_id: MOBILE_APP.clientId, username: 'alice', device: 'device_rs' });
  });

  it('§2.1 token_type_hint: "If the server is unable to locate the token using the given hint, it MUST extend its search"', async () => {
    const { access_token, refresh_token } = await passwordTokens(suite.app, 'device_hint');
    const access = await introspect({ token: access_token, token_type_hint: 'refresh_token' });
    expect(access.body).toMatchObject({ active: true, token_type: 'Bearer' });
    const refresh = await introspect({ token: refresh_token, token_type_hint: 'access_token' });
    expect(refresh.body).toMatchObject({ active: true, token_type: 'refresh_token' });
  });

  it('§2.1 token_type_hint: "An authorization server MAY ignore this parameter" — an unknown hint is not an error here', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_odd_hint');
    const res = await introspect({ token: access_token, token_type_hint: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: true, token_type: 'Bearer' });
  });

  it('§2.1: "the endpoint MUST also require some form of authorization" — no credentials is 401 invalid_client', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_anon');
    const res = await introspect({ token: access_token }, null);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.active).toBeUndefined();
  });

  it('§2.3: "its credentials are invalid, the authorization server responds with an HTTP 401 (Unauthorized) as described in Section 5.2 of OAuth 2.0"', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_badcreds');
    const res = await introspect({ token: access_token }, { clientId: ORDERS_API.clientId, clientSecret: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    expect(res.body.active).toBeUndefined();
  });

  it('§2.1: "token REQUIRED" — missing, or repeated (RFC 6749 §3.2), is 400 invalid_request', async () => {
    const missing = await introspect({});
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const twice = await request(suite.app).post('/introspect').set('Authorization', basic(MOBILE_APP)).type('form').send('token=a&token=b');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toBe('invalid_request');
  });

  it('§2.1: "an HTTP POST request with parameters sent as application/x-www-form-urlencoded" (GET 405, JSON 400)', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_format');
    const get = await request(suite.app).get(`/introspect?token=${access_token}`).set('Authorization', basic(MOBILE_APP));
    expect(get.status).toBe(405);
    const json = await request(suite.app).post('/introspect').set('Authorization', basic(MOBILE_APP)).send({ token: access_token });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe('invalid_request');
  });

  it('§2.2: "The server responds with a JSON object in application/json format", never cached', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_json');
    const res = await introspect({ token: access_token });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  });
});

describe('RFC 7662 §2.2 iss', () => {
  const suite = useComplianceApp('MemoryTokenStore', 'rfc7662-no-issuer');

  it('"iss OPTIONAL": left out when no issuer is configured (a Host-derived one would be the caller\'s word)', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    const res = await postForm(suite.app, '/introspect', { token: access_token }, MOBILE_APP);
    expect(res.body.active).toBe(true);
    expect(res.body).not.toHaveProperty('iss');
  });
});
