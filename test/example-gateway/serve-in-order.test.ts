import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { onGet, routePath, serveInOrder } from '../../example-gateway/serve-in-order';

/** Answers 500 with the error's message, or passes it on when an answer is already under way (as the gateway's does). */
const answerError: ErrorRequestHandler = (error: Error, _req, res, next) => {
  if (res.headersSent) next(error);
  else res.status(500).json({ failed: error.message });
};

function appWith(steps: RequestHandler[], onError: ErrorRequestHandler = answerError) {
  const app = express();
  app.set('etag', false);
  serveInOrder(app, steps, onError);
  return app;
}

const seen: RequestHandler = (req, res) => {
  res.json({
    path: req.path,
    originalUrl: req.originalUrl,
    baseUrl: req.baseUrl,
    params: req.params,
    locals: typeof res.locals,
    ip: req.ip,
  });
};

/** A step that should not run: answers 299, so a test that reaches it fails on the status, not on a timeout. */
const notReached = () => jest.fn<void, Parameters<RequestHandler>>((_req, res) => void res.status(299).end());

describe('serveInOrder()', () => {
  it('runs the steps in order, each passing on with next(), on Express request and response objects', async () => {
    const order: string[] = [];
    const step =
      (name: string): RequestHandler =>
      (_req, _res, next) => {
        order.push(name);
        next();
      };
    const app = appWith([step('a'), step('b'), seen]);
    app.set('trust proxy', true);
    const res = await request(app).get('/some/where?x=1').set('X-Forwarded-For', '203.0.113.7');
    expect(order).toEqual(['a', 'b']);
    expect(res.status).toBe(200);
    // res.json, req.path and req.ip (which reads the app's `trust proxy`) come from Express' prototypes.
    expect(res.body).toEqual({
      path: '/some/where',
      originalUrl: '/some/where?x=1',
      baseUrl: '',
      params: {},
      locals: 'object',
      ip: '203.0.113.7',
    });
  });

  it('skips the remaining steps once one answers', async () => {
    const later = notReached();
    const app = appWith([(_req, res) => void res.status(201).json({ first: true }), later]);
    const res = await request(app).get('/');
    expect(res.status).toBe(201);
    expect(later).not.toHaveBeenCalled();
  });

  it.each([
    ['next(error)', ((_req, _res, next) => next(new Error('passed'))) as RequestHandler, 'passed'],
    [
      'a thrown error',
      (() => {
        throw new Error('thrown');
      }) as RequestHandler,
      'thrown',
    ],
    ['a rejected promise', (async () => Promise.reject(new Error('rejected'))) as RequestHandler, 'rejected'],
    ['a promise rejected with nothing', (async () => Promise.reject(undefined as unknown as Error)) as RequestHandler, 'Rejected promise'],
  ])('hands %s to onError and runs no later step', async (_what, failing, message) => {
    const later = notReached();
    const res = await request(appWith([failing, later])).get('/');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ failed: message });
    expect(later).not.toHaveBeenCalled();
  });

  it("passes on with next('route') and ends with next('router') (a bare 404 when nothing answered)", async () => {
    const later = notReached();
    const app = appWith([(_req, _res, next) => next('route'), (_req, _res, next) => next('router'), later]);
    const res = await request(app).get('/');
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
    expect(later).not.toHaveBeenCalled();
  });

  it('answers a bare 404 when every step passed the request on', async () => {
    const res = await request(appWith([(_req, _res, next) => next()])).get('/');
    expect(res.status).toBe(404);
  });

  it('closes the connection when an answer already under way fails (half an answer is not passed for a whole one)', async () => {
    const app = appWith([
      (_req, res, next) => {
        res.status(200).write('{"partial":');
        next(new Error('broke mid-answer'));
      },
    ]);
    await expect(request(app).get('/')).rejects.toThrow();
  });

  it('answers a bare 500 when onError itself throws', async () => {
    const app = appWith([(_req, _res, next) => next(new Error('first'))], () => {
      throw new Error('the error handler broke');
    });
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toBe('');
  });

  it('mounted in another app: sees its mount path as baseUrl, and what it passes on goes back to that app', async () => {
    const inner = appWith(
      [
        (req, res, next) => {
          if (req.path === '/seen') seen(req, res, next);
          else if (req.path === '/fail') next(new Error('inner failure'));
          else next();
        },
      ],
      (error, _req, _res, next) => next(error),
    );
    const outer = express();
    outer.use('/inner', inner);
    outer.use((req, res) => void res.status(404).json({ outer: 'not found', baseUrl: req.baseUrl }));
    outer.use(((error: Error, _req, res, _next) => void res.status(502).json({ outer: error.message })) as ErrorRequestHandler);

    const shown = await request(outer).get('/inner/seen');
    expect(shown.body).toMatchObject({ path: '/seen', baseUrl: '/inner', originalUrl: '/inner/seen' });
    const passed = await request(outer).get('/inner/elsewhere');
    expect(passed.status).toBe(404);
    expect(passed.body).toEqual({ outer: 'not found', baseUrl: '' });
    const failed = await request(outer).get('/inner/fail');
    expect(failed.status).toBe(502);
    expect(failed.body).toEqual({ outer: 'inner failure' });
  });
});

describe('onGet()', () => {
  const app = appWith([
    onGet(
      '/api/orders',
      (_req, _res, next) => next(),
      (_req, res) => void res.json({ orders: true }),
    ),
    (_req, res) => void res.status(404).json({ elsewhere: true }),
  ]);

  it.each(['/api/orders', '/API/Orders', '/api/orders/', '/api/orders?page=2'])('runs its handlers in order for GET %s', async (path) => {
    const res = await request(app).get(path);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orders: true });
  });

  it('answers HEAD as GET, without a body', async () => {
    const res = await request(app).head('/api/orders');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text).toBeUndefined();
  });

  it.each([
    ['POST', '/api/orders'],
    ['DELETE', '/api/orders'],
    ['OPTIONS', '/api/orders'],
    ['GET', '/api/orders/1'],
    ['GET', '/api/order'],
    ['GET', '/api//orders'],
    ['GET', '/api/%6Frders'],
  ])('passes %s %s on', async (method, path) => {
    const res = await request(app)[method.toLowerCase() as 'get'](path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ elsewhere: true });
  });
});

describe('routePath()', () => {
  it.each([
    ['/', '/'],
    ['/Token', '/token'],
    ['/token/', '/token'],
    ['/token//', '/token/'],
  ])('%s is matched as %s', (path, expected) => {
    expect(routePath(path)).toBe(expected);
  });
});
