import request from 'supertest';
import {
  basic,
  type ClientCredentials,
  MOBILE_APP,
  passwordTokens,
  postForm,
  STORE_KINDS,
  WEB_APP,
  useComplianceApp,
} from './compliance-app';

// RFC 7009, OAuth 2.0 Token Revocation: `POST /revoke`.

describe.each(STORE_KINDS)('RFC 7009 token revocation on %s', (kind) => {
  const suite = useComplianceApp(kind, `rfc7009-${kind}`);

  const revoke = (params: Record<string, string>, client: ClientCredentials | null = MOBILE_APP) =>
    postForm(suite.app, '/revoke', params, client);
  const apiStatus = async (accessToken: string) =>
    (await request(suite.app).get('/api/me').set('Authorization', `Bearer ${accessToken}`)).status;
  const refreshStatus = async (refreshToken: string) =>
    (await postForm(suite.app, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, MOBILE_APP)).status;

  it('§2.1/§2.2: revoking an access token answers 200 and the token stops working', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    expect(await apiStatus(access_token)).toBe(200);
    const res = await revoke({ token: access_token });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await apiStatus(access_token)).toBe(401);
  });

  it('§2.1: "If the token passed to the request is an access token, the server MAY revoke the respective refresh token as well" (we do: the device\'s grant ends)', async () => {
    const { access_token, refresh_token } = await passwordTokens(suite.app, 'device_phone');
    expect((await revoke({ token: access_token })).status).toBe(200);
    expect(await refreshStatus(refresh_token)).toBe(400);
  });

  it('§2.1: for a refresh token the server "SHOULD also invalidate all access tokens based on the same authorization grant"', async () => {
    const { access_token, refresh_token } = await passwordTokens(suite.app, 'device_tablet');
    expect((await revoke({ token: refresh_token, token_type_hint: 'refresh_token' })).status).toBe(200);
    expect(await apiStatus(access_token)).toBe(401);
    expect(await refreshStatus(refresh_token)).toBe(400);
  });

  it('§2.2: "The authorization server responds with HTTP status code 200 ... if the client submitted an invalid token"', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_twice');
    expect((await revoke({ token: access_token })).status).toBe(200);
    for (const token of [access_token, 'unknown-token', `${'A'.repeat(12)}.${'B'.repeat(43)}`, 'x', '%00']) {
      const res = await revoke({ token });
      expect(res.status).toBe(200);
    }
  });

  it('§2.1: "If the server is unable to locate the token using the given hint, it MUST extend its search across all of its supported token types"', async () => {
    const access = await passwordTokens(suite.app, 'device_hint_a');
    expect((await revoke({ token: access.access_token, token_type_hint: 'refresh_token' })).status).toBe(200);
    expect(await apiStatus(access.access_token)).toBe(401);
    const refresh = await passwordTokens(suite.app, 'device_hint_r');
    expect((await revoke({ token: refresh.refresh_token, token_type_hint: 'access_token' })).status).toBe(200);
    expect(await apiStatus(refresh.access_token)).toBe(401);
  });

  it('§2.2.1 unsupported_token_type: "The authorization server does not support the revocation of the presented token type"', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_unsupported');
    const res = await revoke({ token: access_token, token_type_hint: 'id_token' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_token_type');
    expect(await apiStatus(access_token)).toBe(200);
  });

  it('§2.1: the server "verifies whether the token was issued to the client making the revocation request. If this validation fails, the request is refused"', async () => {
    const { access_token, refresh_token } = await passwordTokens(suite.app, 'device_foreign');
    for (const token of [access_token, refresh_token]) {
      const res = await revoke({ token }, WEB_APP);
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual(expect.any(String));
    }
    expect(await apiStatus(access_token)).toBe(200);
  });

  it("§2.1: revoking one device's token leaves the same user's other devices alone", async () => {
    const ipad = await passwordTokens(suite.app, 'device_ipad_2');
    const iphone = await passwordTokens(suite.app, 'device_iphone_2');
    expect((await revoke({ token: iphone.access_token })).status).toBe(200);
    expect(await apiStatus(iphone.access_token)).toBe(401);
    expect(await apiStatus(ipad.access_token)).toBe(200);
  });

  it('§2.1: "The client also includes its authentication credentials as described in Section 2.3 of [RFC6749]" (none or wrong: 401 invalid_client)', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_unauthenticated');
    const none = await revoke({ token: access_token }, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_client');
    const wrong = await revoke({ token: access_token }, { clientId: MOBILE_APP.clientId, clientSecret: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    expect(await apiStatus(access_token)).toBe(200);
  });

  it('§2.1: "token REQUIRED" (missing, or sent twice per RFC 6749 §3.2, is invalid_request)', async () => {
    const missing = await revoke({});
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const twice = await request(suite.app).post('/revoke').set('Authorization', basic(MOBILE_APP)).type('form').send('token=a&token=b');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toBe('invalid_request');
  });

  it('§2.1: "The client requests the revocation of a particular token by making an HTTP POST request" (GET is 405)', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_get');
    const res = await request(suite.app).get(`/revoke?token=${access_token}`).set('Authorization', basic(MOBILE_APP));
    expect(res.status).toBe(405);
    expect(await apiStatus(access_token)).toBe(200);
  });

  it('§2.1: client_id and client_secret in the body authenticate as well (RFC 6749 §2.3.1)', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_post_auth');
    const res = await revoke({ token: access_token, client_id: MOBILE_APP.clientId, client_secret: MOBILE_APP.clientSecret }, null);
    expect(res.status).toBe(200);
    expect(await apiStatus(access_token)).toBe(401);
  });
});
