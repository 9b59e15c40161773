import type { IssueRequest, TokenSet, TokenStore } from '../../lib';
import { TokenCodec } from '../../lib/tokens/token-codec';
import { describeSessionContract } from './session.contract';

/** A store under test, with the means to make a second one over the same data. */
export interface StoreUnderTest {
  readonly store: TokenStore;
  /** Another store over the same backend with other secrets (secret rotation). */
  withSecret(secret: string | string[]): TokenStore;
  /** The keys and bytes (Redis `MEMORY USAGE`) the backend holds for one user's hash tag, where it can tell. */
  usage?(tag: string): Promise<{ keys: number; bytes: number }>;
}

export const SECRET = 'contract-suite-secret-0123456789abcdef';
export const NEW_SECRET = 'contract-suite-rotated-secret-abcdef0123456789';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The tokens of an issue that must succeed (issued or reused). */
export async function tokensOf(store: TokenStore, request: IssueRequest): Promise<TokenSet> {
  const result = await store.issue(request);
  if (result.status !== 'issued' && result.status !== 'reused') throw new Error(`issue() answered ${result.status}`);
  return result.tokens;
}

let counter = 0;
/** A fresh identity per test, so tests never see each other's grants. */
export function issueRequest(overrides: Partial<IssueRequest> = {}): IssueRequest {
  counter += 1;
  const username = `user${counter}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    clientId: 'app',
    subject: username,
    username,
    scopes: ['device_ipad', 'orders:read'],
    deviceScopes: ['device_ipad'],
    accessTokenTtl: 3600,
    refreshTokenTtl: 86400,
    reuse: { minRemaining: 60 },
    ...overrides,
  };
}

/**
 * The behaviour every TokenStore must have. Run by the Memory, Redis, Redis Cluster and Sentinel suites;
 * the device-session half lives in `session.contract.ts`.
 */
export function describeTokenStoreContract(name: string, setup: () => StoreUnderTest): void {
  describe(`TokenStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: TokenStore;
    beforeAll(() => {
      subject = setup();
      store = subject.store;
    });

    describe('issue()', () => {
      it('mints 256-bit random tokens with the granted claims', async () => {
        const req = issueRequest();
        const tokens = await tokensOf(store, req);
        expect(tokens.reused).toBe(false);
        // Access: <user tag>.<session id>.<256-bit seed>.<128-bit MAC>; refresh: <user tag>.<256-bit seed>.<128-bit MAC>
        expect(tokens.accessToken).toMatch(/^[A-Za-z0-9_-]{12}\.[0-9]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
        expect(tokens.accessToken.split('.')[1]).toBe(tokens.sessionId);
        expect(tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
        expect(tokens.refreshToken).not.toBe(tokens.accessToken);
        expect(tokens.expiresIn).toBe(3600);
        expect(tokens.scopes).toEqual(['device_ipad', 'orders:read']);
        const record = await store.lookup(tokens.accessToken);
        expect(record).toMatchObject({
          tokenType: 'access_token',
          clientId: 'app',
          subject: req.subject,
          username: req.username,
          scopes: ['device_ipad', 'orders:read'],
          deviceScopes: ['device_ipad'],
          sessionId: tokens.sessionId,
        });
        const now = Math.floor(Date.now() / 1000);
        expect(record!.issuedAt).toBeGreaterThanOrEqual(now - 2);
        expect(record!.expiresAt - record!.issuedAt).toBe(3600);
      });

      it('issues no refresh token when refreshTokenTtl is undefined', async () => {
        const tokens = await tokensOf(store, issueRequest({ refreshTokenTtl: undefined }));
        expect(tokens.refreshToken).toBeUndefined();
        expect(await store.lookup(tokens.accessToken)).not.toBeNull();
      });

      it('reuses the live token for the same device, with a smaller expires_in', async () => {
        const req = issueRequest();
        const first = await tokensOf(store, req);
        await sleep(1100);
        const second = await tokensOf(store, req);
        expect(second.reused).toBe(true);
        expect(second.accessToken).toBe(first.accessToken);
        expect(second.refreshToken).toBe(first.refreshToken);
        expect(second.sessionId).toBe(first.sessionId);
        expect(second.expiresIn).toBeLessThan(first.expiresIn);
        expect(second.expiresIn).toBeGreaterThanOrEqual(3600 - 3);
      });

      it('gives two devices of one user different tokens', async () => {
        const ipad = issueRequest();
        const iphone = { ...ipad, scopes: ['device_iphone', 'orders:read'], deviceScopes: ['device_iphone'] };
        const a = await tokensOf(store, ipad);
        const b = await tokensOf(store, iphone);
        expect(b.reused).toBe(false);
        expect(b.accessToken).not.toBe(a.accessToken);
        expect(b.refreshToken).not.toBe(a.refreshToken);
        expect((await store.lookup(b.accessToken))!.deviceScopes).toEqual(['device_iphone']);
      });

      it('treats another scope set as another identity', async () => {
        const req = issueRequest();
        const a = await tokensOf(store, req);
        const b = await tokensOf(store, { ...req, scopes: ['device_ipad', 'orders:read', 'orders:write'] });
        expect(b.accessToken).not.toBe(a.accessToken);
        expect(await store.lookup(a.accessToken)).not.toBeNull();
      });

      it('mints a new token on every request when reuse is off, leaving the old ones live', async () => {
        const req = issueRequest({ reuse: false });
        const a = await tokensOf(store, req);
        const b = await tokensOf(store, req);
        expect(b.reused).toBe(false);
        expect(b.accessToken).not.toBe(a.accessToken);
        expect(await store.lookup(a.accessToken)).not.toBeNull();
        expect(await store.lookup(b.accessToken)).not.toBeNull();
      });

      it('reuses a short-lived token while it is live: the minimum left never exceeds half its lifetime', async () => {
        const req = issueRequest({ accessTokenTtl: 2, reuse: { minRemaining: 60 } });
        const a = await tokensOf(store, req);
        const b = await tokensOf(store, req);
        expect(b).toMatchObject({ reused: true, accessToken: a.accessToken, refreshToken: a.refreshToken });
      });

      it('replaces (and ends) a session whose token has no more than the minimum left', async () => {
        const req = issueRequest({ accessTokenTtl: 2, reuse: { minRemaining: 60 } });
        const a = await tokensOf(store, req);
        await sleep(1100); // under 1 s (half of 2 s) left
        const b = await tokensOf(store, req);
        expect(b.reused).toBe(false);
        expect(b.accessToken).not.toBe(a.accessToken);
        expect(await store.lookup(a.accessToken)).toBeNull();
        expect(await store.lookup(a.refreshToken!, ['refresh_token'])).toBeNull();
        expect(await store.lookup(b.accessToken)).not.toBeNull();
      });

      it('yields exactly one token for 100 concurrent identical requests', async () => {
        const req = issueRequest();
        const results = await Promise.all(Array.from({ length: 100 }, () => tokensOf(store, req)));
        expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
        expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
        expect(results.filter((r) => !r.reused)).toHaveLength(1);
      });

      it('lets an access token expire with its TTL', async () => {
        const tokens = await tokensOf(store, issueRequest({ accessTokenTtl: 1, refreshTokenTtl: 1, reuse: false }));
        expect(await store.lookup(tokens.accessToken)).not.toBeNull();
        await sleep(1200);
        expect(await store.lookup(tokens.accessToken)).toBeNull();
      });
    });

    describe('lookup()', () => {
      it('returns null for unknown, malformed and empty tokens', async () => {
        const tokens = await tokensOf(store, issueRequest());
        const forged = `${tokens.accessToken.slice(0, 13)}${'A'.repeat(43)}`;
        for (const token of [forged, 'not-a-token', '', `${tokens.accessToken}x`, '{tag}:a:x']) {
          expect(await store.lookup(token)).toBeNull();
        }
      });

      it('finds a refresh token only when asked for refresh tokens', async () => {
        const tokens = await tokensOf(store, issueRequest());
        expect(await store.lookup(tokens.refreshToken!)).toBeNull();
        const record = await store.lookup(tokens.refreshToken!, ['access_token', 'refresh_token']);
        expect(record).toMatchObject({ tokenType: 'refresh_token', sessionId: tokens.sessionId });
        expect(record!.expiresAt - record!.issuedAt).toBe(86400);
      });

      it('keeps tokens of a rotated-out secret valid while new ones use the new secret', async () => {
        const tokens = await tokensOf(store, issueRequest());
        const rotated = subject.withSecret([NEW_SECRET, SECRET]);
        expect(await rotated.lookup(tokens.accessToken)).toMatchObject({ sessionId: tokens.sessionId });
        const fresh = await tokensOf(rotated, issueRequest());
        expect(await rotated.lookup(fresh.accessToken)).not.toBeNull();
        // A store that only knows the old secret cannot read the new token.
        expect(await store.lookup(fresh.accessToken)).toBeNull();
        expect(await rotated.revoke(tokens.accessToken, 'app')).toBe('revoked');
        expect(await store.lookup(tokens.accessToken)).toBeNull();
      });

      it('reads an access token through the session it names: live while that session holds it and it has time left', async () => {
        const req = issueRequest({ accessTokenTtl: 1, refreshTokenTtl: 60 });
        const tokens = await tokensOf(store, req);
        expect(tokens.accessToken.split('.')[1]).toBe(tokens.sessionId);
        expect(await store.lookup(tokens.accessToken)).toMatchObject({ tokenType: 'access_token', sessionId: tokens.sessionId });
        // Its session lives on with the refresh token; the access token itself has expired.
        await sleep(1200);
        expect(await store.lookup(tokens.accessToken)).toBeNull();
        expect(await store.lookup(tokens.refreshToken!, ['refresh_token'])).not.toBeNull();
      });

      it("never lets an ended session's access token into the new session the same identity gets under the same id", async () => {
        const req = issueRequest();
        const first = await tokensOf(store, req);
        expect(await store.revoke(first.accessToken, 'app')).toBe('revoked');
        const second = await tokensOf(store, req);
        expect(second.sessionId).toBe(first.sessionId);
        expect(second.reused).toBe(false);
        expect(await store.lookup(first.accessToken)).toBeNull();
        expect(await store.lookup(second.accessToken)).toMatchObject({ sessionId: second.sessionId });
      });

      it('opens no other session with a token whose session id was changed (the MAC covers it)', async () => {
        const req = issueRequest();
        const ipad = await tokensOf(store, req);
        const phone = await tokensOf(store, { ...req, scopes: ['device_phone', 'orders:read'], deviceScopes: ['device_phone'] });
        const [tag, , seed, mac] = ipad.accessToken.split('.');
        expect(await store.lookup(`${tag}.${phone.sessionId}.${seed}.${mac}`)).toBeNull();
        expect(await store.lookup(ipad.accessToken)).toMatchObject({ sessionId: ipad.sessionId });
      });

      it('never takes an access token for a refresh token', async () => {
        const tokens = await tokensOf(store, issueRequest());
        expect(await store.lookup(tokens.accessToken, ['refresh_token'])).toBeNull();
        expect(await store.lookup(tokens.accessToken, ['refresh_token', 'access_token'])).toMatchObject({ tokenType: 'access_token' });
        expect(await store.refresh({ refreshToken: tokens.accessToken, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60 })).toEqual(
          {
            status: 'invalid',
          },
        );
        expect(await store.lookup(tokens.accessToken)).not.toBeNull();
      });

      it('still serves access tokens of the earlier 3-part form (<tag>.<seed>.<mac>) until they expire', async () => {
        const tokens = await tokensOf(store, issueRequest());
        const [tag, , seed] = tokens.accessToken.split('.') as [string, string, string];
        const earlier = new TokenCodec(SECRET).token(tag, seed)!;
        expect(earlier.split('.')).toHaveLength(3);
        expect(await store.lookup(earlier)).toMatchObject({ tokenType: 'access_token', sessionId: tokens.sessionId });
        expect(await store.lookup(earlier, ['refresh_token', 'access_token'])).toMatchObject({ tokenType: 'access_token' });
        expect(await store.revoke(earlier, 'app')).toBe('revoked');
        expect(await store.lookup(tokens.accessToken)).toBeNull();
      });

      it('gives a device a new token, not an error, once the secret of its live token is dropped', async () => {
        const req = issueRequest();
        const old = await tokensOf(store, req);
        const dropped = subject.withSecret(NEW_SECRET);
        const fresh = await tokensOf(dropped, req);
        expect(fresh.reused).toBe(false);
        expect(fresh.accessToken).not.toBe(old.accessToken);
        expect(await dropped.lookup(fresh.accessToken)).toMatchObject({ sessionId: fresh.sessionId });
        expect(await dropped.lookup(old.accessToken)).toBeNull();
        expect(await tokensOf(dropped, req)).toMatchObject({ reused: true, accessToken: fresh.accessToken });
      });
    });

    describe('refresh()', () => {
      it('rotates: new tokens, old refresh and access tokens dead, scopes and device kept', async () => {
        const req = issueRequest();
        const first = await tokensOf(store, req);
        const result = await store.refresh({
          refreshToken: first.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(result.status).toBe('ok');
        if (result.status !== 'ok') return;
        const next = result.tokens;
        expect(next.accessToken).not.toBe(first.accessToken);
        expect(next.refreshToken).not.toBe(first.refreshToken);
        expect(next.sessionId).toBe(first.sessionId);
        expect(next.expiresIn).toBe(600);
        expect(next.scopes).toEqual(['device_ipad', 'orders:read']);
        expect(next.deviceScopes).toEqual(['device_ipad']);
        expect(next.username).toBe(req.username);
        expect(await store.lookup(first.accessToken)).toBeNull();
        expect(await store.lookup(next.accessToken)).toMatchObject({ scopes: ['device_ipad', 'orders:read'] });
        // The same device asking again now gets the rotated tokens.
        const again = await tokensOf(store, req);
        expect(again.accessToken).toBe(next.accessToken);
        expect(again.refreshToken).toBe(next.refreshToken);
      });

      it('allows a narrower scope and keeps the device scope', async () => {
        const req = issueRequest({ scopes: ['device_ipad', 'orders:read', 'orders:write'] });
        const first = await tokensOf(store, req);
        const result = await store.refresh({
          refreshToken: first.refreshToken!,
          clientId: 'app',
          scopes: ['orders:read'],
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(result.status).toBe('ok');
        if (result.status !== 'ok') return;
        expect(result.tokens.scopes).toEqual(['device_ipad', 'orders:read']);
        expect((await store.lookup(result.tokens.accessToken))!.scopes).toEqual(['device_ipad', 'orders:read']);
      });

      it('refuses a wider scope and leaves the grant alone', async () => {
        const first = await tokensOf(store, issueRequest());
        const result = await store.refresh({
          refreshToken: first.refreshToken!,
          clientId: 'app',
          scopes: ['orders:read', 'orders:write'],
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(result.status).toBe('invalid_scope');
        expect(await store.lookup(first.accessToken)).not.toBeNull();
      });

      it("refuses another client's refresh token and leaves the grant alone", async () => {
        const first = await tokensOf(store, issueRequest());
        const result = await store.refresh({
          refreshToken: first.refreshToken!,
          clientId: 'other',
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(result.status).toBe('invalid');
        expect(await store.lookup(first.accessToken)).not.toBeNull();
      });

      it('answers invalid for unknown and malformed refresh tokens', async () => {
        for (const refreshToken of ['nope', `${'A'.repeat(12)}.${'B'.repeat(43)}`]) {
          expect((await store.refresh({ refreshToken, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60 })).status).toBe('invalid');
        }
      });

      it("ends only that device's grant when a rotated refresh token is replayed", async () => {
        const ipad = issueRequest();
        const iphone = { ...ipad, scopes: ['device_iphone', 'orders:read'], deviceScopes: ['device_iphone'] };
        const ipadTokens = await tokensOf(store, ipad);
        const iphoneTokens = await tokensOf(store, iphone);
        const rotated = await store.refresh({
          refreshToken: ipadTokens.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(rotated.status).toBe('ok');
        if (rotated.status !== 'ok') return;
        const replay = await store.refresh({
          refreshToken: ipadTokens.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(replay.status).toBe('replayed');
        expect(await store.lookup(rotated.tokens.accessToken)).toBeNull();
        const afterReplay = await store.refresh({
          refreshToken: rotated.tokens.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 600,
          refreshTokenTtl: 7200,
        });
        expect(afterReplay.status).not.toBe('ok');
        expect(await store.lookup(iphoneTokens.accessToken)).not.toBeNull();
      });
    });

    describe('revoke()', () => {
      it("revoking one device's access token ends its grant and leaves the other device alone", async () => {
        const ipad = issueRequest();
        const iphone = { ...ipad, scopes: ['device_iphone', 'orders:read'], deviceScopes: ['device_iphone'] };
        const a = await tokensOf(store, ipad);
        const b = await tokensOf(store, iphone);
        expect(await store.revoke(a.accessToken, 'app')).toBe('revoked');
        expect(await store.lookup(a.accessToken)).toBeNull();
        expect(await store.lookup(a.refreshToken!, ['refresh_token'])).toBeNull();
        expect(await store.lookup(b.accessToken)).not.toBeNull();
        // The device logs in again and gets a new token, not the revoked one.
        const again = await tokensOf(store, ipad);
        expect(again.accessToken).not.toBe(a.accessToken);
      });

      it('revoking a refresh token ends the access token too', async () => {
        const a = await tokensOf(store, issueRequest());
        expect(await store.revoke(a.refreshToken!, 'app', ['refresh_token', 'access_token'])).toBe('revoked');
        expect(await store.lookup(a.accessToken)).toBeNull();
        const refreshed = await store.refresh({ refreshToken: a.refreshToken!, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60 });
        expect(refreshed.status).toBe('invalid');
      });

      it("never revokes another client's token", async () => {
        const a = await tokensOf(store, issueRequest());
        expect(await store.revoke(a.accessToken, 'other')).toBe('foreign');
        expect(await store.revoke(a.refreshToken!, 'other')).toBe('foreign');
        expect(await store.lookup(a.accessToken)).not.toBeNull();
      });

      it('answers unknown for unknown, malformed and already revoked tokens', async () => {
        const a = await tokensOf(store, issueRequest());
        expect(await store.revoke(a.accessToken, 'app')).toBe('revoked');
        expect(await store.revoke(a.accessToken, 'app')).toBe('unknown');
        expect(await store.revoke('garbage', 'app')).toBe('unknown');
        expect(await store.revoke(`${'A'.repeat(12)}.${'B'.repeat(43)}`, 'app')).toBe('unknown');
      });
    });

    describeSessionContract(name, () => subject);

    it('ping() resolves while the backend is up', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
