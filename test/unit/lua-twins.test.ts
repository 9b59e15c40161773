import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { compareCodeUnits } from '../../lib/scopes/scope';
import { identityHash, identitySessionId, randomSessionId, sessionPrefix } from '../../lib/stores/keys';
import { loadLua } from '../../lib/stores/redis/lua-scripts';
import { SCRIPTS } from '../../lib/stores/scripts';
import { createTestRedis } from '../support/redis';

// The TS halves of what both stores compute, against the Lua the Redis store runs: the same
// function evaluated by the private test Redis (read-only scripts, no keys: nothing is written).

/** (client id, username, scope) triples that an encoding could get wrong. */
const TRICKY: readonly [string, string, string][] = [
  ['app', 'alice', 'device_ipad orders:read'],
  ['a\nb', 'c', 'default'],
  ['a', 'b\nc', 'default'],
  ['a:1', 'b', ''],
  ['a', '1:b', ''],
  ['', '', ''],
  ['svc', '', 'default'],
  ['svc', 'svc', 'default'],
  ['日本', '🔑', 'device_x'],
  ['café', 'cafe\u0301', 'x'],
  ['nul\u0000byte', ' ', '  '],
  ['lone\ud800surrogate', 'x', 'y'],
  ['x'.repeat(300), 'y'.repeat(256), 'z'.repeat(128)],
];

describe('TS helpers and their Lua twins', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createTestRedis();
  });
  afterAll(() => redis.quit());

  /** The session include (as the scripts get it), then `body`. */
  const withSession = (body: string) => `local base = ''\n${loadLua('session.include.lua')}\n${body}`;

  it('identityHash equals the Lua identity() for tricky client ids, usernames and scopes', async () => {
    const cases = TRICKY;
    const lua = withSession('return identity(ARGV[1], ARGV[2], ARGV[3])');
    for (const [client, username, scope] of cases) {
      const fromLua = await redis.eval(lua, 0, client, username, scope);
      expect({ client, username, scope, hash: fromLua }).toEqual({ client, username, scope, hash: identityHash(client, username, scope) });
    }
  });

  it('sessionPrefix and identitySessionId equal their Lua twins, and session ids are 16 digits that never begin with 0', async () => {
    const cases: [string, string, string][] = [
      ...TRICKY,
      ...Array.from({ length: 200 }, (_, i): [string, string, string] => ['bench-app', `m${i}`, 'device_a orders:read']),
    ];
    const lua = withSession('return {sessionPrefix(ARGV[1], ARGV[2]), identitySessionId(ARGV[1], ARGV[2], ARGV[3])}');
    const ids = new Set<string>();
    for (const [client, username, scope] of cases) {
      const fromLua = await redis.eval(lua, 0, client, username, scope);
      const sid = identitySessionId(client, username, scope);
      expect({ client, username, scope, ids: fromLua }).toEqual({ client, username, scope, ids: [sessionPrefix(client, username), sid] });
      expect(sid).toMatch(/^[1-9][0-9]{15}$/);
      expect(sid.startsWith(sessionPrefix(client, username))).toBe(true);
      ids.add(sid);
      const random = randomSessionId(client, username);
      expect(random).toMatch(/^[1-9][0-9]{15}$/);
      expect(random.slice(0, 3)).toBe(sessionPrefix(client, username));
    }
    expect(ids.size).toBe(cases.length);
  });

  it('compareCodeUnits orders ASCII scope tokens as Lua table.sort does', async () => {
    // RFC 6749 §3.3 scope-token characters: %x21 / %x23-5B / %x5D-7E
    const alphabet = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter(
      (c) => c !== '"' && c !== '\\',
    );
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const token = () =>
      Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const lua = 'local list = {}\nfor i, v in ipairs(ARGV) do list[i] = v end\ntable.sort(list)\nreturn list';
    for (let round = 0; round < 20; round++) {
      const tokens = [...new Set(Array.from({ length: 40 }, token)), 'Device_a', 'device_a', 'device_', 'a', 'A', '~', '!', 'a!'];
      const fromLua = (await redis.eval(lua, 0, ...tokens)) as string[];
      expect([...tokens].sort(compareCodeUnits)).toEqual(fromLua);
    }
  });

  it('expands every script of the store completely: no include line is left', () => {
    for (const { file } of Object.values(SCRIPTS)) {
      const lua = loadLua(file);
      expect({ file, left: /^--@include/m.test(lua) }).toEqual({ file, left: false });
      const raw = readFileSync(join(__dirname, '../../lib/stores/redis/lua', file), 'utf8');
      if (/^--@include session$/m.test(raw)) expect(lua).toContain('local function endSession(');
    }
  });

  it('the expanded scripts compile in Redis', async () => {
    for (const { file } of Object.values(SCRIPTS)) {
      // SCRIPT LOAD compiles without running: a syntax error or a bad include fails here.
      await expect(redis.script('LOAD', loadLua(file))).resolves.toMatch(/^[0-9a-f]{40}$/);
    }
  });

  describe('loadLua', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'lua-loader-'));
      const files: Record<string, string> = {
        'top.lua': '-- top\n--@include a\nlocal x = 1\n--@include b\nreturn x',
        'a.include.lua': '-- a\n--@include c\nlocal fromA = 1',
        'b.include.lua': '-- b\n--@include c\nlocal fromB = 2',
        'c.include.lua': '-- c\nlocal fromC = 3',
        'cycle.lua': '--@include x',
        'x.include.lua': '-- x\n--@include y',
        'y.include.lua': '-- y\n--@include x',
        'self.include.lua': '--@include self',
        'missing.lua': '--@include a\n--@include nowhere',
        'deep-missing.lua': '--@include m',
        'm.include.lua': '--@include gone',
      };
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('expands nested includes, each once, where they are first included', () => {
      const text = loadLua('top.lua', dir);
      expect(text.split('\n').filter((line) => !line.startsWith('-- ('))).toEqual([
        '-- top',
        '-- a',
        '-- c',
        'local fromC = 3',
        'local fromA = 1',
        'local x = 1',
        '-- b',
        'local fromB = 2',
        'return x',
      ]);
      expect(text.match(/local fromC/g)).toHaveLength(1);
      expect(text).not.toMatch(/^--@include/m);
    });

    it('reports an include cycle, naming the chain', () => {
      expect(() => loadLua('cycle.lua', dir)).toThrow(/cycle\.lua -> x\.include\.lua -> y\.include\.lua -> x\.include\.lua: include cycle/);
      expect(() => loadLua('self.include.lua', dir)).toThrow(/include cycle/);
    });

    it('reports a missing file, naming the chain', () => {
      expect(() => loadLua('missing.lua', dir)).toThrow(/missing\.lua -> nowhere\.include\.lua: file not found/);
      expect(() => loadLua('deep-missing.lua', dir)).toThrow(/deep-missing\.lua -> m\.include\.lua -> gone\.include\.lua: file not found/);
      expect(() => loadLua('no-such-script.lua', dir)).toThrow(/no-such-script\.lua: file not found/);
    });

    it('starts afresh for each script (an include of one script is expanded again in the next)', () => {
      loadLua('top.lua', dir);
      expect(loadLua('top.lua', dir).match(/local fromC/g)).toHaveLength(1);
    });
  });
});
