import express, { type Express } from 'express';
import request from 'supertest';
import { createTokenRouter, MemoryTokenStore, type ClientRecord, type TokenRouterOptions } from '../../lib';
import { complianceApp, MOBILE_APP, REPORTING, USERS } from './compliance-app';

// RFC 8414, OAuth 2.0 Authorization Server Metadata: `GET /.well-known/oauth-authorization-server`.
// The document holds no token, so these suites need no Redis: one in-memory store serves all.

const WELL_KNOWN = '/.well-known/oauth-authorization-server';
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

describe('RFC 8414 authorization server metadata', () => {
  const store = new MemoryTokenStore({ secret: 'rfc8414-suite-secret-0123456789abcdef' });
  afterAll(() => store.close());

  function mounted(path: string, options: Partial<TokenRouterOptions> = {}, trustProxy = false): Express {
    const app = express();
    if (trustProxy) app.set('trust proxy', true);
    app.use(path, createTokenRouter({ store, clients: [MOBILE_APP, REPORTING], users: USERS, ...options }));
    return app;
  }

  it('§3: the document is "available at a path formed by inserting a well-known URI string into the ... issuer identifier between the host component and the path component"', async () => {
    const res = await request(complianceApp(store)).get(WELL_KNOWN).set('Host', 'gw.example.com');
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe('http://gw.example.com');
  });

  it('§3.2: "A successful response MUST use the 200 OK HTTP status code and return a JSON object using the application/json content type"', async () => {
    const res = await request(complianceApp(store)).get(WELL_KNOWN);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(expect.any(Object));
  });

  it('§2 and §3.2: the endpoints, grant types and client authentication methods of this router, nothing with zero elements', async () => {
    const res = await request(complianceApp(store, { scopesSupported: ['orders:read', 'orders:write'] }))
      .get(WELL_KNOWN)
      .set('Host', 'gw.example.com:8280');
    const issuer = 'http://gw.example.com:8280';
    expect(res.body).toStrictEqual({
      issuer,
      token_endpoint: `${issuer}/token`,
      revocation_endpoint: `${issuer}/revoke`,
      introspection_endpoint: `${issuer}/introspect`,
      // "If omitted, the default value is ["authorization_code", "implicit"]": so it is never omitted.
      grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
      // "If omitted, the default is client_secret_basic": we also take client_secret_post.
      token_endpoint_auth_methods_supported: AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: AUTH_METHODS,
      introspection_endpoint_auth_methods_supported: AUTH_METHODS,
      scopes_supported: ['orders:read', 'orders:write'],
    });
  });

  it('§2 authorization_endpoint "is REQUIRED unless no grant types are supported that use the authorization endpoint"; §3.2 "Claims with zero elements MUST be omitted" (response_types_supported, scopes_supported)', async () => {
    const res = await request(complianceApp(store)).get(WELL_KNOWN);
    expect(res.body).not.toHaveProperty('authorization_endpoint');
    expect(res.body).not.toHaveProperty('response_types_supported');
    expect(res.body).not.toHaveProperty('scopes_supported');
    for (const value of Object.values(res.body)) if (Array.isArray(value)) expect(value.length).toBeGreaterThan(0);
  });

  it('§2 grant_types_supported: only the grants some static client may use; every grant for a client lookup function', async () => {
    const passwordOnly = await request(mounted('/', { clients: [MOBILE_APP] })).get(WELL_KNOWN);
    expect(passwordOnly.body.grant_types_supported).toEqual(['password', 'refresh_token']);
    const lookup = await request(mounted('/', { clients: (id: string) => (id === MOBILE_APP.clientId ? MOBILE_APP : undefined) })).get(
      WELL_KNOWN,
    );
    expect(lookup.body.grant_types_supported).toEqual(['password', 'client_credentials', 'refresh_token']);
  });

  it('§2: every endpoint the document names answers at that URL (a POST without credentials is 401, not 404)', async () => {
    const app = complianceApp(store);
    const res = await request(app).get(WELL_KNOWN).set('Host', 'gw.example.com');
    for (const name of ['token_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
      const url = new URL(res.body[name]);
      expect(url.origin).toBe('http://gw.example.com');
      const answer = await request(app).post(url.pathname).type('form').send('token=x&grant_type=password');
      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_client');
    }
  });

  it('§3.3: "The issuer value returned MUST be identical to the ... issuer identifier" used to build the URL: a router under /oauth has issuer <origin>/oauth', async () => {
    const app = mounted('/oauth');
    const res = await request(app).get(`/oauth${WELL_KNOWN}`).set('Host', 'gw.example.com');
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe('http://gw.example.com/oauth');
    expect(res.body.token_endpoint).toBe('http://gw.example.com/oauth/token');
    expect(res.body.introspection_endpoint).toBe('http://gw.example.com/oauth/introspect');
    const answer = await request(app).post(new URL(res.body.revocation_endpoint).pathname).type('form').send('token=x');
    expect(answer.status).toBe(401);
  });

  it('§3.1: "https://example.com/issuer1" has its metadata at "/.well-known/oauth-authorization-server/issuer1": a sub-path router can be served there too (README recipe)', async () => {
    const issuer = 'https://gw.example.com/oauth';
    const router = createTokenRouter({ store, clients: [MOBILE_APP], users: USERS, issuer });
    const app = express();
    app.use('/oauth', router);
    app.get(`${WELL_KNOWN}/oauth`, (req, res, next) => {
      req.url = WELL_KNOWN;
      router(req, res, next);
    });
    const inserted = await request(app).get(`${WELL_KNOWN}/oauth`);
    const appended = await request(app).get(`/oauth${WELL_KNOWN}`);
    expect(inserted.status).toBe(200);
    expect(inserted.body.issuer).toBe(issuer);
    expect(inserted.body.token_endpoint).toBe(`${issuer}/token`);
    expect(appended.body).toEqual(inserted.body);
  });

  it('§2 issuer "uses the https scheme": behind a proxy the derived issuer follows X-Forwarded-Proto/-Host when Express trusts the proxy', async () => {
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'login.example.com' };
    const trusted = await request(mounted('/', {}, true))
      .get(WELL_KNOWN)
      .set('Host', 'internal:8280')
      .set(forwarded);
    expect(trusted.body.issuer).toBe('https://login.example.com');
    expect(trusted.body.token_endpoint).toBe('https://login.example.com/token');
    const untrusted = await request(mounted('/')).get(WELL_KNOWN).set('Host', 'internal:8280').set(forwarded);
    expect(untrusted.body.issuer).toBe('http://internal:8280');
  });

  it('§2 issuer: a configured issuer is used verbatim, whatever Host or forwarding headers say, and may be cached publicly', async () => {
    const issuer = 'https://login.example.com/tenant-a';
    const res = await request(mounted('/', { issuer }, true))
      .get(WELL_KNOWN)
      .set('Host', 'evil.example.net')
      .set('X-Forwarded-Host', 'evil.example.net');
    expect(res.body.issuer).toBe(issuer);
    expect(res.body.token_endpoint).toBe(`${issuer}/token`);
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('§3: a document derived from the Host header is only cached privately', async () => {
    const res = await request(complianceApp(store)).get(WELL_KNOWN);
    expect(res.headers['cache-control']).toMatch(/^private/);
  });

  it('§3: "using an HTTP GET request": HEAD works, POST is 405', async () => {
    const app = complianceApp(store);
    expect((await request(app).head(WELL_KNOWN)).status).toBe(200);
    const post = await request(app).post(WELL_KNOWN);
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  describe('options, checked when the router is built', () => {
    const build = (options: Partial<TokenRouterOptions>) => () =>
      createTokenRouter({ store, clients: [REPORTING satisfies ClientRecord], ...options });

    it.each([
      'https://login.example.com?tenant=a', // §2: "has no query or fragment components"
      'https://login.example.com#top',
      'https://login.example.com?',
      'https://login.example.com/',
      'ftp://login.example.com',
      'login.example.com',
      'https://user:pass@login.example.com',
      '',
    ])('§2 issuer "has no query or fragment components": %j is a TypeError naming options.issuer', (issuer) => {
      expect(build({ issuer })).toThrow(TypeError);
      expect(build({ issuer })).toThrow('options.issuer');
    });

    it('options.issuer must be a string', () => {
      expect(build({ issuer: 42 as never })).toThrow('options.issuer');
    });

    it('RFC 6749 §3.3: options.scopesSupported must list valid scope tokens', () => {
      expect(build({ scopesSupported: 'orders:read' as never })).toThrow('options.scopesSupported');
      expect(build({ scopesSupported: ['orders read'] })).toThrow('options.scopesSupported[0]');
      expect(build({ scopesSupported: ['ok', 'caf\u00e9'] })).toThrow('options.scopesSupported[1]');
      expect(build({ scopesSupported: ['orders:read'], issuer: 'http://localhost:8280' })).not.toThrow();
    });
  });
});
