import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { isPasswordHash, verifyPassword } from '../../lib';
import { cleanupPrefix, createTestRedis, redisUrl, uniquePrefix } from '../support/redis';

// The package as users get it: `npm pack` (its `prepack` builds), the tarball installed into fresh
// projects, then required, imported, run against the test Redis and type-checked there:
// - `consumer`: the tarball with ioredis 6, @types/express, @types/node and @types/redis-errors (a
//   TypeScript gateway, as the README installs it);
//   also runs the README's "Use it in your gateway" snippet as pasted;
// - `bare`: the tarball alone (a JavaScript, memory-only user): no optional peer installed; the CLI;
// - `redis5`: the tarball with the lowest ioredis 5 of the peer range.
// Takes about a minute: one build, three installs from npm's cache, a few tsc runs.

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const TSC = require.resolve('typescript/bin/tsc');
/** The lowest ioredis of the peer range `^5.3.0 || ^6.0.0` (the upper major is the repository's own). */
const IOREDIS_5 = '5.3.0';

/** Every file under `dir`, relative to it. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

const npmInstall = (cwd: string, specs: string[]) =>
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd, timeout: 120_000 });

/** A fresh project with `specs` installed (the tarball among them). */
async function createProject(dir: string, specs: string[]): Promise<string> {
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await npmInstall(dir, specs);
  return dir;
}

const nodeIn = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, args, { cwd, env: { ...process.env, ...env }, timeout: 20_000 });
const tscIn = (cwd: string, args: string[]) =>
  run(process.execPath, [TSC, ...args, '--pretty', 'false'], { cwd, timeout: 60_000 }).then(
    () => ({ ok: true, output: '' }),
    (error: { stdout?: string; message?: string }) => ({ ok: false, output: error.stdout ?? error.message ?? 'failed' }),
  );
const errorLines = (output: string) =>
  output
    .trim()
    .split('\n')
    .filter((line) => /^\S+\(\d+,\d+\): error/.test(line));

const tsconfig = (files: string[], module: 'commonjs' | 'nodenext', extra: Record<string, unknown> = {}) =>
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
      ...extra,
    },
    files,
  });

/**
 * Issue, lookup and revoke through the installed package on the ioredis the project has: one
 * token from the router, found by the store, revoked over HTTP, then gone.
 */
const REDIS_CHECK = `const Redis = require('ioredis');
const express = require('express');
const { createTokenRouter, RedisTokenStore } = require('express-oauth-device-tokens');
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 });
const store = new RedisTokenStore({ redis, secret: 'package-check-secret-0123456789abcdef', keyPrefix: process.env.KEY_PREFIX });
const app = express().use(createTokenRouter({ store, clients: [{ clientId: 'kiosk', clientSecret: 's3cret', grants: ['client_credentials'] }] }));
const server = app.listen(0, '127.0.0.1', async () => {
  const post = (path, body) => fetch('http://127.0.0.1:' + server.address().port + path, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from('kiosk:s3cret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  try {
    const res = await post('/token', 'grant_type=client_credentials&scope=device_lobby');
    const body = await res.json();
    const record = await store.lookup(body.access_token);
    const stored = await redis.keys(process.env.KEY_PREFIX + '*');
    const revoked = await post('/revoke', 'token=' + encodeURIComponent(body.access_token));
    const after = await store.lookup(body.access_token);
    console.log(JSON.stringify({ ioredis: require('ioredis/package.json').version, status: res.status, body, record, revoked: revoked.status, after: after ?? null, stored, left: await redis.keys(process.env.KEY_PREFIX + '*') }));
  } finally {
    server.close();
    await redis.quit();
  }
});
`;

async function redisCheck(
  cwd: string,
): Promise<{ ioredis: string; status: number; body: any; record: any; revoked: number; after: unknown; stored: string[]; left: string[] }> {
  const keyPrefix = uniquePrefix('package');
  await writeFile(join(cwd, 'redis-check.js'), REDIS_CHECK);
  const cleaner = createTestRedis();
  try {
    const { stdout } = await nodeIn(cwd, ['redis-check.js'], { REDIS_URL: redisUrl(), KEY_PREFIX: keyPrefix });
    return JSON.parse(stdout);
  } finally {
    await cleanupPrefix(cleaner, keyPrefix);
    await cleaner.quit();
  }
}

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

let work: string;
let tarball: string;
let packed: string[];
let consumer: string;
let bare: string;
let redis5: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'eodt-package-'));
  // Packs a copy of the project, so the build never rewrites dist/ under other running suites.
  const project = join(work, 'project');
  const skip = new Set(['node_modules', 'dist', '.git', 'coverage', '.tmp'].map((name) => join(ROOT, name)));
  await cp(ROOT, project, { recursive: true, filter: (source) => !skip.has(source) });
  await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: project, timeout: 90_000 });
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  packed = info.files.map((file) => file.path);
  tarball = join(work, info.filename);
  // The dependencies come from npm's cache (filled by the project's own install); ioredis 5 and the
  // type packages from the registry the first time.
  [consumer, bare, redis5] = await Promise.all([
    // As the README installs them: ioredis 6.1's own declarations need @types/redis-errors.
    createProject(join(work, 'consumer'), [tarball, 'ioredis@^6.0.0', '@types/express@^5.0.0', '@types/node@^20', '@types/redis-errors']),
    createProject(join(work, 'bare'), [tarball]),
    createProject(join(work, 'redis5'), [tarball, `ioredis@${IOREDIS_5}`, '@types/express@^5.0.0']),
  ]);
}, 300_000);
afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

describe('the packed package', () => {
  const node = (args: string[], env: NodeJS.ProcessEnv = {}) => nodeIn(consumer, args, env);
  const tsc = (project: string) => tscIn(consumer, ['-p', project]);

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

  it('a bin: npx express-oauth-device-tokens runs the CLI of the installed package', async () => {
    const { stdout } = await run('npx', ['--no', '--', 'express-oauth-device-tokens', 'help'], { cwd: bare, timeout: 20_000 });
    expect(stdout).toMatch(/^usage: express-oauth-device-tokens <command>\n/);
    expect(stdout).toContain('hash-password');
  });

  it('require() exposes the factories, both stores and serverClassesFor', async () => {
    const { stdout } = await node([
      '-e',
      "const m = require('express-oauth-device-tokens'); console.log(JSON.stringify(['createTokenRouter','requireToken','RedisTokenStore','MemoryTokenStore','OAuthError','serverClassesFor'].map((n) => typeof m[n])))",
    ]);
    expect(JSON.parse(stdout)).toEqual(['function', 'function', 'function', 'function', 'function', 'function']);
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

  it('a RedisTokenStore from the installed package (its packed Lua scripts) issues, finds and revokes a token on ioredis 6', async () => {
    const { ioredis, status, body, record, revoked, after, stored, left } = await redisCheck(consumer);
    expect(ioredis).toMatch(/^6\./);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'default device_lobby' });
    expect(record).toMatchObject({ tokenType: 'access_token', clientId: 'kiosk', deviceScopes: ['device_lobby'] });
    expect(revoked).toBe(200);
    expect(after).toBeNull();
    // Its keys live under the configured prefix, and revoking the only session leaves none behind.
    expect(stored.length).toBeGreaterThan(0);
    expect(left).toEqual([]);
  });

  describe('types, compiled with tsc --noEmit against the installed package', () => {
    const WRONG = `import express from 'express';
import { createTokenRouter, requireToken, MemoryTokenStore } from 'express-oauth-device-tokens';

const store = new MemoryTokenStore({ secret: 'x'.repeat(40) });
createTokenRouter({ store, clients: [{ clientId: 'app', clientSecret: 's', grants: ['implicit'] }] });
express().get('/x', requireToken({ store }), (req, res) => {
  res.json({ device: req.oauth.device });
});
`;
    const config = tsconfig;

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
      const errors = result.output
        .trim()
        .split('\n')
        .filter((line) => /^\S+\(\d+,\d+\): error/.test(line));
      expect(errors).toEqual([
        expect.stringMatching(/^wrong\.ts\(5,\d+\): error TS2322: Type '"implicit"' is not assignable/),
        expect.stringMatching(/^wrong\.ts\(7,\d+\): error TS18048: 'req\.oauth' is possibly 'undefined'/),
      ]);
    }, 40_000);

    it("a strict ES module usage file (module nodenext, the exports map's types) compiles", async () => {
      expect(await tsc('tsconfig.esm.json')).toEqual({ ok: true, output: '' });
    }, 40_000);
  });
});

describe(`the packed package on ioredis ${IOREDIS_5}, the lowest of its peer range`, () => {
  it('a RedisTokenStore issues, finds and revokes a token', async () => {
    const { ioredis, status, body, record, revoked, after, stored, left } = await redisCheck(redis5);
    expect(ioredis).toBe(IOREDIS_5);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'default device_lobby' });
    expect(record).toMatchObject({ tokenType: 'access_token', clientId: 'kiosk', deviceScopes: ['device_lobby'] });
    expect(revoked).toBe(200);
    expect(after).toBeNull();
    expect(stored.length).toBeGreaterThan(0);
    expect(left).toEqual([]);
  });

  it('a strict usage file compiles against its types (skipLibCheck off)', async () => {
    await writeFile(join(redis5, 'usage.ts'), USAGE);
    await writeFile(join(redis5, 'tsconfig.json'), tsconfig(['usage.ts'], 'commonjs'));
    expect(await tscIn(redis5, ['-p', 'tsconfig.json'])).toEqual({ ok: true, output: '' });
  }, 60_000);
});

describe('the packed package without its optional peers (a JavaScript or memory-only user)', () => {
  const resolves = (name: string) =>
    nodeIn(bare, ['-e', `process.stdout.write(require.resolve('${name}/package.json'))`]).then(
      ({ stdout }) => stdout,
      () => undefined,
    );

  it('npm installs Express (a required peer) but neither ioredis nor @types/express (optional peers)', async () => {
    expect(await resolves('express')).toBe(join(bare, 'node_modules', 'express', 'package.json'));
    expect(await resolves('ioredis')).toBeUndefined();
    expect(await resolves('@types/express')).toBeUndefined();
  });

  it('a JavaScript gateway on MemoryTokenStore runs without ioredis installed', async () => {
    await writeFile(
      join(bare, 'memory.js'),
      `const express = require('express');
const { createTokenRouter, MemoryTokenStore } = require('express-oauth-device-tokens');
const store = new MemoryTokenStore({ secret: 'memory-consumer-secret-0123456789abcdef' });
const app = express().use(createTokenRouter({ store, clients: [{ clientId: 'kiosk', clientSecret: 's3cret', grants: ['client_credentials'] }] }));
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/token', {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from('kiosk:s3cret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=device_lobby',
    });
    const body = await res.json();
    console.log(JSON.stringify({ status: res.status, record: await store.lookup(body.access_token) }));
  } finally {
    server.close();
    store.close();
  }
});
`,
    );
    const { stdout } = await nodeIn(bare, ['memory.js']);
    expect(JSON.parse(stdout)).toMatchObject({ status: 200, record: { clientId: 'kiosk', deviceScopes: ['device_lobby'] } });
  });

  describe('TypeScript on MemoryTokenStore, with @types/express but no ioredis', () => {
    const MEMORY_ONLY = `import express from 'express';
import { createTokenRouter, MemoryTokenStore, requireToken } from 'express-oauth-device-tokens';

const store = new MemoryTokenStore({ secret: 'x'.repeat(40) });
express()
  .use(createTokenRouter({ store, clients: [{ clientId: 'app', clientSecret: 's', grants: ['client_credentials'] }] }))
  .get('/x', requireToken({ store }), (req, res) => {
    res.json({ device: req.oauth?.device });
  });
`;
    beforeAll(async () => {
      await npmInstall(bare, ['@types/express@^5.0.0']);
      await writeFile(join(bare, 'memory-only.ts'), MEMORY_ONLY);
      await writeFile(join(bare, 'tsconfig.skip.json'), tsconfig(['memory-only.ts'], 'commonjs', { skipLibCheck: true }));
      await writeFile(join(bare, 'tsconfig.full.json'), tsconfig(['memory-only.ts'], 'commonjs'));
    }, 120_000);

    it('compiles strictly with skipLibCheck on', async () => {
      expect(await tscIn(bare, ['-p', 'tsconfig.skip.json'])).toEqual({ ok: true, output: '' });
    }, 60_000);

    it('with skipLibCheck off, the only errors are the package declarations that name ioredis (as the README says)', async () => {
      const result = await tscIn(bare, ['-p', 'tsconfig.full.json']);
      expect(result.ok).toBe(false);
      const errors = errorLines(result.output);
      expect(errors.length).toBeGreaterThan(0);
      for (const line of errors) {
        expect(line).toMatch(
          /^node_modules\/express-oauth-device-tokens\/dist\/lib\/stores\/redis\/\S+\.d\.ts\(\d+,\d+\): error TS2307: Cannot find module 'ioredis'/,
        );
      }
    }, 60_000);
  });
});

describe('the README "Use it in your gateway" snippet, as pasted', () => {
  const COMPILE = 'npx tsc --strict --module nodenext --target es2022 --outDir build gateway.ts';
  let readme: string;

  /** Starts the compiled gateway; resolves once it logs its address. */
  function startGateway(env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void> }> {
    const child = spawn(process.execPath, [join('build', 'gateway.js')], { cwd: consumer, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void stop();
        reject(new Error(`the gateway did not log its address within 15 s:\n${output}`));
      }, 15_000);
      const onOutput = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /gateway listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve({ url: match[1]!, stop });
        }
      };
      child.stdout.on('data', onOutput);
      child.stderr.on('data', onOutput);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the gateway exited (${code}) before listening:\n${output}`));
      });
    });
  }

  async function tryGateway(url: string) {
    const token = await fetch(`${url}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('mobile-app:mobile-app-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'device_iphone orders:read' }),
    });
    const body = (await token.json()) as { access_token: string; scope: string; token_type: string };
    const orders = await fetch(`${url}/api/orders`, { headers: { authorization: `Bearer ${body.access_token}` } });
    const anonymous = await fetch(`${url}/api/orders`);
    return { token: token.status, body, orders: orders.status, ordersBody: await orders.json(), anonymous: anonymous.status };
  }

  beforeAll(async () => {
    readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Use it in your gateway\n'));
    const snippet = /\n```ts\n([\s\S]*?)\n```\n/.exec(section)?.[1];
    if (!snippet) throw new Error('README.md: no ```ts block after "## Use it in your gateway"');
    await writeFile(join(consumer, 'gateway.ts'), `${snippet}\n`);
  });

  it(`compiles with the README's command line (${COMPILE}: strict, skipLibCheck off)`, async () => {
    expect(readme).toContain(COMPILE);
    const [, ...args] = COMPILE.split(' ').slice(1);
    expect(await tscIn(consumer, args)).toEqual({ ok: true, output: '' });
  }, 60_000);

  it('runs on the in-memory store: /token gives alice a token, /api/orders takes it and refuses no token', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.REDIS_URL;
    delete env.TOKEN_SECRET;
    const gateway = await startGateway(env);
    try {
      const result = await tryGateway(gateway.url);
      expect(result).toEqual({
        token: 200,
        body: expect.objectContaining({ token_type: 'Bearer', scope: 'device_iphone orders:read' }),
        orders: 200,
        ordersBody: { user: 'alice', device: 'device_iphone', orders: [] },
        anonymous: 401,
      });
    } finally {
      await gateway.stop();
    }
  });

  it('runs on Redis when REDIS_URL is set (its keys under the ioredis keyPrefix the URL gives)', async () => {
    const keyPrefix = uniquePrefix('package-readme');
    const url = new URL(redisUrl());
    url.searchParams.set('keyPrefix', keyPrefix);
    const cleaner = createTestRedis();
    const gateway = await startGateway({
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: url.toString(),
      TOKEN_SECRET: 'readme-snippet-secret-0123456789abcdef',
    });
    try {
      const result = await tryGateway(gateway.url);
      expect(result).toMatchObject({ token: 200, orders: 200, ordersBody: { user: 'alice', device: 'device_iphone' }, anonymous: 401 });
      expect(await cleaner.keys(`${keyPrefix}oauth:*`)).not.toEqual([]);
    } finally {
      await gateway.stop();
      await cleanupPrefix(cleaner, keyPrefix);
      await cleaner.quit();
    }
  });
});

describe('the CLI of the packed package: npx express-oauth-device-tokens hash-password', () => {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const COMMAND = ['--no', '--', 'express-oauth-device-tokens'];

  /** Runs the CLI with `stdin` piped in. */
  function piped(args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile('npx', [...COMMAND, ...args], { cwd: bare, env, timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(stdin);
    });
  }

  /**
   * Runs it on a pseudo-terminal (util-linux `script`), typing each answer once its prompt shows
   * (so the terminal is already in no-echo mode). Resolves to the exit code and all the terminal showed.
   */
  function onTerminal(answers: string[]): Promise<{ code: number | null; screen: string }> {
    const child = spawn('script', ['-qec', `npx ${COMMAND.join(' ')} hash-password`, '/dev/null'], { cwd: bare, env });
    let screen = '';
    let answered = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      const prompts = screen.match(/password: /gi)?.length ?? 0;
      while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise((resolve) =>
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, screen });
      }),
    );
  }

  it('piped: reads the first line of stdin, asks nothing, prints a hash of it', async () => {
    const { code, stdout, stderr } = await piped(['hash-password'], 'wonderland\nsomething else\n');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const hash = stdout.trimEnd();
    expect(stdout).toBe(`${hash}\n`);
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('wonderland', hash)).toBe(true);
  });

  it('piped: an empty line is refused (exit code 2)', async () => {
    expect(await piped(['hash-password'], '\n')).toEqual({ code: 2, stdout: '', stderr: 'hash-password: the password is empty\n' });
  });

  it('an unknown command prints the usage (exit code 2)', async () => {
    const { code, stdout, stderr } = await piped(['hash-pasword'], '');
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(/^unknown command: hash-pasword\n\nusage: express-oauth-device-tokens <command>\n/);
  });

  it('on a terminal: asks twice without echoing, prints a hash of the password', async () => {
    const { code, screen } = await onTerminal(['correct horse', 'correct horse']);
    expect(code).toBe(0);
    expect(screen).not.toContain('correct horse');
    // (npx may draw its spinner around it)
    expect(screen).toMatch(/Password: \r\nRepeat the password: \r\nscrypt\$/);
    const hash = /scrypt\$\S+/.exec(screen)![0];
    expect(await verifyPassword('correct horse', hash)).toBe(true);
  });

  it('on a terminal: two different passwords are an error (exit code 1), and nothing is printed on stdout', async () => {
    const { code, screen } = await onTerminal(['correct horse', 'battery staple']);
    expect(code).toBe(1);
    expect(screen).not.toMatch(/correct horse|battery staple|scrypt\$/);
    expect(screen).toContain('hash-password: the passwords do not match');
  });
});
