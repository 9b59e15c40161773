import type { Response } from 'express';

/** RFC 6749 §5.1: token-bearing answers MUST NOT be cached. */
export function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.set('Pragma', 'no-cache');
}
