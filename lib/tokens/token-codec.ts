import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * How tokens look, how they are hashed for lookup and how they are encrypted for reuse.
 *
 * A token is `<tag>.<secret part>`: the tag is a keyed hash of (client, subject), so every
 * key of one client/user lives in one Redis Cluster slot and a lookup needs no index; the
 * secret part is 256 bits from `crypto.randomBytes`. Stores keep only keyed hashes of tokens
 * (HMAC-SHA-256) and, where reuse needs the value back, an AES-256-GCM ciphertext: a dump or
 * a replica of the store gives nobody a usable token.
 *
 * Secrets are a list, newest first: new tokens use the newest, lookups try them all, so a
 * rotated-out secret keeps its live tokens working until they expire.
 */

const TAG_LENGTH = 12; // base64url characters: 72 bits, plenty to spread users over slots
const RANDOM_BYTES = 32; // 256 bits (RFC 6749 §10.10, RFC 6750 §5.2)
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}$/;
const MIN_SECRET_LENGTH = 32;

interface DerivedKeys {
  readonly hash: Buffer;
  readonly encrypt: Buffer;
  readonly tag: Buffer;
  /** Identifies the encryption key inside a ciphertext, so rotation can pick the right one. */
  readonly keyId: string;
}

/** A server secret, or a list of them with the newest first. */
export type TokenSecret = string | readonly string[];

function derive(secret: string): DerivedKeys {
  const key = (info: string) => Buffer.from(hkdfSync('sha256', secret, 'express-oauth-device-tokens', info, 32));
  const encrypt = key('token-encryption');
  return {
    hash: key('token-hash'),
    encrypt,
    tag: key('slot-tag'),
    keyId: createHmac('sha256', encrypt).update('key-id').digest('base64url').slice(0, 8),
  };
}

/**
 * Validates the `secret` option of a store.
 * @throws TypeError naming `optionName` when it is not a non-empty list of long enough strings.
 */
export function normalizeSecrets(secret: unknown, optionName: string): string[] {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) throw new TypeError(`${optionName} must be a string or a non-empty array of strings`);
  list.forEach((item, index) => {
    const name = Array.isArray(secret) ? `${optionName}[${index}]` : optionName;
    if (typeof item !== 'string') throw new TypeError(`${name} must be a string`);
    if (item.length < MIN_SECRET_LENGTH) {
      throw new TypeError(`${name} must be at least ${MIN_SECRET_LENGTH} characters long`);
    }
  });
  return list as string[];
}

/** Mints, hashes, encrypts and decrypts tokens with the server secret(s). */
export class TokenCodec {
  private readonly keys: readonly DerivedKeys[];

  /** @param secret one secret or a list, newest first; each at least 32 characters. */
  constructor(secret: TokenSecret, optionName = 'options.secret') {
    this.keys = normalizeSecrets(secret, optionName).map(derive);
  }

  /** The slot tag of a (client, subject) pair: every key of that pair shares it. */
  slotTag(clientId: string, subject: string): string {
    return createHmac('sha256', this.keys[0]!.tag)
      .update(`${clientId}\n${subject}`)
      .digest('base64url')
      .slice(0, TAG_LENGTH);
  }

  /** A new token in the given slot. */
  mint(tag: string): string {
    return `${tag}.${randomBytes(RANDOM_BYTES).toString('base64url')}`;
  }

  /** The slot tag of a token, or `undefined` when the string cannot be one of ours. */
  tagOf(token: string): string | undefined {
    return TOKEN_PATTERN.test(token) ? token.slice(0, TAG_LENGTH) : undefined;
  }

  /** The keyed hash new records are written under. */
  hash(token: string): string {
    return this.hashWith(this.keys[0]!, token);
  }

  /** Every hash the token may be stored under, newest secret first. */
  candidateHashes(token: string): string[] {
    return this.keys.map((keys) => this.hashWith(keys, token));
  }

  /** AES-256-GCM: `<keyId>.<iv>.<ciphertext>.<auth tag>`, all base64url. */
  encrypt(token: string): string {
    const keys = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys.encrypt, iv);
    const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return [keys.keyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The token inside a ciphertext, or `undefined` when no current secret opens it. */
  decrypt(sealed: string): string | undefined {
    const [keyId, iv, body, authTag] = sealed.split('.');
    const keys = this.keys.find((candidate) => candidate.keyId === keyId);
    if (!keys || iv === undefined || body === undefined || authTag === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', keys.encrypt, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(authTag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  private hashWith(keys: DerivedKeys, token: string): string {
    return createHmac('sha256', keys.hash).update(token).digest('base64url');
  }
}
