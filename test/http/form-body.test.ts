import express, { type Express } from 'express';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { createTokenRouter, MemoryTokenStore } from '../../lib';
import { parseFormText } from '../../lib/params/form-params';
import { IOS_APP, SCOPES, SECRET, USERS, basic, form } from './harness';

/**
 * How the router reads a form body: the everyday UTF-8 form is read by the router itself; every
 * other request (compressed, another charset, chunked, oversized) by body-parser, with the same
 * result. Also how its paths are dispatched, and what a caller may still add to the Router.
 */

const AUTH = basic(IOS_APP.clientId, IOS_APP.clientSecret);
const LOGIN = form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_ipad orders:read' });

function router(store = new MemoryTokenStore({ secret: SECRET })) {
  return createTokenRouter({ store, clients: [IOS_APP], users: USERS, scopes: SCOPES, deviceEndpoints: true });
}

function appWith(...before: express.RequestHandler[]): Express {
  const app = express();
  for (const handler of before) app.use(handler);
  app.use(router());
  return app;
}

describe('parseFormText', () => {
  it('reads a form as body-parser extended:false does: + and %XX decoded, bad escapes kept, empty names dropped', () => {
    expect({ ...parseFormText('a=1&b=x+y%21&c=%zz&=lost&&d&e=') }).toEqual({ a: '1', b: 'x y!', c: '%zz', d: '', e: '' });
  });

  it('collects a repeated name into an array (refused later as repeated) and keeps __proto__ as a plain name', () => {
    const params = parseFormText('scope=a&scope=b&scope=c&__proto__=x&constructor=y');
    expect(params.scope).toEqual(['a', 'b', 'c']);
    expect(params.__proto__).toBe('x');
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(params.constructor).toBe('y');
  });

  it('drops a leading byte order mark, and refuses more than 50 parameters with 413', () => {
    expect({ ...parseFormText('\uFEFFgrant_type=password') }).toEqual({ grant_type: 'password' });
    expect(() => parseFormText(Array.from({ length: 50 }, (_, i) => `p${i}=1`).join('&'))).not.toThrow();
    expect(() => parseFormText(Array.from({ length: 51 }, (_, i) => `p${i}=1`).join('&'))).toThrow(
      expect.objectContaining({ status: 413, error: 'invalid_request' }),
    );
  });
});

describe('the form body of POST /token', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = appWith().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** Writes a raw HTTP/1.1 request in pieces; resolves to the status of the answer. */
  function raw(pieces: (string | Buffer)[], pause = 20): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.on('data', (data) => {
        answer += data.toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (status && answer.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(Number(status[1]));
        }
      });
      socket.on('error', reject);
      void (async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await new Promise((r) => setTimeout(r, pause));
        }
      })();
    });
  }

  const head = (length: number, type = 'application/x-www-form-urlencoded') =>
    `POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;

  it('reads a body that arrives in several packets, with a UTF-8 character split between two', async () => {
    const body = Buffer.from(`${LOGIN}&x=${encodeURIComponent('x')}é`);
    const cut = body.indexOf(Buffer.from('é')) + 1; // inside the two bytes of "é"
    expect(await raw([head(body.length), body.subarray(0, 10), body.subarray(10, cut), body.subarray(cut)])).toBe(200);
  });

  it('survives a client that hangs up halfway through its body, and serves the next request', async () => {
    const body = Buffer.from(LOGIN);
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(head(body.length) + body.subarray(0, 20).toString());
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    expect(await raw([head(body.length), body])).toBe(200);
  });

  it('gives body-parser what it does not read itself, with the same answers', async () => {
    const app = appWith();
    const login = (type: string) => request(app).post('/token').set('Authorization', AUTH).set('Content-Type', type).send(LOGIN);
    expect((await login('application/x-www-form-urlencoded; charset=UTF-8')).status).toBe(200);
    expect((await login('Application/X-WWW-Form-Urlencoded ; charset="utf-8"')).status).toBe(200);
    expect((await login('application/x-www-form-urlencoded; charset=latin1')).status).toBe(415);
    // Chunked (no Content-Length): still read.
    expect(
      await raw([
        `POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(LOGIN).toString(16)}\r\n${LOGIN}\r\n0\r\n\r\n`,
      ]),
    ).toBe(200);
    // Over the limit: 413, without parsing any of it.
    expect(await raw([head(17 * 1024), Buffer.alloc(17 * 1024, 'a')])).toBe(413);
  });

  it('takes a body the app parsed already (express.urlencoded in front of the router)', async () => {
    const app = appWith(express.urlencoded({ extended: true }));
    const res = await request(app).post('/token').set('Authorization', AUTH).type('form').send(LOGIN);
    expect(res.status).toBe(200);
    const repeated = await request(app).post('/token').set('Authorization', AUTH).type('form').send(`${LOGIN}&scope=x`);
    expect(repeated.status).toBe(400);
    expect(repeated.body.error_description).toMatch(/must not be repeated/);
  });
});

describe('dispatch', () => {
  it('matches paths as Express does (any case, one trailing "/"), answers 405 with Allow, and leaves other paths alone', async () => {
    const app = appWith();
    app.get('/api/hello', (_req, res) => res.json({ hello: true }));
    expect((await request(app).post('/TOKEN/').set('Authorization', AUTH).type('form').send(LOGIN)).status).toBe(200);
    const wrongMethod = await request(app).get('/token');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(wrongMethod.body.error).toBe('invalid_request');
    expect((await request(app).put('/devices')).headers.allow).toBe('GET, HEAD, DELETE');
    expect((await request(app).get('/devices/abc')).headers.allow).toBe('DELETE');
    expect((await request(app).head('/.well-known/oauth-authorization-server')).status).toBe(200);
    expect((await request(app).get('/api/hello')).body).toEqual({ hello: true });
    expect((await request(app).get('/tokens')).status).toBe(404);
    expect((await request(app).get('/devices/a/b')).status).toBe(404);
  });

  it('passes a malformed %-escape in a device id to the endpoint as a session nobody has (401 without a token)', async () => {
    const res = await request(appWith()).delete('/devices/%E0%A4%A');
    expect(res.status).toBe(401);
  });

  it('is still an Express Router: routes a caller adds to it are served, under a mount path too', async () => {
    const tokens = router();
    tokens.get('/extra', (_req, res) => res.json({ extra: true }));
    const app = express();
    app.use('/oauth', tokens);
    expect((await request(app).get('/oauth/extra')).body).toEqual({ extra: true });
    expect((await request(app).post('/oauth/token').set('Authorization', AUTH).type('form').send(LOGIN)).status).toBe(200);
    expect((await request(app).post('/token').set('Authorization', AUTH).type('form').send(LOGIN)).status).toBe(404);
  });
});
