import { Agent, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ANDROID_APP, basic, buildApp, IOS_APP, NO_REFRESH, SERVICE, STORES, USERS, type StoreHandle } from './harness';

// Issue 10, item 6: hostile input. Whatever a client sends to any endpoint (any method, any
// headers, any content type and charset, gzip/deflate/br bodies that are real or garbage,
// repeated parameters, bodies up to and beyond the limit, broken Basic and Bearer credentials),
// the answer is a well-formed RFC answer and the process keeps serving:
// - never a 5xx (the store is up throughout: a 503 would be a bug too);
// - a 4xx from the token router is RFC error JSON with a known code (RFC 6749 §5.2, RFC 7009
//   §2.2.1), a description in the §5.2 character set, and `no-store`;
// - a 4xx from `requireToken` carries a Bearer challenge (RFC 6750 §3);
// - never a token, an active introspection or a revocation for credentials that are not right;
// - after each property, a right request still gets its right answer.
//
// One endpoint is one entry of ENDPOINTS; a new one (the `/devices` endpoints, say) is one more
// entry with its path, method, kind and the invariant of its 2xx answers.

const NUM_RUNS = 1000;

const TOKEN_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
]);
const BEARER_ERRORS = new Set(['invalid_request', 'invalid_token', 'insufficient_scope']);
/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
/** The router's default body limit (`bodyLimit`, "16kb"). */
const BODY_LIMIT = 16 * 1024;

const CLIENTS = [IOS_APP, ANDROID_APP, SERVICE, NO_REFRESH] as const;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Real tokens issued for a property: sometimes sent, so that "right" requests are in the mix. */
interface Tokens {
  /** Live access tokens, with the scopes each was granted. */
  access: { token: string; scopes: readonly string[] }[];
  refresh: string[];
  /** Tokens that were revoked before the property started. */
  dead: string[];
}

/** A request as generated: what it says, then how it is put on the wire. */
interface HostileRequest {
  method: string;
  pathSuffix: string;
  /** The form parameters in order, repeats included (before any mangling of the encoding). */
  params: [string, string][];
  /** Raw body bytes instead of `params` (garbage, binary, JSON…). */
  raw: Buffer | undefined;
  /** Bytes of padding parameter appended (to reach and pass the body limit). */
  padding: number;
  contentType: string | undefined;
  contentEncoding: 'gzip' | 'deflate' | 'br' | 'identity' | 'garbage-gzip' | 'garbage-deflate' | 'gzip-bomb' | 'x-unknown' | undefined;
  authorization: string | undefined;
  extraHeaders: [string, string][];
}

/** One raw HTTP request on a keep-alive connection: every header and byte exactly as given. */
function send(server: Server, agent: Agent, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${path} did not answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Header values Node's HTTP client sends: tab, visible ASCII, space and Latin-1 (others become `?`). */
const sendable = (text: string) => [...text].map((char) => (/^[\t\x20-\x7e\x80-\xff]$/.test(char) ? char : '?')).join('');

function encodeBody(request: HostileRequest): Buffer {
  let body = request.raw ?? Buffer.from(new URLSearchParams(request.params).toString());
  if (request.padding > 0) body = Buffer.concat([body, Buffer.from(`${body.length > 0 ? '&' : ''}pad=${'x'.repeat(request.padding)}`)]);
  switch (request.contentEncoding) {
    case 'gzip':
      return gzipSync(body);
    case 'deflate':
      return deflateSync(body);
    case 'br':
      return brotliCompressSync(body);
    case 'garbage-gzip':
      return Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), body]); // a gzip header, then not gzip
    case 'garbage-deflate':
      return gzipSync(body).subarray(0, Math.max(1, body.length >> 1)); // truncated
    case 'gzip-bomb':
      return gzipSync(Buffer.alloc(2 * 1024 * 1024, 'a')); // 2 MB of "a" in 2 kB
    default:
      return body;
  }
}

function headersOf(request: HostileRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.extraHeaders) headers[name] = sendable(value);
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.contentEncoding !== undefined) {
    headers['content-encoding'] =
      { 'garbage-gzip': 'gzip', 'garbage-deflate': 'deflate', 'gzip-bomb': 'gzip' }[request.contentEncoding as string] ??
      request.contentEncoding;
  }
  if (request.authorization !== undefined) headers.authorization = sendable(request.authorization);
  return headers;
}

/** The parameters the router can have read: the generated ones, or those of a raw body. */
function paramsSent(request: HostileRequest): [string, string][] {
  return request.raw === undefined ? request.params : [...new URLSearchParams(request.raw.toString('utf8'))];
}

/** The value of a parameter that appears exactly once (what the router would read). */
function single(request: HostileRequest, name: string): string | undefined {
  const values = paramsSent(request)
    .filter(([key]) => key === name)
    .map(([, value]) => value);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/** The client these credentials authenticate, if they are exactly right (Basic or body, not both). */
function rightClient(request: HostileRequest): (typeof CLIENTS)[number] | undefined {
  const byBasic = CLIENTS.find((client) => request.authorization === basic(client.clientId, client.clientSecret));
  const id = single(request, 'client_id');
  const secret = single(request, 'client_secret');
  const byBody = CLIENTS.find((client) => client.clientId === id && client.clientSecret === secret);
  return byBasic ?? byBody;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const PARAM_NAMES = [
  'grant_type',
  'username',
  'password',
  'scope',
  'refresh_token',
  'client_id',
  'client_secret',
  'token',
  'token_type_hint',
];

function valueArb(tokens: Tokens) {
  const real = [...tokens.access.map((entry) => entry.token), ...tokens.refresh, ...tokens.dead];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('password', 'client_credentials', 'refresh_token', 'implicit', 'access_token', 'PASSWORD') },
    { weight: 3, arbitrary: fc.constantFrom(...USERS.flatMap((user) => [user.username, user.password]), 'Alice', 'mallory', 'wrong') },
    { weight: 2, arbitrary: fc.constantFrom(...CLIENTS.flatMap((client) => [client.clientId, client.clientSecret])) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'device_ipad',
        'device_ipad orders:read',
        'orders:write  device_x',
        'device_a device_b',
        '"',
        '\\',
        '\u0000',
        '%',
        '%zz',
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...real)
        .chain((token) => fc.constantFrom(token, `${token}x`, token.slice(1), ` ${token}`, token.toUpperCase())),
    },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((length) => 'u'.repeat(length)) }, // long values (limits: 256, 4096)
  );
}

/** Parameters an endpoint expects, with values that are often right: requests that reach its logic. */
function plausibleParamsArb(endpoint: Endpoint, tokens: Tokens): fc.Arbitrary<[string, string][]> {
  const value = valueArb(tokens);
  const real = fc.constantFrom(...tokens.access.map((entry) => entry.token), ...tokens.refresh, ...tokens.dead);
  const either = <T>(right: fc.Arbitrary<T>, other: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 3, arbitrary: right }, { weight: 1, arbitrary: other });
  const record =
    endpoint.path === '/token'
      ? fc.record(
          {
            grant_type: either(fc.constantFrom('password', 'client_credentials', 'refresh_token'), value),
            username: either(fc.constantFrom(...USERS.map((user) => user.username)), value),
            password: either(fc.constantFrom(...USERS.map((user) => user.password)), value),
            scope: either(fc.constantFrom('device_ipad', 'orders:read device_iphone', 'orders:write', 'default'), value),
            refresh_token: either(real, value),
          },
          { requiredKeys: ['grant_type'] },
        )
      : fc.record(
          { token: either(real, value), token_type_hint: either(fc.constantFrom('access_token', 'refresh_token'), value) },
          { requiredKeys: ['token'] },
        );
  return record.map((fields) => Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function paramsArb(endpoint: Endpoint, tokens: Tokens) {
  const name = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...PARAM_NAMES) },
    { weight: 1, arbitrary: fc.constantFrom('a[b]', 'a[]', '__proto__', 'constructor', 'hasOwnProperty', '', ' grant_type', 'GRANT_TYPE') },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );
  const pairs = fc.oneof(
    { weight: 3, arbitrary: plausibleParamsArb(endpoint, tokens) },
    { weight: 2, arbitrary: fc.array(fc.tuple(name, valueArb(tokens)), { maxLength: 8 }) },
  );
  // Sometimes a pair is sent twice (RFC 6749 §3.2: a repeated parameter is invalid_request).
  return fc
    .tuple(pairs, fc.nat({ max: 4 }), fc.nat())
    .map(([list, repeat, at]): [string, string][] => (repeat === 0 && list.length > 0 ? [...list, list[at % list.length]!] : list));
}

const rawBody = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc
    .constantFrom('{"grant_type":"password"}', 'grant_type=password&&&==&', '%', '%%%', 'a=%E0%A4%A', '=', '&', 'a'.repeat(100))
    .map((text) => Buffer.from(text)),
  fc
    .array(fc.constantFrom(...PARAM_NAMES), { maxLength: 6 })
    .map((names) => Buffer.from(names.map((name) => `${name}=${encodeURIComponent('%')}%`).join('&'))),
);

/** Sizes around the body limit, and far beyond. */
const padding = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 600, max: BODY_LIMIT + 200 }) },
  { weight: 1, arbitrary: fc.constantFrom(100, 4096, 4097, 64 * 1024, 256 * 1024) },
);

const contentType = fc.oneof(
  { weight: 3, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  fc.constantFrom(
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded; charset=UTF-8; foo=bar',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'application/x-www-form-urlencoded; charset=latin1',
    'application/x-www-form-urlencoded; charset=utf-16',
    'application/x-www-form-urlencoded; charset=no-such-charset',
    'application/x-www-form-urlencoded; charset="utf-8',
    'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/x-www-form-urlencoded;;;',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    '*/*',
    ';;',
    '',
    undefined,
  ),
);

const contentEncoding = fc.oneof(
  { weight: 10, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'garbage-gzip', 'garbage-deflate', 'gzip-bomb', 'x-unknown'),
  },
);

function authorizationArb(tokens: Tokens) {
  const live = tokens.access.map((entry) => entry.token);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 12, arbitrary: fc.constantFrom(...CLIENTS.map((client) => basic(client.clientId, client.clientSecret))) },
    { weight: 1, arbitrary: fc.constantFrom(...CLIENTS).map((client) => basic(client.clientId, `${client.clientSecret}x`)) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([id, secret]) => basic(id, secret)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => `Basic ${Buffer.from(text).toString('base64')}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'Basic',
        'Basic ',
        'Basic ====',
        'Basic Og==',
        'basic OmE=',
        'Basic %%%',
        `Basic ${Buffer.from('ios-app:%zz').toString('base64')}`,
        'Digest x',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `Basic ${text}`) },
    { weight: 3, arbitrary: fc.constantFrom(...live, ...tokens.refresh, ...tokens.dead).map((token) => `Bearer ${token}`) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...live)
        .chain((token) =>
          fc.constantFrom(
            `bearer ${token}`,
            `Bearer  ${token}`,
            `Bearer ${token} `,
            `Bearer ${token}x`,
            `Bearer ${token} ${token}`,
            `Bearer ${token},`,
            `Bearer "${token}"`,
            `Bearer ${token.slice(0, -1)}`,
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Bearer  ', 'Bearer =', 'Bearer a=b', 'Bearer ~+/', `Bearer ${'a'.repeat(8000)}`),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `Bearer ${text}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }) },
  );
}

const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(
      fc.constantFrom(
        'accept',
        'accept-charset',
        'accept-encoding',
        'x-forwarded-for',
        'x-request-id',
        'origin',
        'cookie',
        'user-agent',
        'expect-ct',
      ),
      fc.string({ unit: 'binary-ascii', maxLength: 40 }),
    ),
    fc.tuple(fc.constantFrom('accept'), fc.constantFrom('text/html', 'application/xml', '*/*;q=0', 'application/json;q=0')),
    fc.tuple(fc.constantFrom('x-http-method-override'), fc.constantFrom(...METHODS)),
    fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), fc.string({ unit: 'binary-ascii', maxLength: 60 })),
  ),
  { maxLength: 4 },
);

function hostileRequestArb(endpoint: Endpoint, tokens: Tokens): fc.Arbitrary<HostileRequest> {
  return fc.record({
    // Mostly the endpoint's own method, so most requests reach its logic.
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(endpoint.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    pathSuffix: fc.oneof(
      { weight: 8, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '/',
          '?',
          '?grant_type=password&username=alice&password=wonderland',
          '?access_token=x',
          '?a=%zz',
          '//',
          '/..',
          '%2F',
        ),
      },
    ),
    params: paramsArb(endpoint, tokens),
    raw: rawBody,
    padding,
    contentType,
    contentEncoding,
    authorization: authorizationArb(tokens),
    extraHeaders,
  });
}

// ---------------------------------------------------------------------------------------------
// Endpoints and their invariants

interface Endpoint {
  readonly path: string;
  readonly method: (typeof METHODS)[number];
  /**
   * `router`: an endpoint of the token router (RFC 6749 error JSON); `bearer`: behind requireToken;
   * `devices`: the self-service device endpoints (bearer-authenticated, router error JSON).
   */
  readonly kind: 'router' | 'bearer' | 'devices';
  /** What a 2xx answer to this request must satisfy (checked after the common invariants). */
  success(request: HostileRequest, answer: Answer, tokens: Tokens): void;
}

function json(answer: Answer): any {
  return answer.text === '' ? undefined : JSON.parse(answer.text);
}

const ENDPOINTS: readonly Endpoint[] = [
  {
    path: '/devices',
    method: 'GET',
    kind: 'devices',
    success(request, answer, tokens) {
      // Only a live access token with a user lists or ends anything.
      expect(tokens.access.map((entry) => entry.token)).toContain(bearerOf(request));
      if (answer.status === 204) {
        expect(request.method).toBe('DELETE');
        return;
      }
      expect(answer.status).toBe(200);
      if (request.method === 'HEAD') return;
      const body = json(answer);
      if (request.method === 'DELETE') expect(Number.isInteger(body.ended)).toBe(true);
      else {
        expect(Array.isArray(body.devices)).toBe(true);
        expect(body.devices.filter((device: { current: boolean }) => device.current)).toHaveLength(1);
      }
    },
  },
  {
    path: '/token',
    method: 'POST',
    kind: 'router',
    success(request, answer, tokens) {
      expect(answer.status).toBe(200);
      // Never a token for credentials that are not right.
      const client = rightClient(request);
      expect(client).toBeDefined();
      const grant = single(request, 'grant_type');
      if (grant === 'password') {
        const user = USERS.find((entry) => entry.username === single(request, 'username'));
        expect(user?.password).toBe(single(request, 'password'));
      } else if (grant === 'refresh_token') {
        expect(tokens.refresh).toContain(single(request, 'refresh_token'));
      } else {
        expect(grant).toBe('client_credentials');
        expect(client?.grants).toContain('client_credentials');
      }
      const body = json(answer);
      expect(body.token_type).toBe('Bearer');
      expect(body.access_token).toMatch(/^[\x21-\x7e]{32,}$/);
      expect(Number.isInteger(body.expires_in) && body.expires_in > 0).toBe(true);
      // RFC 6749 §3.3: space-delimited scope-tokens; granted sorted and without duplicates
      const granted = String(body.scope).split(' ');
      expect(granted).toEqual([...new Set(granted)].sort());
      for (const token of granted) expect(token).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
      // A token issued here may be fed back by later runs.
      tokens.access.push({ token: body.access_token, scopes: granted });
      if (typeof body.refresh_token === 'string') tokens.refresh.push(body.refresh_token);
    },
  },
  {
    path: '/revoke',
    method: 'POST',
    kind: 'router',
    success(request, answer) {
      // RFC 7009 §2.2: 200 with no content, and only for an authenticated client.
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('');
      expect(rightClient(request)).toBeDefined();
    },
  },
  {
    path: '/introspect',
    method: 'POST',
    kind: 'router',
    success(request, answer, tokens) {
      expect(answer.status).toBe(200);
      expect(rightClient(request)).toBeDefined();
      const body = json(answer);
      expect(typeof body.active).toBe('boolean');
      // RFC 7662 §2.2: active only for a token that is live.
      if (body.active) expect([...tokens.access.map((entry) => entry.token), ...tokens.refresh]).toContain(single(request, 'token'));
      else expect(body).toEqual({ active: false });
    },
  },
  {
    path: '/api/orders',
    method: 'GET',
    kind: 'bearer',
    success(request, answer, tokens) {
      expect(answer.status).toBe(200);
      // Only a live access token carrying orders:read, sent as RFC 6750 §2.1 says (Node strips
      // the header's surrounding whitespace).
      const token = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(sendable(request.authorization ?? '').trim())?.[1];
      const entry = tokens.access.find((candidate) => candidate.token === token);
      expect(entry?.scopes).toContain('orders:read');
      if (request.method !== 'HEAD') expect(json(answer).oauth.scopes).toContain('orders:read');
    },
  },
];

function checkErrorBody(answer: Answer, codes: Set<string>): void {
  const body = json(answer) as { error?: unknown; error_description?: unknown };
  expect(codes).toContain(body.error);
  if (body.error_description !== undefined) expect(body.error_description).toMatch(DESCRIPTION);
}

/** The invariants every answer of every endpoint keeps. */
/** The bearer token a request sent as RFC 6750 §2.1 says, if any (Node strips surrounding whitespace). */
function bearerOf(request: HostileRequest): string | undefined {
  return /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(sendable(request.authorization ?? '').trim())?.[1];
}

function checkAnswer(endpoint: Endpoint, request: HostileRequest, answer: Answer, tokens: Tokens): void {
  expect(answer.status).toBeLessThan(500);
  if (endpoint.kind === 'devices') {
    // `/devices`, `/devices/` and `/devices/<anything>` (`DELETE /devices/{id}`) are all routed;
    // other spellings fall through to Express' own 404.
    if (answer.status === 404 && /^text\/html/.test(String(answer.headers['content-type']))) return;
    expect(answer.headers['cache-control']).toBe('no-store');
    if (answer.status >= 400) {
      if (answer.headers['www-authenticate'] !== undefined) {
        // RFC 6750 §3: the caller's token was missing, dead, malformed or has no user.
        expect([400, 401, 403]).toContain(answer.status);
        expect(answer.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
        if (request.method !== 'HEAD' && answer.text !== '') checkErrorBody(answer, new Set([...BEARER_ERRORS, 'insufficient_scope']));
      } else {
        // 404 for a session that is not the caller's, 405 with Allow, 503 never here.
        expect([400, 404, 405]).toContain(answer.status);
        if (answer.status === 405) expect(answer.headers.allow).toMatch(/DELETE/);
        if (request.method !== 'HEAD') checkErrorBody(answer, TOKEN_ERRORS);
      }
      return;
    }
    endpoint.success(request, answer, tokens);
    return;
  }
  const path = endpoint.path + request.pathSuffix;
  // Express routes by path only; `/token/`, `/token?…` reach the endpoint, `//token` does not.
  const routed = /^(\/[a-z/]*[a-z])\/?(\?.*)?$/.exec(path)?.[1] === endpoint.path;
  if (!routed) {
    expect(answer.status).toBe(404);
    return;
  }
  if (endpoint.kind === 'router') {
    expect(answer.headers['cache-control']).toBe('no-store');
    if (request.method !== endpoint.method) {
      // HEAD of a GET route is answered by that route; everything else is refused.
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe(endpoint.method);
    }
    if (answer.status >= 400) {
      if (request.method !== 'HEAD') checkErrorBody(answer, TOKEN_ERRORS);
      if (answer.status === 401 && /^basic(\s|$)/i.test(request.authorization ?? ''))
        expect(answer.headers['www-authenticate']).toMatch(/^Basic /);
      if (answer.status === 429) expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      return;
    }
  } else {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      // Only GET (and so HEAD) is routed; Express answers OPTIONS itself with the allowed methods.
      if (request.method === 'OPTIONS') expect(answer.status).toBe(200);
      else expect(answer.status).toBe(404);
      return;
    }
    if (answer.status >= 400) {
      expect([400, 401, 403]).toContain(answer.status);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
      if (request.method !== 'HEAD' && answer.text !== '' && json(answer).error !== undefined) checkErrorBody(answer, BEARER_ERRORS);
      return;
    }
  }
  endpoint.success(request, answer, tokens);
}

// ---------------------------------------------------------------------------------------------

describe.each(STORES)('hostile requests on %s', (storeName, makeStore) => {
  let handle: StoreHandle;
  let server: Server;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  beforeAll(async () => {
    handle = makeStore(`hostile-${storeName}`);
    // Brute-force protection would turn the many wrong passwords into 429s (also checked
    // above); with it off, every wrong password reaches the password check.
    server = buildApp(handle.store, { loginLockout: false, deviceEndpoints: true }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });
  afterAll(async () => {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
    await handle.close();
  });

  const form = (params: Record<string, string>) => Buffer.from(new URLSearchParams(params).toString());
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

  async function login(
    user: (typeof USERS)[number],
    scope: string,
  ): Promise<{ access_token: string; refresh_token: string; scope: string }> {
    const answer = await send(
      server,
      agent,
      'POST',
      '/token',
      { ...FORM, authorization: basic(IOS_APP.clientId, IOS_APP.clientSecret) },
      form({ grant_type: 'password', username: user.username, password: user.password, scope }),
    );
    expect(answer.status).toBe(200);
    return JSON.parse(answer.text);
  }

  /** Fresh real tokens for one property: live ones with and without orders:read, and revoked ones. */
  async function issueTokens(label: string): Promise<Tokens> {
    const [alice, bob] = USERS;
    const reader = await login(alice!, `device_${label}_reader orders:read`);
    const plain = await login(bob!, `device_${label}_plain`);
    const revoked = await login(alice!, `device_${label}_revoked orders:read`);
    const revokedAnswer = await send(
      server,
      agent,
      'POST',
      '/revoke',
      { ...FORM, authorization: basic(IOS_APP.clientId, IOS_APP.clientSecret) },
      form({ token: revoked.access_token }),
    );
    expect(revokedAnswer.status).toBe(200);
    return {
      access: [
        { token: reader.access_token, scopes: reader.scope.split(' ') },
        { token: plain.access_token, scopes: plain.scope.split(' ') },
      ],
      refresh: [reader.refresh_token, plain.refresh_token],
      dead: [revoked.access_token, revoked.refresh_token],
    };
  }

  /** The process still serves: a right login and a right API call get their right answers. */
  async function stillServes(): Promise<void> {
    const tokens = await login(USERS[0]!, 'device_sanity orders:read');
    const answer = await send(server, agent, 'GET', '/api/orders', { authorization: `Bearer ${tokens.access_token}` }, Buffer.alloc(0));
    expect(answer.status).toBe(200);
  }

  it.each(ENDPOINTS.map((endpoint) => [`${endpoint.method} ${endpoint.path}`, endpoint] as const))(
    '%s answers every hostile request with an RFC answer, never a 5xx nor a token for wrong credentials',
    async (_name, endpoint) => {
      const tokens = await issueTokens(endpoint.path.replace(/\W/g, ''));
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(hostileRequestArb(endpoint, tokens), async (request) => {
          const answer = await send(
            server,
            agent,
            request.method,
            endpoint.path + request.pathSuffix,
            headersOf(request),
            encodeBody(request),
          );
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          checkAnswer(endpoint, request, answer, tokens);
        }),
        { numRuns: NUM_RUNS },
      );
      // The mix reached the endpoint's logic, not only its envelope checks: some requests were
      // right (2xx), and the refusals were of several kinds.
      expect({ statuses: Object.fromEntries(statuses), success: (statuses.get(200) ?? 0) > 0 }).toMatchObject({ success: true });
      expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(4);
      await stillServes();
    },
    60_000,
  );

  it('POST /token with a well-formed envelope: any parameters give an RFC error or a well-formed token', async () => {
    const tokens = await issueTokens('envelope');
    const scopeToken = fc.oneof(
      fc.constantFrom('device_ipad', 'device_iphone', 'orders:read', 'orders:write', 'default', 'device_', 'x'),
      fc.string({ unit: fc.constantFrom(...'!#[]~abc_:'), minLength: 1, maxLength: 6 }),
    );
    const scope = fc
      .array(scopeToken, { maxLength: 5 })
      .chain((list) => fc.constantFrom(' ', '  ', '\t').map((separator) => list.join(separator)));
    const params = fc.record(
      {
        grant_type: fc.constantFrom('password', 'client_credentials', 'refresh_token', 'PASSWORD'),
        username: fc.constantFrom('alice', 'bob', 'Alice', 'mallory', ''),
        password: fc.constantFrom('wonderland', 'builder', 'wrong', ''),
        scope,
        refresh_token: fc.oneof(fc.constantFrom('', 'x.y', ...tokens.refresh), fc.string({ maxLength: 60 })),
      },
      { requiredKeys: ['grant_type'] },
    );
    const endpoint = ENDPOINTS.find((candidate) => candidate.path === '/token')!;
    await fc.assert(
      fc.asyncProperty(params, fc.constantFrom(IOS_APP, SERVICE), async (fields, client) => {
        const request: HostileRequest = {
          method: 'POST',
          pathSuffix: '',
          params: Object.entries(fields),
          raw: undefined,
          padding: 0,
          contentType: 'application/x-www-form-urlencoded',
          contentEncoding: undefined,
          authorization: basic(client.clientId, client.clientSecret),
          extraHeaders: [],
        };
        const answer = await send(server, agent, 'POST', '/token', headersOf(request), encodeBody(request));
        expect([200, 400, 429]).toContain(answer.status);
        checkAnswer(endpoint, request, answer, tokens);
        if (answer.status !== 200) return;
        const granted = JSON.parse(answer.text).scope.split(' ') as string[];
        // device scopes asked for are always granted; orders:write (admin only) never to alice
        if (fields.grant_type === 'password') {
          for (const asked of (fields.scope ?? '').split(/[ \t]+/)) if (asked.startsWith('device_')) expect(granted).toContain(asked);
        }
        if (fields.grant_type === 'password' && fields.username === 'alice') expect(granted).not.toContain('orders:write');
      }),
      { numRuns: NUM_RUNS },
    );
    await stillServes();
  }, 60_000);
});
