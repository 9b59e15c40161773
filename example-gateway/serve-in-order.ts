import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';

type Done = (error?: unknown) => void;

/** A path as Express routes match it: without regard to case or a trailing "/". */
export function routePath(path: string): string {
  return (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
}

/**
 * Calls `steps` one after the other as Express calls a stack of middleware: a step passes the
 * request on with `next()`, fails it with `next(error)`, a thrown error or a rejected promise
 * (as Express 5 does), and `next('route')` passes it on too; `next('router')` or the end of the
 * steps calls `done()` without an error. `done` is called at most once.
 */
function runSteps(steps: readonly RequestHandler[], req: Request, res: Response, done: Done): void {
  let index = 0;
  let finished = false;
  const next = (error?: unknown): void => {
    if (finished) return;
    if (error === 'router' || (error && error !== 'route') || index === steps.length) {
      finished = true;
      done(error === 'router' || error === 'route' || !error ? undefined : error);
      return;
    }
    const step = steps[index++]!;
    try {
      const result = step(req, res, next);
      if (result instanceof Promise) result.then(undefined, (reason: unknown) => next(reason ?? new Error('Rejected promise')));
    } catch (error) {
      next(error ?? new Error('undefined was thrown'));
    }
  };
  next();
}

/**
 * A step that runs `handlers` in order for `GET` and `HEAD` requests of `path` (matched as
 * Express matches a route: regardless of case and of a trailing "/"), and passes any other
 * request on.
 */
export function onGet(path: string, ...handlers: RequestHandler[]): RequestHandler {
  const wanted = routePath(path);
  return function getRoute(req, res, next) {
    if ((req.method === 'GET' || req.method === 'HEAD') && routePath(req.path) === wanted) runSteps(handlers, req, res, next);
    else next();
  };
}

/**
 * Makes `app` serve every request with `steps`, in order, then `onError` for a failed one, in
 * place of Express' router: a fixed stack whose steps each look at the request themselves needs
 * none of the router's path matching, per-layer bookkeeping and closures, which on the gateway's
 * own request rates cost 10–13 % of its throughput (interleaved runs, CHANGELOG). What
 * `app.handle()` does first is kept (the `req`/`res` prototypes, so `res.json()`, `req.path` and
 * the app's settings work as ever, a no-op on a server made with `serverClassesFor(app)`;
 * `res.locals`; `X-Powered-By` when enabled), so are
 * `req.originalUrl`, `req.baseUrl` and `req.params` as the router sets them.
 *
 * Whatever `onError` passes on (it does for an answer already under way) ends the request as
 * Express' final handler would: the connection is closed, or, when `app` is mounted in another
 * app, the error goes on to that app. The last step must answer (a 404 handler); were none to,
 * the request would get a bare 404 too.
 *
 * Relies on Express 5 calling `app.handle(req, res, next)` for each request, as its router
 * relies on (see `createTokenRouter()` for the same with a Router).
 */
export function serveInOrder(app: Express, steps: readonly RequestHandler[], onError: ErrorRequestHandler): void {
  const handle = function gatewayHandle(req: Request, res: Response, callback?: Done): void {
    if (app.enabled('x-powered-by')) res.setHeader('X-Powered-By', 'Express');
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as Record<string, unknown>;
    // As the router sets them (it restores the parent app's after, when mounted).
    const { baseUrl: parentUrl, params: parentParams } = req as Partial<Request>;
    if (!req.originalUrl) req.originalUrl = req.url;
    req.baseUrl = parentUrl ?? '';
    req.params = {};
    // As Express' final handler ends a request nothing answered, or whose answer failed.
    const end: Done = (error) => {
      if (callback) {
        req.baseUrl = parentUrl!;
        req.params = parentParams!;
        callback(error);
      } else if (!res.headersSent) {
        res.statusCode = error === undefined ? 404 : 500;
        res.end();
      } else if (error !== undefined) req.socket.destroy(); // half an answer must not pass for a whole one
    };
    runSteps(steps, req, res, (error) => {
      if (error === undefined) end();
      else runSteps([(req2, res2, next) => onError(error, req2, res2, next)], req, res, end);
    });
  };
  (app as unknown as { handle: typeof handle }).handle = handle;
}
