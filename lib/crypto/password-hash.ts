import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes in a self-describing format: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.
 * The parameters travel with the hash, so they can be raised later without breaking old ones.
 */

const DEFAULTS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, length, { ...options, maxmem: 256 * options.N! * options.r! }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * Hashes a password for a user record's `passwordHash`.
 * @example
 * const passwordHash = await hashPassword('correct horse battery staple');
 */
export async function hashPassword(password: string, params: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  const { N, r, p } = { ...DEFAULTS, ...params };
  const salt = randomBytes(SALT_LENGTH);
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r, p });
  return format(N, r, p, salt, key);
}

function format(N: number, r: number, p: number, salt: Buffer, key: Buffer): string {
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * A hash in {@link hashPassword}'s format and default parameters that no password matches: its
 * salt and key are random bytes, not the output of scrypt (a match would need a 256-bit
 * preimage). Verifying any password against it costs exactly what verifying against a real
 * default hash costs, so an unknown user takes as long to refuse as a known one. Cheap to make
 * (no scrypt run), so a directory can make a fresh one at load instead of shipping a constant.
 */
export function unmatchablePasswordHash(): string {
  return format(DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, randomBytes(SALT_LENGTH), randomBytes(KEY_LENGTH));
}

/** Whether `passwordHash` has the format {@link hashPassword} writes. */
export function isPasswordHash(passwordHash: unknown): passwordHash is string {
  if (typeof passwordHash !== 'string') return false;
  const match = FORMAT.exec(passwordHash);
  if (!match) return false;
  const N = Number(match[1]);
  // N must be a power of two above 1 (scrypt's own rule).
  return N > 1 && (N & (N - 1)) === 0 && Number(match[2]) > 0 && Number(match[3]) > 0;
}

/** Checks a password against a hash from {@link hashPassword}, in constant time. */
export async function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  const match = FORMAT.exec(passwordHash);
  if (!match) return false;
  const expected = Buffer.from(match[5]!, 'base64url');
  const key = await scrypt(password, Buffer.from(match[4]!, 'base64url'), expected.length, {
    N: Number(match[1]),
    r: Number(match[2]),
    p: Number(match[3]),
  });
  return timingSafeEqual(key, expected);
}
