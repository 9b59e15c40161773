import request from 'supertest';
import {
  basic,
  type ClientCredentials,
  DESCRIPTION_CHARSET,
  form,
  MOBILE_APP,
  ODD_CLIENT,
  passwordTokens,
  postForm,
  rawBasic,
  REPORTING,
  STORE_KINDS,
  WEB_APP,
  useComplianceApp,
} from './compliance-app';

// RFC 6749, The OAuth 2.0 Authorization Framework: the token endpoint (§2.3, §3, §4.3, §4.4, §5, §6).

const ALICE = { grant_type: 'password', username: 'alice', password: 'wonderland' };

describe.each(STORE_KINDS)('RFC 6749 token endpoint on %s', (kind) => {
  const suite = useComplianceApp(kind, `rfc6749-${kind}`);

  const token = (params: Record<string, string>, client: ClientCredentials | null = MOBILE_APP) =>
    postForm(suite.app, '/token', params, client);

  describe('§2.3 client authentication', () => {
    it('§2.3.1: "The client identifier is encoded using the application/x-www-form-urlencoded encoding algorithm ... and the encoded value is used as the username" (":", "%", "+", space, non-ASCII)', async () => {
      const res = await token({ grant_type: 'client_credentials' }, ODD_CLIENT);
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      const introspected = await postForm(suite.app, '/introspect', { token: res.body.access_token }, ODD_CLIENT);
      expect(introspected.body).toMatchObject({ active: true, client_id: ODD_CLIENT.clientId });
    });

    it('§2.3.1: a "+" in form-urlencoded Basic credentials is a space, "%2B" is a plus', async () => {
      const secret = ODD_CLIENT.clientSecret; // 'p:ss%w+rd ü/=&'
      const encodedId = encodeURIComponent(ODD_CLIENT.clientId).replace(/%20/g, '+');
      // The space written as %20 instead of + decodes to the same secret.
      const percentSpace = `p%3Ass%25w%2Brd%20${encodeURIComponent('ü')}%2F%3D%26`;
      expect(decodeURIComponent(percentSpace)).toBe(secret);
      const ok = await request(suite.app)
        .post('/token')
        .set('Authorization', rawBasic(encodedId, percentSpace))
        .type('form')
        .send('grant_type=client_credentials');
      expect(ok.status).toBe(200);
      // A literal "+" where the secret has "+" decodes to a space: wrong secret.
      const plusUnencoded = percentSpace.replace('%2B', '+');
      const wrong = await request(suite.app)
        .post('/token')
        .set('Authorization', rawBasic(encodedId, plusUnencoded))
        .type('form')
        .send('grant_type=client_credentials');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    });

    it('§2.3.1: Basic credentials that are not form-urlencoded fail client authentication with 401', async () => {
      // The raw secret holds "%w+" (not a percent-escape) and the raw id holds ":" (splits early).
      const res = await request(suite.app)
        .post('/token')
        .set('Authorization', rawBasic(ODD_CLIENT.clientId, ODD_CLIENT.clientSecret))
        .type('form')
        .send('grant_type=client_credentials');
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    });

    it('§2.3.1: "the client MAY include the client credentials in the request-body using ... client_id ... client_secret"', async () => {
      const res = await token({ ...ALICE, client_id: MOBILE_APP.clientId, client_secret: MOBILE_APP.clientSecret }, null);
      expect(res.status).toBe(200);
      expect(res.body.token_type).toMatch(/^bearer$/i);
    });

    it('§2.3: "The client MUST NOT use more than one authentication method in each request" (invalid_client)', async () => {
      const res = await token({ ...ALICE, client_id: MOBILE_APP.clientId, client_secret: MOBILE_APP.clientSecret });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });

    it('§5.2 invalid_client: after HTTP Basic the server "MUST respond with an HTTP 401 ... and include the WWW-Authenticate response header field matching the authentication scheme used"', async () => {
      for (const client of [
        { clientId: MOBILE_APP.clientId, clientSecret: 'wrong-secret' },
        { clientId: 'no-such-client', clientSecret: 'whatever' },
      ]) {
        const res = await token(ALICE, client);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_client');
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm="[^"]*"/);
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('§5.2 invalid_client: wrong credentials in the body answer 401 invalid_client', async () => {
      const res = await token({ ...ALICE, client_id: MOBILE_APP.clientId, client_secret: 'wrong-secret' }, null);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    });

    it('§3.2.1: "Confidential clients ... MUST authenticate with the authorization server": no credentials is 401 invalid_client with a Basic challenge', async () => {
      const res = await token(ALICE, null);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    });
  });

  describe('§3.1, §3.2, §4.3.2 request format', () => {
    it.each(['grant_type', 'username', 'password', 'scope', 'client_id'])(
      '§3.2: "Request and response parameters MUST NOT be included more than once" (repeated %s is invalid_request)',
      async (name) => {
        const params = new URLSearchParams({ ...ALICE, scope: 'orders:read', client_id: MOBILE_APP.clientId });
        params.append(name, params.get(name)!);
        const res = await request(suite.app).post('/token').set('Authorization', basic(MOBILE_APP)).type('form').send(params.toString());
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_request');
        expect(res.body.access_token).toBeUndefined();
      },
    );

    it('§3.1: "Parameters sent without a value MUST be treated as if they were omitted from the request"', async () => {
      const noUsername = await token({ ...ALICE, username: '' });
      expect(noUsername.status).toBe(400);
      expect(noUsername.body.error).toBe('invalid_request');
      expect(noUsername.body.error_description).toContain('username');
      const emptyScope = await token({ ...ALICE, scope: '' });
      expect(emptyScope.status).toBe(200);
      expect(emptyScope.body.scope).toBe('default');
    });

    it.each([
      ['grant_type', { username: 'alice', password: 'wonderland' }],
      ['username', { grant_type: 'password', password: 'wonderland' }],
      ['password', { grant_type: 'password', username: 'alice' }],
      ['refresh_token', { grant_type: 'refresh_token' }],
    ])('§4.3.2 / §6: a missing REQUIRED parameter (%s) is invalid_request', async (missing, params) => {
      const res = await token(params);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.error_description).toContain(missing);
    });

    it('§3.2: "The client MUST use the HTTP POST method when making access token requests" (GET is 405)', async () => {
      const res = await request(suite.app)
        .get(`/token?${form(ALICE)}`)
        .set('Authorization', basic(MOBILE_APP));
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      expect(res.body.access_token).toBeUndefined();
    });

    it.each([
      ['application/json', JSON.stringify(ALICE)],
      ['text/plain', form(ALICE)],
      ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\npassword\r\n--x--\r\n`],
    ])('§4.3.2: parameters are sent "using the application/x-www-form-urlencoded format": %s is invalid_request', async (type, body) => {
      const res = await request(suite.app).post('/token').set('Authorization', basic(MOBILE_APP)).set('Content-Type', type).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    });

    it.each(['utf-16', 'koi8-r'])(
      '§4.3.2: "with a character encoding of UTF-8": charset=%s is refused (415 invalid_request)',
      async (charset) => {
        const res = await request(suite.app)
          .post('/token')
          .set('Authorization', basic(MOBILE_APP))
          .set('Content-Type', `application/x-www-form-urlencoded; charset=${charset}`)
          .send(form(ALICE));
        expect(res.status).toBe(415);
        expect(res.body.error).toBe('invalid_request');
        expect(res.body.access_token).toBeUndefined();
      },
    );

    it('§4.3.2: "charset=UTF-8" on the form content type is accepted', async () => {
      const res = await request(suite.app)
        .post('/token')
        .set('Authorization', basic(MOBILE_APP))
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8')
        .send(form(ALICE));
      expect(res.status).toBe(200);
    });

    it("RFC 9110 §15.5.14: a body over the router's limit is 413 invalid_request, with no-store", async () => {
      const res = await token({ ...ALICE, padding: 'x'.repeat(20 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.error).toBe('invalid_request');
      expect(res.headers['cache-control']).toBe('no-store');
    });
  });

  describe('§5.2 error response', () => {
    it('§5.2 unsupported_grant_type: "The authorization grant type is not supported by the authorization server"', async () => {
      for (const grantType of ['authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:device_code', 'PASSWORD']) {
        const res = await token({ ...ALICE, grant_type: grantType });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('unsupported_grant_type');
      }
    });

    it('§5.2 unauthorized_client: "The authenticated client is not authorized to use this authorization grant type"', async () => {
      const clientCredentials = await token({ grant_type: 'client_credentials' }, MOBILE_APP);
      expect(clientCredentials.status).toBe(400);
      expect(clientCredentials.body.error).toBe('unauthorized_client');
      const password = await token(ALICE, REPORTING);
      expect(password.status).toBe(400);
      expect(password.body.error).toBe('unauthorized_client');
    });

    it('§5.2 invalid_grant: "resource owner credentials ... invalid"', async () => {
      for (const params of [
        { ...ALICE, password: 'not-it' },
        { ...ALICE, username: 'mallory' },
      ]) {
        const res = await token(params);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_grant');
      }
    });

    it('§5.2 invalid_grant: a refresh token that is invalid or "was issued to another client"', async () => {
      const { refresh_token } = await passwordTokens(suite.app, 'device_ipad');
      const foreign = await token({ grant_type: 'refresh_token', refresh_token }, WEB_APP);
      expect(foreign.status).toBe(400);
      expect(foreign.body.error).toBe('invalid_grant');
      const unknown = await token({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toBe('invalid_grant');
      // The foreign attempt did not harm the owner's grant.
      const own = await token({ grant_type: 'refresh_token', refresh_token });
      expect(own.status).toBe(200);
    });

    it.each(['orders"read', 'back\\slash', 'café', 'tab\there'])(
      '§5.2 invalid_scope: "The requested scope is ... malformed" (§3.3 scope-token syntax: %j)',
      async (scope) => {
        const res = await token({ ...ALICE, scope });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_scope');
      },
    );

    it('§6 / §5.2 invalid_scope: "The requested scope MUST NOT include any scope not originally granted"', async () => {
      const { refresh_token } = await passwordTokens(suite.app, 'device_phone orders:read');
      const res = await token({ grant_type: 'refresh_token', refresh_token, scope: 'device_phone orders:read orders:write' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_scope');
    });

    it('§5.2: errors are application/json with "error" and an "error_description" within %x20-21 / %x23-5B / %x5D-7E, never cached', async () => {
      const failures = await Promise.all([
        token({ ...ALICE, username: '' }), // quotes the parameter name
        token({ ...ALICE, grant_type: 'naïve"grant\\' }), // echoes what the client sent
        token({ ...ALICE, scope: 'café' }), // cites RFC 6749 §3.3
        token({ ...ALICE, grant_type: 'client_credentials' }),
        token(ALICE, { clientId: MOBILE_APP.clientId, clientSecret: 'wrong' }),
        request(suite.app).post('/token').set('Authorization', basic(MOBILE_APP)).type('json').send(ALICE),
      ]);
      for (const res of failures) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers.pragma).toBe('no-cache');
        expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
        expect(res.body.error).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
        expect(res.body.error_description).toMatch(DESCRIPTION_CHARSET);
      }
    });
  });

  describe('§5.1 successful response', () => {
    it('§5.1: "MUST include the HTTP Cache-Control response header field ... no-store ... as well as the Pragma response header field ... no-cache"', async () => {
      const res = await token({ ...ALICE, scope: 'device_ipad' });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('§5.1: token_type "Value is case insensitive", and it names the RFC 6750 scheme that works with the token', async () => {
      const res = await token({ ...ALICE, scope: 'device_case orders:read' });
      expect(res.body.token_type.toLowerCase()).toBe('bearer');
      for (const scheme of [res.body.token_type, res.body.token_type.toUpperCase(), res.body.token_type.toLowerCase()]) {
        const api = await request(suite.app).get('/api/orders').set('Authorization', `${scheme} ${res.body.access_token}`);
        expect(api.status).toBe(200);
      }
    });

    it('§5.1: expires_in is "the lifetime in seconds", and scope is REQUIRED when it differs from the request', async () => {
      const res = await token({ ...ALICE, scope: 'orders:write orders:read device_tv' });
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: MOBILE_APP.accessTokenTtl,
        refresh_token: expect.any(String),
        scope: 'device_tv orders:read',
      });
    });

    it('§4.4.3 client credentials: "A refresh token SHOULD NOT be included"', async () => {
      const res = await token({ grant_type: 'client_credentials', scope: 'orders:write' }, REPORTING);
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toBeUndefined();
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: REPORTING.accessTokenTtl, scope: 'orders:write' });
    });

    it('§6: an omitted scope "is treated as equal to the scope originally granted"; the old refresh token is revoked (rotation)', async () => {
      const first = await passwordTokens(suite.app, 'device_watch orders:read');
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
      expect(refreshed.status).toBe(200);
      expect(refreshed.headers['cache-control']).toBe('no-store');
      expect(refreshed.body.scope).toBe('device_watch orders:read');
      expect(refreshed.body.refresh_token).not.toBe(first.refresh_token);
      // Once the new refresh token is used, the old one is dead (a retry of the lost answer is
      // honoured only before that, inside refreshGracePeriod).
      expect((await token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })).status).toBe(200);
      const replay = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
      expect(replay.body.error).toBe('invalid_grant');
    });

    it('§6: a narrower scope may be requested on refresh', async () => {
      const first = await passwordTokens(suite.app, 'device_tablet orders:read');
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'device_tablet' });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.scope).toBe('device_tablet');
    });
  });
});
