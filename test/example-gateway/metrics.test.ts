import request from 'supertest';
import { MemoryTokenStore } from '../../lib';
import { readGatewayConfig } from '../../example-gateway/config';
import { createGateway } from '../../example-gateway/create-gateway';
import { auditEventLabel, createMetrics, endpointOf } from '../../example-gateway/metrics';
import { DEMO, DEMO_BASIC, SHIPPED_CONFIG } from '../acceptance/demo';

const config = readGatewayConfig(SHIPPED_CONFIG);
const SECRET = 'metrics-test-secret-0123456789abcdefghijkl';

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([key, value]) => body.includes(`${key}="${value}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('endpointOf()', () => {
  it('names the known endpoints and folds every device id into /devices/:id', () => {
    expect(endpointOf('/token')).toBe('/token');
    expect(endpointOf('/.well-known/oauth-authorization-server')).toBe('/.well-known/oauth-authorization-server');
    expect(endpointOf('/devices/6f1c0a')).toBe('/devices/:id');
    expect(endpointOf('/devices')).toBe('/devices');
  });

  it('answers "other" for anything else, so clients cannot grow the label set', () => {
    for (const path of ['/', '/token/x', '/devices/a/b', '/devices/', '/wp-admin', '/TOKEN', '/api/orders/1'])
      expect(endpointOf(path)).toBe('other');
  });
});

describe('auditEventLabel()', () => {
  it('accepts the known types in snake_case, camelCase or kebab-case', () => {
    expect(auditEventLabel('refresh_replayed')).toBe('refresh_replayed');
    expect(auditEventLabel('refreshReplayed')).toBe('refresh_replayed');
    expect(auditEventLabel('client-auth-failed')).toBe('client_auth_failed');
  });

  it('counts any other type as "other"', () => {
    expect(auditEventLabel('alice@example.com')).toBe('other');
    expect(auditEventLabel('')).toBe('other');
  });
});

describe('GET /metrics', () => {
  const store = new MemoryTokenStore({ secret: SECRET });
  afterAll(() => store.close());

  it('counts requests by endpoint, grant type, status and outcome, with latency histograms', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = createGateway({ config, store, storeKind: 'memory', metrics });
    const form = (fields: Record<string, string>) => request(app).post('/token').set('Authorization', DEMO_BASIC).type('form').send(fields);
    await form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_ipad' });
    await form({ grant_type: 'password', username: DEMO.alice.username, password: 'wrong', scope: 'device_ipad' });
    await form({ grant_type: 'client_credentials' });
    await form({ grant_type: 'made_up' });
    await request(app).get('/api/orders');
    await request(app).get('/no/such/path');

    const answer = await request(app).get('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = answer.text;
    const count = (labels: Record<string, string>) => sample(text, 'gateway_http_requests_total', labels);
    expect(count({ endpoint: '/token', grant_type: 'password', status: '200', outcome: 'success' })).toBe(1);
    expect(count({ endpoint: '/token', grant_type: 'password', status: '400', outcome: 'invalid_grant' })).toBe(1);
    expect(count({ endpoint: '/token', grant_type: 'client_credentials', status: '200' })).toBe(1);
    expect(count({ endpoint: '/token', grant_type: 'other', outcome: 'unsupported_grant_type' })).toBe(1);
    expect(count({ endpoint: '/api/orders', grant_type: 'none', status: '401' })).toBe(1);
    expect(count({ endpoint: 'other', status: '404', outcome: 'not_found' })).toBe(1);
    expect(sample(text, 'gateway_http_request_duration_seconds_count', { endpoint: '/token', grant_type: 'password' })).toBe(2);
    expect(sample(text, 'gateway_http_request_duration_seconds_bucket', { endpoint: '/token', grant_type: 'password', le: '+Inf' })).toBe(
      2,
    );
    expect(text).toContain('# TYPE gateway_http_request_duration_seconds histogram');
  });

  it('keeps one series for any number of unknown paths and grant types', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = createGateway({ config, store, storeKind: 'memory', metrics });
    for (let i = 0; i < 20; i++) {
      await request(app).get(`/random-${i}`);
      await request(app)
        .post('/token')
        .set('Authorization', DEMO_BASIC)
        .type('form')
        .send({ grant_type: `g${i}` });
    }
    const text = (await request(app).get('/metrics')).text;
    const series = text.split('\n').filter((line) => line.startsWith('gateway_http_requests_total{'));
    expect(series).toHaveLength(2);
    expect(text).not.toMatch(/random-|g1\d/);
  });

  it('counts audit events by type and store errors by source', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.countAuditEvent('issued');
    metrics.countAuditEvent('issued');
    metrics.countAuditEvent('someNewEvent');
    metrics.countStoreError('require_token');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'gateway_audit_events_total', { type: 'issued' })).toBe(2);
    expect(sample(text, 'gateway_audit_events_total', { type: 'other' })).toBe(1);
    expect(sample(text, 'gateway_store_errors_total', { source: 'require_token' })).toBe(1);
  });

  it("counts the token router's audit events by type", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = createGateway({ config, store, storeKind: 'memory', metrics });
    const alice = { grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_tv' };
    await request(app).post('/token').set('Authorization', DEMO_BASIC).type('form').send(alice);
    await request(app).post('/token').set('Authorization', DEMO_BASIC).type('form').send(alice);
    await request(app)
      .post('/token')
      .set('Authorization', 'Basic ' + Buffer.from('demo-app:wrong').toString('base64'))
      .type('form')
      .send(alice);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'gateway_audit_events_total', { type: 'issued' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_audit_events_total', { type: 'reused' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_audit_events_total', { type: 'client_auth_failed' })).toBe(1);
    expect(text).not.toMatch(/alice|device_tv|demo-app/);
  });

  it('counts 429 answers as throttled', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = createGateway({ config, store, storeKind: 'memory', metrics });
    let last = 0;
    for (let i = 0; i < 30 && last !== 429; i++) {
      last = (
        await request(app)
          .post('/token')
          .set('Authorization', DEMO_BASIC)
          .type('form')
          .send({ grant_type: 'password', username: 'mallory-target', password: `guess-${i}` })
      ).status;
    }
    expect(last).toBe(429);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'gateway_throttled_total', { endpoint: '/token' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gateway_http_requests_total', { endpoint: '/token', status: '429' })).toBeGreaterThanOrEqual(1);
  });

  it('holds no token, secret, password or user name', async () => {
    const metrics = createMetrics();
    const app = createGateway({ config, store, storeKind: 'memory', metrics });
    const issued = await request(app)
      .post('/token')
      .set('Authorization', DEMO_BASIC)
      .type('form')
      .send({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_iphone orders:read' });
    await request(app).get('/api/orders').set('Authorization', `Bearer ${issued.body.access_token}`);
    await request(app).get(`/api/orders?access_token=${issued.body.access_token}`);
    const text = (await request(app).get('/metrics')).text;
    expect(text).toContain('process_cpu_user_seconds_total');
    for (const secret of [
      issued.body.access_token,
      issued.body.refresh_token,
      DEMO.clientSecret,
      DEMO.alice.password,
      DEMO_BASIC.slice(6),
      'alice',
      'device_iphone',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
