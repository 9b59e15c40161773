import express, { type Express } from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { createTokenRouter, RedisTokenStore, requireToken, StoreUnavailableError, type TokenSet } from '../../lib';
import { type RedisServerHandle, startRedis } from '../support/redis-servers';
import { allKeysWithPrefix, cleanupPrefix, createTestCluster, createTestRedis, type TestRedisClient, uniquePrefix } from '../support/redis';
import { createHash, randomBytes } from 'node:crypto';
import { seedHash, TokenCodec, userTag } from '../../lib/tokens/token-codec';
import { userUsage } from './redis-usage';
import { describeTokenStoreContract, issueRequest, tokensOf, NEW_SECRET, SECRET } from './token-store.contract';

// The Redis store on a real single node and a real 3-node Cluster (both started privately by
// test/support/global-setup.ts), plus a private server of this file's own for the tests that
// count commands or stop Redis.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Backend {
  readonly name: string;
  connect(): TestRedisClient;
}

const BACKENDS: Backend[] = [
  { name: 'Redis', connect: () => createTestRedis() },
  { name: 'Redis Cluster', connect: () => createTestCluster() },
];

describe.each(BACKENDS)('RedisTokenStore on $name', ({ name, connect }) => {
  let redis: TestRedisClient;
  const keyPrefix = uniquePrefix(`store-${name}`);
  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    await cleanupPrefix(redis, keyPrefix);
    await redis.quit();
  });

  describeTokenStoreContract(name, () => ({
    store: new RedisTokenStore({ redis, secret: SECRET, keyPrefix }),
    withSecret: (secret) => new RedisTokenStore({ redis, secret, keyPrefix }),
    usage: (tag) => userUsage(redis, keyPrefix, tag),
  }));

  describe('what it leaves in Redis', () => {
    const prefix = uniquePrefix(`storage-${name}`);
    let store: RedisTokenStore;
    const seen: string[] = [];
    afterAll(() => cleanupPrefix(redis, prefix));

    /** Runs every kind of write the store makes and remembers each token it handed out. */
    beforeAll(async () => {
      store = new RedisTokenStore({ redis, secret: [NEW_SECRET, SECRET], keyPrefix: prefix });
      const old = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: prefix });
      const remember = (...tokens: (string | undefined)[]) => seen.push(...tokens.filter((t): t is string => !!t));
      for (let i = 0; i < 5; i++) {
        const ipad = issueRequest();
        const iphone = { ...ipad, scopes: ['device_iphone', 'orders:read'], deviceScopes: ['device_iphone'] };
        const a = await tokensOf(store, ipad);
        const b = await tokensOf(store, iphone);
        const again = await tokensOf(store, ipad);
        const legacy = await tokensOf(old, issueRequest());
        const service = await tokensOf(store, issueRequest({ username: undefined, refreshTokenTtl: undefined }));
        const once = await tokensOf(store, issueRequest({ reuse: false }));
        remember(a.accessToken, a.refreshToken, b.accessToken, b.refreshToken, again.accessToken);
        remember(legacy.accessToken, legacy.refreshToken, service.accessToken, once.accessToken, once.refreshToken);
        const rotated = await store.refresh({
          refreshToken: a.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 3600,
          refreshTokenTtl: 86400,
        });
        if (rotated.status !== 'ok') throw new Error(`refresh failed: ${rotated.status}`);
        remember(rotated.tokens.accessToken, rotated.tokens.refreshToken);
        const rotatedLegacy = await store.refresh({
          refreshToken: legacy.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 60,
          refreshTokenTtl: 120,
        });
        if (rotatedLegacy.status !== 'ok') throw new Error(`refresh failed: ${rotatedLegacy.status}`);
        remember(rotatedLegacy.tokens.accessToken, rotatedLegacy.tokens.refreshToken);
        expect(await store.revoke(b.accessToken, 'app')).toBe('revoked');
        // Failed logins, a capped user, a graceful retry, self-service and operator endings.
        await store.recordLoginFailure(ipad.username!, '10.0.0.1', 600);
        const capped = { ...issueRequest(), deviceLimit: { max: 2, onLimit: 'end-oldest' as const } };
        for (const device of ['device_1', 'device_2', 'device_3']) {
          const t = await tokensOf(store, { ...capped, scopes: [device], deviceScopes: [device] });
          remember(t.accessToken, t.refreshToken);
        }
        const graced = await store.refresh({
          refreshToken: again.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 60,
          refreshTokenTtl: 120,
          gracePeriod: 30,
        });
        if (graced.status !== 'ok') throw new Error(`refresh failed: ${graced.status}`);
        remember(graced.tokens.accessToken, graced.tokens.refreshToken);
        const retried = await store.refresh({
          refreshToken: again.refreshToken!,
          clientId: 'app',
          accessTokenTtl: 60,
          refreshTokenTtl: 120,
          gracePeriod: 30,
        });
        if (retried.status !== 'ok' || !retried.retried) throw new Error('the grace period did not answer the retry');
        const other = await tokensOf(store, { ...ipad, scopes: ['device_tv'], deviceScopes: ['device_tv'] });
        remember(other.accessToken, other.refreshToken);
        await store.listDevices(graced.tokens.accessToken);
        await store.endOtherDevices(graced.tokens.accessToken);
        await store.endSession(ipad.username!, graced.tokens.sessionId);
      }
    });

    it('gives every key it writes a TTL', async () => {
      const keys = await allKeysWithPrefix(redis, prefix);
      expect(keys.length).toBeGreaterThan(20);
      const ttls = await Promise.all(keys.map((key) => redis.pttl(key)));
      const withoutTtl = keys.filter((_key, i) => ttls[i]! < 0);
      expect(withoutTtl).toEqual([]);
    });

    it('gives the session index the life of the longest session, and the failure counter its window', async () => {
      const req = issueRequest({ accessTokenTtl: 60, refreshTokenTtl: 200 });
      const a = await tokensOf(store, req);
      await tokensOf(store, { ...req, scopes: ['device_tv'], deviceScopes: ['device_tv'], refreshTokenTtl: 100 });
      await store.recordLoginFailure(req.username!, '10.0.0.1', 30);
      const tag = a.accessToken.split('.')[0]!;
      const keys = (await allKeysWithPrefix(redis, prefix)).filter((key) => key.includes(`{${tag}}`));
      const ttl = async (kind: string) => {
        const found = keys.filter((key) => key.slice(prefix.length + tag.length + 3).split(':')[0] === kind);
        expect(found).toHaveLength(1);
        return redis.pttl(found[0]!);
      };
      const left = await ttl('x');
      expect({ above: left > 190_000, within: left <= 200_000 }).toEqual({ above: true, within: true });
      const window = await ttl('f');
      expect(window).toBeGreaterThan(25_000);
      expect(window).toBeLessThanOrEqual(30_000);
      expect(await store.listSessions(req.username!)).toHaveLength(2);
      expect(await store.endUserSessions(req.username!)).toBe(2);
      // Ended: the index may stay until its TTL, but holds nobody.
      for (const key of keys.filter((k) => k.endsWith(':x'))) expect(await redis.zcard(key)).toBe(0);
    });

    /** Every key and value under the prefix, as one text. */
    async function everythingStored(): Promise<string> {
      const keys = await allKeysWithPrefix(redis, prefix);
      const dumps = await Promise.all(
        keys.map(async (key) => {
          const type = await redis.type(key);
          const value =
            type === 'hash'
              ? Object.values(await redis.hgetall(key)).join('\n')
              : type === 'zset'
                ? (await redis.zrange(key, '0', '-1')).join('\n')
                : type === 'set'
                  ? (await redis.smembers(key)).join('\n')
                  : await redis.get(key);
          return `${key}\n${value ?? ''}`;
        }),
      );
      return dumps.join('\n');
    }

    it('keeps no plain token, nor its MAC, in any key or value (a dump gives no usable token)', async () => {
      const everything = await everythingStored();
      expect(seen.length).toBeGreaterThan(50);
      for (const token of seen) {
        expect(everything).not.toContain(token);
        // The MAC: the last part (a token is <tag>.<seed>.<mac> or <tag>.<sid>.<seed>.<mac>).
        expect(everything).not.toContain(token.split('.').at(-1));
      }
    });

    it('with reuse off keeps nothing a token can be rebuilt from, refresh included', async () => {
      const once = await tokensOf(store, issueRequest({ reuse: false }));
      const rotated = await store.refresh({
        refreshToken: once.refreshToken!,
        clientId: 'app',
        accessTokenTtl: 60,
        refreshTokenTtl: 60,
        reuse: false,
      });
      if (rotated.status !== 'ok') throw new Error(`refresh failed: ${rotated.status}`);
      const everything = await everythingStored();
      for (const token of [once.accessToken, once.refreshToken!, rotated.tokens.accessToken, rotated.tokens.refreshToken!]) {
        // The seed: the part before the MAC.
        expect(everything).not.toContain(token.split('.').at(-2));
      }
    });

    it("puts all keys of one user's sessions under one hash tag", async () => {
      const tokens = await tokensOf(store, issueRequest());
      const tag = tokens.accessToken.split('.')[0];
      const keys = (await allKeysWithPrefix(redis, prefix)).filter((key) => key.includes(`{${tag}}`));
      expect(keys.map((key) => key.slice(prefix.length, prefix.length + tag!.length + 2))).toEqual(keys.map(() => `{${tag}}`));
      // session, access, refresh and index keys
      expect(keys.map((key) => key.slice(prefix.length + tag!.length + 3).split(':')[0]).sort()).toEqual(['a', 'r', 's', 'x']);
    });
  });

  describe("on a client with ioredis' own keyPrefix", () => {
    const clientPrefix = uniquePrefix(`client-${name}`);
    const prefix = 'store:';
    let prefixed: TestRedisClient;
    beforeAll(() => {
      prefixed = name === 'Redis' ? createTestRedis({ keyPrefix: clientPrefix }) : createTestCluster({ keyPrefix: clientPrefix });
    });
    afterAll(async () => {
      await cleanupPrefix(redis, clientPrefix);
      await prefixed.quit();
    });

    it('keeps every key under both prefixes and finds them again: scripts and the one-HMGET validation', async () => {
      const store = new RedisTokenStore({ redis: prefixed, secret: SECRET, keyPrefix: prefix });
      const tokens = await tokensOf(store, issueRequest());
      expect(await store.lookup(tokens.accessToken)).toMatchObject({ tokenType: 'access_token', sessionId: tokens.sessionId });
      expect(await store.lookup(tokens.refreshToken!, ['refresh_token'])).toMatchObject({ sessionId: tokens.sessionId });
      expect(await store.listDevices(tokens.accessToken)).toMatchObject({ current: tokens.sessionId });
      const keys = await allKeysWithPrefix(redis, clientPrefix);
      expect(keys.length).toBeGreaterThanOrEqual(4);
      for (const key of keys) expect(key.startsWith(`${clientPrefix}${prefix}{`)).toBe(true);
      expect(await store.revoke(tokens.accessToken, 'app')).toBe('revoked');
      expect(await store.lookup(tokens.accessToken)).toBeNull();
    });
  });

  describe('stale pointers and data of the old layout', () => {
    const prefix = uniquePrefix(`stale-${name}`);
    let store: RedisTokenStore;
    beforeAll(() => {
      store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: prefix });
    });
    afterAll(() => cleanupPrefix(redis, prefix));

    const keysOfTag = async (tag: string) => (await allKeysWithPrefix(redis, prefix)).filter((key) => key.includes(`{${tag}}`));
    const kindOf = (key: string, tag: string) => key.slice(prefix.length + tag.length + 3).split(':')[0];

    it('checks every pointer against the session: old a:, r: and u: pointers put back next to a session made again with the same id reach nothing', async () => {
      const req = issueRequest();
      const first = await tokensOf(store, req);
      const rotated = await store.refresh({
        refreshToken: first.refreshToken!,
        clientId: 'app',
        accessTokenTtl: 60,
        refreshTokenTtl: 120,
        gracePeriod: 30,
      });
      if (rotated.status !== 'ok') throw new Error(`refresh failed: ${rotated.status}`);
      const tag = first.accessToken.split('.')[0]!;
      const pointers = new Map<string, string>();
      for (const key of await keysOfTag(tag)) if ((await redis.type(key)) === 'string') pointers.set(key, (await redis.get(key))!);
      expect([...pointers.keys()].map((key) => kindOf(key, tag)).sort()).toEqual(['a', 'r', 'u']);
      expect(await store.revoke(rotated.tokens.accessToken, 'app')).toBe('revoked');
      const again = await tokensOf(store, req);
      // The case the checks are for: the identity's session has the same id again.
      expect(again.sessionId).toBe(first.sessionId);
      // Every old pointer back, as a crash between two writes or an older version could leave them.
      for (const [key, value] of pointers) await redis.set(key, value, 'PX', 60_000);
      expect(await store.lookup(first.accessToken)).toBeNull();
      expect(await store.lookup(rotated.tokens.accessToken)).toBeNull();
      expect(await store.lookup(rotated.tokens.refreshToken!, ['refresh_token'])).toBeNull();
      expect(await store.listDevices(rotated.tokens.accessToken)).toBe('invalid_token');
      expect(await store.revoke(rotated.tokens.accessToken, 'app')).toBe('unknown');
      expect(await store.revoke(rotated.tokens.refreshToken!, 'app', ['refresh_token'])).toBe('unknown');
      for (const refreshToken of [first.refreshToken!, rotated.tokens.refreshToken!]) {
        const answer = await store.refresh({ refreshToken, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 120, gracePeriod: 30 });
        expect(answer).toEqual({ status: 'invalid' });
      }
      expect(await store.lookup(again.accessToken)).toMatchObject({ sessionId: again.sessionId });
      const next = await store.refresh({ refreshToken: again.refreshToken!, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 120 });
      expect(next).toMatchObject({ status: 'ok', retried: false });
    });

    it('never fails on a session of the old layout: its tokens are looked up, refreshed and revoked, and its identity gets a new session', async () => {
      const req = issueRequest();
      const username = req.username!;
      const scope = req.scopes.join(' ');
      const tag = userTag(username);
      const base = `${prefix}{${tag}}:`;
      const codec = new TokenCodec(SECRET);
      const [accessSeed, refreshSeed] = codec.seeds(2) as [string, string];
      const [accessToken, refreshToken] = [codec.token(tag, accessSeed)!, codec.token(tag, refreshSeed)!];
      const oldSid = randomBytes(12).toString('base64url');
      const now = Date.now();
      const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
      const identity = sha1(`3:app${username.length}:${username}${scope}`);
      const index = sha1(`x3:app${username.length}:${username}`);
      // What the previous version wrote for one session (and one refresh token it had rotated away).
      await redis.hset(`${base}s:${oldSid}`, {
        c: 'app',
        u: username,
        sc: scope,
        dv: 'device_ipad',
        ah: seedHash(accessSeed),
        rh: seedHash(refreshSeed),
        as: accessSeed,
        rs: refreshSeed,
        k: codec.keyId,
        iat: now,
        exp: now + 60_000,
        rexp: now + 120_000,
        ct: now,
        lu: now,
        id: identity,
        ph: 'rotatedAwayHash0000000',
        pt: now,
      });
      await redis.pexpire(`${base}s:${oldSid}`, 120_000);
      await redis.set(`${base}a:${seedHash(accessSeed)}`, oldSid, 'PX', 60_000);
      await redis.set(`${base}r:${seedHash(refreshSeed)}`, oldSid, 'PX', 120_000);
      await redis.set(`${base}u:rotatedAwayHash0000000`, oldSid, 'PX', 120_000);
      await redis.set(`${base}i:${identity}`, oldSid, 'PX', 120_000);
      await redis.zadd(`${base}x:${index}`, now + 120_000, oldSid);
      await redis.pexpire(`${base}x:${index}`, 120_000);
      await redis.sadd(`${base}xc`, index);
      await redis.pexpire(`${base}xc`, 120_000);

      expect(await store.lookup(accessToken)).toMatchObject({ sessionId: oldSid, username, scopes: req.scopes });
      expect(await store.lookup(refreshToken, ['refresh_token'])).toMatchObject({ sessionId: oldSid });
      expect(await store.listSessions(username)).toEqual([]);
      expect(await store.listDevices(accessToken)).toEqual({ current: oldSid, sessions: [] });
      const fresh = await tokensOf(store, req);
      expect(fresh.reused).toBe(false);
      expect(await store.lookup(accessToken)).toMatchObject({ sessionId: oldSid });
      // A rotated-away token of the old layout is unknown (no replay detection across versions).
      const rotatedAway = `${tag}.${'A'.repeat(43)}`;
      expect((await store.refresh({ refreshToken: rotatedAway, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60 })).status).toBe(
        'invalid',
      );
      // Refreshed, the old session becomes the identity's (one live session per identity).
      const rotated = await store.refresh({ refreshToken, clientId: 'app', accessTokenTtl: 600, refreshTokenTtl: 1200 });
      if (rotated.status !== 'ok') throw new Error(`refresh failed: ${rotated.status}`);
      expect(rotated.tokens.sessionId).toBe(fresh.sessionId);
      expect(await store.lookup(accessToken)).toBeNull();
      expect(await store.lookup(fresh.accessToken)).toBeNull();
      expect(await store.lookup(rotated.tokens.accessToken)).toMatchObject({ sessionId: fresh.sessionId, scopes: req.scopes });
      expect((await store.listSessions(username)).map((s) => s.id)).toEqual([fresh.sessionId]);
      expect(await tokensOf(store, req)).toMatchObject({ reused: true, accessToken: rotated.tokens.accessToken });
      expect(await store.revoke(rotated.tokens.refreshToken!, 'app')).toBe('revoked');
      expect(await store.endUserSessions(username)).toBe(0);
    });

    it('finds the least recently used session from one range of the index; an index of the previous layout is read entry by entry', async () => {
      const username = `lru-${randomBytes(4).toString('hex')}`;
      const req = (device: string) =>
        issueRequest({
          username,
          subject: username,
          scopes: [device, 'orders:read'],
          deviceScopes: [device],
          deviceLimit: { max: 3, onLimit: 'end-oldest' },
        });
      const tag = userTag(username);
      const index = `${prefix}{${tag}}:x`;
      const d1 = await tokensOf(store, req('device_1'));
      await sleep(5);
      const d2 = await tokensOf(store, req('device_2'));
      await sleep(5);
      const d3 = await tokensOf(store, req('device_3'));
      // Per session: `-<id>` scored by expiry, and `<id>` by 1e13 × (its 3-digit prefix − 99) + last use.
      const entries = await redis.zrange(index, '0', '-1', 'WITHSCORES');
      const scores = new Map<string, number>();
      for (let i = 0; i < entries.length; i += 2) scores.set(entries[i]!, Number(entries[i + 1]));
      expect([...scores.keys()].sort()).toEqual([d1, d2, d3].flatMap((t) => [t.sessionId, `-${t.sessionId}`]).sort());
      const lastUse = (sid: string) => scores.get(sid)! - 1e13 * (Number(sid.slice(0, 3)) - 99);
      expect(lastUse(d1.sessionId)).toBeLessThan(lastUse(d2.sessionId));
      expect(Math.abs(lastUse(d3.sessionId) - Date.now())).toBeLessThan(60_000);
      // d3 as the previous layout indexed it (a plain id scored by expiry, no last-use entry):
      // the index is then read entry by entry, and the fields decide.
      await redis.zadd(index, scores.get(`-${d3.sessionId}`)!, d3.sessionId);
      await redis.zrem(index, `-${d3.sessionId}`);
      const fourth = await store.issue(req('device_4'));
      expect(fourth).toMatchObject({ status: 'issued', endedSessionId: d1.sessionId });
      expect(await store.listSessions(username)).toHaveLength(3);
      // Expired entries go with their last-use twins.
      const sid5 = `${d2.sessionId.slice(0, 3)}9999999999999`;
      await redis.zadd(index, Date.now() - 1000, `-${sid5}`, 1e13 * (Number(sid5.slice(0, 3)) - 99) + Date.now() - 5000, sid5);
      expect((await store.listSessions(username)).map((s) => s.id).sort()).toEqual(
        [d2.sessionId, d3.sessionId, (fourth as { tokens: TokenSet }).tokens.sessionId].sort(),
      );
      expect(await redis.zscore(index, sid5)).toBeNull();
      // Reuse counts as use (and files d3 in the index anew): d2 is now the least recent.
      expect((await tokensOf(store, req('device_3'))).reused).toBe(true);
      expect(await redis.zscore(index, `-${d3.sessionId}`)).not.toBeNull();
      expect(await store.issue(req('device_5'))).toMatchObject({ status: 'issued', endedSessionId: d2.sessionId });
    });
  });

  it('refuses a missing client and a key prefix with braces, naming the option', () => {
    expect(() => new RedisTokenStore({ redis: undefined as unknown as Redis, secret: SECRET })).toThrow('options.redis');
    expect(() => new RedisTokenStore({ redis, secret: SECRET, keyPrefix: 'a{b}' })).toThrow('options.keyPrefix');
    expect(() => new RedisTokenStore({ redis, secret: SECRET, operationTimeout: 0 })).toThrow('options.operationTimeout');
    expect(() => new RedisTokenStore({ redis, secret: 'short' })).toThrow('options.secret');
  });
});

describe('RedisTokenStore on a private server', () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let client: Redis;
  let store: RedisTokenStore;

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    admin.on('error', () => undefined); // reconnects by itself after the outage tests
    client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => undefined); // the outage tests provoke connection errors on purpose
    await client.ping().catch(async () => {
      await new Promise((resolve) => client.once('ready', resolve));
    });
    store = new RedisTokenStore({ redis: client, secret: SECRET, operationTimeout: 500 });
  });
  afterAll(async () => {
    await Promise.all([client.quit(), admin.quit()]);
    await server.stop();
  });

  describe('one round trip per operation', () => {
    /**
     * The commands `operation` sends, as the server's MONITOR sees them; the commands a script
     * runs inside Redis are reported with the source "lua" and are left out.
     */
    async function commandsOf(operation: () => Promise<unknown>): Promise<string[]> {
      const monitor = await admin.monitor();
      const sent: string[] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua') sent.push(args[0]!.toLowerCase());
      });
      try {
        await operation();
        // MONITOR output is asynchronous: a marker command shows everything before it has arrived.
        const marker = `marker-${Math.random()}`;
        await admin.echo(marker);
        for (let i = 0; i < 100 && !sent.includes('echo'); i++) await sleep(10);
        return sent.filter((command) => command !== 'echo');
      } finally {
        monitor.disconnect();
      }
    }

    let tokens: TokenSet;
    beforeAll(async () => {
      // Warm-up: ioredis loads each script once (EVALSHA, NOSCRIPT, EVAL) on first use.
      const warm = await tokensOf(store, issueRequest({ subject: 'warm', username: 'warm' }));
      await store.lookup(warm.accessToken);
      await store.lookup(warm.refreshToken!, ['refresh_token']);
      await store.refresh({ refreshToken: warm.refreshToken!, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60 });
      await store.revoke(warm.accessToken, 'app');
      await store.recordLoginFailure('warm', '10.0.0.1', 60);
      await store.clearLoginFailures('warm');
      const warmDevice = await tokensOf(store, issueRequest({ subject: 'warm', username: 'warm' }));
      await store.listDevices(warmDevice.accessToken);
      await store.listSessions('warm');
      await store.endSession('warm', warmDevice.sessionId);
      tokens = await tokensOf(store, issueRequest({ subject: 'counted', username: 'counted' }));
      for (let i = 0; i < 3; i++) await store.recordLoginFailure('locked', '10.0.0.9', 60);
      const devicesUser = issueRequest({ subject: 'devices', username: 'devices' });
      devices = [];
      for (const device of ['device_1', 'device_2', 'device_3', 'device_4']) {
        devices.push(await tokensOf(store, { ...devicesUser, scopes: [device], deviceScopes: [device] }));
      }
    });
    let devices: TokenSet[];
    const lockedLogin = { key: 'locked', ip: '10.0.0.9', maxPerIp: 3, maxPerUser: 10 };

    /** Runs `operation` and checks it took the path it is named after. */
    const expecting =
      <T>(operation: () => Promise<T>, check: (result: T) => void) =>
      async () =>
        check(await operation());

    it.each<[string, () => Promise<unknown>]>([
      [
        'issue (mint)',
        expecting(
          () => store.issue(issueRequest()),
          (r) => expect(r.status).toBe('issued'),
        ),
      ],
      [
        'issue (reuse)',
        expecting(
          () => store.issue(issueRequest({ subject: 'counted', username: 'counted' })),
          (r) => expect(r.status).toBe('reused'),
        ),
      ],
      [
        'issue (locked)',
        expecting(
          () => store.issue(issueRequest({ subject: 'locked', username: 'locked', login: lockedLogin })),
          (r) => expect(r.status).toBe('locked'),
        ),
      ],
      [
        'issue (mint with login check and device limit)',
        expecting(
          () => {
            const req = issueRequest({ deviceLimit: { max: 1, onLimit: 'end-oldest' } });
            return store.issue({ ...req, login: { ...lockedLogin, key: req.username! } });
          },
          (r) => expect(r.status).toBe('issued'),
        ),
      ],
      [
        'lookup of a refresh token',
        expecting(
          () => store.lookup(tokens.refreshToken!, ['access_token', 'refresh_token']),
          (r) => expect(r).not.toBeNull(),
        ),
      ],
      [
        'refresh',
        expecting(
          () =>
            store.refresh({
              refreshToken: tokens.refreshToken!,
              clientId: 'app',
              accessTokenTtl: 60,
              refreshTokenTtl: 60,
              gracePeriod: 30,
            }),
          (r) => expect(r).toMatchObject({ status: 'ok', retried: false }),
        ),
      ],
      [
        'refresh (grace-period retry)',
        expecting(
          () =>
            store.refresh({
              refreshToken: tokens.refreshToken!,
              clientId: 'app',
              accessTokenTtl: 60,
              refreshTokenTtl: 60,
              gracePeriod: 30,
            }),
          (r) => expect(r).toMatchObject({ status: 'ok', retried: true }),
        ),
      ],
      [
        'revoke',
        expecting(
          () => store.revoke(tokens.refreshToken!, 'app'),
          (r) => expect(r).toBe('unknown'),
        ),
      ],
      [
        'recordLoginFailure',
        expecting(
          () => store.recordLoginFailure('counted', '10.0.0.1', 60),
          (r) => expect(r.total).toBe(1),
        ),
      ],
      ['clearLoginFailures', () => store.clearLoginFailures('counted')],
      [
        'listDevices',
        expecting(
          () => store.listDevices(devices[0]!.accessToken),
          (r) => expect(r).toMatchObject({ current: devices[0]!.sessionId }),
        ),
      ],
      [
        'endDevice',
        expecting(
          () => store.endDevice(devices[0]!.accessToken, devices[1]!.sessionId),
          (r) => expect(r).toBe('ended'),
        ),
      ],
      [
        'endOtherDevices',
        expecting(
          () => store.endOtherDevices(devices[0]!.accessToken),
          (r) => expect(r).toEqual({ ended: 2 }),
        ),
      ],
      [
        'listSessions',
        expecting(
          () => store.listSessions('devices'),
          (r) => expect(r).toHaveLength(1),
        ),
      ],
      [
        'listSessions of one client',
        expecting(
          () => store.listSessions('devices', 'app'),
          (r) => expect(r).toHaveLength(1),
        ),
      ],
      [
        'endSession',
        expecting(
          () => store.endSession('devices', devices[0]!.sessionId),
          (r) => expect(r).toBe(true),
        ),
      ],
      [
        'endUserSessions',
        expecting(
          () => store.endUserSessions('counted'),
          (r) => expect(r).toBe(1),
        ),
      ],
    ])('%s is one EVALSHA', async (_name, operation) => {
      expect(await commandsOf(operation)).toEqual(['evalsha']);
    });

    it('lookup of an access token (validation, introspection) is one HMGET of its session, no script', async () => {
      const live = await tokensOf(store, issueRequest({ subject: 'looked-up', username: 'looked-up' }));
      const sent = await commandsOf(async () => expect(await store.lookup(live.accessToken)).not.toBeNull());
      expect(sent).toEqual(['hmget']);
      // The same for a dead one (its session ended).
      const ended = await tokensOf(store, issueRequest({ subject: 'ended', username: 'ended' }));
      await store.revoke(ended.accessToken, 'app');
      expect(await commandsOf(async () => expect(await store.lookup(ended.accessToken)).toBeNull())).toEqual(['hmget']);
    });
  });

  describe('when Redis goes away', () => {
    let app: Express;
    beforeAll(() => {
      app = express();
      app.use(
        createTokenRouter({
          store,
          clients: [{ clientId: 'app', clientSecret: 'app-secret', grants: ['password'] }],
          users: [{ username: 'alice', password: 'wonderland' }],
        }),
      );
      app.get('/api', requireToken({ store }), (_req, res) => {
        res.json({ ok: true });
      });
    });
    const tokenRequest = () =>
      request(app)
        .post('/token')
        .auth('app', 'app-secret')
        .type('form')
        .send({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_ipad' });

    it('answers StoreUnavailableError and HTTP 503 while it is down, and recovers by itself', async () => {
      const before = await tokenRequest();
      expect(before.status).toBe(200);
      const { access_token: token } = before.body as { access_token: string };

      await server.stop();
      const started = Date.now();
      await expect(store.issue(issueRequest())).rejects.toThrow(StoreUnavailableError);
      await expect(store.lookup(token)).rejects.toThrow(StoreUnavailableError);
      // bounded by operationTimeout (500 ms), never a hang
      expect(Date.now() - started).toBeLessThan(3_000);

      const down = await tokenRequest();
      expect(down.status).toBe(503);
      expect(down.headers['cache-control']).toBe('no-store');
      expect(down.headers['retry-after']).toBe('1');
      expect(down.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      const api = await request(app).get('/api').auth(token, { type: 'bearer' });
      expect(api.status).toBe(503);

      server = await startRedis({ port: server.port });
      let after = await tokenRequest();
      for (let i = 0; i < 100 && after.status !== 200; i++) {
        await sleep(100);
        after = await tokenRequest();
      }
      expect(after.status).toBe(200);
      // the restarted server has no scripts loaded and no data: the store loads them again
      const fresh = (after.body as { access_token: string }).access_token;
      expect((await request(app).get('/api').auth(fresh, { type: 'bearer' })).status).toBe(200);
      expect((await request(app).get('/api').auth(token, { type: 'bearer' })).status).toBe(401);
    });

    it.each([0, 30])(
      'never rotates a refresh that answered 503 while Redis was frozen: the old refresh token still refreshes (grace %s s)',
      async (gracePeriod) => {
        const tokens = await tokensOf(store, issueRequest());
        const refresh = () =>
          store.refresh({ refreshToken: tokens.refreshToken!, clientId: 'app', accessTokenTtl: 60, refreshTokenTtl: 60, gracePeriod });
        // Scripts Redis ran (EVALSHA, or EVAL after a NOSCRIPT on a restarted server).
        const scriptsRun = async () => {
          const stats = await admin.info('commandstats');
          return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
        };
        const before = await scriptsRun();
        process.kill(server.pid, 'SIGSTOP');
        try {
          // The script is on its way to Redis; Redis runs it once it is resumed, after the deadline.
          await expect(refresh()).rejects.toThrow(StoreUnavailableError);
        } finally {
          process.kill(server.pid, 'SIGCONT');
        }
        // Replies come in order: once a PING on the same connection answers, the late script has run.
        let alive = false;
        for (let i = 0; i < 50 && !alive; i++) {
          alive = await client.ping().then(
            () => true,
            () => false,
          );
          if (!alive) await sleep(100);
        }
        expect(alive).toBe(true);
        // The late script did run in Redis (and found itself too late).
        expect(await scriptsRun()).toBe(before + 1);
        // Nothing changed: the old access token is live and the old refresh token rotates normally.
        expect(await store.lookup(tokens.accessToken)).toMatchObject({ sessionId: tokens.sessionId });
        const retry = await refresh();
        expect(retry).toMatchObject({ status: 'ok', retried: false });
        if (retry.status !== 'ok') return;
        expect(await store.lookup(retry.tokens.accessToken)).toMatchObject({ sessionId: tokens.sessionId });
        expect(await store.lookup(tokens.accessToken)).toBeNull();
      },
    );

    it('answers StoreUnavailableError after operationTimeout when Redis hangs', async () => {
      const tokens = await tokensOf(store, issueRequest());
      process.kill(server.pid, 'SIGSTOP');
      try {
        const started = Date.now();
        await expect(store.lookup(tokens.accessToken)).rejects.toThrow('did not answer within 500 ms');
        expect(Date.now() - started).toBeLessThan(3_000);
        const api = await request(app).get('/api').auth(tokens.accessToken, { type: 'bearer' });
        expect(api.status).toBe(503);
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
      let record = await store.lookup(tokens.accessToken).catch(() => undefined);
      for (let i = 0; i < 50 && record === undefined; i++) {
        await sleep(100);
        record = await store.lookup(tokens.accessToken).catch(() => undefined);
      }
      expect(record).toMatchObject({ clientId: 'app', subject: expect.any(String) });
    });
  });
});
