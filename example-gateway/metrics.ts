import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Registry, type Metric } from 'prom-client';
import type { AuditEventType } from '../lib';
import type { RequestObserver } from './logging';

/**
 * Prometheus metrics of the example gateway (`GET /metrics`, prom-client).
 *
 * Every label value comes from a fixed list, so the number of series is bounded whatever
 * clients send: endpoints not in {@link ENDPOINTS} count as `other`, unknown grant types and
 * error codes as `other`. No label ever holds a user name, a client id or secret, a token or
 * anything else a request carries.
 */

/** The endpoints counted by name (Express paths); everything else is `other`. */
export const ENDPOINTS = [
  '/token',
  '/revoke',
  '/introspect',
  '/devices',
  '/devices/:id',
  '/.well-known/oauth-authorization-server',
  '/api/orders',
  '/healthz',
  '/livez',
  '/readyz',
  '/metrics',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number] | 'other';

export const GRANT_TYPES = ['password', 'client_credentials', 'refresh_token'] as const;
const METHODS = new Set(['GET', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PUT', 'PATCH']);

/** RFC 6749 §5.2, RFC 6750 §3.1 and RFC 7009 error codes, plus the gateway's own `not_found`. */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_token_type',
  'invalid_scope',
  'invalid_token',
  'insufficient_scope',
  'access_denied',
  'temporarily_unavailable',
  'server_error',
  'not_found',
] as const;

/**
 * The audit event types of the token router (`AuditEventType`, `onEvent`) counted by name; any
 * other type is counted as `other`. `countAuditEvent()` accepts them in snake_case, camelCase or
 * kebab-case.
 */
export const AUDIT_EVENT_TYPES = [
  'issued',
  'reused',
  'refreshed',
  'refresh_replayed',
  'revoked',
  'session_ended',
  'device_limit',
  'client_auth_failed',
  'user_auth_failed',
  'throttled',
] as const satisfies readonly AuditEventType[];

// Fails to compile when the router gains an event type this list does not name.
const everyAuditEventType: Exclude<AuditEventType, (typeof AUDIT_EVENT_TYPES)[number]> extends never ? true : never = true;
void everyAuditEventType;

/** Where a store error was seen. */
export type StoreErrorSource = 'token_router' | 'require_token' | 'readiness';

const KNOWN_ENDPOINTS = new Set<string>(ENDPOINTS);
const KNOWN_GRANTS = new Set<string>(GRANT_TYPES);
const KNOWN_ERRORS = new Set<string>(ERROR_CODES);
const KNOWN_AUDIT_EVENTS = new Set<string>(AUDIT_EVENT_TYPES);

/** The endpoint label of a request path (no query): a name from {@link ENDPOINTS} or `other`. */
export function endpointOf(path: string): Endpoint {
  if (KNOWN_ENDPOINTS.has(path)) return path as Endpoint;
  // DELETE /devices/{id}: one label for every id (ids are opaque and unbounded).
  if (path.startsWith('/devices/') && path.length > 9 && path.indexOf('/', 9) === -1) return '/devices/:id';
  return 'other';
}

/** The audit label of an event type: snake_case, in {@link AUDIT_EVENT_TYPES}, or `other`. */
export function auditEventLabel(type: string): string {
  const snake = String(type)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]+/g, '_')
    .toLowerCase();
  return KNOWN_AUDIT_EVENTS.has(snake) ? snake : 'other';
}

// The error code the answer carried, seen as it was sent (see `captureErrorCode`).
const errorCode = Symbol('oauthErrorCode');
type Answer = ServerResponse & { [errorCode]?: string };

/** Latency buckets (seconds): a memory-store answer takes ~1 ms, a Redis one a few, a timeout ~1 s. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Record<string, string>;
/** One sample as prom-client's registry prints it. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}
/** What prom-client's registry reads from a metric (`get()`). */
interface Exported {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly Sample[];
}

/**
 * A metric whose series are made once per label combination and then updated with plain
 * arithmetic: prom-client's own `Counter`/`Histogram` hash the label object on every `inc()`
 * and `observe()` (even through `labels()`), which on the request path costs more than the
 * rest of the metrics together. Registered through prom-client's metric interface (`get()`),
 * so the exposition format, content type and default metrics stay prom-client's.
 */
abstract class PrelabelledMetric<S> {
  readonly aggregator = 'sum' as const;
  protected readonly series: { labels: Labels; state: S }[] = [];
  abstract readonly type: 'counter' | 'histogram';

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** The state of one series (created on first use; the caller caches it). */
  add(labels: Labels, state: S): S {
    this.series.push({ labels, state });
    return state;
  }

  abstract get(): Promise<Exported>;
}

class RequestCounter extends PrelabelledMetric<{ value: number }> {
  readonly type = 'counter';

  async get(): Promise<Exported> {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      aggregator: this.aggregator,
      values: this.series.map(({ labels, state }) => ({ labels, value: state.value })),
    };
  }
}

/** One histogram series: a count per bucket (not cumulative), the sum and the count. */
interface HistogramState {
  readonly buckets: number[];
  sum: number;
  count: number;
}

class LatencyHistogram extends PrelabelledMetric<HistogramState> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
  ) {
    super(name, help);
  }

  state(): HistogramState {
    return { buckets: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 };
  }

  observe(state: HistogramState, seconds: number): void {
    const bounds = this.bounds;
    const buckets = state.buckets;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        buckets[i]!++;
        break;
      }
    }
    state.sum += seconds;
    state.count++;
  }

  async get(): Promise<Exported> {
    const values: Sample[] = [];
    for (const { labels, state } of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += state.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: state.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: state.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: state.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: this.aggregator, values };
  }
}

/** The gateway's metrics: one registry per gateway, so two gateways in one process never mix counts. */
export interface GatewayMetrics {
  /** The prom-client registry: the gateway's own metrics and the default Node.js process metrics. */
  readonly registry: Registry;
  /** Counts one request and its latency; call once per finished request (`requestLogger` does). */
  readonly observeRequest: RequestObserver;
  /** Counts a store failure (Redis down, slow, read-only …) seen at `source`. */
  countStoreError(source: StoreErrorSource): void;
  /**
   * Counts an audit event of the token router (`onEvent`): `gateway_audit_events_total{type}`.
   * Only the event's type is used, never its user, client, device or address.
   * @example
   * createTokenRouter({ …, onEvent: (event) => metrics.countAuditEvent(event.type) });
   */
  countAuditEvent(type: string): void;
  /** `GET /metrics`: the Prometheus text exposition format. */
  readonly handler: RequestHandler;
  /**
   * Express' `res.json`, wrapped so an error answer's RFC `error` code is kept for the
   * `outcome` label; installed once on the app's response prototype, not per request.
   */
  captureErrorCode(json: (this: ServerResponse, body: unknown) => unknown): (this: ServerResponse, body: unknown) => unknown;
}

export interface MetricsOptions {
  /** Also collect prom-client's default process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly processMetrics?: boolean | undefined;
}

/**
 * Creates the gateway's metrics:
 * - `gateway_http_requests_total{endpoint, method, grant_type, status, outcome}`
 * - `gateway_http_request_duration_seconds{endpoint, grant_type}` (histogram)
 * - `gateway_throttled_total{endpoint}` (429 answers)
 * - `gateway_store_errors_total{source}`
 * - `gateway_audit_events_total{type}`
 * - prom-client's default `process_*` and `nodejs_*` metrics.
 *
 * @example
 * const metrics = createMetrics();
 * app.use(requestLogger(logger, [metrics.observeRequest]));
 * app.get('/metrics', metrics.handler);
 */
export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const requests = new RequestCounter(
    'gateway_http_requests_total',
    'HTTP requests answered, by endpoint, method, grant type (POST /token), status code and outcome (success or the RFC error code)',
  );
  const duration = new LatencyHistogram(
    'gateway_http_request_duration_seconds',
    'Time from the request to the end of its answer, by endpoint and grant type (POST /token)',
    BUCKETS,
  );
  registry.registerMetric(requests as unknown as Metric);
  registry.registerMetric(duration as unknown as Metric);
  const throttled = new Counter({
    name: 'gateway_throttled_total',
    help: 'Requests answered 429 (failed logins or failed client authentications over their limit), by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'gateway_store_errors_total',
    help: 'Token store failures (unreachable, slow, read-only), by where they were seen',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const auditEvents = new Counter({
    name: 'gateway_audit_events_total',
    help: 'Audit events of the token service, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });

  const auditCounters = new Map<string, { inc(): void }>();

  // The series of a label combination, made on its first request: a request then costs a
  // string key, a Map lookup and a few additions.
  type Series = { readonly count: { value: number }; readonly latency: HistogramState; readonly throttled?: { inc(): void } };
  const series = new Map<string, Series>();
  const latencies = new Map<string, HistogramState>();

  function observeRequest(req: Request, res: ServerResponse, seconds: number): void {
    const url = req.originalUrl;
    const at = url.indexOf('?');
    const endpoint = endpointOf(at === -1 ? url : url.slice(0, at));
    const method = METHODS.has(req.method) ? req.method : 'other';
    let grant = 'none';
    if (endpoint === '/token') {
      const given = (req.body as Record<string, unknown> | undefined)?.grant_type;
      grant = typeof given === 'string' && KNOWN_GRANTS.has(given) ? given : 'other';
    }
    const status = res.statusCode;
    const code = (res as Answer)[errorCode];
    const outcome = status < 400 ? 'success' : code !== undefined && KNOWN_ERRORS.has(code) ? code : code === undefined ? 'error' : 'other';
    // Status codes are three digits: at most 500 values, in practice a dozen.
    const statusLabel = status >= 100 && status <= 599 ? String(status) : 'other';
    const key = `${endpoint} ${method} ${grant} ${statusLabel} ${outcome}`;
    let found = series.get(key);
    if (found === undefined) {
      const latencyKey = `${endpoint} ${grant}`;
      let latency = latencies.get(latencyKey);
      if (latency === undefined) {
        latency = duration.add({ endpoint, grant_type: grant }, duration.state());
        latencies.set(latencyKey, latency);
      }
      found = {
        count: requests.add({ endpoint, method, grant_type: grant, status: statusLabel, outcome }, { value: 0 }),
        latency,
        ...(status === 429 ? { throttled: throttled.labels(endpoint) } : {}),
      };
      series.set(key, found);
    }
    found.count.value++;
    duration.observe(found.latency, seconds);
    found.throttled?.inc();
  }

  return {
    registry,
    observeRequest,
    countStoreError(source) {
      storeErrors.labels(source).inc();
    },
    countAuditEvent(type) {
      // One child per label (a bounded set), made on first use: `labels()` validates and copies
      // its arguments each time. The router's own types are labels already.
      const label = KNOWN_AUDIT_EVENTS.has(type) ? type : auditEventLabel(type);
      let counter = auditCounters.get(label);
      if (counter === undefined) {
        counter = auditEvents.labels(label);
        auditCounters.set(label, counter);
      }
      counter.inc();
    },
    handler: async function metricsEndpoint(_req, res) {
      const text = await registry.metrics();
      res.set('Content-Type', registry.contentType);
      res.set('Cache-Control', 'no-store');
      res.send(text);
    },
    captureErrorCode(json) {
      return function jsonWithErrorCode(this: ServerResponse, body: unknown) {
        if (this.statusCode >= 400 && body !== null && typeof body === 'object') {
          const code = (body as { error?: unknown }).error;
          if (typeof code === 'string') (this as Answer)[errorCode] = code;
        }
        return json.call(this, body);
      };
    },
  };
}
