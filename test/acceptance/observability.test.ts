import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { startRedis, type RedisServerHandle } from '../support/redis-servers';
import { uniquePrefix } from '../support/redis';
import { DEMO, DEMO_BASIC, form } from './demo';
import { killAllGateways, spawnGateway, startGateway, type ListeningGateway } from './gateway-process';
import { request } from './http';

// Issue 11, item 7 and issue 8, item 5, on the built gateway as a child process: the probes
// (/livez, /readyz, /healthz), GET /metrics, buffered logs that are all written by every exit,
// human-readable logs on request (LOG_FORMAT=pretty), and no secret in /metrics or in the logs.

afterAll(() => killAllGateways());

const TOKEN_SECRET = `observability-${randomBytes(24).toString('base64url')}`;

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const aliceToken = (url: string, scope: string) =>
  request(`${url}/token`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope }),
  });

describe('probes and metrics on Redis', () => {
  let redis: RedisServerHandle;
  let gateway: ListeningGateway;
  let url: string;

  beforeAll(async () => {
    redis = await startRedis();
    gateway = await startGateway({
      HTTPS_PORT: 'off',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('observability'),
      TOKEN_SECRET,
    });
    url = gateway.urls.http!;
  });
  afterAll(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  it('answers /livez, /readyz and /healthz while Redis answers', async () => {
    expect((await request(`${url}/livez`)).json).toEqual({ status: 'ok' });
    const ready = await request(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ok', store: 'redis' });
    expect((await request(`${url}/healthz`)).json).toEqual({ status: 'ok', store: 'redis' });
  });

  it('counts what it served in /metrics and shows no token, secret or password there', async () => {
    const issued = await aliceToken(url, 'device_ipad orders:read');
    expect(issued.status).toBe(200);
    const orders = await request(`${url}/api/orders`, { headers: { authorization: `Bearer ${issued.json.access_token}` } });
    expect(orders.status).toBe(200);
    await request(`${url}/api/orders?access_token=${issued.json.access_token}`);

    const metrics = await request(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(
      sample(metrics.text, 'gateway_http_requests_total', {
        endpoint: '/token',
        grant_type: 'password',
        status: '200',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(sample(metrics.text, 'gateway_http_requests_total', { endpoint: '/api/orders', status: '200' })).toBe(1);
    expect(sample(metrics.text, 'gateway_http_request_duration_seconds_count', { endpoint: '/api/orders' })).toBe(2);
    expect(metrics.text).toContain('nodejs_eventloop_lag_seconds');
    for (const secret of [
      issued.json.access_token,
      issued.json.refresh_token,
      DEMO.clientSecret,
      DEMO.alice.password,
      DEMO_BASIC.slice(6),
      TOKEN_SECRET,
    ]) {
      expect(metrics.text).not.toContain(secret);
      expect(gateway.output).not.toContain(secret);
    }
    expect(metrics.text).not.toContain(DEMO.alice.username);
  });

  it('answers /readyz 503 within about a second when Redis stops, while /livez stays 200', async () => {
    await redis.stop();
    const started = Date.now();
    const ready = await request(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'unavailable', store: 'redis' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await request(`${url}/livez`)).status).toBe(200);
    const metrics = await request(`${url}/metrics`);
    expect(sample(metrics.text, 'gateway_store_errors_total', { source: 'readiness' })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics.text, 'gateway_http_requests_total', { endpoint: '/readyz', status: '503' })).toBeGreaterThanOrEqual(1);
  });
});

describe('buffered logs', () => {
  it('are all written when the gateway stops: every request line, then "stopped" last', async () => {
    const gateway = await startGateway({ HTTPS_PORT: 'off' });
    const url = gateway.urls.http!;
    const ids = Array.from({ length: 30 }, (_, i) => `flush-check-${i}`);
    for (const id of ids) await request(`${url}/api/orders`, { headers: { 'x-request-id': id } });
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const lines = gateway.logLines;
    expect(lines.filter((line) => line.req?.url === '/api/orders').map((line) => line.req.id)).toEqual(ids);
    expect(lines.at(-1)?.msg).toBe('stopped');
  });

  it('are written before a second signal makes the gateway exit at once', async () => {
    const gateway = await startGateway({ HTTPS_PORT: 'off' });
    const { port } = new URL(gateway.urls.http!);
    // A request kept in flight (half its body sent) holds the graceful shutdown up.
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /token HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${DEMO_BASIC}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant`,
    );
    await request(`${gateway.urls.http!}/api/orders`, { headers: { 'x-request-id': 'before-the-signals' } });
    gateway.child.kill('SIGTERM');
    await gateway.waitForLog((line) => /^shutting down/.test(line.msg ?? ''));
    gateway.child.kill('SIGTERM');
    expect(await gateway.waitForExit()).toEqual({ code: 1, signal: null });
    socket.destroy();
    const lines = gateway.logLines;
    expect(lines.some((line) => line.req?.id === 'before-the-signals')).toBe(true);
    expect(lines.at(-1)?.msg).toBe('second signal while shutting down: exiting now');
  });
});

describe('LOG_FORMAT', () => {
  it('pretty: one readable line per event, no JSON', async () => {
    const gateway = spawnGateway({ PORT: '0', HTTPS_PORT: 'off', LOG_FORMAT: 'pretty' });
    const deadline = Date.now() + 10_000;
    let match: RegExpExecArray | null = null;
    while (!(match = /INFO {2}example gateway listening on (http:\/\/localhost:\d+)/.exec(gateway.stdout)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(match).not.toBeNull();
    await request(`${match![1]}/api/orders`, { headers: { 'x-request-id': 'pretty-1' } });
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const lines = gateway.stdout.trim().split('\n');
    expect(lines.some((line) => line.startsWith('{'))).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/api\/orders 401 \d+ms id=pretty-1 /));
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}stopped$/);
  });

  it('another value stops start-up with a config error naming LOG_FORMAT (exit 78)', async () => {
    const gateway = spawnGateway({ PORT: '0', HTTPS_PORT: 'off', LOG_FORMAT: 'xml' });
    expect(await gateway.waitForExit()).toEqual({ code: 78, signal: null });
    expect(gateway.stderr.trim()).toBe('config error: LOG_FORMAT must be one of json, pretty (got "xml")');
    expect(gateway.stdout).toBe('');
  });
});
