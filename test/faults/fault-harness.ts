import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis, { Cluster } from 'ioredis';
import { RedisTokenStore } from '../../lib';
import { ANDROID_APP, basic, buildApp, IOS_APP, SECRET, SERVICE } from '../http/harness';
import type { RedisNodeAddress } from '../support/redis-servers';

// The fault matrix (issue 10, item 5): the real HTTP surface (token router with device endpoints
// + requireToken, as test/http/harness.ts builds it) on a RedisTokenStore whose ioredis client is
// configured as example-gateway/store.ts configures it, against private servers each test file
// starts and breaks itself.

export const OPERATION_TIMEOUT = 500;
/** What "within about a second" means here. */
export const ANSWER_WITHIN_MS = 1_500;
/** Service must be back this long after Redis is. */
export const RECOVERY_WITHIN_MS = 5_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// As example-gateway/store.ts: no offline queue, one retry, short connect timeout, reconnect backoff.
const reconnectDelay = (attempt: number) => Math.min(50 + attempt * 100, 500);
const clientOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 500,
  retryStrategy: reconnectDelay,
  disconnectTimeout: 100,
};

export function singleClient(url: string): Redis {
  const redis = new Redis(url, clientOptions);
  redis.on('error', () => undefined); // outages are the point of these tests
  return redis;
}

export function sentinelClient(sentinels: RedisNodeAddress[], name: string): Redis {
  const redis = new Redis({ ...clientOptions, sentinels, name, sentinelRetryStrategy: reconnectDelay });
  redis.on('error', () => undefined);
  return redis;
}

export function clusterClient(nodes: RedisNodeAddress[]): Cluster {
  const cluster = new Cluster(nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: 500,
    redisOptions: { ...clientOptions },
  });
  cluster.on('error', () => undefined);
  return cluster;
}

export async function ready(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Redis client not ready within 10 s')), 10_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface Gateway {
  base: string;
  close(): Promise<void>;
}

/** The app on 127.0.0.1, a free port, over `redis`. */
export async function startGateway(redis: Redis | Cluster, keyPrefix: string): Promise<Gateway> {
  const store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix, operationTimeout: OPERATION_TIMEOUT });
  const app = buildApp(store, { deviceEndpoints: true });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Answer {
  status: number;
  body: any;
  ms: number;
}

export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  // 10 s: far above every bound asserted, so a hang shows as a slow answer, not a test timeout
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. 204)
  }
  return { status: res.status, body, ms: performance.now() - started };
}

const IOS = basic(IOS_APP.clientId, IOS_APP.clientSecret);
const ANDROID = basic(ANDROID_APP.clientId, ANDROID_APP.clientSecret);
const SERVICE_AUTH = basic(SERVICE.clientId, SERVICE.clientSecret);

function post(base: string, path: string, auth: string, params: Record<string, string>): Promise<Answer> {
  return request(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

export const password = (base: string, device: string, username = 'alice', pass = 'wonderland') =>
  post(base, '/token', IOS, { grant_type: 'password', username, password: pass, scope: `${device} orders:read` });
export const refresh = (base: string, refreshToken: string) =>
  post(base, '/token', IOS, { grant_type: 'refresh_token', refresh_token: refreshToken });
export const clientCredentials = (base: string) =>
  post(base, '/token', SERVICE_AUTH, { grant_type: 'client_credentials', scope: 'orders:read' });
export const revoke = (base: string, token: string) => post(base, '/revoke', IOS, { token });
export const introspect = (base: string, token: string) => post(base, '/introspect', IOS, { token });
export const orders = (base: string, token: string) => request(`${base}/api/orders`, { headers: { authorization: `Bearer ${token}` } });
export const devices = (base: string, token: string) => request(`${base}/devices`, { headers: { authorization: `Bearer ${token}` } });
/** A wrong client secret: the client-authentication throttle must not fail open or 500 either. */
export const badClient = (base: string) => post(base, '/token', ANDROID.replace(/.$/, 'x'), { grant_type: 'client_credentials' });

export interface Tokens {
  access: string;
  refresh: string;
}

export async function issue(base: string, device: string): Promise<Tokens> {
  const res = await password(base, device);
  expect(res.status).toBe(200);
  return { access: res.body.access_token, refresh: res.body.refresh_token };
}

/**
 * What a fault test holds before it breaks Redis: a live device (`live`), a device revoked with a
 * 200 (`revoked`), which must stay dead whatever happens next.
 */
export interface Prepared {
  live: Tokens;
  revoked: Tokens;
  /** The device the fault's `/revoke` probe revokes. */
  victim: Tokens;
  /** The device the fault's refresh probe refreshes. */
  refresher: Tokens;
}

export async function prepare(base: string, tag: string): Promise<Prepared> {
  const live = await issue(base, `device_${tag}live`);
  const revoked = await issue(base, `device_${tag}gone`);
  const victim = await issue(base, `device_${tag}victim`);
  const refresher = await issue(base, `device_${tag}refresher`);
  expect((await revoke(base, revoked.access)).status).toBe(200);
  expect((await orders(base, revoked.access)).status).toBe(401);
  expect((await orders(base, live.access)).status).toBe(200);
  return { live, revoked, victim, refresher };
}

export type Probe = readonly [name: string, send: () => Promise<Answer>];

/** Every endpoint, each with a request that needs Redis. */
export function everyEndpoint(base: string, prepared: Prepared, tag: string): Probe[] {
  const tokens = prepared.live;
  return [
    ['POST /token password (new device)', () => password(base, `device_${tag}new${Date.now()}`)],
    ['POST /token password (reuse)', () => password(base, `device_${tag}live`)],
    ['POST /token refresh_token', () => refresh(base, prepared.refresher.refresh)],
    ['POST /token client_credentials', () => clientCredentials(base)],
    ['POST /token wrong client secret', () => badClient(base)],
    ['POST /token wrong password', () => password(base, `device_${tag}live`, 'alice', 'not-her-password')],
    ['POST /revoke', () => revoke(base, prepared.victim.access)],
    ['POST /introspect', () => introspect(base, tokens.access)],
    ['GET /api/orders (valid token)', () => orders(base, tokens.access)],
    ['GET /devices', () => devices(base, tokens.access)],
  ];
}

/**
 * Sends every probe at once and asserts each answers 503 `temporarily_unavailable` within
 * {@link ANSWER_WITHIN_MS}. `mayAnswer` lists probes that may instead give their normal answer
 * (reads a read-only or full Redis can still serve); each such answer must still be correct.
 */
/** The slowest answer {@link expectUnavailable} saw in this test file. */
export const slowest = { ms: 0 };

export async function expectUnavailable(probes: Probe[], mayAnswer: Record<string, number> = {}): Promise<Record<string, number>> {
  const answers = await Promise.all(probes.map(async ([name, send]) => [name, await send()] as const));
  const seen: Record<string, number> = {};
  const wrong: string[] = [];
  for (const [name, answer] of answers) {
    seen[name] = answer.status;
    slowest.ms = Math.max(slowest.ms, answer.ms);
    const fine =
      (answer.status === 503 && answer.body?.error === 'temporarily_unavailable') ||
      (mayAnswer[name] !== undefined && answer.status === mayAnswer[name]);
    if (!fine || answer.ms > ANSWER_WITHIN_MS) {
      wrong.push(`${name}: ${answer.status} ${JSON.stringify(answer.body?.error ?? '')} in ${Math.round(answer.ms)} ms`);
    }
  }
  expect(wrong).toEqual([]);
  return seen;
}

/**
 * Polls until a new device gets a token and the live token validates; resolves to the ms this
 * took. Fails when that takes longer than {@link RECOVERY_WITHIN_MS}.
 */
export async function expectRecovery(base: string, tag: string, liveAccess: string | undefined): Promise<number> {
  const started = performance.now();
  for (;;) {
    const issued = await password(base, `device_${tag}after`);
    const validated = liveAccess === undefined ? issued : await orders(base, liveAccess);
    if (issued.status === 200 && validated.status === 200) return performance.now() - started;
    // during recovery only 503s, never a 500 or a 401 for the live token
    expect([200, 503]).toContain(issued.status);
    expect([200, 503]).toContain(validated.status);
    if (performance.now() - started > RECOVERY_WITHIN_MS) {
      throw new Error(`service not back ${RECOVERY_WITHIN_MS} ms after Redis: token ${issued.status}, validation ${validated.status}`);
    }
    await sleep(100);
  }
}

/**
 * After recovery: the token revoked with a 200 before the fault is still dead, and so is the
 * fault's `/revoke` probe's victim when that probe answered 200.
 */
export async function expectRevokedStaysDead(base: string, prepared: Prepared, seen: Record<string, number>): Promise<void> {
  const dead = [prepared.revoked, ...(seen['POST /revoke'] === 200 ? [prepared.victim] : [])];
  for (const tokens of dead) {
    expect((await orders(base, tokens.access)).status).toBe(401);
    expect((await introspect(base, tokens.access)).body).toEqual({ active: false });
    const again = await refresh(base, tokens.refresh);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  }
}

/** After recovery: a refresh that answered 503 during the fault left the device able to refresh. */
export async function expectRefresherCanRefresh(base: string, prepared: Prepared, seen: Record<string, number>): Promise<void> {
  if (seen['POST /token refresh_token'] !== 503) return;
  const res = await refresh(base, prepared.refresher.refresh);
  expect(res.status).toBe(200);
}

export interface SteadyReport {
  requests: number;
  failed: number;
  byStatus: Record<string, number>;
  longestGapMs: number;
  slowest: number;
}

/**
 * Steady traffic: every `everyMs` a validation of `access` (and every 5th time a token request),
 * until `stop()`. Every answer that is not 200 must be a 503 within {@link ANSWER_WITHIN_MS}.
 */
export function steadyTraffic(base: string, access: string, tag: string, everyMs = 20) {
  const report: SteadyReport = { requests: 0, failed: 0, byStatus: {}, longestGapMs: 0, slowest: 0 };
  const wrong: string[] = [];
  let running = true;
  let lastOk = performance.now();
  const inFlight = new Set<Promise<void>>();
  const one = async (i: number) => {
    const answer = i % 5 === 0 ? await password(base, `device_${tag}steady`) : await orders(base, access);
    report.requests++;
    report.byStatus[answer.status] = (report.byStatus[answer.status] ?? 0) + 1;
    report.slowest = Math.max(report.slowest, answer.ms);
    if (answer.status === 200) {
      const t = performance.now();
      report.longestGapMs = Math.max(report.longestGapMs, t - lastOk);
      lastOk = t;
    } else {
      report.failed++;
      if (answer.status !== 503 || answer.body?.error !== 'temporarily_unavailable' || answer.ms > ANSWER_WITHIN_MS) {
        if (wrong.length < 10) wrong.push(`${answer.status} ${JSON.stringify(answer.body)} in ${Math.round(answer.ms)} ms`);
      }
    }
  };
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const p = one(i).catch((error: Error) => {
        if (wrong.length < 10) wrong.push(`request failed: ${error.message}`);
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      await sleep(everyMs);
    }
  })();
  return {
    report,
    async stop(): Promise<SteadyReport> {
      running = false;
      await loop;
      await Promise.all(inFlight);
      expect(wrong).toEqual([]);
      return report;
    },
  };
}

/** When the gateway first answers `GET /api/orders` with `access` again (polled every 50 ms); `undefined` after `limitMs` since `since`. */
export async function firstServedAt(base: string, access: string, since: number, limitMs: number): Promise<number | undefined> {
  while (performance.now() - since < limitMs) {
    const answer = await orders(base, access);
    if (answer.status === 200) return performance.now();
    await sleep(50);
  }
  return undefined;
}

/** The line a switch under steady traffic reports: what failed, and when Redis and the service came back. */
export function logSwitch(fault: string, report: SteadyReport, redisBack: string, killedAt: number, servedAt: number): void {
  console.log(
    `fault "${fault}": ${report.failed}/${report.requests} requests failed during the switch ` +
      `(${JSON.stringify(report.byStatus)}), longest gap without a 200 ${Math.round(report.longestGapMs)} ms, ` +
      `slowest answer ${Math.round(report.slowest)} ms; ${redisBack}, service back ${Math.round(servedAt - killedAt)} ms after the kill`,
  );
}
