import { OptionError } from './errors/option-error';
import { Router, type Request, type Response } from 'express';
import { endDeviceEndpoint, endOtherDevicesEndpoint, listDevicesEndpoint } from './endpoints/devices-endpoint';
import { formParser } from './params/form-params';
import { introspectionEndpoint } from './endpoints/introspection-endpoint';
import { metadataEndpoint } from './endpoints/metadata-endpoint';
import { revocationEndpoint } from './endpoints/revocation-endpoint';
import { tokenEndpoint } from './endpoints/token-endpoint';
import { InvalidRequestError } from './errors/oauth-error';
import { oauthErrorHandler, sendOAuthError } from './errors/render-error';
import { normalizeRouterOptions, type NormalizedRouterOptions, type TokenRouterOptions } from './options/router-options';

function methodNotAllowed(allow: string) {
  return function rejectMethod(_req: Request, res: Response): void {
    res.set('Allow', allow);
    sendOAuthError(res, new InvalidRequestError(`use ${allow}`, { status: 405 }));
  };
}

const DEVICE_METHODS = ['listDevices', 'endDevice', 'endOtherDevices'] as const;

/**
 * `GET /devices`, `DELETE /devices/{id}` and `DELETE /devices` (README, "Device session endpoints"),
 * each authenticated by the caller's own bearer token; no body is read.
 */
function mountDeviceEndpoints(router: Router, options: NormalizedRouterOptions): void {
  const store = options.store as unknown as Record<string, unknown>;
  const missing = DEVICE_METHODS.find((method) => typeof store[method] !== 'function');
  if (missing) throw new OptionError(`options.store`, `must implement ${missing}() for options.deviceEndpoints`);
  router.get('/devices', listDevicesEndpoint(options));
  router.delete('/devices', endOtherDevicesEndpoint(options));
  router.delete('/devices/:id', endDeviceEndpoint(options));
  router.all('/devices', methodNotAllowed('GET, HEAD, DELETE'));
  router.all('/devices/:id', methodNotAllowed('DELETE'));
}

/**
 * The OAuth 2.0 token service as an Express router: `POST /token` (password,
 * client_credentials and refresh_token grants), `POST /revoke` (RFC 7009),
 * `POST /introspect` (RFC 7662) and `GET /.well-known/oauth-authorization-server` (RFC 8414);
 * with `deviceEndpoints: true` also `GET /devices`, `DELETE /devices/{id}` and `DELETE /devices`.
 * Options are validated here, so a wrong one fails at start-up.
 *
 * @throws TypeError naming the first wrong option.
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
  const router = Router();
  // Requests for the gateway's own routes (say `GET /api/orders`) leave this router at once
  // instead of being matched against each of its routes. Express matches paths without regard
  // to case or a trailing "/", and so does this.
  const ownPaths = new Set(['/token', '/revoke', '/introspect', '/.well-known/oauth-authorization-server']);
  if (normalized.deviceEndpoints) ownPaths.add('/devices');
  router.use(function tokenRouterPaths(req, _res, next) {
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1).toLowerCase() : req.path.toLowerCase();
    const owned = ownPaths.has(path) || (normalized.deviceEndpoints && path.startsWith('/devices/') && path.indexOf('/', 9) === -1);
    next(owned ? undefined : 'router');
  });
  const parseForm = formParser(normalized.bodyLimit);
  router.post('/token', parseForm, tokenEndpoint(normalized));
  router.post('/revoke', parseForm, revocationEndpoint(normalized));
  router.post('/introspect', parseForm, introspectionEndpoint(normalized));
  router.get('/.well-known/oauth-authorization-server', metadataEndpoint(normalized));
  router.all(['/token', '/revoke', '/introspect'], methodNotAllowed('POST'));
  router.all('/.well-known/oauth-authorization-server', methodNotAllowed('GET, HEAD'));
  if (normalized.deviceEndpoints) mountDeviceEndpoints(router, normalized);
  router.use(oauthErrorHandler(normalized.onError));
  return router;
}
