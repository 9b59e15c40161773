import * as crypto from 'node:crypto';

/**
 * Cheaper forms of calls every token request makes (each measured at several µs per call on the
 * token paths): random bytes and truncated SHA-256 as base64url, and SHA-1 as hex.
 */

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `bytes` random bytes as base64url, from `crypto.randomFillSync` (the CSPRNG `randomBytes`
 * uses), drawn from a pool filled 4 KiB at a time: one system call per ~60 tokens instead of one
 * per token. Every byte is handed out once; the pool is refilled in place when it runs out.
 */
export function randomBase64url(bytes: number): string {
  if (bytes > POOL_BYTES) return crypto.randomBytes(bytes).toString('base64url');
  if (used + bytes > pool.length) {
    if (pool.length === 0) pool = Buffer.allocUnsafeSlow(POOL_BYTES);
    crypto.randomFillSync(pool);
    used = 0;
  }
  const text = pool.toString('base64url', used, used + bytes);
  used += bytes;
  return text;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const INDEX = new Map([...ALPHABET].map((char, index) => [char, index]));

// `crypto.hash()` (Node ≥ 20.12) hashes in one call, several times faster for short inputs than
// `createHash().update().digest()`; older Node 20 releases get the latter.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** SHA-1 of `text` (UTF-8) as hex: the session ids' hashes, the same as Lua's `redis.sha1hex`. */
export function sha1Hex(text: string): string {
  return oneShot ? oneShot('sha1', text, 'hex') : crypto.createHash('sha1').update(text).digest('hex');
}

/** SHA-256 of `text` (UTF-8), as 32 bytes. */
export function sha256Digest(text: string): Buffer {
  return oneShot ? oneShot('sha256', text, 'buffer') : crypto.createHash('sha256').update(text).digest();
}

/** SHA-256 of `text` (UTF-8), all 32 bytes as base64url (43 characters). */
export function sha256Base64url(text: string): string {
  return oneShot ? oneShot('sha256', text, 'base64url') : crypto.createHash('sha256').update(text).digest('base64url');
}

/**
 * The first 16 bytes of SHA-256 of `text` as base64url (22 characters): exactly
 * `createHash('sha256').update(text).digest().subarray(0, 16).toString('base64url')`. The 22nd
 * character of the whole digest's encoding also carries 4 bits of byte 17; they are cleared.
 */
export function sha256Base64url16(text: string): string {
  const full = sha256Base64url(text);
  return full.slice(0, 21) + ALPHABET[INDEX.get(full[21]!)! & 0b110000]!;
}
