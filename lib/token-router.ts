import { Router, type Request, type Response } from 'express';
import { formParser } from './endpoints/form-body';
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
 * client_credentials and refresh_token grants) and `POST /revoke` (RFC 7009).
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
  router.all(['/token', '/revoke'], methodNotAllowed('POST'));
  router.use(oauthErrorHandler(normalized.onError));
  return router;
}
