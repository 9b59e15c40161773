import type { IssueRequest, RefreshRequest, SessionInfo, TokenSet, TokenStore } from '../../lib';
import { sessionPrefix } from '../../lib/stores/keys';
import { userTag } from '../../lib/tokens/token-codec';
import { issueRequest, NEW_SECRET, SECRET, tokensOf, type StoreUnderTest } from './token-store.contract';

// The contract of storage engine v2 and device sessions (issues 8 and 9): the drifts the two
// stores once had, short-lived reuse, the login lockout inside issue(), device sessions, the
// device limit and graceful refresh rotation. Run on every backend by describeTokenStoreContract.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

let names = 0;
/** A fresh name, unique in this run (so tests never share a user, nor a user's hash tag). */
function fresh(stem: string): string {
  names += 1;
  return `${stem}${names}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The same identity's request on another device. */
function onDevice(req: IssueRequest, device: string): IssueRequest {
  return { ...req, scopes: [device, 'orders:read'].sort(), deviceScopes: [device] };
}

/** A user's request, subject and username both `username`. */
function userRequest(username: string, overrides: Partial<IssueRequest> = {}): IssueRequest {
  return issueRequest({ subject: username, username, ...overrides });
}

/** A client_credentials request: no username, the subject is the client id. */
function serviceRequest(clientId: string, overrides: Partial<IssueRequest> = {}): IssueRequest {
  return issueRequest({ clientId, subject: clientId, username: undefined, scopes: ['default'], deviceScopes: [], ...overrides });
}

function refreshOf(token: string, overrides: Partial<RefreshRequest> = {}): RefreshRequest {
  return { refreshToken: token, clientId: 'app', accessTokenTtl: 600, refreshTokenTtl: 7200, ...overrides };
}

async function refreshed(store: TokenStore, request: RefreshRequest): Promise<{ tokens: TokenSet; retried: boolean }> {
  const result = await store.refresh(request);
  if (result.status !== 'ok') throw new Error(`refresh() answered ${result.status}`);
  return result;
}

async function devicesOf(store: TokenStore, accessToken: string): Promise<{ current: string; sessions: readonly SessionInfo[] }> {
  const result = await store.listDevices(accessToken);
  if (typeof result === 'string') throw new Error(`listDevices() answered ${result}`);
  return result;
}

/** Whether the session of these tokens is gone: access token dead, refresh token refreshes no more. */
async function expectEnded(store: TokenStore, tokens: TokenSet): Promise<void> {
  expect(await store.lookup(tokens.accessToken)).toBeNull();
  if (tokens.refreshToken) {
    expect(await store.lookup(tokens.refreshToken, ['refresh_token'])).toBeNull();
    expect((await store.refresh(refreshOf(tokens.refreshToken, { clientId: tokens.clientId }))).status).not.toBe('ok');
  }
}

async function expectLive(store: TokenStore, tokens: TokenSet): Promise<void> {
  expect(await store.lookup(tokens.accessToken)).toMatchObject({ sessionId: tokens.sessionId });
}

/** Runs `task` over `items` with at most `width` calls in flight. */
async function inParallel<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

export function describeSessionContract(backend: string, get: () => StoreUnderTest): void {
  let subject: StoreUnderTest;
  let store: TokenStore;
  beforeAll(() => {
    subject = get();
    store = subject.store;
  });

  describe('drifts of storage engine v1 (issue 8)', () => {
    it('gives the same device the SAME token after a secret rotation, and one live session', async () => {
      const req = issueRequest();
      const before = await tokensOf(store, req);
      const rotated = subject.withSecret([NEW_SECRET, SECRET]);
      const after = await tokensOf(rotated, req);
      expect(after).toMatchObject({
        reused: true,
        accessToken: before.accessToken,
        refreshToken: before.refreshToken,
        sessionId: before.sessionId,
      });
      const sessions = await rotated.listSessions(req.username!);
      expect(sessions.map((s) => s.id)).toEqual([before.sessionId]);
    });

    it('leaves nothing of the device refreshable once its token is revoked after a rotation', async () => {
      const req = issueRequest();
      const before = await tokensOf(store, req);
      const rotated = subject.withSecret([NEW_SECRET, SECRET]);
      const after = await tokensOf(rotated, req);
      expect(await rotated.revoke(after.accessToken, 'app')).toBe('revoked');
      expect((await rotated.refresh(refreshOf(before.refreshToken!))).status).toBe('invalid');
      expect((await store.refresh(refreshOf(before.refreshToken!))).status).toBe('invalid');
      expect(await rotated.listSessions(req.username!)).toEqual([]);
    });

    it('with reuse off: refreshed tokens work, and the same device asking again gets a new session', async () => {
      const req = issueRequest({ reuse: false });
      const first = await tokensOf(store, req);
      const { tokens: next } = await refreshed(store, refreshOf(first.refreshToken!, { reuse: false }));
      await expectLive(store, next);
      expect(await store.lookup(next.refreshToken!, ['refresh_token'])).toMatchObject({ sessionId: first.sessionId });
      await expectEnded(store, { ...first, refreshToken: undefined });
      const again = await tokensOf(store, req);
      expect(again.reused).toBe(false);
      expect(again.sessionId).not.toBe(first.sessionId);
      expect(again.accessToken).not.toBe(next.accessToken);
      // A session stored without seeds is never handed out again, even to a request with reuse on.
      const reuseOn = await tokensOf(store, { ...req, reuse: { minRemaining: 60 } });
      expect(reuseOn.reused).toBe(false);
      expect(reuseOn.accessToken).not.toBe(again.accessToken);
      await expectLive(store, next);
    });

    /** Pairs of identities that a join on `\n` (or `:`) would confuse, or that share a hash tag. */
    const collisions = (): [string, IssueRequest, IssueRequest][] => {
      const s = fresh('shared-');
      const alice = fresh('Alice-');
      const svc = fresh('svc-');
      const nfc = fresh('caf\u00e9-');
      return [
        [
          'client "a\\nb" + user "c" vs client "a" + user "b\\nc" (one subject)',
          userRequest(s, { clientId: 'a\nb', username: 'c' }),
          userRequest(s, { clientId: 'a', username: 'b\nc' }),
        ],
        [
          'client "a\\nb" + user "c" vs client "a" + user "b\\nc"',
          userRequest(`c${s}`, { clientId: 'a\nb' }),
          userRequest(`b\nc${s}`, { clientId: 'a' }),
        ],
        [
          'client "a:1" + user "b" vs client "a" + user "1:b" (one subject)',
          userRequest(s, { clientId: 'a:1', username: 'b' }),
          userRequest(s, { clientId: 'a', username: '1:b' }),
        ],
        ['users "Alice" and "alice" (one hash tag)', userRequest(alice), userRequest(alice.toLowerCase())],
        ['users NFC "café" and NFD "café" (one hash tag)', userRequest(nfc), userRequest(nfc.normalize('NFD'))],
        ['users "x y" and "x  y"', userRequest(`${s} x y`), userRequest(`${s} x  y`)],
        ['usernames " " and "  " (one subject)', userRequest(s, { username: ' ' }), userRequest(s, { username: '  ' })],
        ['usernames "0" and "00" (one subject)', userRequest(s, { username: '0' }), userRequest(s, { username: '00' })],
        [
          'client_credentials of client "svc" vs a user named "svc" of that client',
          serviceRequest(svc),
          userRequest(svc, { clientId: svc, scopes: ['default'], deviceScopes: [] }),
        ],
        [
          'unicode client ids "日本" and "日本\\u0000"',
          userRequest(s, { clientId: '日本', username: '🔑' }),
          userRequest(s, { clientId: '日本\u0000', username: '🔑' }),
        ],
      ];
    };

    it("keeps apart identities whatever characters the ids contain: different sessions, never the other's token", async () => {
      for (const [name, a, b] of collisions()) {
        const [ta, tb] = [await tokensOf(store, a), await tokensOf(store, b)];
        expect({ name, differentSession: ta.sessionId !== tb.sessionId, reusedB: tb.reused }).toEqual({
          name,
          differentSession: true,
          reusedB: false,
        });
        expect(tb.accessToken).not.toBe(ta.accessToken);
        // Each asks again and gets its own token back.
        expect((await tokensOf(store, a)).accessToken).toBe(ta.accessToken);
        expect((await tokensOf(store, b)).accessToken).toBe(tb.accessToken);
        // A record names its user (the subject is the username, or the client id without one).
        for (const [req, tokens] of [
          [a, ta],
          [b, tb],
        ] as const) {
          expect(await store.lookup(tokens.accessToken)).toMatchObject({
            clientId: req.clientId,
            subject: req.username ?? req.clientId,
            username: req.username,
            sessionId: tokens.sessionId,
          });
        }
      }
    });
  });

  describe('short-lived tokens', () => {
    it('reuses an access token of 2 s while it is live, with a smaller expiresIn', async () => {
      const req = issueRequest({ accessTokenTtl: 2, reuse: { minRemaining: 60 } });
      const a = await tokensOf(store, req);
      expect(a.expiresIn).toBe(2);
      await sleep(20);
      const b = await tokensOf(store, req);
      expect(b).toMatchObject({ reused: true, accessToken: a.accessToken, sessionId: a.sessionId });
      expect(b.expiresIn).toBeLessThan(a.expiresIn);
      expect(b.expiresIn).toBeGreaterThanOrEqual(1);
    });
  });

  describe('login lockout inside issue()', () => {
    const login = (key: string, ip: string, maxPerIp = 3, maxPerUser = 10) => ({ key, ip, maxPerIp, maxPerUser });
    const fail = async (key: string, ip: string, times: number, window = 60) => {
      let last = await store.recordLoginFailure(key, ip, window);
      for (let i = 1; i < times; i++) last = await store.recordLoginFailure(key, ip, window);
      return last;
    };

    it('counts failures per IP and in total, within the window', async () => {
      const key = fresh('lock-');
      expect(await store.recordLoginFailure(key, '10.0.0.1', 60)).toMatchObject({ total: 1, fromIp: 1 });
      expect(await store.recordLoginFailure(key, '10.0.0.2', 60)).toMatchObject({ total: 2, fromIp: 1 });
      const third = await store.recordLoginFailure(key, '10.0.0.1', 60);
      expect(third).toMatchObject({ total: 3, fromIp: 2 });
      expect(third.retryAfter).toBeGreaterThanOrEqual(1);
      expect(third.retryAfter).toBeLessThanOrEqual(60);
    });

    it('locks the user for that IP only once the per-IP threshold is reached', async () => {
      const name = fresh('lock-');
      await fail(name, '10.0.0.1', 2);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.0.1') }))).status).toBe('issued');
      await fail(name, '10.0.0.1', 3);
      const locked = await store.issue(onDevice(userRequest(name, { login: login(name, '10.0.0.1') }), 'device_other'));
      expect(locked.status).toBe('locked');
      if (locked.status === 'locked') {
        expect(locked.retryAfter).toBeGreaterThanOrEqual(1);
        expect(locked.retryAfter).toBeLessThanOrEqual(60);
      }
      // Locked: nothing was issued, and even the live session is not handed out to that IP.
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.0.1') }))).status).toBe('locked');
      expect(await store.listSessions(name)).toHaveLength(1);
      // The victim elsewhere is not locked out by failures below the backstop.
      expect((await store.issue(userRequest(name, { login: login(name, '10.9.9.9') }))).status).toBe('reused');
    });

    it('locks the user on every IP once the per-user backstop is reached', async () => {
      const name = fresh('lock-');
      for (let ip = 1; ip <= 5; ip++) await fail(name, `10.0.1.${ip}`, 2);
      for (const ip of ['10.0.1.1', '10.0.1.5', '192.168.0.1']) {
        const result = await store.issue(userRequest(name, { login: login(name, ip, 3, 10) }));
        expect({ ip, status: result.status }).toEqual({ ip, status: 'locked' });
      }
      expect(await store.listSessions(name)).toEqual([]);
    });

    it("clears a successful IP's count and subtracts it from the total", async () => {
      const name = fresh('lock-');
      await fail(name, '10.0.2.1', 2);
      await fail(name, '10.0.2.2', 2);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.2.2', 3, 5) }))).status).toBe('issued');
      expect(await store.recordLoginFailure(name, '10.0.2.2', 60)).toMatchObject({ total: 3, fromIp: 1 });
      expect(await store.recordLoginFailure(name, '10.0.2.1', 60)).toMatchObject({ total: 4, fromIp: 3 });
    });

    it("clears the IP's count on a success that reuses the live session too", async () => {
      const name = fresh('lock-');
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.6.1') }))).status).toBe('issued');
      await fail(name, '10.0.6.1', 2);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.6.1') }))).status).toBe('reused');
      expect(await store.recordLoginFailure(name, '10.0.6.1', 60)).toMatchObject({ total: 1, fromIp: 1 });
    });

    it('unlocks on clearLoginFailures', async () => {
      const name = fresh('lock-');
      await fail(name, '10.0.3.1', 10);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.3.1') }))).status).toBe('locked');
      await store.clearLoginFailures(name);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.3.1') }))).status).toBe('issued');
      expect(await store.recordLoginFailure(name, '10.0.3.1', 60)).toMatchObject({ total: 1, fromIp: 1 });
      await store.clearLoginFailures(fresh('never-failed-')); // nothing to clear is fine
    });

    it('forgets the counts when the window ends (the counter has a TTL)', async () => {
      const name = fresh('lock-');
      const counted = await fail(name, '10.0.4.1', 3, 1);
      expect(counted.retryAfter).toBe(1);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.4.1') }))).status).toBe('locked');
      await sleep(1100);
      expect((await store.issue(userRequest(name, { login: login(name, '10.0.4.1') }))).status).toBe('issued');
      expect(await store.recordLoginFailure(name, '10.0.4.1', 1)).toMatchObject({ total: 1, fromIp: 1 });
    });

    it('counts "Alice" and "alice" in the user\'s slot: a login key of other case works (Cluster too)', async () => {
      const name = fresh('alice-');
      const key = name.toUpperCase();
      await fail(key, '10.0.5.1', 3);
      expect((await store.issue(userRequest(name, { login: login(key, '10.0.5.1') }))).status).toBe('locked');
      const other = fresh('Bob-');
      await fail(other.toLowerCase(), '10.0.5.1', 3);
      expect((await store.issue(userRequest(other, { login: login(other.toLowerCase(), '10.0.5.1') }))).status).toBe('locked');
      await store.clearLoginFailures(key);
      expect((await store.issue(userRequest(name, { login: login(key, '10.0.5.1') }))).status).toBe('issued');
    });
  });

  describe('device sessions', () => {
    it("lists a user's sessions, with one client or all, most recently used first", async () => {
      const name = fresh('dev-');
      const ipad = userRequest(name);
      const a = await tokensOf(store, ipad);
      await sleep(5);
      const b = await tokensOf(store, onDevice(ipad, 'device_iphone'));
      await sleep(5);
      const c = await tokensOf(store, { ...ipad, clientId: 'other' });
      expect((await store.listSessions(name)).map((s) => s.id)).toEqual([c.sessionId, b.sessionId, a.sessionId]);
      const app = await store.listSessions(name, 'app');
      expect(app.map((s) => s.id)).toEqual([b.sessionId, a.sessionId]);
      expect(app.every((s) => s.clientId === 'app' && s.username === name)).toBe(true);
      expect((await store.listSessions(name, 'other')).map((s) => [s.id, s.clientId])).toEqual([[c.sessionId, 'other']]);
      expect(await store.listSessions(name, 'nobody')).toEqual([]);
      expect(await store.listSessions(fresh('nobody-'))).toEqual([]);
    });

    it("listDevices: the caller's client only, the current one marked, ordered by last use (reuse counts)", async () => {
      const name = fresh('dev-');
      const ipad = userRequest(name);
      const a = await tokensOf(store, ipad);
      await sleep(5);
      const b = await tokensOf(store, onDevice(ipad, 'device_iphone'));
      await tokensOf(store, { ...ipad, clientId: 'other' });
      expect((await devicesOf(store, a.accessToken)).sessions.map((s) => s.id)).toEqual([b.sessionId, a.sessionId]);
      await sleep(5);
      expect((await tokensOf(store, ipad)).reused).toBe(true);
      const listed = await devicesOf(store, b.accessToken);
      expect(listed.current).toBe(b.sessionId);
      expect(listed.sessions.map((s) => s.id)).toEqual([a.sessionId, b.sessionId]);
      expect((await devicesOf(store, a.accessToken)).current).toBe(a.sessionId);
    });

    it("describes each session: device (or null), scopes, times, expiry = the refresh token's", async () => {
      const name = fresh('dev-');
      const before = nowSeconds();
      const withDevice = await tokensOf(store, userRequest(name, { refreshTokenTtl: 7200 }));
      const noDevice = await tokensOf(store, userRequest(name, { scopes: ['orders:read'], deviceScopes: [], refreshTokenTtl: 7200 }));
      const { sessions } = await devicesOf(store, withDevice.accessToken);
      const refreshRecord = await store.lookup(withDevice.refreshToken!, ['refresh_token']);
      const byId = new Map(sessions.map((s) => [s.id, s]));
      expect(byId.get(withDevice.sessionId)).toMatchObject({
        clientId: 'app',
        username: name,
        device: 'device_ipad',
        scopes: ['device_ipad', 'orders:read'],
      });
      expect(byId.get(noDevice.sessionId)).toMatchObject({ device: null, scopes: ['orders:read'] });
      for (const s of sessions) {
        expect(s.createdAt).toBeGreaterThanOrEqual(before);
        expect(s.createdAt).toBeLessThanOrEqual(s.lastUsedAt);
        expect(s.lastUsedAt).toBeLessThanOrEqual(nowSeconds());
      }
      expect(byId.get(withDevice.sessionId)!.expiresAt).toBe(refreshRecord!.expiresAt);
      // Without a refresh token the session ends with its access token.
      const accessOnly = await tokensOf(
        store,
        userRequest(name, { scopes: ['device_tv', 'orders:read'], deviceScopes: ['device_tv'], refreshTokenTtl: undefined }),
      );
      const tv = (await store.listSessions(name)).find((s) => s.id === accessOnly.sessionId);
      expect(tv!.expiresAt).toBe((await store.lookup(accessOnly.accessToken))!.expiresAt);
      // Ids are opaque: never a token, nor its seed or MAC (an access token names its session's
      // id, which opens nothing without those).
      for (const s of sessions) {
        for (const token of [withDevice.accessToken, withDevice.refreshToken!, noDevice.accessToken]) {
          for (const part of token.split('.').slice(-2)) expect(s.id).not.toContain(part);
          expect(s.id).not.toBe(token);
        }
      }
      expect(withDevice.accessToken.split('.')[1]).toBe(withDevice.sessionId);
    });

    it("endDevice ends a session of the caller's user and client, the caller's own included", async () => {
      const name = fresh('dev-');
      const ipad = userRequest(name);
      const a = await tokensOf(store, ipad);
      const b = await tokensOf(store, onDevice(ipad, 'device_iphone'));
      expect(await store.endDevice(a.accessToken, b.sessionId)).toBe('ended');
      await expectEnded(store, b);
      await expectLive(store, a);
      expect(await store.endDevice(a.accessToken, b.sessionId)).toBe('not_found');
      expect(await store.endDevice(a.accessToken, a.sessionId)).toBe('ended');
      await expectEnded(store, a);
      expect(await store.listSessions(name)).toEqual([]);
    });

    it("endDevice answers not_found for another user's or another client's session and ends nothing", async () => {
      const name = fresh('Dev-');
      const me = await tokensOf(store, userRequest(name));
      const sameTag = await tokensOf(store, userRequest(name.toLowerCase())); // same hash tag, other user
      const elsewhere = await tokensOf(store, issueRequest());
      const otherClient = await tokensOf(store, userRequest(name, { clientId: 'other' }));
      for (const id of [sameTag.sessionId, elsewhere.sessionId, otherClient.sessionId, 'AAAAAAAAAAAAAAAA', '../x', '', me.accessToken]) {
        expect({ id, result: await store.endDevice(me.accessToken, id) }).toEqual({ id, result: 'not_found' });
      }
      for (const tokens of [me, sameTag, elsewhere, otherClient]) await expectLive(store, tokens);
    });

    it("endOtherDevices ends every other session of the caller's user and client and keeps the caller's", async () => {
      const name = fresh('Dev-');
      const ipad = userRequest(name);
      const a = await tokensOf(store, ipad);
      const b = await tokensOf(store, onDevice(ipad, 'device_iphone'));
      const c = await tokensOf(store, onDevice(ipad, 'device_tv'));
      const otherClient = await tokensOf(store, { ...ipad, clientId: 'other' });
      const sameTag = await tokensOf(store, userRequest(name.toLowerCase()));
      expect(await store.endOtherDevices(a.accessToken)).toEqual({ ended: 2 });
      await expectEnded(store, b);
      await expectEnded(store, c);
      for (const tokens of [a, otherClient, sameTag]) await expectLive(store, tokens);
      expect(await store.endOtherDevices(a.accessToken)).toEqual({ ended: 0 });
    });

    it('endSession ends one session of that user, and nothing for another user or id', async () => {
      const name = fresh('Dev-');
      const a = await tokensOf(store, userRequest(name));
      const b = await tokensOf(store, onDevice(userRequest(name), 'device_iphone'));
      expect(await store.endSession(name.toLowerCase(), a.sessionId)).toBe(false);
      expect(await store.endSession(fresh('x-'), a.sessionId)).toBe(false);
      expect(await store.endSession(name, 'not-a-session-id')).toBe(false);
      await expectLive(store, a);
      expect(await store.endSession(name, a.sessionId)).toBe(true);
      await expectEnded(store, a);
      await expectLive(store, b);
      expect(await store.endSession(name, a.sessionId)).toBe(false);
    });

    it("endUserSessions ends every session of the user across clients, and no one else's", async () => {
      const name = fresh('Dev-');
      const a = await tokensOf(store, userRequest(name));
      const b = await tokensOf(store, onDevice(userRequest(name), 'device_iphone'));
      const c = await tokensOf(store, userRequest(name, { clientId: 'other' }));
      const sameTag = await tokensOf(store, userRequest(name.toLowerCase()));
      expect(await store.endUserSessions(name)).toBe(3);
      for (const tokens of [a, b, c]) await expectEnded(store, tokens);
      await expectLive(store, sameTag);
      expect(await store.listSessions(name)).toEqual([]);
      expect(await store.endUserSessions(name)).toBe(0);
    });

    it('answers no_user for a client_credentials token and invalid_token for a dead or malformed one', async () => {
      const service = await tokensOf(store, serviceRequest(fresh('svc-')));
      expect(await store.listDevices(service.accessToken)).toBe('no_user');
      expect(await store.endDevice(service.accessToken, service.sessionId)).toBe('no_user');
      expect(await store.endOtherDevices(service.accessToken)).toBe('no_user');
      await expectLive(store, service);
      const user = await tokensOf(store, issueRequest());
      expect(await store.revoke(user.accessToken, 'app')).toBe('revoked');
      for (const token of [user.accessToken, user.refreshToken!, 'garbage', '']) {
        expect(await store.listDevices(token)).toBe('invalid_token');
        expect(await store.endDevice(token, user.sessionId)).toBe('invalid_token');
        expect(await store.endOtherDevices(token)).toBe('invalid_token');
      }
    });

    it('drops sessions from the lists as they expire, are revoked, or are ended by a replay', async () => {
      const name = fresh('dev-');
      const short = await tokensOf(store, userRequest(name, { accessTokenTtl: 1, refreshTokenTtl: 1 }));
      const revoked = await tokensOf(store, onDevice(userRequest(name), 'device_revoked'));
      const replayed = await tokensOf(store, onDevice(userRequest(name), 'device_replayed'));
      const kept = await tokensOf(store, onDevice(userRequest(name), 'device_kept'));
      expect(await store.listSessions(name)).toHaveLength(4);
      await store.revoke(revoked.accessToken, 'app');
      await refreshed(store, refreshOf(replayed.refreshToken!));
      expect((await store.refresh(refreshOf(replayed.refreshToken!))).status).toBe('replayed');
      // A refresh keeps the session (same id).
      const { tokens: keptNext } = await refreshed(store, refreshOf(kept.refreshToken!));
      await sleep(1100);
      expect((await store.listSessions(name)).map((s) => s.id)).toEqual([kept.sessionId]);
      expect((await devicesOf(store, keptNext.accessToken)).sessions.map((s) => s.id)).toEqual([kept.sessionId]);
      expect(short.sessionId).not.toBe(kept.sessionId);
    });
  });

  describe('device limit', () => {
    const capped = (req: IssueRequest, onLimit: 'end-oldest' | 'refuse', max = 3): IssueRequest => ({
      ...req,
      deviceLimit: { max, onLimit },
    });

    it('end-oldest: a 4th device ends the least recently used (reuse counts as use) and names it', async () => {
      const base = capped(issueRequest(), 'end-oldest');
      const t1 = await tokensOf(store, onDevice(base, 'device_1'));
      await sleep(5);
      const t2 = await tokensOf(store, onDevice(base, 'device_2'));
      await sleep(5);
      const t3 = await tokensOf(store, onDevice(base, 'device_3'));
      await sleep(5);
      expect((await tokensOf(store, onDevice(base, 'device_1'))).reused).toBe(true); // d1 used last now
      await sleep(5);
      const fourth = await store.issue(onDevice(base, 'device_4'));
      expect(fourth).toMatchObject({ status: 'issued', endedSessionId: t2.sessionId });
      await expectEnded(store, t2);
      for (const tokens of [t1, t3]) await expectLive(store, tokens);
      expect(await store.listSessions(base.username!, 'app')).toHaveLength(3);
    });

    it('never counts reuse or refresh against the cap, nor the sessions of another client', async () => {
      const base = capped(issueRequest(), 'refuse');
      const t = await Promise.all(['device_1', 'device_2', 'device_3'].map((d) => tokensOf(store, onDevice(base, d))));
      const reused = await store.issue(onDevice(base, 'device_1'));
      expect(reused.status).toBe('reused');
      expect('endedSessionId' in reused ? reused.endedSessionId : undefined).toBeUndefined();
      const { tokens: next } = await refreshed(store, refreshOf(t[1]!.refreshToken!));
      await expectLive(store, next);
      expect((await store.issue({ ...onDevice(base, 'device_4'), clientId: 'other' })).status).toBe('issued');
      const endOldest = capped(base, 'end-oldest');
      const again = await store.issue(onDevice(endOldest, 'device_2'));
      expect(again.status).toBe('reused');
      expect('endedSessionId' in again ? again.endedSessionId : undefined).toBeUndefined();
      expect(await store.listSessions(base.username!, 'app')).toHaveLength(3);
    });

    it('counts only that user\'s sessions: "Alice" (same hash tag, same client) neither ends nor blocks "alice"', async () => {
      const name = fresh('Cap-');
      const upper = await Promise.all(
        ['device_1', 'device_2'].map((d) => tokensOf(store, onDevice(capped(userRequest(name), 'end-oldest', 2), d))),
      );
      const lower = await store.issue(onDevice(capped(userRequest(name.toLowerCase()), 'end-oldest', 2), 'device_1'));
      expect(lower.status).toBe('issued');
      expect('endedSessionId' in lower ? lower.endedSessionId : undefined).toBeUndefined();
      for (const tokens of upper) await expectLive(store, tokens);
      const refused = await store.issue(onDevice(capped(userRequest(name.toLowerCase()), 'refuse', 2), 'device_2'));
      expect(refused.status).toBe('issued');
      expect(await store.listSessions(name)).toHaveLength(2);
      expect(await store.listSessions(name.toLowerCase())).toHaveLength(2);
    });

    it('holds the cap under concurrency: 20 new devices at once with room for 3 issue exactly 3', async () => {
      const base = capped(issueRequest(), 'refuse');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.issue(onDevice(base, `device_${i}`))));
      expect(results.filter((r) => r.status === 'issued')).toHaveLength(3);
      expect(results.filter((r) => r.status === 'device_limit')).toHaveLength(17);
      expect(await store.listSessions(base.username!)).toHaveLength(3);
    });

    it('refuse: answers device_limit and changes nothing', async () => {
      const base = capped(issueRequest(), 'refuse');
      const t = await Promise.all(['device_1', 'device_2', 'device_3'].map((d) => tokensOf(store, onDevice(base, d))));
      const before = await store.listSessions(base.username!);
      expect(await store.issue(onDevice(base, 'device_4'))).toEqual({ status: 'device_limit' });
      expect(await store.listSessions(base.username!)).toEqual(before);
      for (const tokens of t) await expectLive(store, tokens);
      // Ending one makes room again.
      expect(await store.revoke(t[0]!.accessToken, 'app')).toBe('revoked');
      expect((await store.issue(onDevice(base, 'device_4'))).status).toBe('issued');
    });

    it('one user asking for 10,000 different devices (cap 50) leaves at most 50 alive, in bounded memory', async () => {
      const name = fresh('greedy-');
      const base = capped(userRequest(name), 'end-oldest', 50);
      const started = Date.now();
      const devices = Array.from({ length: 10_000 }, (_, i) => `device_${i}`);
      const results = await inParallel(devices, 50, (d) => store.issue(onDevice(base, d)));
      const elapsed = Date.now() - started;
      expect(results.filter((r) => r.status !== 'issued')).toEqual([]);
      expect(results.filter((r) => r.status === 'issued' && r.endedSessionId !== undefined)).toHaveLength(10_000 - 50);
      const alive = await store.listSessions(name);
      expect(alive).toHaveLength(50);
      // The survivors are among the most recently issued (50 in flight, and ties within one ms).
      const survivors = new Set(alive.map((s) => s.device));
      expect([...survivors].filter((d) => Number(d!.slice(7)) < 10_000 - 500)).toEqual([]);
      const usage = subject.usage ? await subject.usage(userTag(name)) : undefined;
      console.log(
        `[device cap] ${backend}: 10,000 devices issued in ${elapsed} ms, ${alive.length} alive` +
          (usage
            ? `; Redis holds ${usage.keys} keys, ${usage.bytes} bytes for that user (${Math.round(usage.bytes / alive.length)} B per session)`
            : ''),
      );
      if (usage) {
        // Per session: its hash and two token pointers; the tag's index once.
        expect(usage.keys).toBeLessThanOrEqual(50 * 3 + 2);
        expect(usage.bytes).toBeLessThan(50 * 1024);
      }
    }, 60_000);
  });

  describe('graceful refresh rotation', () => {
    it('answers a lost rotation retried inside the window with the SAME pair, never a third', async () => {
      const first = await tokensOf(store, issueRequest());
      const rotated = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      expect(rotated.retried).toBe(false);
      for (let i = 0; i < 2; i++) {
        const retry = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
        expect(retry.retried).toBe(true);
        expect(retry.tokens).toMatchObject({
          accessToken: rotated.tokens.accessToken,
          refreshToken: rotated.tokens.refreshToken,
          sessionId: first.sessionId,
          scopes: first.scopes,
          deviceScopes: first.deviceScopes,
        });
        expect(retry.tokens.expiresIn).toBeGreaterThan(590);
        expect(retry.tokens.expiresIn).toBeLessThanOrEqual(600);
      }
      await expectLive(store, rotated.tokens);
      expect(await store.lookup(first.accessToken)).toBeNull();
      expect(await store.listSessions(first.username!)).toHaveLength(1);
    });

    it('makes the old token a replay once the new refresh token was used (ends that device only)', async () => {
      const ipad = issueRequest();
      const first = await tokensOf(store, ipad);
      const iphone = await tokensOf(store, onDevice(ipad, 'device_iphone'));
      const one = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      const two = await refreshed(store, refreshOf(one.tokens.refreshToken!, { gracePeriod: 30 }));
      expect(two.retried).toBe(false);
      expect(await store.refresh(refreshOf(first.refreshToken!, { gracePeriod: 30 }))).toEqual({
        status: 'replayed',
        sessionId: first.sessionId,
      });
      await expectEnded(store, two.tokens);
      await expectLive(store, iphone);
    });

    it('makes the old token a replay after the window', async () => {
      const first = await tokensOf(store, issueRequest());
      const one = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 1 }));
      await sleep(1100);
      expect((await store.refresh(refreshOf(first.refreshToken!, { gracePeriod: 1 }))).status).toBe('replayed');
      await expectEnded(store, one.tokens);
    });

    it('is strict with gracePeriod 0 (and by default)', async () => {
      for (const gracePeriod of [0, undefined]) {
        const first = await tokensOf(store, issueRequest());
        const one = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod }));
        expect((await store.refresh(refreshOf(first.refreshToken!, { gracePeriod }))).status).toBe('replayed');
        await expectEnded(store, one.tokens);
      }
    });

    it('gives two concurrent refreshes with the same token the same new pair', async () => {
      const first = await tokensOf(store, issueRequest());
      const [x, y] = await Promise.all([0, 1].map(() => refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }))));
      expect(x!.tokens.accessToken).toBe(y!.tokens.accessToken);
      expect(x!.tokens.refreshToken).toBe(y!.tokens.refreshToken);
      expect([x!.retried, y!.retried].sort()).toEqual([false, true]);
      await expectLive(store, x!.tokens);
    });

    it('answers invalid to another client presenting the rotated token, and changes nothing', async () => {
      const first = await tokensOf(store, issueRequest());
      const one = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      for (let i = 0; i < 2; i++) {
        expect(await store.refresh(refreshOf(first.refreshToken!, { gracePeriod: 30, clientId: 'other' }))).toEqual({ status: 'invalid' });
      }
      await expectLive(store, one.tokens);
      const retry = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      expect(retry).toMatchObject({ retried: true, tokens: { accessToken: one.tokens.accessToken } });
    });

    it('never answers a retry with a dead access token', async () => {
      const first = await tokensOf(store, issueRequest());
      await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30, accessTokenTtl: 1 }));
      await sleep(1100);
      const retry = await store.refresh(refreshOf(first.refreshToken!, { gracePeriod: 30, accessTokenTtl: 1 }));
      expect(retry.status).toBe('ok');
      if (retry.status !== 'ok') return;
      expect(retry.tokens.expiresIn).toBeGreaterThan(0);
      expect(await store.lookup(retry.tokens.accessToken)).not.toBeNull();
    });

    it('with reuse off, a retry inside the window rotates again and the pair it replaces stops working', async () => {
      const first = await tokensOf(store, issueRequest({ reuse: false }));
      const one = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30, reuse: false }));
      const two = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30, reuse: false }));
      expect(two.tokens.sessionId).toBe(first.sessionId);
      expect(two.tokens.accessToken).not.toBe(one.tokens.accessToken);
      expect(two.tokens.refreshToken).not.toBe(one.tokens.refreshToken);
      await expectLive(store, two.tokens);
      expect(await store.lookup(one.tokens.accessToken)).toBeNull();
      expect(await store.lookup(one.tokens.refreshToken!, ['refresh_token'])).toBeNull();
      expect((await store.refresh(refreshOf(one.tokens.refreshToken!, { reuse: false }))).status).not.toBe('ok');
    });
  });

  describe('a session made again for the same identity (same session id)', () => {
    /** Everything the tokens of an ended session could still try: none of it may reach the new one. */
    async function expectNothingFor(old: { access: string[]; refresh: string[] }, clientId = 'app'): Promise<void> {
      for (const token of old.access) {
        expect(await store.lookup(token)).toBeNull();
        expect(await store.listDevices(token)).toBe('invalid_token');
        expect(await store.endOtherDevices(token)).toBe('invalid_token');
        expect(await store.revoke(token, clientId)).toBe('unknown');
      }
      for (const token of old.refresh) {
        expect(await store.lookup(token, ['refresh_token'])).toBeNull();
        expect(await store.refresh(refreshOf(token, { clientId, gracePeriod: 30 }))).toEqual({ status: 'invalid' });
        expect(await store.revoke(token, clientId, ['refresh_token'])).toBe('unknown');
      }
    }

    it('ended, then logged in again: the old access and refresh tokens and a rotated-away one inside the grace period get nothing', async () => {
      const req = issueRequest();
      const first = await tokensOf(store, req);
      const { tokens: rotated } = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      expect(await store.revoke(rotated.accessToken, 'app')).toBe('revoked');
      const again = await tokensOf(store, req);
      expect(again.reused).toBe(false);
      await expectNothingFor({ access: [first.accessToken, rotated.accessToken], refresh: [first.refreshToken!, rotated.refreshToken!] });
      // None of that ended or changed the new session.
      await expectLive(store, again);
      expect((await store.listSessions(req.username!)).map((s) => s.id)).toEqual([again.sessionId]);
      const next = await refreshed(store, refreshOf(again.refreshToken!, { gracePeriod: 30 }));
      expect(next.retried).toBe(false);
      await expectLive(store, next.tokens);
    });

    it('ended by its user or an operator, then logged in again: the same', async () => {
      for (const end of ['endDevice', 'endSession', 'endUserSessions'] as const) {
        const req = issueRequest();
        const first = await tokensOf(store, req);
        const { tokens: rotated } = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
        if (end === 'endDevice') expect(await store.endDevice(rotated.accessToken, rotated.sessionId)).toBe('ended');
        if (end === 'endSession') expect(await store.endSession(req.username!, rotated.sessionId)).toBe(true);
        if (end === 'endUserSessions') expect(await store.endUserSessions(req.username!)).toBe(1);
        const again = await tokensOf(store, req);
        await expectNothingFor({ access: [first.accessToken, rotated.accessToken], refresh: [first.refreshToken!, rotated.refreshToken!] });
        await expectLive(store, again);
      }
    });

    it('replaced in the same step (too close to expiry): the rotated-away refresh token of the old one neither answers nor ends the new one', async () => {
      const req = issueRequest({ accessTokenTtl: 2, refreshTokenTtl: 60, reuse: { minRemaining: 60 } });
      const first = await tokensOf(store, req);
      const { tokens: rotated } = await refreshed(
        store,
        refreshOf(first.refreshToken!, { gracePeriod: 30, accessTokenTtl: 2, refreshTokenTtl: 60 }),
      );
      await sleep(1100);
      const again = await tokensOf(store, req);
      expect(again.reused).toBe(false);
      await expectNothingFor({ access: [rotated.accessToken], refresh: [first.refreshToken!, rotated.refreshToken!] });
      await expectLive(store, again);
      expect(await store.listSessions(req.username!)).toHaveLength(1);
    });

    it('replaced after a secret was dropped: the old tokens get nothing, the new session lives', async () => {
      const req = issueRequest();
      const old = subject.withSecret(SECRET);
      const first = await tokensOf(old, req);
      const { tokens: rotated } = await refreshed(old, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      const dropped = subject.withSecret(NEW_SECRET);
      const again = await tokensOf(dropped, req);
      expect(again.reused).toBe(false);
      // The old tokens, presented to a store that still holds their secret, find nothing either.
      for (const token of [first.refreshToken!, rotated.refreshToken!]) {
        expect(await old.refresh(refreshOf(token, { gracePeriod: 30 }))).toEqual({ status: 'invalid' });
      }
      expect(await old.lookup(rotated.accessToken)).toBeNull();
      await expectLive(dropped, again);
    });
  });

  describe('a narrower scope on refresh', () => {
    it("makes the session the narrower identity's: a login with those scopes reuses it, and a grace retry still answers", async () => {
      const wide = issueRequest({ scopes: ['device_ipad', 'orders:read', 'orders:write'] });
      const narrowReq = { ...wide, scopes: ['device_ipad', 'orders:read'] };
      const first = await tokensOf(store, wide);
      const narrowed = await refreshed(store, refreshOf(first.refreshToken!, { scopes: ['orders:read'], gracePeriod: 30 }));
      expect(narrowed.tokens.scopes).toEqual(['device_ipad', 'orders:read']);
      const retry = await refreshed(store, refreshOf(first.refreshToken!, { gracePeriod: 30 }));
      expect(retry).toMatchObject({
        retried: true,
        tokens: { accessToken: narrowed.tokens.accessToken, sessionId: narrowed.tokens.sessionId },
      });
      const login = await tokensOf(store, narrowReq);
      expect(login).toMatchObject({ reused: true, accessToken: narrowed.tokens.accessToken, sessionId: narrowed.tokens.sessionId });
      expect(await store.lookup(narrowed.tokens.accessToken)).toMatchObject({ sessionId: narrowed.tokens.sessionId });
      // The wider identity has no session any more: asking for it makes a new one.
      const wideAgain = await tokensOf(store, wide);
      expect(wideAgain.reused).toBe(false);
      const sessions = await store.listSessions(wide.username!);
      expect(sessions.map((s) => s.id).sort()).toEqual([narrowed.tokens.sessionId, wideAgain.sessionId].sort());
      expect(sessions.find((s) => s.id === narrowed.tokens.sessionId)).toMatchObject({ createdAt: expect.any(Number) });
    });

    it('replaces the session the narrower identity had: one live session per identity', async () => {
      const wide = issueRequest({ scopes: ['device_ipad', 'orders:read', 'orders:write'] });
      const narrowReq = { ...wide, scopes: ['device_ipad', 'orders:read'] };
      const existing = await tokensOf(store, narrowReq);
      const first = await tokensOf(store, wide);
      const { tokens: narrowed } = await refreshed(store, refreshOf(first.refreshToken!, { scopes: ['orders:read'] }));
      await expectEnded(store, existing);
      await expectLive(store, narrowed);
      expect((await store.listSessions(wide.username!)).map((s) => s.id)).toEqual([narrowed.sessionId]);
      expect(await tokensOf(store, narrowReq)).toMatchObject({ reused: true, accessToken: narrowed.accessToken });
    });
  });

  describe('clients of one user whose session ids share their first digits', () => {
    /** Two client ids whose sessions with `username` get the same 3-digit id prefix. */
    function clientsSharingPrefix(username: string): [string, string] {
      const seen = new Map<string, string>();
      for (let i = 0; ; i++) {
        const clientId = `client-${i}`;
        const prefix = sessionPrefix(clientId, username);
        const other = seen.get(prefix);
        if (other !== undefined) return [other, clientId];
        seen.set(prefix, clientId);
      }
    }

    it('keeps them apart: lists, the device limit and endOtherDevices go by the session, not by the id', async () => {
      const name = fresh('prefix-');
      const [one, two] = clientsSharingPrefix(name);
      const ofOne = (device: string) => onDevice(userRequest(name, { clientId: one, deviceLimit: { max: 2, onLimit: 'refuse' } }), device);
      const ofTwo = (device: string) =>
        onDevice(userRequest(name, { clientId: two, deviceLimit: { max: 2, onLimit: 'end-oldest' } }), device);
      const a = await tokensOf(store, ofOne('device_a'));
      const b = await tokensOf(store, ofOne('device_b'));
      const x = await tokensOf(store, ofTwo('device_x'));
      await sleep(5);
      const y = await tokensOf(store, ofTwo('device_y'));
      expect(a.sessionId.slice(0, 3)).toBe(x.sessionId.slice(0, 3));
      // Two each: the other client's two neither fill the cap nor are ended by it.
      expect(await store.issue(ofOne('device_c'))).toEqual({ status: 'device_limit' });
      const z = await store.issue(ofTwo('device_z'));
      expect(z).toMatchObject({ status: 'issued', endedSessionId: x.sessionId });
      for (const tokens of [a, b, y]) await expectLive(store, tokens);
      expect((await devicesOf(store, a.accessToken)).sessions.map((s) => s.id).sort()).toEqual([a.sessionId, b.sessionId].sort());
      expect((await store.listSessions(name, one)).map((s) => s.clientId)).toEqual([one, one]);
      expect(await store.listSessions(name)).toHaveLength(4);
      expect(await store.endOtherDevices(y.accessToken)).toEqual({ ended: 1 });
      for (const tokens of [a, b, y]) await expectLive(store, tokens);
      expect(await store.endDevice(y.accessToken, a.sessionId)).toBe('not_found');
      await expectLive(store, a);
    });
  });
}
