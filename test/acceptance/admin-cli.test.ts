import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { startRedis, type RedisServerHandle } from '../support/redis-servers';
import { DEMO, DEMO_BASIC, form, ROOT } from './demo';
import { assertBuilt, killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { request } from './http';

/**
 * The operator's commands (`npm run admin -- …`, i.e. `node dist/example-gateway/admin.js`)
 * against the Redis of a running gateway: what an operator does after a lost phone, a password
 * change or a lockout.
 */

const ADMIN = join(ROOT, 'dist', 'example-gateway', 'admin.js');
const TOKEN_SECRET = 'acceptance-admin-secret-0123456789abcdef';

interface AdminRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let redis: RedisServerHandle;
let gateway: ListeningGateway;
let env: Record<string, string>;

/** `node dist/example-gateway/admin.js …args` with the gateway's environment and nothing else. */
function admin(args: string[], variables: Record<string, string> = env): Promise<AdminRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [ADMIN, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...variables }, timeout: 15_000, encoding: 'utf8' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

function login(scope: string, password: string = DEMO.alice.password) {
  return request(`${gateway.urls.http}/token`, {
    headers: { authorization: DEMO_BASIC },
    body: form({ grant_type: 'password', username: DEMO.alice.username, password, scope }),
  });
}

const orders = (token: string) => request(`${gateway.urls.http}/api/orders`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  assertBuilt();
  redis = await startRedis();
  env = { REDIS_URL: redis.url, TOKEN_SECRET };
  gateway = await startGateway({ ...env, HTTPS_PORT: 'off' });
});

afterAll(async () => {
  killAllGateways();
  await redis?.stop();
});

describe('npm run admin', () => {
  let iphone: string;
  let ipad: string;

  beforeAll(async () => {
    iphone = (await login('device_iphone orders:read')).json.access_token;
    ipad = (await login('device_ipad orders:read')).json.access_token;
  });

  it("lists both of alice's devices, as a table and as JSON", async () => {
    const json = await admin(['list', 'alice', '--json']);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout);
    expect(listed.username).toBe('alice');
    expect(listed.sessions.map((s: { device: string }) => s.device).sort()).toEqual(['device_ipad', 'device_iphone']);
    expect(listed.sessions[0]).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      client_id: DEMO.clientId,
      username: 'alice',
      device: 'device_ipad',
      scope: 'device_ipad orders:read',
      created_at: expect.any(Number),
      last_used_at: expect.any(Number),
      expires_at: expect.any(Number),
    });

    const text = await admin(['list', 'alice']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SESSION\s+CLIENT\s+DEVICE\s+CREATED\s+LAST USED\s+EXPIRES\s+SCOPE$/);
    for (const session of listed.sessions) {
      expect(text.stdout).toMatch(new RegExp(`^${session.id}\\s+demo-app\\s+${session.device}\\s`, 'm'));
    }
    expect(lines.at(-1)).toBe('2 live sessions of alice');
    // Nothing of a token in what the operator sees but the session id an access token names.
    for (const token of [iphone, ipad]) {
      for (const part of [token, ...token.split('.').slice(-2)]) expect(text.stdout + json.stdout).not.toContain(part);
    }

    const otherClient = await admin(['list', 'alice', '--client', 'another-app']);
    expect(otherClient).toMatchObject({ code: 0, stdout: 'no live sessions of alice with another-app\n' });
  });

  it('ends one session: its token then gets 401, the other device keeps working', async () => {
    const listed = JSON.parse((await admin(['list', 'alice', '--json'])).stdout);
    const iphoneId = listed.sessions.find((s: { device: string }) => s.device === 'device_iphone').id;

    const ended = await admin(['end', 'alice', iphoneId]);
    expect(ended).toMatchObject({ code: 0, stdout: `ended session ${iphoneId} of alice\n` });
    expect((await orders(iphone)).status).toBe(401);
    expect((await orders(ipad)).status).toBe(200);

    // Again, or as another user: nothing to do, exit 1.
    expect((await admin(['end', 'alice', iphoneId])).code).toBe(1);
    const ipadId = listed.sessions.find((s: { device: string }) => s.device === 'device_ipad').id;
    expect((await admin(['end', 'bob', ipadId])).code).toBe(1);
    expect((await orders(ipad)).status).toBe(200);
  });

  it('ends every session of the user with end-user', async () => {
    const ended = await admin(['end-user', 'alice', '--json']);
    expect(ended.code).toBe(0);
    expect(JSON.parse(ended.stdout)).toEqual({ username: 'alice', ended: 1 });
    expect((await orders(ipad)).status).toBe(401);
    expect((await admin(['list', 'alice'])).stdout).toBe('no live sessions of alice\n');
    const again = await admin(['end-user', 'alice']);
    expect(again).toMatchObject({ code: 1, stdout: 'alice has no live sessions: nothing ended\n' });
  });

  it('unlocks a user locked by 10 wrong passwords, so the right one gets in', async () => {
    for (let i = 0; i < 10; i++) expect((await login('device_ipad', 'wrong-password')).status).toBe(400);
    const locked = await login('device_ipad');
    expect(locked.status).toBe(429);

    const unlocked = await admin(['unlock', 'alice']);
    expect(unlocked).toMatchObject({ code: 0, stdout: 'cleared the failed logins of alice (counted as "alice")\n' });
    // Another instance on the same Redis, which never saw the lock, lets alice in: the store's count is gone.
    const other = await startGateway({ ...env, HTTPS_PORT: 'off' });
    try {
      const elsewhere = await request(`${other.urls.http}/token`, {
        headers: { authorization: DEMO_BASIC },
        body: form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_desk' }),
      });
      expect(elsewhere.status).toBe(200);
    } finally {
      await other.stop();
    }
    // And so does the instance that counted the failures, once it stops believing the lock it
    // cached (at most 10 s: a locked attempt is refused there without asking Redis or hashing).
    const deadline = Date.now() + 12_000;
    let after = await login('device_ipad');
    while (after.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      after = await login('device_ipad');
    }
    expect(after.status).toBe(200);
    expect((await orders(after.json.access_token)).status).toBe(403); // live, but without orders:read
  }, 30_000);

  it('answers a usage error with 2 and the usage text', async () => {
    for (const args of [
      [],
      ['list'],
      ['end', 'alice'],
      ['frobnicate', 'alice'],
      ['list', 'alice', '--nope'],
      ['end-user', 'alice', '--client', 'x'],
    ]) {
      const run = await admin(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^admin: .+\n\nusage: npm run --silent admin -- <command>/);
      expect(run.stdout).toBe('');
    }
    expect(await admin(['--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: /) });
  });

  it('takes a session id that begins with "-" (one in 32 do) as the id, not as an option', async () => {
    // What `list` printed is pasted as is: `-Qx…` and `--Qx…` are ids (16 base64url characters).
    for (const id of ['-AAAAAAAAAAAAAAA', '--AAAAAAAAAAAAAA']) {
      expect(await admin(['end', 'alice', id])).toMatchObject({
        code: 1,
        stdout: `no live session ${id} of alice: nothing ended\n`,
      });
    }
    // After `--` nothing is an option: a username that begins with "-".
    expect(await admin(['end-user', '--json', '--', '-alice'])).toMatchObject({
      code: 1,
      stdout: '{"username":"-alice","ended":0}\n',
    });
    // Anything else that begins with "-" is still an unknown option.
    expect((await admin(['end', 'alice', '-AAAA'])).code).toBe(2);
  });

  it('refuses with 78 without a Redis to talk to, and for a wrong variable', async () => {
    const memory = await admin(['list', 'alice'], {});
    expect(memory.code).toBe(78);
    expect(memory.stderr).toMatch(/^admin: no Redis configured .*in-memory store/);
    const wrong = await admin(['list', 'alice'], { REDIS_URL: 'http://127.0.0.1:1' });
    expect(wrong.code).toBe(78);
    expect(wrong.stderr).toMatch(/^admin: config error: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('answers 69 within seconds when the store is unavailable, without showing the Redis password', async () => {
    const started = Date.now();
    const down = await admin(['end-user', 'alice'], { REDIS_URL: 'redis://:hunter2-secret@127.0.0.1:1/0', TOKEN_SECRET });
    expect(down.code).toBe(69);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(down.stderr).toMatch(/^admin: the token store \(Redis redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0\) is unavailable/);
    expect(down.stderr + down.stdout).not.toContain('hunter2-secret');
  });
});
