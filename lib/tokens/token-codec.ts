import { OptionError } from '../errors/option-error';
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomBase64url, sha256Base64url, sha256Base64url16 } from '../crypto/fast-crypto';

/**
 * How tokens look and how they are checked.
 *
 * A refresh token is `<tag>.<seed>.<mac>`, an access token `<tag>.<sid>.<seed>.<mac>`:
 * - `tag`: the hash tag of the token's user (see {@link userTag}), so a lookup knows the Redis
 *   Cluster slot of every key it needs without an index. It does not depend on the secret.
 * - `sid` (access tokens): the id of the token's device session, so that validating it is one
 *   read of that session (no pointer to follow, no script). It is the opaque id `GET /devices`
 *   shows the token's owner anyway, derived from no token and no secret; alone it opens nothing.
 * - `seed`: 256 bits from `crypto.randomBytes` (RFC 6749 §10.10, RFC 6750 §5.2).
 * - `mac`: HMAC-SHA-256 of everything before it (`<tag>.<seed>`, `<tag>.<sid>.<seed>`) under the
 *   server secret, truncated to 128 bits: no part can be changed without the secret.
 *
 * Access tokens of the 3-part form, made by earlier versions, still parse and are looked up
 * through their pointer key as before.
 *
 * Stores keep only `hash(seed)` as the token's lookup key and, where reuse needs the token back,
 * the seed itself. Without the server secret neither gives a usable token, so a Redis dump or a
 * replica is useless to an attacker; with reuse off not even the seed is stored. Rebuilding a
 * reused token costs one HMAC: nothing is encrypted, nothing minted to be thrown away.
 *
 * Secrets are a list, newest first: new tokens are MACed with the newest; a token MACed with an
 * older one keeps working (and keeps being reused, unchanged) until it expires.
 */

const TAG_LENGTH = 12; // base64url characters: 72 bits, plenty to spread users over slots
const SEED_BYTES = 32;
const MAC_BYTES = 16;
const SID_LENGTH = 16;
const SEED_LENGTH = 43; // base64url characters of SEED_BYTES
const MAC_LENGTH = 22; // base64url characters of MAC_BYTES
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/;
const ACCESS_PATTERN = /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/;
const TOKEN_LENGTH = TAG_LENGTH + 1 + SEED_LENGTH + 1 + MAC_LENGTH;
const ACCESS_LENGTH = TOKEN_LENGTH + SID_LENGTH + 1;
const MIN_SECRET_LENGTH = 32;

/** A server secret, or a list of them with the newest first. */
export type TokenSecret = string | readonly string[];

interface MacKey {
  readonly key: Buffer;
  /** Names the secret inside stored records, so reuse picks the key a token was made with. */
  readonly id: string;
}

function macKey(secret: string): MacKey {
  const key = Buffer.from(hkdfSync('sha256', secret, 'express-oauth-device-tokens', 'token-mac', 32));
  return { key, id: createHmac('sha256', key).update('key-id').digest('base64url').slice(0, 8) };
}

/**
 * Validates the `secret` option of a store.
 * @throws TypeError naming `optionName` when it is not a non-empty list of long enough strings.
 */
export function normalizeSecrets(secret: unknown, optionName: string): string[] {
  const list: unknown[] = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) throw new OptionError(`${optionName}`, `must be a string or a non-empty array of strings`);
  list.forEach((item, index) => {
    const name = Array.isArray(secret) ? `${optionName}[${index}]` : optionName;
    if (typeof item !== 'string') throw new OptionError(`${name}`, `must be a string`);
    if (item.length < MIN_SECRET_LENGTH) {
      throw new OptionError(`${name}`, `must be at least ${MIN_SECRET_LENGTH} characters long`);
    }
  });
  return list as string[];
}

/**
 * The hash tag of a user (the grant's subject: a username, or the client id of a
 * `client_credentials` grant). Letter case and Unicode compatibility forms are folded, so
 * `Alice` and `alice` share a slot (and a failed-login counter keyed by either lands there).
 */
export function userTag(subject: string): string {
  return sha256Base64url(`subject\n${subject.normalize('NFKC').toLowerCase()}`).slice(0, TAG_LENGTH);
}

/** The lookup key of a token: a hash of its seed (the MAC, which needs the secret, is never stored). */
export function seedHash(seed: string): string {
  return sha256Base64url16(seed);
}

/** A token taken apart, its MAC checked. */
export interface ParsedToken {
  readonly tag: string;
  /** The lookup key of the token (see {@link seedHash}). */
  readonly hash: string;
  /** The session id an access token carries; `undefined` for the 3-part form. */
  readonly sessionId?: string | undefined;
}

/** Makes and checks tokens with the server secret(s). */
export class TokenCodec {
  private readonly keys: readonly MacKey[];
  /** The id of the newest secret: new tokens are MACed with it. */
  readonly keyId: string;
  /** The ids of every secret this codec holds, space-separated (for the stores' scripts). */
  readonly keyIds: string;

  /** @param secret one secret or a list, newest first; each at least 32 characters. */
  constructor(secret: TokenSecret, optionName = 'options.secret') {
    this.keys = normalizeSecrets(secret, optionName).map(macKey);
    this.keyId = this.keys[0]!.id;
    this.keyIds = this.keys.map((key) => key.id).join(' ');
  }

  /** `count` fresh seeds of 256 random bits each (see {@link randomBase64url}). */
  seeds(count: number): string[] {
    const seeds: string[] = [];
    for (let i = 0; i < count; i++) seeds.push(randomBase64url(SEED_BYTES));
    return seeds;
  }

  /**
   * The token of a seed, MACed with the secret `keyId` names: with `sessionId` an access token
   * (`<tag>.<sid>.<seed>.<mac>`), without it a refresh token; `undefined` when this codec lacks
   * the secret.
   */
  token(tag: string, seed: string, keyId: string = this.keyId, sessionId?: string): string | undefined {
    const key = this.keys.find((candidate) => candidate.id === keyId);
    if (!key) return undefined;
    if (sessionId !== undefined && sessionId.length !== SID_LENGTH) throw new TypeError('a session id is 16 characters');
    const body = sessionId === undefined ? `${tag}.${seed}` : `${tag}.${sessionId}.${seed}`;
    return `${body}.${this.mac(key, body).toString('base64url')}`;
  }

  /**
   * The tag and lookup key of a token whose MAC one of the secrets confirms; `undefined` for
   * anything else, found without asking the store.
   */
  parse(token: string): ParsedToken | undefined {
    let sessionId: string | undefined;
    if (token.length === ACCESS_LENGTH && ACCESS_PATTERN.test(token)) sessionId = token.slice(TAG_LENGTH + 1, TAG_LENGTH + 1 + SID_LENGTH);
    else if (token.length !== TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) return undefined;
    const macAt = token.length - MAC_LENGTH;
    const body = token.slice(0, macAt - 1);
    const macText = token.slice(macAt);
    const given = Buffer.from(macText, 'base64url');
    // One token, one spelling: the last character of 22 base64url ones carries 2 unused bits.
    if (given.toString('base64url') !== macText) return undefined;
    // Every secret is tried, so the time taken does not tell which one (if any) matched.
    let valid = false;
    for (const key of this.keys) valid = timingSafeEqual(this.mac(key, body), given) || valid;
    if (!valid) return undefined;
    const tag = token.slice(0, TAG_LENGTH);
    const hash = seedHash(body.slice(-SEED_LENGTH));
    return sessionId === undefined ? { tag, hash } : { tag, hash, sessionId };
  }

  private mac(key: MacKey, body: string): Buffer {
    return createHmac('sha256', key.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}
