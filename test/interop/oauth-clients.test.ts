import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import { createTokenRouter, MemoryTokenStore, RedisTokenStore, requireToken, type ClientRecord, type TokenStore } from '../../lib';
import { cleanupPrefix, createTestRedis, uniquePrefix } from '../support/redis';

// Interop: the token router on a real HTTP server, driven by `openid-client` v6 and
// `oauth4webapi` v3 (libraries nobody here wrote). They are ESM-only and jest runs CommonJS
// here, so `oauth-clients.mjs` runs them in a child `node` and prints its results as JSON.

const run = promisify(execFile);
const DRIVER = join(__dirname, 'oauth-clients.mjs');
const SECRET = 'interop-suite-secret-0123456789abcdef0123';

// Strict rotation (no grace period) for this client, so the driver's immediate replay of a
// rotated refresh token is a replay (the grace period has tests of its own in test/http).
const APP = {
  clientId: 'mobile-app',
  clientSecret: 'mobile-app-secret',
  grants: ['password', 'refresh_token'],
  accessTokenTtl: 900,
  refreshGracePeriod: 0,
} satisfies ClientRecord;
// RFC 6749 §2.3.1: the clients must form-urlencode these before base64, as the server decodes them.
const SERVICE = {
  clientId: 'reporting:svc%1+ é',
  clientSecret: 'p:ss%w+rd ü/=&',
  grants: ['client_credentials'],
  roles: ['admin'],
} satisfies ClientRecord;
const RESOURCE_SERVER = {
  clientId: 'orders-api',
  clientSecret: 'orders-api-secret',
  grants: [],
  resourceServer: true,
} satisfies ClientRecord;
const USER = { username: 'alice', password: 'wonderland' };

interface Stores {
  readonly store: TokenStore;
  close(): Promise<void>;
}

function memory(): Stores {
  const store = new MemoryTokenStore({ secret: SECRET });
  return { store, close: async () => store.close() };
}

function redis(): Stores {
  const client = createTestRedis();
  const keyPrefix = uniquePrefix('interop');
  return {
    store: new RedisTokenStore({ redis: client, secret: SECRET, keyPrefix }),
    close: async () => {
      await cleanupPrefix(client, keyPrefix);
      await client.quit();
    },
  };
}

/** A gateway on a free port: the token router at `mount`, `GET /api/orders` behind `requireToken`. */
async function listen(store: TokenStore, mount: string): Promise<{ origin: string; server: Server }> {
  const app = express();
  app.use(
    mount,
    createTokenRouter({
      store,
      clients: [APP, SERVICE, RESOURCE_SERVER],
      users: [{ ...USER, roles: ['subscriber'] }],
      scopes: { 'orders:read': ['subscriber'], 'orders:write': ['admin'] },
    }),
  );
  app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
    res.json({ user: req.oauth!.username, client: req.oauth!.clientId, device: req.oauth!.device });
  });
  const server = await new Promise<Server>((resolve) => {
    const started = app.listen(0, '127.0.0.1', () => resolve(started));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The driver's output: one JSON object per step, by step name. */
type Results = Record<string, Record<string, unknown>>;

async function drive(input: Record<string, unknown>): Promise<Results> {
  const { stdout } = await run(process.execPath, [DRIVER, JSON.stringify(input)], { timeout: 30_000 });
  return JSON.parse(stdout) as Results;
}

describe.each([
  ['MemoryTokenStore', memory],
  ['RedisTokenStore', redis],
])('openid-client and oauth4webapi against the router on %s', (_name, open) => {
  let stores: Stores;
  let server: Server;
  let results: Results;
  let origin: string;
  beforeAll(async () => {
    stores = open();
    ({ origin, server } = await listen(stores.store, '/'));
    results = await drive({
      server: origin,
      api: `${origin}/api/orders`,
      user: USER,
      app: APP,
      service: SERVICE,
      resourceServer: RESOURCE_SERVER,
    });
  }, 40_000);
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await stores.close();
  });

  it('discovers the server from its RFC 8414 metadata, the issuer matching the discovery URL', () => {
    expect(results.metadata).toMatchObject({
      issuer: origin,
      token_endpoint: `${origin}/token`,
      revocation_endpoint: `${origin}/revoke`,
      introspection_endpoint: `${origin}/introspect`,
      grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
    });
  });

  it('password grant with a device scope: a Bearer token per device, reused for the same device', () => {
    expect(results.ipad).toMatchObject({ token_type: 'bearer', scope: 'device_ipad orders:read', expires_in: 900 });
    expect(results.ipad!.refresh_token).toEqual(expect.any(String));
    expect(results.iphone!.access_token).not.toBe(results.ipad!.access_token);
    expect(results.ipadAgain!.access_token).toBe(results.ipad!.access_token);
    expect(results.ipadAgain!.expiresIn).toBeLessThanOrEqual(900);
  });

  it('a wrong password surfaces as the RFC 6749 invalid_grant error in the client', () => {
    expect(results.wrongPassword).toMatchObject({ failed: true, error: 'invalid_grant', status: 400 });
  });

  it("the access token works at a protected API through the client's bearer request", () => {
    expect(results.api).toEqual({ status: 200, body: { user: 'alice', client: APP.clientId, device: 'device_ipad' } });
  });

  it("introspection (client_secret_basic) of the app's own token names the device", () => {
    expect(results.introspectOwn).toMatchObject({
      active: true,
      client_id: APP.clientId,
      username: 'alice',
      device: 'device_ipad',
      token_type: 'Bearer',
    });
  });

  it('refresh rotates the tokens and keeps the device scope', () => {
    expect(results.refresh).toMatchObject({ token_type: 'bearer', scope: 'device_ipad orders:read' });
    expect(results.refresh!.refresh_token).not.toBe(results.ipad!.refresh_token);
    expect(results.rsIntrospectRotatedAway).toEqual({ active: false });
  });

  it('client credentials, with a client id and secret that need form-urlencoding in Basic', () => {
    expect(results.clientCredentials).toMatchObject({ token_type: 'bearer', scope: 'orders:write', expires_in: 3600 });
    expect(results.clientCredentials!.refresh_token).toBeUndefined();
  });

  it('revocation ends one device only; an unknown token revokes fine', () => {
    expect(results.revokeIphone).toEqual({ revoked: true });
    expect(results.revokeUnknown).toEqual({ revoked: true });
    expect(results.rsIntrospectRevoked).toEqual({ active: false });
  });

  it("a resource server (oauth4webapi, client_secret_post) introspects another client's live tokens", () => {
    expect(results.rsIntrospectRefreshed).toMatchObject({
      active: true,
      client_id: APP.clientId,
      sub: 'alice',
      device: 'device_ipad',
      scope: 'device_ipad orders:read',
    });
    expect(results.rsIntrospectRefreshToken).toMatchObject({ active: true, token_type: 'refresh_token' });
  });

  it("a replayed refresh token fails with invalid_grant and ends that device's grant", () => {
    expect(results.refreshReplay).toMatchObject({ failed: true, error: 'invalid_grant' });
    expect(results.rsIntrospectAfterReplay).toEqual({ active: false });
  });
});

describe('openid-client against a router mounted under /oauth', () => {
  it('discovers from the metadata URL and uses the endpoints it names', async () => {
    const stores = memory();
    const { origin, server } = await listen(stores.store, '/oauth');
    try {
      const results = await drive({
        server: `${origin}/oauth`,
        discovery: `${origin}/oauth/.well-known/oauth-authorization-server`,
        api: `${origin}/api/orders`,
        user: USER,
        app: APP,
        service: SERVICE,
        resourceServer: RESOURCE_SERVER,
      });
      expect(results.metadata).toMatchObject({ issuer: `${origin}/oauth`, token_endpoint: `${origin}/oauth/token` });
      expect(results.ipad).toMatchObject({ token_type: 'bearer', scope: 'device_ipad orders:read' });
      expect(results.api).toMatchObject({ status: 200 });
      expect(results.rsIntrospectRefreshed).toMatchObject({ active: true, device: 'device_ipad' });
      expect(results.rsIntrospectRevoked).toEqual({ active: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await stores.close();
    }
  }, 40_000);
});
