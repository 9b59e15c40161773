import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { cleanupPrefix, createTestRedis, redisUrl, uniquePrefix } from '../support/redis';

// The package as users get it: `npm pack` (its `prepack` builds), the tarball installed into a
// fresh project, then required, imported, run against the test Redis and type-checked there.
// Takes about 30 s: one build, one install from npm's cache, two tsc runs.

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const TSC = require.resolve('typescript/bin/tsc');

/** Every file under `dir`, relative to it. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('the packed package', () => {
  let work: string;
  let consumer: string;
  let packed: string[];

  const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, args, { cwd: consumer, env: { ...process.env, ...env }, timeout: 20_000 });
  const tsc = (project: string) =>
    run(process.execPath, [TSC, '-p', project, '--pretty', 'false'], { cwd: consumer, timeout: 30_000 }).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string }) => ({ ok: false, output: error.stdout ?? String(error) }),
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'eodt-package-'));
    // Packs a copy of the project, so the build never rewrites dist/ under other running suites.
    const project = join(work, 'project');
    const skip = new Set(['node_modules', 'dist', '.git', 'coverage'].map((name) => join(ROOT, name)));
    await cp(ROOT, project, { recursive: true, filter: (source) => !skip.has(source) });
    await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: project, timeout: 60_000 });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((file) => file.path);
    consumer = join(work, 'consumer');
    await mkdir(consumer);
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // The dependencies come from npm's cache (filled by the project's own install).
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, info.filename)], {
      cwd: consumer,
      timeout: 90_000,
    });
  }, 150_000);
  afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  it('ships only the built library, its Lua scripts and the docs: no tests, no TypeScript sources', async () => {
    const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/lib\/.+\.(js|d\.ts|lua))$/;
    expect(packed.filter((file) => !allowed.test(file))).toEqual([]);
    const lua = (await walk(join(ROOT, 'lib/stores/redis/lua'))).map((file) => `dist/lib/stores/redis/lua/${file}`);
    expect(lua.length).toBeGreaterThan(0);
    const sources = (await walk(join(ROOT, 'lib'))).filter((file) => file.endsWith('.ts'));
    const expected = [
      ...sources.flatMap((file) => [`dist/lib/${file.replace(/\.ts$/, '.js')}`, `dist/lib/${file.replace(/\.ts$/, '.d.ts')}`]),
      ...lua,
      'package.json',
      'README.md',
      'LICENSE',
    ];
    expect(packed).toEqual(expect.arrayContaining(expected));
  });

  it('ships no references to source maps it does not ship', async () => {
    const installed = join(consumer, 'node_modules', 'express-oauth-device-tokens');
    const scripts = packed.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(10);
    for (const file of scripts) expect(await readFile(join(installed, file), 'utf8')).not.toContain('sourceMappingURL');
  });

  it('installs @types/express with it (a peer dependency), so the types resolve for TypeScript users', async () => {
    const { stdout } = await node(['-e', "process.stdout.write(require.resolve('@types/express/package.json'))"]);
    expect(stdout).toContain(join(consumer, 'node_modules', '@types', 'express'));
  });

  it('require() exposes the factories and both stores', async () => {
    const { stdout } = await node([
      '-e',
      "const m = require('express-oauth-device-tokens'); console.log(JSON.stringify(['createTokenRouter','requireToken','RedisTokenStore','MemoryTokenStore','OAuthError'].map((n) => typeof m[n])))",
    ]);
    expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'function', 'function']);
  });

  it('import { … } from an .mjs file gets named exports (Node reads them from the CommonJS build)', async () => {
    await writeFile(
      join(consumer, 'esm.mjs'),
      [
        "import { createTokenRouter, MemoryTokenStore, RedisTokenStore, requireToken } from 'express-oauth-device-tokens';",
        "import express from 'express';",
        "const store = new MemoryTokenStore({ secret: 'esm-consumer-secret-0123456789abcdef0123' });",
        "express().use(createTokenRouter({ store, clients: [{ clientId: 'c', clientSecret: 's', grants: ['client_credentials'] }] }));",
        'store.close();',
        'console.log(JSON.stringify([typeof createTokenRouter, typeof MemoryTokenStore, typeof RedisTokenStore, typeof requireToken]));',
      ].join('\n'),
    );
    const { stdout } = await node(['esm.mjs']);
    expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'function']);
  });

  it('a RedisTokenStore from the installed package (its packed Lua scripts) issues a token through the router', async () => {
    const keyPrefix = uniquePrefix('package');
    await writeFile(
      join(consumer, 'redis-check.js'),
      `const Redis = require('ioredis');
const express = require('express');
const { createTokenRouter, RedisTokenStore } = require('express-oauth-device-tokens');
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 });
const store = new RedisTokenStore({ redis, secret: 'package-check-secret-0123456789abcdef', keyPrefix: process.env.KEY_PREFIX });
const app = express().use(createTokenRouter({ store, clients: [{ clientId: 'kiosk', clientSecret: 's3cret', grants: ['client_credentials'] }] }));
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/token', {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from('kiosk:s3cret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=device_lobby',
    });
    const body = await res.json();
    const record = await store.lookup(body.access_token);
    console.log(JSON.stringify({ status: res.status, body, record }));
  } finally {
    server.close();
    await redis.quit();
  }
});
`,
    );
    const cleaner = createTestRedis();
    try {
      const { stdout } = await node(['redis-check.js'], { REDIS_URL: redisUrl(), KEY_PREFIX: keyPrefix });
      const { status, body, record } = JSON.parse(stdout);
      expect(status).toBe(200);
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'default device_lobby' });
      expect(record).toMatchObject({ tokenType: 'access_token', clientId: 'kiosk', deviceScopes: ['device_lobby'] });
      expect(await cleaner.keys(`${keyPrefix}*`)).not.toEqual([]);
    } finally {
      await cleanupPrefix(cleaner, keyPrefix);
      await cleaner.quit();
    }
  });

  describe('types, compiled with tsc --noEmit against the installed package', () => {
    // ioredis' named export: its default export is not constructable under module nodenext.
    const USAGE = `import express from 'express';
import { Redis } from 'ioredis';
import {
  createTokenRouter, requireToken, MemoryTokenStore, RedisTokenStore, OAuthError,
  type AccessTokenInfo, type AuthorizationServerMetadata, type IntrospectionResponse, type TokenRouterOptions,
} from 'express-oauth-device-tokens';

const store = new MemoryTokenStore({ secret: 'x'.repeat(40) });
const options: TokenRouterOptions = {
  store,
  clients: [{ clientId: 'app', clientSecret: 's', grants: ['password', 'refresh_token'] }, { clientId: 'api', clientSecret: 's', grants: [], resourceServer: true }],
  users: [{ username: 'alice', password: 'wonderland', roles: ['subscriber'] }],
  scopes: { 'orders:read': ['subscriber'] },
  issuer: 'https://gw.example.com',
  scopesSupported: ['orders:read'],
};
const app = express();
app.use(createTokenRouter(options));
app.use('/oauth', createTokenRouter({ store: new RedisTokenStore({ redis: new Redis(), secret: 'x'.repeat(40) }), clients: async () => undefined }));
app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
  const info: AccessTokenInfo | undefined = req.oauth;
  res.json({ user: info?.username, device: req.oauth?.device });
});
export const inactive: IntrospectionResponse = { active: false };
export const tokenEndpoint = (metadata: AuthorizationServerMetadata): string => metadata.token_endpoint;
export const isOAuthError = (error: unknown): error is OAuthError => error instanceof OAuthError;
`;
    const WRONG = `import express from 'express';
import { createTokenRouter, requireToken, MemoryTokenStore } from 'express-oauth-device-tokens';

const store = new MemoryTokenStore({ secret: 'x'.repeat(40) });
createTokenRouter({ store, clients: [{ clientId: 'app', clientSecret: 's', grants: ['implicit'] }] });
express().get('/x', requireToken({ store }), (req, res) => {
  res.json({ device: req.oauth.device });
});
`;
    const config = (files: string[], module: 'commonjs' | 'nodenext') =>
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module,
          moduleResolution: module === 'commonjs' ? 'node10' : 'nodenext',
          esModuleInterop: true,
          skipLibCheck: false,
          types: [],
        },
        files,
      });

    beforeAll(async () => {
      await writeFile(join(consumer, 'usage.ts'), USAGE);
      await writeFile(join(consumer, 'usage.mts'), USAGE);
      await writeFile(join(consumer, 'wrong.ts'), WRONG);
      // One tsc run for both CommonJS files (each run checks all the declarations: ~7 s).
      await writeFile(join(consumer, 'tsconfig.cjs.json'), config(['usage.ts', 'wrong.ts'], 'commonjs'));
      await writeFile(join(consumer, 'tsconfig.esm.json'), config(['usage.mts'], 'nodenext'));
    });

    it('a strict CommonJS usage file compiles, and a wrong one fails: an unknown grant, req.oauth used unchecked', async () => {
      const result = await tsc('tsconfig.cjs.json');
      expect(result.ok).toBe(false);
      const errors = result.output.trim().split('\n').filter((line) => /^\S+\(\d+,\d+\): error/.test(line));
      expect(errors).toEqual([
        expect.stringMatching(/^wrong\.ts\(5,\d+\): error TS2322: Type '"implicit"' is not assignable/),
        expect.stringMatching(/^wrong\.ts\(7,\d+\): error TS18048: 'req\.oauth' is possibly 'undefined'/),
      ]);
    }, 40_000);

    it('a strict ES module usage file (module nodenext, the exports map\'s types) compiles', async () => {
      expect(await tsc('tsconfig.esm.json')).toEqual({ ok: true, output: '' });
    }, 40_000);
  });
});
