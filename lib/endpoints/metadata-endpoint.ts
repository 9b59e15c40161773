import type { Request, Response } from 'express';
import { InvalidRequestError } from '../errors/oauth-error';
import type { GrantType, NormalizedRouterOptions } from '../options/router-options';

/** Client authentication methods of every endpoint (RFC 6749 §2.3.1, RFC 7591 §2 names). */
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/** The RFC 8414 §2 document this router publishes. */
export interface AuthorizationServerMetadata {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly revocation_endpoint: string;
  readonly introspection_endpoint: string;
  readonly grant_types_supported: readonly GrantType[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly revocation_endpoint_auth_methods_supported: readonly string[];
  readonly introspection_endpoint_auth_methods_supported: readonly string[];
  readonly scopes_supported?: readonly string[];
}

/**
 * The issuer: the configured one, else this router's URL as the request reached it.
 * `req.protocol` and `req.host` honour Express' `trust proxy` (X-Forwarded-Proto/-Host).
 */
function issuerOf(req: Request, options: NormalizedRouterOptions): string {
  if (options.issuer !== undefined) return options.issuer;
  if (!req.host) throw new InvalidRequestError('a Host header is required (or configure options.issuer)');
  return `${req.protocol}://${req.host}${req.baseUrl}`;
}

/**
 * RFC 8414 §2. Deliberately absent:
 * - `authorization_endpoint`: "REQUIRED unless no grant types are supported that use the
 *   authorization endpoint" — none of ours do.
 * - `response_types_supported`: §2 lists it as REQUIRED, but its values are authorization
 *   endpoint `response_type`s, of which we have none, and §3.2 says "Claims with zero elements
 *   MUST be omitted from the response" (RFC 8414 Erratum 7793 words this exception).
 * - `scopes_supported`, unless the operator lists scopes (`options.scopesSupported`).
 */
export function authorizationServerMetadata(issuer: string, options: NormalizedRouterOptions): AuthorizationServerMetadata {
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    grant_types_supported: options.grantTypes,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    ...(options.scopesSupported.length === 0 ? {} : { scopes_supported: options.scopesSupported }),
  };
}

/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414 §3). The document holds no token, so
 * it may be cached; one derived from the Host header is only cached privately, so a shared
 * cache never serves one host's issuer to another.
 */
export function metadataEndpoint(options: NormalizedRouterOptions) {
  return function metadata(req: Request, res: Response): void {
    const issuer = issuerOf(req, options);
    res.set('Cache-Control', options.issuer === undefined ? 'private, max-age=300' : 'public, max-age=3600');
    res.status(200).json(authorizationServerMetadata(issuer, options));
  };
}
