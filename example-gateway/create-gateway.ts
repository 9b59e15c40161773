import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import { pino, type Logger } from 'pino';
import { createTokenRouter, requireToken, StoreUnavailableError, type AuditEvent, type TokenStore } from '../lib';
import { configErrorFrom, type GatewayConfig } from './config';
import { requestLogger } from './logging';
import { createMetrics, type GatewayMetrics, type StoreErrorSource } from './metrics';
import { onGet, routePath, serveInOrder } from './serve-in-order';

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The checked config file (see `readGatewayConfig()`). */
  readonly config: GatewayConfig;
  /** Where tokens live; the gateway never closes it. */
  readonly store: TokenStore;
  /** What `/healthz` reports as `store`. */
  readonly storeKind: 'redis' | 'memory';
  /** @default a silent logger */
  readonly logger?: Logger | undefined;
  /** Express' `trust proxy` setting (see `TRUST_PROXY`). @default false */
  readonly trustProxy?: boolean | number | string | undefined;
  /** Where `/metrics` counts; `false`: no `/metrics` and no counting at all; @default new metrics for this gateway (`createMetrics()`) */
  readonly metrics?: GatewayMetrics | false | undefined;
  /** True once shutdown has begun: `/healthz` and `/readyz` then answer 503. */
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

function healthCheck(
  store: TokenStore,
  storeKind: GatewayOptions['storeKind'],
  isDraining: () => boolean,
  logger: Logger,
  metrics: GatewayMetrics,
): RequestHandler {
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
      metrics.countStoreError('readiness');
      logger.debug({ reqId: req.id, err: { message: (error as Error).message } }, 'health check: the token store is unreachable');
      res.status(503).json({ status: 'unavailable', store: storeKind });
    }
  };
}

/** `GET /livez`: the process is up and serving HTTP (a restart would not help otherwise). Never asks the store. */
function liveness(_req: Request, res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.json({ status: 'ok' });
}

function notFound(_req: Request, res: Response): void {
  res.status(404).json({ error: 'not_found', error_description: 'no such endpoint' });
}

/** Anything unexpected: logged, answered without internals (Express' default would send a stack trace). */
function serverError(logger: Logger): ErrorRequestHandler {
  return function unexpectedError(error, req, res, next) {
    logger.error({ reqId: req.id, err: error }, 'unexpected error');
    if (res.headersSent) {
      next(error);
      return;
    }
    res.set('Cache-Control', 'no-store');
    res.status(500).json({ error: 'server_error', error_description: 'internal server error' });
  };
}

/**
 * What an operator alerts on is logged at `warn` (a replayed refresh token, a throttled caller,
 * failed client or user authentication, the device limit at work); the everyday events (issued,
 * reused, refreshed, revoked, session ended) at `debug`, so the default `info` level costs nothing
 * for them: the request line already says what happened. Never a token, secret or password: an
 * event holds none.
 */
const ALERTING: ReadonlySet<AuditEvent['type']> = new Set([
  'refresh_replayed',
  'throttled',
  'client_auth_failed',
  'user_auth_failed',
  'device_limit',
]);

function auditLog(logger: Logger, event: AuditEvent): void {
  const level = ALERTING.has(event.type) ? 'warn' : 'debug';
  if (!logger.isLevelEnabled(level)) return;
  const { type, time, ...who } = event;
  logger[level]({ audit: { type, ...who, time: new Date(time).toISOString() } }, `audit: ${type}`);
}

/**
 * The example gateway as an Express app, not listening: the token service at the root
 * (`/token`, `/revoke`, `/introspect`, `/devices`, `/.well-known/oauth-authorization-server`),
 * the protected sample API `GET /api/orders`, the probes `GET /healthz`, `/livez` and `/readyz`,
 * and `GET /metrics` (Prometheus), with a log line per request.
 *
 * @throws ConfigError naming the config field `createTokenRouter()` refused.
 * @example
 * const app = createGateway({ config: readGatewayConfig('config.json'), store, storeKind: 'memory' });
 * app.listen(8280);
 */
export function createGateway(options: GatewayOptions): Express {
  const { config, store, storeKind } = options;
  const logger = options.logger ?? pino({ level: 'silent' }, { write: () => undefined });
  const counting = options.metrics !== false;
  // Off: a registry nobody reads still takes the (cheap) counts of errors and events.
  const metrics = options.metrics === false ? createMetrics({ processMetrics: false }) : (options.metrics ?? createMetrics());
  const isDraining = options.isDraining ?? (() => false);
  const logFailure = (message: string, source: StoreErrorSource) => (error: unknown) => {
    // An outage is already in each request's log line (503) and in the Redis connection log.
    if (error instanceof StoreUnavailableError) {
      metrics.countStoreError(source);
      logger.debug({ err: { message: error.message } }, message);
    } else logger.error({ err: error }, message);
  };

  let tokenRouter;
  try {
    tokenRouter = createTokenRouter({
      ...config,
      store,
      onError: logFailure('token service error', 'token_router'),
      onEvent: (event) => {
        // Only the type is counted: an event's user, client, device and IP never become labels.
        metrics.countAuditEvent(event.type);
        auditLog(logger, event);
      },
    });
  } catch (error) {
    throw configErrorFrom(error, options.configFile);
  }

  const app = express();
  app.disable('x-powered-by');
  // No ETags: every answer here but the metadata document is `no-store` (an ETag is a SHA-1 of
  // each body for nothing), and the metadata document is cached by max-age.
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy ?? false);
  // The RFC error code of each error answer, for the metrics' `outcome` label: set once on this
  // app's response prototype (every router mounted here answers through it), not per request.
  if (counting) app.response.json = metrics.captureErrorCode(app.response.json) as typeof app.response.json;
  const readiness = healthCheck(store, storeKind, isDraining, logger, metrics);
  // /healthz is kept as it always was (load balancers are configured with it); /readyz is the
  // same check under the name orchestrators use. The probes are one step, looked up by path, so
  // the requests that matter pass them with one Map lookup instead of four path matches.
  const probes = new Map<string, RequestHandler>([
    ['/healthz', readiness],
    ['/readyz', readiness],
    ['/livez', liveness],
  ]);
  if (counting) probes.set('/metrics', metrics.handler);
  const probe: RequestHandler = function probe(req, res, next) {
    const probeHandler = req.method === 'GET' || req.method === 'HEAD' ? probes.get(routePath(req.path)) : undefined;
    if (probeHandler === undefined) next();
    else void probeHandler(req, res, next);
  };
  // Every request passes the same steps in this order (each looks at the path itself), so they
  // run without Express' router: see serveInOrder().
  serveInOrder(
    app,
    [
      requestLogger(logger, counting ? [metrics.observeRequest] : []),
      probe,
      tokenRouter,
      onGet(
        '/api/orders',
        requireToken({ store, scopes: ['orders:read'], onError: logFailure('token lookup failed', 'require_token') }),
        listOrders,
      ),
      notFound,
    ],
    serverError(logger),
  );
  return app;
}
