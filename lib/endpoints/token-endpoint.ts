import type { Request, Response } from 'express';
import { authenticateClient } from '../auth/client-authentication';
import { UnauthorizedClientError, UnsupportedGrantTypeError } from '../errors/oauth-error';
import { clientCredentialsGrant } from '../grants/client-credentials-grant';
import type { GrantHandler } from '../grants/grant-context';
import { passwordGrant } from '../grants/password-grant';
import { refreshTokenGrant } from '../grants/refresh-token-grant';
import type { GrantType, NormalizedRouterOptions } from '../options/router-options';
import type { TokenSet } from '../stores/token-store';
import { formParams, requireParam } from '../params/form-params';
import { clientIp } from '../params/client-ip';
import { sendNoStoreJson } from './token-response';

const GRANTS: Readonly<Record<GrantType, GrantHandler>> = {
  password: passwordGrant,
  client_credentials: clientCredentialsGrant,
  refresh_token: refreshTokenGrant,
};

function isGrantType(value: string): value is GrantType {
  return Object.prototype.hasOwnProperty.call(GRANTS, value);
}

/** RFC 6749 §5.1 success body. */
function tokenResponse(tokens: TokenSet): Record<string, unknown> {
  return {
    access_token: tokens.accessToken,
    token_type: 'Bearer',
    expires_in: tokens.expiresIn,
    ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
    scope: tokens.scopes.join(' '),
  };
}

/**
 * `POST /token`: parse → reject repeated parameters → authenticate the client → check the
 * grant type → run the grant → respond with `no-store`.
 */
export function tokenEndpoint(options: NormalizedRouterOptions) {
  return async function token(req: Request, res: Response): Promise<void> {
    const params = formParams(req);
    const client = await authenticateClient(req, params, options);
    const grantType = requireParam(params, 'grant_type');
    if (!isGrantType(grantType)) throw new UnsupportedGrantTypeError(`the grant type "${grantType.slice(0, 64)}" is not supported`);
    if (!client.grants.has(grantType)) throw new UnauthorizedClientError(`this client may not use the ${grantType} grant`);
    const tokens = await GRANTS[grantType]({ client, params, options, ip: clientIp(req) ?? '' });
    sendNoStoreJson(res, 200, tokenResponse(tokens));
  };
}
