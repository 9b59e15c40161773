import type { Response } from 'express';

/** RFC 6749 §5.1: token-bearing answers MUST NOT be cached. */
export function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/**
 * A JSON answer that is never cached, written directly: no ETag (Express computes one for every
 * `res.json()`, and a `no-store` answer has no use for it) and no freshness check.
 */
export function sendNoStoreJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  noStore(res);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
