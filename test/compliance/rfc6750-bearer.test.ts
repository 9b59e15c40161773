import request from 'supertest';
import {
  DESCRIPTION_CHARSET,
  MOBILE_APP,
  passwordTokens,
  postForm,
  SHORT_LIVED,
  sleep,
  STORE_KINDS,
  useComplianceApp,
} from './compliance-app';

// RFC 6750, Bearer Token Usage, as `requireToken()` implements it for the gateway's own APIs.

/** RFC 6750 §3: `Bearer` 1*SP auth-param *( "," auth-param ), every value a quoted-string here. */
function parseChallenge(header: string | undefined): Record<string, string> {
  expect(header).toMatch(/^Bearer [a-z_]+="[^"\\]*"(, [a-z_]+="[^"\\]*")*$/);
  const params: Record<string, string> = {};
  for (const [, name, value] of header!.matchAll(/([a-z_]+)="([^"\\]*)"/g)) {
    expect(params[name!]).toBeUndefined(); // §3: attributes "MUST NOT appear more than once"
    params[name!] = value!;
  }
  return params;
}

describe.each(STORE_KINDS)('RFC 6750 bearer token usage on %s', (kind) => {
  const suite = useComplianceApp(kind, `rfc6750-${kind}`);

  const orders = (authorization?: string) => {
    const req = request(suite.app).get('/api/orders');
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };

  it('§2.1: "Authorization: Bearer <b64token>" grants access and tells the API who, what and which device', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad orders:read');
    const res = await orders(`Bearer ${access_token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ clientId: MOBILE_APP.clientId, username: 'alice', device: 'device_ipad' });
  });

  it('§2.1 with RFC 9110 §11.1 ("auth-scheme is case-insensitive"): "bearer" and "BEARER" work too', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_case orders:read');
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      expect((await orders(`${scheme} ${access_token}`)).status).toBe(200);
    }
  });

  it('§3.1: "If the request lacks any authentication information ... the resource server SHOULD NOT include an error code or other error information"', async () => {
    const res = await orders();
    expect(res.status).toBe(401);
    expect(parseChallenge(res.headers['www-authenticate'])).toEqual({ realm: 'orders' });
  });

  it('§3.1: the same bare challenge when the client "attempted using an unsupported authentication method" (Basic)', async () => {
    const res = await orders('Basic YWxpY2U6d29uZGVybGFuZA==');
    expect(res.status).toBe(401);
    expect(parseChallenge(res.headers['www-authenticate'])).toEqual({ realm: 'orders' });
  });

  it('§3.1 invalid_token: "The access token provided is expired, revoked, malformed, or invalid" is 401 with error="invalid_token"', async () => {
    const unknown = await orders(`Bearer ${'A'.repeat(12)}.${'B'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_token');
    const challenge = parseChallenge(unknown.headers['www-authenticate']);
    expect(challenge).toEqual({ realm: 'orders', error: 'invalid_token', error_description: expect.any(String) });
  });

  it('§3.1 invalid_token: a revoked token', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_revoked orders:read');
    expect((await orders(`Bearer ${access_token}`)).status).toBe(200);
    expect((await postForm(suite.app, '/revoke', { token: access_token }, MOBILE_APP)).status).toBe(200);
    const res = await orders(`Bearer ${access_token}`);
    expect(res.status).toBe(401);
    expect(parseChallenge(res.headers['www-authenticate']).error).toBe('invalid_token');
  });

  it('§3.1 invalid_token: an expired token', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_short orders:read', SHORT_LIVED);
    await sleep(1100);
    const res = await orders(`Bearer ${access_token}`);
    expect(res.status).toBe(401);
    expect(parseChallenge(res.headers['www-authenticate']).error).toBe('invalid_token');
  });

  it('§3.1 invalid_token: a refresh token is not an access token', async () => {
    const { refresh_token } = await passwordTokens(suite.app, 'device_refresh orders:read');
    const res = await orders(`Bearer ${refresh_token}`);
    expect(res.status).toBe(401);
    expect(parseChallenge(res.headers['www-authenticate']).error).toBe('invalid_token');
  });

  it('§3.1 insufficient_scope: "The request requires higher privileges than provided by the access token" is 403 with the scope attribute', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    const res = await orders(`Bearer ${access_token}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    // §3: scope is "a space-delimited list of case-sensitive scope values indicating the required scope"
    expect(parseChallenge(res.headers['www-authenticate'])).toEqual({
      realm: 'orders',
      error: 'insufficient_scope',
      error_description: expect.any(String),
      scope: 'orders:read',
    });
  });

  it.each(['Bearer two words', 'Bearer a,b', 'Bearer', 'Bearer ', 'Bearer tok=en'])(
    '§2.1 b64token syntax / §3.1 invalid_request: a malformed request (%j) is 400',
    async (authorization) => {
      const res = await orders(authorization);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(parseChallenge(res.headers['www-authenticate']).error).toBe('invalid_request');
    },
  );

  it('§3: "error_description" in the challenge "MUST NOT include characters outside the set %x20-21 / %x23-5B / %x5D-7E"', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    const answers = await Promise.all([
      orders('Bearer two words'),
      orders(`Bearer ${'A'.repeat(12)}.${'B'.repeat(43)}`),
      orders(`Bearer ${access_token}`),
    ]);
    for (const res of answers) {
      const challenge = parseChallenge(res.headers['www-authenticate']);
      expect(challenge.error_description).toMatch(DESCRIPTION_CHARSET);
      expect(res.body.error_description).toMatch(DESCRIPTION_CHARSET);
    }
  });

  it('§3: "All challenges defined by this specification MUST use the auth-scheme value Bearer"', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    const answers = await Promise.all([orders(), orders('Basic eDp5'), orders('Bearer !!'), orders(`Bearer ${access_token}`)]);
    for (const res of answers) expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('§2.1: a token without the required scope still reaches a resource that requires none', async () => {
    const { access_token } = await passwordTokens(suite.app, 'device_ipad');
    const res = await request(suite.app).get('/api/me').set('Authorization', `Bearer ${access_token}`);
    expect(res.status).toBe(200);
    expect(res.body.scopes).toEqual(['default', 'device_ipad']);
  });
});
