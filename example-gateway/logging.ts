import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { LogLevel } from './environment';

/**
 * Structured JSON logs (pino) on stdout. What a request log line holds is chosen field by field
 * below, never dumped wholesale: no headers (Authorization carries client secrets and bearer
 * tokens), no bodies (they carry passwords, refresh tokens and tokens to revoke), no query
 * values. `redact` is a second line of defence for code that logs a request object by hand.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'example-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.body', 'headers.authorization', 'body', 'password', 'clientSecret'],
        censor: '[redacted]',
      },
    },
    // Synchronous writes: the last lines before an exit (shutdown, a fatal error) are never lost.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The URL with every query value masked: `/api/orders?access_token=[redacted]`. */
export function maskQuery(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return url;
  const names = url
    .slice(at + 1)
    .split('&')
    .map((pair) => `${pair.split('=')[0]}=[redacted]`);
  return `${url.slice(0, at)}?${names.join('&')}`;
}

function serializeRequest(req: IncomingMessage & { originalUrl?: string; ip?: string }) {
  return {
    id: req.id,
    method: req.method,
    url: maskQuery(req.originalUrl ?? req.url ?? ''),
    // `req.ip` honours `trust proxy`; the socket address otherwise.
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    userAgent: req.headers['user-agent'],
  };
}

function serializeResponse(res: ServerResponse) {
  return { statusCode: res.statusCode };
}

// A caller-supplied X-Request-Id is kept when it is a plain token, so logs of a load balancer
// and of the gateway can be joined; anything else gets a fresh id.
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

function logLevelOf(req: IncomingMessage, res: ServerResponse, error?: Error): LevelWithSilent {
  if (res.statusCode === 503) return 'warn'; // the store is down: the outage is logged, not each victim as an error
  if (error || res.statusCode >= 500) return 'error';
  // Load balancers probe every few seconds; a healthy answer is not news.
  if (req.url === '/healthz' && res.statusCode === 200) return 'debug';
  return 'info';
}

/** Who called, as `requireToken()` found it: never the token itself. */
function caller(req: IncomingMessage): object {
  const oauth = (req as Request).oauth;
  return oauth ? { oauth: { clientId: oauth.clientId, username: oauth.username, device: oauth.device } } : {};
}

/**
 * pino-http invents an error ("failed with status code 503") for a 5xx answered without one;
 * its stack would only point into pino-http, so it is left out. Real errors are kept.
 */
function errorObject(_req: IncomingMessage, res: ServerResponse, error: Error, value: Record<string, unknown>): object {
  if (error.message !== `failed with status code ${res.statusCode}`) return value;
  const { err: _invented, ...rest } = value;
  return rest;
}

/** One log line per request: method, path, status, time, request id and the calling client/user/device. */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    wrapSerializers: false,
    serializers: { req: serializeRequest, res: serializeResponse, err: pino.stdSerializers.err },
    genReqId: requestId,
    customLogLevel: logLevelOf,
    customProps: caller,
    customErrorObject: errorObject,
    customErrorMessage: (_req, res) => `request failed with status ${res.statusCode}`,
  }) as unknown as RequestHandler;
}

export type { Level, Logger };
