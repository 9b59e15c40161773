import request from 'supertest';
import type { AuditEvent, AuditEventType } from '../../lib';
import { ANDROID_APP, basic, buildApp, form, IOS_APP, SERVICE, STORES, type StoreHandle } from './harness';

// README, "Options reference" (onEvent) and SECURITY.md: the router reports typed events with client, user, device, IP and
// time, never a token, secret, password or hash. Each event below fires exactly once for the
// request that causes it.

describe.each(STORES)('audit events (onEvent) on %s', (name, makeStore) => {
  let handle: StoreHandle;
  let events: AuditEvent[];
  let app: ReturnType<typeof buildApp>;
  beforeAll(() => {
    handle = makeStore(`audit-${name}`);
    app = buildApp(handle.store, {
      onEvent: (event) => events.push(event),
      deviceEndpoints: true,
      refreshGracePeriod: 0,
      loginLockout: { perIp: 2 },
      clientLockout: { perIp: 2 },
      clients: [IOS_APP, ANDROID_APP, SERVICE, { ...IOS_APP, clientId: 'capped-app', maxDevicesPerUser: 1 }],
    });
    app.set('trust proxy', true);
  });
  afterAll(() => handle.close());
  beforeEach(() => {
    events = [];
  });

  const token = (params: Record<string, string>, client = IOS_APP, ip = '198.51.100.20') =>
    request(app)
      .post('/token')
      .set('X-Forwarded-For', ip)
      .set('Authorization', basic(client.clientId, client.clientSecret))
      .type('form')
      .send(form(params));
  const login = (scope: string, password = 'wonderland', client = IOS_APP, ip?: string) =>
    token({ grant_type: 'password', username: 'alice', password, scope }, client, ip);

  /** The one event of `type` the last requests fired, checked for the fields every event has. */
  function only(type: AuditEventType): AuditEvent {
    const found = events.filter((event) => event.type === type);
    expect(found).toHaveLength(1);
    const event = found[0]!;
    expect(event.time).toBeGreaterThan(Date.now() - 60_000);
    expect(event.time).toBeLessThanOrEqual(Date.now());
    return event;
  }

  /** No event carries a token, a client secret or a password. */
  function noSecrets(...secrets: string[]): void {
    const text = JSON.stringify(events);
    for (const secret of [...secrets, 'wonderland', IOS_APP.clientSecret, ANDROID_APP.clientSecret]) expect(text).not.toContain(secret);
  }

  it('issued, then reused, with client, user, device, session and IP', async () => {
    const first = await login('device_audit1 orders:read');
    expect(first.status).toBe(200);
    expect(only('issued')).toMatchObject({
      clientId: IOS_APP.clientId,
      username: 'alice',
      device: 'device_audit1',
      ip: '198.51.100.20',
      sessionId: expect.any(String),
    });
    events = [];
    expect((await login('device_audit1 orders:read')).status).toBe(200);
    expect(only('reused')).toMatchObject({ clientId: IOS_APP.clientId, username: 'alice', device: 'device_audit1' });
    noSecrets(first.body.access_token, first.body.refresh_token);
  });

  it('refreshed, and refresh_replayed with the session it ended', async () => {
    const first = await login('device_audit2');
    events = [];
    const rotated = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(rotated.status).toBe(200);
    const refreshed = only('refreshed');
    expect(refreshed).toMatchObject({ clientId: IOS_APP.clientId, username: 'alice', device: 'device_audit2' });
    events = [];
    expect((await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token })).status).toBe(400);
    expect(only('refresh_replayed')).toMatchObject({ clientId: IOS_APP.clientId, sessionId: refreshed.sessionId });
    expect(only('session_ended')).toMatchObject({ sessionId: refreshed.sessionId });
    noSecrets(first.body.refresh_token, rotated.body.access_token, rotated.body.refresh_token);
  });

  it('revoked', async () => {
    const first = await login('device_audit3');
    events = [];
    const revoked = await request(app)
      .post('/revoke')
      .set('Authorization', basic(IOS_APP.clientId, IOS_APP.clientSecret))
      .type('form')
      .send(form({ token: first.body.access_token }));
    expect(revoked.status).toBe(200);
    expect(only('revoked')).toMatchObject({ clientId: IOS_APP.clientId });
    noSecrets(first.body.access_token);
  });

  it('session_ended by DELETE /devices/{id}', async () => {
    const phone = await login('device_audit4');
    const tablet = await login('device_audit5');
    const list = await request(app).get('/devices').set('Authorization', `Bearer ${tablet.body.access_token}`);
    const phoneId = (list.body.devices as { id: string; device: string }[]).find((d) => d.device === 'device_audit4')!.id;
    events = [];
    expect((await request(app).delete(`/devices/${phoneId}`).set('Authorization', `Bearer ${tablet.body.access_token}`)).status).toBe(204);
    expect(only('session_ended')).toMatchObject({ sessionId: phoneId });
    noSecrets(phone.body.access_token, tablet.body.access_token);
  });

  it('device_limit when a new device ends the least recently used one', async () => {
    const capped = { ...IOS_APP, clientId: 'capped-app' };
    expect((await login('device_audit6', 'wonderland', capped)).status).toBe(200);
    events = [];
    expect((await login('device_audit7', 'wonderland', capped)).status).toBe(200);
    expect(only('device_limit')).toMatchObject({
      clientId: 'capped-app',
      username: 'alice',
      reason: expect.stringContaining('end-oldest'),
    });
    expect(only('issued')).toMatchObject({ device: 'device_audit7' });
  });

  it('user_auth_failed, then throttled, never with the password tried', async () => {
    const ip = '198.51.100.21';
    expect((await token({ grant_type: 'password', username: 'bob', password: 'not-bobs-1', scope: 'device_x' }, IOS_APP, ip)).status).toBe(
      400,
    );
    expect(only('user_auth_failed')).toMatchObject({ clientId: IOS_APP.clientId, username: 'bob', ip });
    await token({ grant_type: 'password', username: 'bob', password: 'not-bobs-2', scope: 'device_x' }, IOS_APP, ip);
    events = [];
    expect((await token({ grant_type: 'password', username: 'bob', password: 'builder', scope: 'device_x' }, IOS_APP, ip)).status).toBe(
      429,
    );
    expect(only('throttled')).toMatchObject({ clientId: IOS_APP.clientId, username: 'bob', ip });
    noSecrets('not-bobs-1', 'not-bobs-2', 'builder');
  });

  it('client_auth_failed, then throttled, never with the secret tried', async () => {
    const ip = '198.51.100.22';
    const wrong = (secret: string) =>
      request(app)
        .post('/token')
        .set('X-Forwarded-For', ip)
        .set('Authorization', basic(ANDROID_APP.clientId, secret))
        .type('form')
        .send(form({ grant_type: 'password', username: 'alice', password: 'wonderland' }));
    expect((await wrong('guess-one')).status).toBe(401);
    expect(only('client_auth_failed')).toMatchObject({ clientId: ANDROID_APP.clientId, ip });
    await wrong('guess-two');
    events = [];
    expect((await wrong(ANDROID_APP.clientSecret)).status).toBe(429);
    expect(only('throttled')).toMatchObject({ clientId: ANDROID_APP.clientId, ip });
    noSecrets('guess-one', 'guess-two');
  });

  it('a listener that throws never breaks the request', async () => {
    const throwing = buildApp(handle.store, {
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    const res = await request(throwing)
      .post('/token')
      .set('Authorization', basic(SERVICE.clientId, SERVICE.clientSecret))
      .type('form')
      .send(form({ grant_type: 'client_credentials' }));
    expect(res.status).toBe(200);
  });
});
