import express, { type Express } from 'express';
import request from 'supertest';
import { createTokenRouter, requireToken, type ClientRecord, type TokenRouterOptions, type TokenStore } from '../../lib';
import {
  basicHeader,
  form,
  formUrlEncode,
  openStore,
  SCOPES,
  STORE_KINDS,
  USERS,
  type StoreHandle,
  type StoreKind,
} from '../support/token-app';

export { form, formUrlEncode, SCOPES, STORE_KINDS, USERS, type StoreKind };

/**
 * The gateway the RFC compliance suites talk to: the token router at the root and two
 * protected resources, each suite on its own store (and Redis key prefix).
 */

const SECRET = 'compliance-suite-secret-0123456789abcdef';

export const MOBILE_APP = {
  clientId: 'mobile-app',
  clientSecret: 'mobile-app-secret',
  grants: ['password', 'refresh_token'],
  accessTokenTtl: 600,
  refreshTokenTtl: 7200,
} satisfies ClientRecord;

export const WEB_APP = {
  clientId: 'web-app',
  clientSecret: 'web-app-secret',
  grants: ['password', 'refresh_token'],
} satisfies ClientRecord;

export const REPORTING = {
  clientId: 'reporting',
  clientSecret: 'reporting-secret',
  grants: ['client_credentials'],
  roles: ['admin'],
  accessTokenTtl: 300,
} satisfies ClientRecord;

/** A resource server: may introspect every client's tokens (RFC 7662 §2.2). */
export const ORDERS_API = {
  clientId: 'orders-api',
  clientSecret: 'orders-api-secret',
  grants: [],
  resourceServer: true,
} satisfies ClientRecord;

/** Every character RFC 6749 §2.3.1 makes a client form-urlencode before base64. */
export const ODD_CLIENT = {
  clientId: 'odd:client%+ é',
  clientSecret: 'p:ss%w+rd ü/=&',
  grants: ['client_credentials'],
} satisfies ClientRecord;

/** Whose tokens die within a second, for expiry checks. */
export const SHORT_LIVED = {
  clientId: 'short-lived',
  clientSecret: 'short-lived-secret',
  grants: ['password', 'refresh_token'],
  accessTokenTtl: 1,
  refreshTokenTtl: 1,
} satisfies ClientRecord;

/** `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1). */
export function basic(client: ClientCredentials): string {
  return basicHeader(client.clientId, client.clientSecret);
}

/** `Basic base64(id:secret)` with no form-urlencoding, as a careless client sends it. */
export function rawBasic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

/** RFC 6749 §5.2 / RFC 6750 §3: the characters an `error_description` may use. */
export const DESCRIPTION_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

/** The token router at the root, `GET /api/orders` (needs `orders:read`, realm "orders") and `GET /api/me`. */
export function complianceApp(store: TokenStore, overrides: Partial<TokenRouterOptions> = {}): Express {
  const app = express();
  app.use(
    createTokenRouter({
      store,
      clients: [MOBILE_APP, WEB_APP, REPORTING, ORDERS_API, ODD_CLIENT, SHORT_LIVED],
      users: USERS,
      scopes: SCOPES,
      ...overrides,
    }),
  );
  app.get('/api/orders', requireToken({ store, scopes: ['orders:read'], realm: 'orders' }), (req, res) => {
    res.json(req.oauth);
  });
  app.get('/api/me', requireToken({ store, realm: 'orders' }), (req, res) => {
    res.json(req.oauth);
  });
  return app;
}

/**
 * Opens a store and builds the compliance app before a suite's tests, closes the store after
 * them. Read `.app` (and `.store`) inside the tests; `wrap` may interpose on the store.
 */
export function useComplianceApp(
  kind: StoreKind,
  suite: string,
  overrides: Partial<TokenRouterOptions> = {},
  wrap: (store: TokenStore) => TokenStore = (store) => store,
): { readonly app: Express; readonly store: TokenStore } {
  const context = {} as { app: Express; store: TokenStore };
  let handle: StoreHandle;
  beforeAll(() => {
    handle = openStore(kind, suite, SECRET);
    context.store = handle.store;
    context.app = complianceApp(wrap(handle.store), overrides);
  });
  afterAll(() => handle.close());
  return context;
}

/** The body of a successful password grant for alice, asserting that it succeeded. */
export async function passwordTokens(
  app: Express,
  scope: string,
  client: ClientCredentials = MOBILE_APP,
): Promise<{ access_token: string; refresh_token: string; scope: string; expires_in: number }> {
  const res = await request(app)
    .post('/token')
    .set('Authorization', basic(client))
    .type('form')
    .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope }));
  if (res.status !== 200) throw new Error(`password grant failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Posts a form to one of the router's endpoints as `client` (HTTP Basic), or unauthenticated for `null`. */
export function postForm(app: Express, path: string, params: Record<string, string>, client: ClientCredentials | null) {
  const req = request(app).post(path).type('form');
  if (client) req.set('Authorization', basic(client));
  return req.send(form(params));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
