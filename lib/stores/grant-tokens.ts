import { randomBytes } from 'node:crypto';
import type { TokenCodec } from '../tokens/token-codec';
import type { TokenRecord, TokenTypes } from './token-store';

/** Fresh tokens for a grant, prepared before the store's atomic step (which may reuse instead). */
export interface MintedTokens {
  readonly tag: string;
  readonly grantId: string;
  readonly accessToken: string;
  readonly accessHash: string;
  readonly refreshToken?: string | undefined;
  readonly refreshHash: string;
  /** Ciphertexts for reuse; '' when reuse is off, so nothing recoverable is stored. */
  readonly sealedAccess: string;
  readonly sealedRefresh: string;
}

export function mintTokens(
  codec: TokenCodec,
  tag: string,
  options: { refresh: boolean; seal: boolean },
): MintedTokens {
  const accessToken = codec.mint(tag);
  const refreshToken = options.refresh ? codec.mint(tag) : undefined;
  return {
    tag,
    grantId: randomBytes(12).toString('base64url'),
    accessToken,
    accessHash: codec.hash(accessToken),
    refreshToken,
    refreshHash: refreshToken ? codec.hash(refreshToken) : '',
    sealedAccess: options.seal ? codec.encrypt(accessToken) : '',
    sealedRefresh: options.seal && refreshToken ? codec.encrypt(refreshToken) : '',
  };
}

export const ALL_TOKEN_TYPES: TokenTypes = ['access_token', 'refresh_token'];

/** Space-separated scope string of the stores' records, back to a list. */
export function splitScopes(scope: string): string[] {
  return scope === '' ? [] : scope.split(' ');
}

/** Builds the public record from a stored grant. Times in ms; the record's in seconds. */
export function toTokenRecord(
  tokenType: TokenRecord['tokenType'],
  grant: {
    grantId: string;
    clientId: string;
    subject: string;
    username: string;
    scope: string;
    device: string;
    issuedAtMs: number;
    accessExpiresAtMs: number;
    refreshExpiresAtMs: number;
  },
): TokenRecord {
  return {
    tokenType,
    grantId: grant.grantId,
    clientId: grant.clientId,
    subject: grant.subject,
    username: grant.username === '' ? undefined : grant.username,
    scopes: splitScopes(grant.scope),
    deviceScopes: splitScopes(grant.device),
    issuedAt: Math.floor(grant.issuedAtMs / 1000),
    expiresAt: Math.floor(
      (tokenType === 'access_token' ? grant.accessExpiresAtMs : grant.refreshExpiresAtMs) / 1000,
    ),
  };
}
