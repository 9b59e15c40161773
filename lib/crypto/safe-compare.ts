import { timingSafeEqual } from 'node:crypto';
import { sha256Digest } from './fast-crypto';

/**
 * Compares two secrets in time that depends on neither: both sides are hashed to the same
 * length first, so even a length mismatch takes as long as a match.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256Digest(given), sha256Digest(expected)) && given.length === expected.length;
}

/**
 * Compares two ASCII values of a fixed, public length (base64url token hashes) in time that does
 * not depend on where they differ; no hashing first, as their lengths tell nothing.
 */
export function equalFixedLength(a: string, b: string): boolean {
  const left = Buffer.from(a, 'latin1');
  const right = Buffer.from(b, 'latin1');
  return left.length === right.length && timingSafeEqual(left, right);
}
