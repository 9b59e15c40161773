import type { Request, Response } from 'express';
import { authenticateClient } from '../auth/client-authentication';
import { InvalidRequestError, UnsupportedTokenTypeError } from '../errors/oauth-error';
import type { NormalizedRouterOptions } from '../options/router-options';
import type { TokenTypes } from '../stores/token-store';
import { formParams, type FormParams, requireParam } from './form-body';
import { noStore } from './token-response';

/**
 * RFC 7009 §2.1: the hint only decides where to look first; the server MUST extend its search
 * to the other type. A hint naming a type we do not have is `unsupported_token_type` (§2.2.1).
 */
export function tokenTypesFor(params: FormParams): TokenTypes {
  switch (params.token_type_hint) {
    case undefined:
    case 'access_token':
      return ['access_token', 'refresh_token'];
    case 'refresh_token':
      return ['refresh_token', 'access_token'];
    default:
      throw new UnsupportedTokenTypeError(`token_type_hint "${params.token_type_hint.slice(0, 64)}" is not supported`);
  }
}

/**
 * `POST /revoke` (RFC 7009): ends the one grant (device) the token belongs to.
 * Unknown tokens get 200 too (§2.2); another client's token is refused (§2.1) and left alone.
 */
export function revocationEndpoint(options: NormalizedRouterOptions) {
  return async function revoke(req: Request, res: Response): Promise<void> {
    const params = formParams(req);
    const client = await authenticateClient(req, params, options);
    const token = requireParam(params, 'token');
    const outcome = await options.store.revoke(token, client.clientId, tokenTypesFor(params));
    if (outcome === 'foreign') throw new InvalidRequestError('the token was not issued to this client');
    noStore(res);
    res.status(200).end();
  };
}
