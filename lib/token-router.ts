import { OptionError } from './errors/option-error';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { endDeviceEndpoint, endOtherDevicesEndpoint, listDevicesEndpoint } from './endpoints/devices-endpoint';
import { formParser } from './params/form-params';
import { introspectionEndpoint } from './endpoints/introspection-endpoint';
import { metadataEndpoint } from './endpoints/metadata-endpoint';
import { revocationEndpoint } from './endpoints/revocation-endpoint';
import { tokenEndpoint } from './endpoints/token-endpoint';
import { InvalidRequestError } from './errors/oauth-error';
import { oauthErrorHandler, sendOAuthError } from './errors/render-error';
import { normalizeRouterOptions, type TokenRouterOptions } from './options/router-options';

type Handler = (req: Request, res: Response) => void | Promise<void>;

function methodNotAllowed(allow: string): Handler {
  return function rejectMethod(_req, res) {
    res.set('Allow', allow);
    sendOAuthError(res, new InvalidRequestError(`use ${allow}`, { status: 405 }));
  };
}

/** One path of the router: a handler per method (GET also serves HEAD), 405 with `Allow` for the rest. */
interface Resource {
  readonly methods: Readonly<Record<string, Handler>>;
  readonly rejectMethod: Handler;
  /** Reads the form body first (the POST endpoints). */
  readonly form: boolean;
}

function resource(methods: Record<string, Handler>, form = false): Resource {
  const allowed = Object.keys(methods);
  const allow = allowed.includes('GET') ? allowed.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])) : allowed;
  // No prototype: a request's method is looked up here as it came.
  const byMethod = Object.assign(Object.create(null) as Record<string, Handler>, methods);
  if (methods.GET) byMethod.HEAD = methods.GET;
  return { methods: byMethod, rejectMethod: methodNotAllowed(allow.join(', ')), form };
}

const DEVICE_METHODS = ['listDevices', 'endDevice', 'endOtherDevices'] as const;

/** `/devices/{id}` of a path without its trailing "/", or `undefined`. */
function deviceIdOf(path: string): string | undefined {
  if (path.length <= 9 || path.slice(0, 9).toLowerCase() !== '/devices/' || path.indexOf('/', 9) !== -1) return undefined;
  const id = path.slice(9);
  try {
    return decodeURIComponent(id);
  } catch {
    return id; // a malformed escape is no session id of anyone: still this resource (404 for its owner)
  }
}

/**
 * The OAuth 2.0 token service as an Express router: `POST /token` (password,
 * client_credentials and refresh_token grants), `POST /revoke` (RFC 7009),
 * `POST /introspect` (RFC 7662) and `GET /.well-known/oauth-authorization-server` (RFC 8414);
 * with `deviceEndpoints: true` also `GET /devices`, `DELETE /devices/{id}` and `DELETE /devices`
 * (README, "Device session endpoints": each authenticated by the caller's own bearer token, no
 * body read). Options are validated here, so a wrong one fails at start-up.
 *
 * Its own paths are dispatched by one lookup (matched as Express matches them: regardless of
 * case and of a trailing "/") instead of through a stack of route layers, which on this
 * service's request rates cost more than the endpoints' own work; any other request goes on
 * through the Router's stack (empty unless the caller adds to it), then out.
 *
 * @throws OptionError naming the first wrong option.
 * @example
 * app.use(createTokenRouter({
 *   store: new MemoryTokenStore({ secret: process.env.TOKEN_SECRET! }),
 *   clients: [{ clientId: 'app', clientSecret: 's3cret', grants: ['password', 'refresh_token'] }],
 *   users: [{ username: 'alice', password: 'wonderland', roles: ['subscriber'] }],
 *   scopes: { 'orders:read': ['subscriber'] },
 * }));
 */
export function createTokenRouter(options: TokenRouterOptions): Router {
  const normalized = normalizeRouterOptions(options);
  const parseForm = formParser(normalized.bodyLimit);
  const onError = oauthErrorHandler(normalized.onError);
  const resources = new Map<string, Resource>([
    ['/token', resource({ POST: tokenEndpoint(normalized) }, true)],
    ['/revoke', resource({ POST: revocationEndpoint(normalized) }, true)],
    ['/introspect', resource({ POST: introspectionEndpoint(normalized) }, true)],
    ['/.well-known/oauth-authorization-server', resource({ GET: metadataEndpoint(normalized) })],
  ]);
  let deviceResource: Resource | undefined;
  if (normalized.deviceEndpoints) {
    const store = normalized.store as unknown as Record<string, unknown>;
    const missing = DEVICE_METHODS.find((method) => typeof store[method] !== 'function');
    if (missing) throw new OptionError(`options.store`, `must implement ${missing}() for options.deviceEndpoints`);
    resources.set('/devices', resource({ GET: listDevicesEndpoint(normalized), DELETE: endOtherDevicesEndpoint(normalized) }));
    deviceResource = resource({ DELETE: endDeviceEndpoint(normalized) as Handler });
  }

  const run = (handler: Handler, req: Request, res: Response, next: NextFunction) => {
    try {
      const done = handler(req, res);
      if (done !== undefined) done.then(undefined, (error: unknown) => onError(error, req, res, next));
    } catch (error) {
      onError(error, req, res, next);
    }
  };

  // A Router calls its own `handle()` for each request (router 2.x, which Express 5 uses): that
  // is where the lookup goes, ahead of the Router's stack.
  const router = Router() as Router & { handle: (req: Request, res: Response, next: NextFunction) => void };
  const routerStack = router.handle.bind(router);
  router.handle = function tokenRouter(req: Request, res: Response, next: NextFunction) {
    const full = req.path;
    const path = full.length > 1 && full.endsWith('/') ? full.slice(0, -1) : full;
    let target = resources.get(path) ?? resources.get(path.toLowerCase());
    if (target === undefined && deviceResource !== undefined) {
      const id = deviceIdOf(path);
      if (id !== undefined) {
        req.params = { ...req.params, id };
        target = deviceResource;
      }
    }
    if (target === undefined) {
      // Not ours: the gateway's own routes leave at once (or pass what the caller added to this Router).
      if (router.stack.length === 0) next();
      else routerStack(req, res, next);
      return;
    }
    const handler = target.methods[req.method] ?? target.rejectMethod;
    if (!target.form || handler === target.rejectMethod) {
      run(handler, req, res, next);
      return;
    }
    parseForm(req, res, (error?: unknown) => {
      if (error === undefined) run(handler, req, res, next);
      else onError(error, req, res, next);
    });
  };
  return router;
}
