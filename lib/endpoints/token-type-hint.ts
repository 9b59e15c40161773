import { UnsupportedTokenTypeError } from '../errors/oauth-error';
import type { TokenTypes } from '../stores/token-store';
import type { FormParams } from '../params/form-params';

/** What to do with a `token_type_hint` naming a type this server does not issue. */
export type UnknownHintPolicy = 'reject' | 'ignore';

/**
 * The token types to look up, in order, for a request's `token_type_hint`.
 *
 * RFC 7009 §2.1 and RFC 7662 §2.1: the hint only decides where to look first; the server MUST
 * extend its search to the other type. An unknown hint is `unsupported_token_type` for
 * revocation (RFC 7009 §2.2.1, `'reject'`); introspection defines no such error and "MAY
 * ignore this parameter" (RFC 7662 §2.1, `'ignore'`).
 */
export function tokenTypesFor(params: FormParams, unknownHint: UnknownHintPolicy = 'reject'): TokenTypes {
  switch (params.token_type_hint) {
    case undefined:
    case 'access_token':
      return ['access_token', 'refresh_token'];
    case 'refresh_token':
      return ['refresh_token', 'access_token'];
    default:
      if (unknownHint === 'ignore') return ['access_token', 'refresh_token'];
      throw new UnsupportedTokenTypeError(`token_type_hint "${params.token_type_hint.slice(0, 64)}" is not supported`);
  }
}
