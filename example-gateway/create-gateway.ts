import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import { pino, type Logger } from 'pino';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { createTokenRouter, requireToken, StoreUnavailableError, type TokenStore } from '../lib';
import { configErrorFrom, type GatewayConfig } from './config';
import { requestLogger } from './logging';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The checked config file (see `readGatewayConfig()`). */
  readonly config: GatewayConfig;
  /** Where tokens live; the gateway never closes it. */
  readonly store: TokenStore;
  /** Counts failed password logins; @default the token router's in-process limiter */
  readonly loginLimiter?: RateLimiterAbstract | undefined;
  /** What `/healthz` reports as `store`. */
  readonly storeKind: 'redis' | 'memory';
  /** @default a silent logger */
  readonly logger?: Logger | undefined;
  /** Express' `trust proxy` setting (see `TRUST_PROXY`). @default false */
  readonly trustProxy?: boolean | number | string | undefined;
  /** True once shutdown has begun: `/healthz` then answers 503. */
  readonly isDraining?: (() => boolean) | undefined;
  /** The config file, named in config errors. */
  readonly configFile?: string | undefined;
}

/** Sample data for `GET /api/orders`. */
const SAMPLE_ORDERS = [
  { id: 'ord-1001', item: 'Espresso beans, 1 kg', quantity: 2, status: 'shipped' },
  { id: 'ord-1002', item: 'Milk frother', quantity: 1, status: 'processing' },
] as const;

/** `GET /api/orders` (needs `orders:read`): who called, from which device, and some orders. */
function listOrders(req: Request, res: Response): void {
  const oauth = req.oauth!;
  res.set('Cache-Control', 'no-store');
  res.json({
    user: oauth.username ?? null,
    client: oauth.clientId,
    scopes: oauth.scopes,
    device: oauth.device ?? null,
    orders: SAMPLE_ORDERS,
  });
}

function healthCheck(store: TokenStore, storeKind: GatewayOptions['storeKind'], isDraining: () => boolean): RequestHandler {
  return async function healthz(req, res) {
    res.set('Cache-Control', 'no-store');
    // A draining instance asks its load balancer to stop sending it traffic.
    if (isDraining()) {
      res.status(503).json({ status: 'shutting_down', store: storeKind });
      return;
    }
    try {
      await store.ping();
      res.json({ status: 'ok', store: storeKind });
    } catch (error) {
      req.log.debug({ err: { message: (error as Error).message } }, 'health check: the token store is unreachable');
      res.status(503).json({ status: 'unavailable', store: storeKind });
    }
  };
}

function notFound(_req: Request, res: Response): void {
  res.status(404).json({ error: 'not_found', error_description: 'no such endpoint' });
}

/** Anything unexpected: logged, answered without internals (Express' default would send a stack trace). */
const serverError: ErrorRequestHandler = (error, req, res, next) => {
  req.log.error({ err: error }, 'unexpected error');
  if (res.headersSent) {
    next(error);
    return;
  }
  res.set('Cache-Control', 'no-store');
  res.status(500).json({ error: 'server_error', error_description: 'internal server error' });
};

/**
 * The example gateway as an Express app, not listening: the token service at the root
 * (`/token`, `/revoke`, `/introspect`, `/.well-known/oauth-authorization-server`), the protected
 * sample API `GET /api/orders` and `GET /healthz`, with a JSON log line per request.
 *
 * @throws ConfigError naming the config field `createTokenRouter()` refused.
 * @example
 * const app = createGateway({ config: readGatewayConfig('config.json'), store, storeKind: 'memory' });
 * app.listen(8280);
 */
export function createGateway(options: GatewayOptions): Express {
  const { config, store, storeKind } = options;
  const logger = options.logger ?? pino({ level: 'silent' }, { write: () => undefined });
  const isDraining = options.isDraining ?? (() => false);
  const logFailure = (message: string) => (error: unknown) => {
    // An outage is already in each request's log line (503) and in the Redis connection log.
    if (error instanceof StoreUnavailableError) logger.debug({ err: { message: error.message } }, message);
    else logger.error({ err: error }, message);
  };

  let tokenRouter;
  try {
    tokenRouter = createTokenRouter({ ...config, store, loginLimiter: options.loginLimiter, onError: logFailure('token service error') });
  } catch (error) {
    throw configErrorFrom(error, options.configFile);
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(requestLogger(logger));
  app.get('/healthz', healthCheck(store, storeKind, isDraining));
  app.use(tokenRouter);
  app.get(
    '/api/orders',
    requireToken({ store, scopes: ['orders:read'], onError: logFailure('token lookup failed') }),
    listOrders,
  );
  app.use(notFound);
  app.use(serverError);
  return app;
}
