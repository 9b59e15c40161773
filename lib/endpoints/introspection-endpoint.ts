import type { Request, Response } from 'express';
import { authenticateClient } from '../auth/client-authentication';
import type { NormalizedClient, NormalizedRouterOptions } from '../options/router-options';
import type { TokenRecord } from '../stores/token-store';
import { formParams, requireParam } from '../params/form-params';
import { sendNoStoreJson } from './token-response';
import { tokenTypesFor } from './token-type-hint';

/**
 * The RFC 7662 §2.2 answer for a live token. `token_type` is `Bearer` (RFC 6749 §7.1) for an
 * access token; a refresh token has no access token type, so it is named by its RFC 7009
 * `token_type_hint` value, `refresh_token`, which no resource server mistakes for a usable
 * bearer token.
 */
export interface ActiveIntrospection {
  readonly active: true;
  readonly scope: string;
  readonly client_id: string;
  /** The resource owner; absent for client_credentials tokens. */
  readonly username?: string;
  readonly sub: string;
  readonly exp: number;
  readonly iat: number;
  readonly token_type: 'Bearer' | 'refresh_token';
  /** The token's device scopes, space-separated; absent for a token without a device. */
  readonly device?: string;
  /** The configured issuer; absent when the issuer is derived from requests. */
  readonly iss?: string;
}

/** RFC 7662 §2.2: anything not active is described by `active` alone. */
export type IntrospectionResponse = ActiveIntrospection | { readonly active: false };

const INACTIVE = { active: false } as const;

/**
 * RFC 7662 §2.2 "the authorization server MAY respond differently to different protected
 * resources making the same request": a client sees its own tokens; only a resource server
 * sees every client's.
 */
function maySee(client: NormalizedClient, record: TokenRecord): boolean {
  return client.resourceServer || record.clientId === client.clientId;
}

function describe(record: TokenRecord, issuer: string | undefined): ActiveIntrospection {
  return {
    active: true,
    scope: record.scopes.join(' '),
    client_id: record.clientId,
    ...(record.username === undefined ? {} : { username: record.username }),
    sub: record.subject,
    exp: record.expiresAt,
    iat: record.issuedAt,
    token_type: record.tokenType === 'access_token' ? 'Bearer' : 'refresh_token',
    ...(record.deviceScopes.length === 0 ? {} : { device: record.deviceScopes.join(' ') }),
    ...(issuer === undefined ? {} : { iss: issuer }),
  };
}

/**
 * `POST /introspect` (RFC 7662): parse → reject repeated parameters → authenticate the
 * client → one store lookup (both token types, hint first) → describe. Dead, unknown,
 * malformed and foreign tokens all answer `{"active": false}`, so the answer tells nothing
 * about tokens the caller may not see.
 */
export function introspectionEndpoint(options: NormalizedRouterOptions) {
  return async function introspect(req: Request, res: Response): Promise<void> {
    const params = formParams(req);
    const client = await authenticateClient(req, params, options);
    const token = requireParam(params, 'token');
    const record = await options.store.lookup(token, tokenTypesFor(params, 'ignore'));
    const body: IntrospectionResponse = record && maySee(client, record) ? describe(record, options.issuer) : INACTIVE;
    // The answer describes a token: never cached (RFC 7662 §4 and the token answers' rule).
    sendNoStoreJson(res, 200, body);
  };
}
