import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { basic, buildApp, IOS_APP, SERVICE, STORES, type StoreHandle } from './harness';

// Property tests: whatever a client sends (any method the endpoints know, any content type, any
// body bytes, any Authorization header, repeated or unknown parameters), the answer is a
// well-formed RFC answer: never a 5xx, never a hang, always JSON with an RFC error code and an
// error_description in the RFC 6749 §5.2 character set, never cached.

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

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One raw HTTP request: every header and byte exactly as given (supertest would add some). */
function send(server: Server, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${path} did not answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const PARAM_NAMES = ['grant_type', 'username', 'password', 'scope', 'refresh_token', 'client_id', 'client_secret', 'token', 'token_type_hint'];

/** Values that are sometimes right, sometimes nearly right, sometimes anything. */
const value = fc.oneof(
  fc.constantFrom('password', 'client_credentials', 'refresh_token', 'implicit', 'alice', 'wonderland', IOS_APP.clientId, IOS_APP.clientSecret),
  fc.constantFrom('device_ipad', 'device_ipad orders:read', 'orders:write  device_x', 'access_token', 'refresh_token', '"', '\\', '\u0000'),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** A form body: known and unknown names, repeated names, odd encodings, or raw bytes. */
const body = fc.oneof(
  fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 10 })), value), { maxLength: 8 }).map((pairs) =>
    Buffer.from(new URLSearchParams(pairs).toString()),
  ),
  fc.array(fc.tuple(fc.constantFrom(...PARAM_NAMES, 'a[b]', 'a[]', '__proto__', 'constructor'), value), { maxLength: 6 }).map((pairs) =>
    Buffer.from(pairs.map(([name, v]) => `${name}=${encodeURIComponent(v).replace(/%2[0-9A-F]/g, (m) => (Math.random() < 0.5 ? m : '%'))}`).join('&')),
  ),
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/x-www-form-urlencoded; charset=utf-16',
  'application/x-www-form-urlencoded; charset=no-such-charset',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  ';;',
  undefined,
);

const credentials = fc.oneof(
  fc.constant(undefined),
  fc.constant(basic(IOS_APP.clientId, IOS_APP.clientSecret)),
  fc.constant(basic(SERVICE.clientId, SERVICE.clientSecret)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([id, secret]) => basic(id, secret)),
  fc.string({ maxLength: 40 }).map((text) => `Basic ${Buffer.from(text).toString('base64')}`),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `Basic ${text}`),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `Bearer ${text}`),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
);

/** Header values Node's HTTP client sends: tab, visible ASCII, space and Latin-1 (others become `?`). */
const sendable = (text: string) =>
  [...text].map((char) => (/^[\t\x20-\x7e\x80-\xff]$/.test(char) ? char : '?')).join('');

function checkErrorBody(answer: Answer, codes: Set<string>): void {
  const json = JSON.parse(answer.text) as { error?: unknown; error_description?: unknown };
  expect(codes).toContain(json.error);
  if (json.error_description !== undefined) expect(json.error_description).toMatch(DESCRIPTION);
}

describe.each(STORES)('malformed requests on %s', (storeName, makeStore) => {
  const numRuns = storeName === 'MemoryTokenStore' ? 300 : 100;
  let handle: StoreHandle;
  let server: Server;
  beforeAll(async () => {
    handle = makeStore(`fuzz-${storeName}`);
    server = buildApp(handle.store).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await handle.close();
  });

  it.each(['/token', '/revoke', '/introspect'])('POST %s answers every request with RFC JSON, never a 5xx', async (path) => {
    await fc.assert(
      fc.asyncProperty(body, contentType, credentials, async (payload, type, authorization) => {
        const headers: Record<string, string> = {};
        if (type !== undefined) headers['content-type'] = type;
        if (authorization !== undefined) headers.authorization = sendable(authorization);
        const answer = await send(server, 'POST', path, headers, payload);
        expect(answer.status).toBeLessThan(500);
        expect(answer.headers['cache-control']).toBe('no-store');
        if (path === '/revoke' && answer.status === 200) {
          expect(answer.text).toBe(''); // RFC 7009 §2.2: success has no content
          return;
        }
        expect(answer.headers['content-type']).toMatch(/^application\/json/);
        if (answer.status >= 400) checkErrorBody(answer, TOKEN_ERRORS);
        if (answer.status === 401 && authorization?.startsWith('Basic ')) {
          expect(answer.headers['www-authenticate']).toMatch(/^Basic /);
        }
      }),
      { numRuns },
    );
  });

  it('POST /token with a well-formed envelope: any parameters give an RFC error or a well-formed token', async () => {
    const scopeToken = fc.oneof(
      fc.constantFrom('device_ipad', 'device_iphone', 'orders:read', 'orders:write', 'default', 'device_', 'x'),
      fc.string({ unit: fc.constantFrom(...'!#[]~abc_:'), minLength: 1, maxLength: 6 }),
    );
    const scope = fc.array(scopeToken, { maxLength: 5 }).chain((tokens) =>
      fc.constantFrom(' ', '  ', '\t').map((separator) => tokens.join(separator)),
    );
    const params = fc.record(
      {
        grant_type: fc.constantFrom('password', 'client_credentials', 'refresh_token', 'PASSWORD'),
        username: fc.constantFrom('alice', 'bob', 'Alice', 'mallory', ''),
        password: fc.constantFrom('wonderland', 'builder', 'wrong', ''),
        scope,
        refresh_token: fc.oneof(fc.constantFrom('', 'x.y'), fc.string({ maxLength: 60 })),
      },
      { requiredKeys: ['grant_type'] },
    );
    const client = fc.constantFrom(IOS_APP, SERVICE);
    await fc.assert(
      fc.asyncProperty(params, client, async (form, { clientId, clientSecret }) => {
        const answer = await send(
          server,
          'POST',
          '/token',
          { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, clientSecret) },
          Buffer.from(new URLSearchParams(form).toString()),
        );
        // 429: a user with too many failed logins (RFC 6749 §4.3.2)
        expect([200, 400, 429]).toContain(answer.status);
        if (answer.status === 429) expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
        if (answer.status !== 200) {
          checkErrorBody(answer, TOKEN_ERRORS);
          return;
        }
        const tokens = JSON.parse(answer.text) as { token_type: string; expires_in: number; scope: string; access_token: string };
        expect(tokens.token_type).toBe('Bearer');
        expect(tokens.access_token).toMatch(/^[\w-]{12}\.[\w-]{43}$/);
        expect(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0).toBe(true);
        // RFC 6749 §3.3: space-delimited scope-tokens; granted sorted and without duplicates
        const granted = tokens.scope.split(' ');
        expect(granted).toEqual([...new Set(granted)].sort());
        for (const token of granted) expect(token).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
        // device scopes asked for are always granted; orders:write (admin only) never to alice
        for (const asked of (form.scope ?? '').split(/[ \t]+/)) if (asked.startsWith('device_')) expect(granted).toContain(asked);
        if (form.grant_type === 'password' && form.username === 'alice') expect(granted).not.toContain('orders:write');
      }),
      { numRuns },
    );
  });

  it('requireToken answers every Authorization header with 200, 400, 401 or 403 and a Bearer challenge', async () => {
    await fc.assert(
      fc.asyncProperty(credentials, fc.constantFrom('GET', 'POST', 'DELETE'), async (authorization, method) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined) headers.authorization = sendable(authorization);
        const answer = await send(server, method, '/api/anything', headers, Buffer.alloc(0));
        if (method !== 'GET') {
          expect(answer.status).toBe(404); // only GET is routed: Express's own answer
          return;
        }
        expect([400, 401]).toContain(answer.status);
        expect(answer.headers['www-authenticate']).toMatch(/^Bearer( |$)/);
        if (JSON.parse(answer.text).error !== undefined) checkErrorBody(answer, BEARER_ERRORS);
      }),
      { numRuns },
    );
  });
});
