import { timingSafeEqual } from 'node:crypto';
import { sha256Digest } from './fast-crypto';

/**
 * Compares two secrets in time that depends on neither: both sides are hashed to the same
 * length first, so even a length mismatch takes as long as a match.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256Digest(given), sha256Digest(expected)) && given.length === expected.length;
}
