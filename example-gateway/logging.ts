import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { clientIp } from '../lib/params/client-ip';
import type { LogLevel } from './environment';
import type { LogFormat } from './log-format';
import { prettyLine } from './pretty-log';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id (`X-Request-Id`), set by {@link requestLogger}. */
    id?: string;
  }
}

/** Bytes buffered before a write to stdout (JSON logs): one write per ~20 request lines under load. */
const BUFFER_BYTES = 4096;
/** How long a log line may wait in the buffer when traffic is low. */
export const FLUSH_INTERVAL_MS = 200;

/** Where the log goes and how it is flushed: pino's own destination, or a pretty printer over it. */
interface FlushableStream extends DestinationStream {
  flushSync?(): void;
  flush?(callback?: (error?: Error) => void): void;
}

/**
 * A stream that turns pino's JSON lines into {@link prettyLine} text on `target` (a terminal).
 * Synchronous: a person at a terminal wants each line as it happens.
 */
function prettyStream(target: DestinationStream, colors: boolean): FlushableStream {
  return {
    write(line: string) {
      target.write(prettyLine(line, colors));
    },
    flushSync() {
      (target as FlushableStream).flushSync?.();
    },
  };
}

export interface LoggerOptions {
  /** `json` (one JSON object a line, for collectors) or `pretty` (for a person at a terminal). @default "json" */
  readonly format?: LogFormat | undefined;
  /** ANSI colours in `pretty` lines. @default false */
  readonly colors?: boolean | undefined;
}

/**
 * The gateway's logger (pino) on stdout. What a request log line holds is chosen field by field
 * ({@link requestLogger}), never dumped wholesale: no headers (Authorization carries client
 * secrets and bearer tokens), no bodies (passwords, refresh tokens, tokens to revoke), no query
 * values. `redact` is a second line of defence for code that logs a request object by hand.
 *
 * JSON logs on stdout are written through a 4 KiB buffer (one `write(2)` per ~15 lines instead
 * of one per line), flushed every {@link FLUSH_INTERVAL_MS} ms when traffic is low; call
 * {@link flushLogs} or {@link flushLogsSync} before the process exits, so the last lines are
 * never lost.
 *
 * @example
 * const logger = createLogger('info', undefined, { format: readLogFormat(process.env, process.stdout.isTTY) });
 * @param destination where lines go; @default stdout: buffered for `json`, synchronous for `pretty`
 */
export function createLogger(level: LogLevel, destination?: DestinationStream, options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  let stream: FlushableStream;
  if (destination) {
    stream = format === 'pretty' ? prettyStream(destination, options.colors ?? false) : destination;
  } else if (format === 'pretty') {
    stream = prettyStream(pino.destination({ dest: 1, sync: true }), options.colors ?? false);
  } else {
    // Buffered in memory and written with write(2) from the event loop (sync): measured on the
    // bench's gateway, sonic-boom's asynchronous mode (a thread-pool write per 4 KiB, its callback,
    // its string bookkeeping) costs ~5 µs of CPU per line against ~2 µs for this. A stdout that
    // cannot keep up then slows the gateway down instead of piling lines up in memory.
    const buffered = pino.destination({ dest: 1, sync: true, minLength: BUFFER_BYTES });
    // sonic-boom writes only once `minLength` bytes are waiting: a quiet gateway's lines are
    // pushed out by this timer instead. unref(): it never keeps the process alive.
    const state = buffered as unknown as { fd: number; destroyed: boolean };
    setInterval(() => {
      // Not yet open (the first tick of a very slow start) or already closed: nothing to flush.
      if (state.fd >= 0 && !state.destroyed) buffered.flush();
    }, FLUSH_INTERVAL_MS).unref();
    stream = buffered;
  }
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
    stream,
  );
}

function streamOf(logger: Logger): FlushableStream {
  const stream = (logger as unknown as Record<symbol, FlushableStream | undefined>)[pino.symbols.streamSym];
  if (!stream) throw new Error('a pino logger without a destination stream');
  return stream;
}

/**
 * Writes out every buffered line now, synchronously: for the paths that end in `process.exit()`
 * (a fatal error, a second Ctrl-C), where nothing asynchronous runs any more.
 */
export function flushLogsSync(logger: Logger): void {
  try {
    streamOf(logger)?.flushSync?.();
  } catch {
    // stdout already closed (the reader went away): there is nowhere left to write.
  }
}

/** Writes out every buffered line and resolves once they are written (graceful shutdown). */
export function flushLogs(logger: Logger, timeoutMs = 1000): Promise<void> {
  const stream = streamOf(logger);
  if (typeof stream?.flush !== 'function') {
    flushLogsSync(logger);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    // A stdout nobody reads any more must not hold the exit up: then flush what can be, synchronously.
    const timer = setTimeout(() => {
      flushLogsSync(logger);
      resolve();
    }, timeoutMs);
    try {
      stream.flush!(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      flushLogsSync(logger);
      resolve();
    }
  });
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

// A caller-supplied X-Request-Id is kept when it is a plain token, so logs of a load balancer
// and of the gateway can be joined; anything else gets a fresh id.
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Probes a load balancer or orchestrator sends every few seconds: a healthy answer is not news. */
const PROBES = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

function logLevelOf(path: string, status: number): Level {
  if (status === 503) return 'warn'; // the store is down: the outage is logged, not each victim as an error
  if (status >= 500) return 'error';
  if (status < 400 && PROBES.has(path)) return 'debug';
  return 'info';
}

/** pino's number for `info`. */
const INFO = pino.levels.values.info;

/** What a request's log line says (see {@link requestLogger}). */
export interface RequestLine {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly remoteAddress: string | undefined;
  readonly userAgent: string | undefined;
  readonly statusCode: number;
  readonly responseTime: number;
  readonly oauth: { readonly clientId: string; readonly username: string | undefined; readonly device: string | undefined } | undefined;
  readonly aborted: boolean;
}

/** The line's fields as pino logs them: `req`, `res`, `responseTime`, then `oauth` and `aborted` when there are. */
export function requestLineFields(line: RequestLine): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    req: { id: line.id, method: line.method, url: line.url, remoteAddress: line.remoteAddress, userAgent: line.userAgent },
    res: { statusCode: line.statusCode },
    responseTime: line.responseTime,
  };
  if (line.oauth) fields.oauth = line.oauth;
  if (line.aborted) fields.aborted = true;
  return fields;
}

const json = JSON.stringify;
/** `,"name":<value>`, or nothing for `undefined` (as JSON.stringify leaves such a key out). */
const field = (name: string, value: string | undefined) => (value === undefined ? '' : `,"${name}":${json(value)}`);

/**
 * The everyday (info) request line, exactly as pino would write it: the same text as
 * `JSON.stringify({ level, time, service, ...requestLineFields(line), msg })` (a test holds the
 * two equal), built without the intermediate objects: on the gateway's busiest paths the request
 * line is its largest cost of its own.
 */
export function infoLineJson(time: string, service: string | undefined, line: RequestLine, msg: string): string {
  const oauth = line.oauth;
  return (
    `{"level":${INFO},"time":${json(time)}${field('service', service)},"req":{"id":${json(line.id)},"method":${json(line.method)}` +
    `,"url":${json(line.url)}${field('remoteAddress', line.remoteAddress)}${field('userAgent', line.userAgent)}}` +
    `,"res":{"statusCode":${line.statusCode}},"responseTime":${line.responseTime}` +
    (oauth ? `,"oauth":{"clientId":${json(oauth.clientId)}${field('username', oauth.username)}${field('device', oauth.device)}}` : '') +
    `${line.aborted ? ',"aborted":true' : ''},"msg":${json(msg)}}\n`
  );
}

/** Called once per request when its answer is finished (or the connection went away). */
export type RequestObserver = (req: Request, res: ServerResponse, seconds: number) => void;

/**
 * One log line per request: method, path, status, time, request id and the calling
 * client/user/device, as `requireToken()` found them (never the token itself). Each observer
 * (metrics) is called from the same `close` listener with the same measured duration, so a
 * request costs one listener and one clock read, whatever watches it.
 *
 * Written by hand rather than with pino-http: one `logger[level]()` call at the end of each
 * request, no child logger per request, nothing serialised twice.
 */
export function requestLogger(logger: Logger, observers: readonly RequestObserver[] = []): RequestHandler {
  // The everyday line (level info) is written straight to the logger's destination as one
  // JSON.stringify of the very object pino would write (same fields, same order), which costs a
  // fraction of pino's general path (its serialisers, redaction and key-by-key assembly); the
  // rarer warn, error and debug lines go through pino.
  const stream = streamOf(logger);
  const bindings = logger.bindings() as { service?: string };
  return function logRequest(req, res, next) {
    const started = performance.now();
    req.id = requestId(req, res);
    res.on('close', () => {
      const milliseconds = performance.now() - started;
      const status = res.statusCode;
      const url = req.originalUrl;
      const at = url.indexOf('?');
      const path = at === -1 ? url : url.slice(0, at);
      const level: LevelWithSilent = logLevelOf(path, status);
      if (logger.isLevelEnabled(level)) {
        const oauth = req.oauth;
        const line: RequestLine = {
          id: req.id!,
          method: req.method,
          url: at === -1 ? url : maskQuery(url),
          // Honours `trust proxy`, as `req.ip` does.
          remoteAddress: clientIp(req),
          userAgent: req.headers['user-agent'],
          statusCode: status,
          responseTime: Math.round(milliseconds),
          oauth: oauth && { clientId: oauth.clientId, username: oauth.username, device: oauth.device },
          // The client hung up before the answer was sent (`close` without `finish`).
          aborted: !res.writableFinished,
        };
        const msg = status >= 500 ? `request failed with status ${status}` : res.writableFinished ? 'request completed' : 'request aborted';
        if (level === 'info') stream.write(infoLineJson(new Date().toISOString(), bindings.service, line, msg));
        else logger[level](requestLineFields(line), msg);
      }
      for (const observe of observers) observe(req, res, milliseconds / 1000);
    });
    next();
  };
}

export type { Level, Logger };
