import type { Request, Response } from 'express';
import { authenticateClient } from '../auth/client-authentication';
import { InvalidRequestError } from '../errors/oauth-error';
import type { NormalizedRouterOptions } from '../options/router-options';
import { formParams, requireParam } from '../params/form-params';
import { clientIp } from '../params/client-ip';
import { tokenTypesFor } from './token-type-hint';
import { noStore } from './token-response';

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
    if (outcome === 'revoked') options.emit({ type: 'revoked', clientId: client.clientId, ip: clientIp(req) });
    noStore(res);
    res.status(200).end();
  };
}
