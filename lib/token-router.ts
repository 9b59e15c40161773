import { Router, type Request, type Response } from 'express';
import { formParser } from './endpoints/form-body';
import { introspectionEndpoint } from './endpoints/introspection-endpoint';
import { metadataEndpoint } from './endpoints/metadata-endpoint';
import { revocationEndpoint } from './endpoints/revocation-endpoint';
import { tokenEndpoint } from './endpoints/token-endpoint';
import { InvalidRequestError } from './errors/oauth-error';
import { oauthErrorHandler, sendOAuthError } from './errors/render-error';
import { normalizeRouterOptions, type TokenRouterOptions } from './options/router-options';

function methodNotAllowed(allow: string) {
  return function rejectMethod(_req: Request, res: Response): void {
    res.set('Allow', allow);
    sendOAuthError(res, new InvalidRequestError(`use ${allow}`, 405));
  };
}

/**
 * The OAuth 2.0 token service as an Express router: `POST /token` (password,
 * client_credentials and refresh_token grants), `POST /revoke` (RFC 7009),
 * `POST /introspect` (RFC 7662) and `GET /.well-known/oauth-authorization-server` (RFC 8414).
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
  const parseForm = formParser(normalized.bodyLimit);
  router.post('/token', parseForm, tokenEndpoint(normalized));
  router.post('/revoke', parseForm, revocationEndpoint(normalized));
  router.post('/introspect', parseForm, introspectionEndpoint(normalized));
  router.get('/.well-known/oauth-authorization-server', metadataEndpoint(normalized));
  router.all(['/token', '/revoke', '/introspect'], methodNotAllowed('POST'));
  router.all('/.well-known/oauth-authorization-server', methodNotAllowed('GET, HEAD'));
  router.use(oauthErrorHandler(normalized.onError));
  return router;
}
