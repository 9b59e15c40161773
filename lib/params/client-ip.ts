import type { Request } from 'express';

/**
 * The caller's IP address, as Express' `req.ip` gives it (it honours `trust proxy`). With
 * `trust proxy` off, Express' default, `req.ip` is the socket's address, yet parses
 * `X-Forwarded-For` to find that out on every call; this answers the socket's address at once.
 */
export function clientIp(req: Request): string | undefined {
  return req.app.get('trust proxy') ? req.ip : req.socket.remoteAddress;
}
