#!/usr/bin/env node
// `npm run soak`: the built example gateway under mixed traffic for SOAK_SECONDS (default 300)
// while its Redis is restarted twice (issue 10, item 7). Loopback only, bounded in time and in
// requests. Redis runs with `--appendonly yes --appendfsync always` in a temp dir, as a real
// deployment would, so the data survives both restarts (the first a clean SIGTERM, the second a
// crash, SIGKILL).
//
// It prints requests by endpoint and status and checks three musts (exit code 1 if one breaks):
//   - no 5xx other than 503 (and no request that failed at the transport level or hung),
//   - no revoked token (revoke answered 200, or DELETE /devices/{id} answered 204) that validates
//     again: every one is re-checked periodically and at the end,
//   - gateway RSS at the end less than 10 % above its RSS after the warm-up (60 s); both are
//     medians of 10 one-second samples (seconds 60-70, and the last 10), since RSS moves with GC.
//
// Environment: SOAK_SECONDS (default 300), SOAK_RATE (requests/s, default 40), SOAK_MAX_REQUESTS
// (default 60000), SOAK_WARMUP_SECONDS (default 60).
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { randomBytes } = require('node:crypto');

const ROOT = join(__dirname, '..');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const RATE = Number(process.env.SOAK_RATE ?? 40);
const MAX_REQUESTS = Number(process.env.SOAK_MAX_REQUESTS ?? 60_000);
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? Math.min(60, SECONDS / 5));
const WORKERS = 4;
const REQUEST_TIMEOUT_MS = 5_000;
const RECHECK_EVERY_MS = 15_000;
const RECHECK_SAMPLE = 100;
const RESTART_DOWN_MS = 2_500;
const RSS_GROWTH_LIMIT = 0.1;
const TOKEN_TTL = Math.max(600, Math.ceil(SECONDS * 2));
for (const [name, value] of Object.entries({
  SOAK_SECONDS: SECONDS,
  SOAK_RATE: RATE,
  SOAK_MAX_REQUESTS: MAX_REQUESTS,
  SOAK_WARMUP_SECONDS: WARMUP_SECONDS,
})) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number`);
    process.exit(2);
  }
}

const median = (values) => {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Date.now();

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// --- Redis: persistent (AOF, fsync always), restarted on the same port and directory ----------

const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function redisPing(port) {
  try {
    return (
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], {
        encoding: 'utf8',
        timeout: 2_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() === 'PONG'
    );
  } catch {
    return false;
  }
}

async function startRedis(port, dir) {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--daemonize',
      'no',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  children.add(child);
  const exited = new Promise((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  const deadline = now() + 10_000;
  while (!redisPing(port)) {
    if (now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    await sleep(50);
  }
  return {
    pid: child.pid,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

// --- the gateway --------------------------------------------------------------------------------

const USERS = ['ana', 'ben', 'cleo', 'dev', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon'].map((username) => ({
  username,
  password: `${username}-soak-pass`,
  roles: ['subscriber'],
}));
const CLIENT = { clientId: 'soak-app', clientSecret: 'soak-app-secret' };
const BASIC = `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`;

function rssKiB(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function startGateway(dir, redisPort) {
  const port = await freePort();
  const configPath = join(dir, 'soak-config.json');
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        // Tokens outlive the soak and the device cap is out of reach, so that every token the soak did
        // not end must stay valid: a 401 for one is a failure (lost data across a restart).
        clients: [
          {
            ...CLIENT,
            grants: ['password', 'refresh_token'],
            accessTokenTtl: TOKEN_TTL,
            refreshTokenTtl: 2 * TOKEN_TTL,
            maxDevicesPerUser: 10_000,
          },
        ],
        users: USERS,
        scopes: { 'orders:read': ['subscriber'] },
      },
      null,
      2,
    ),
  );
  const logPath = join(dir, 'gateway.log');
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'example-gateway', 'server.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HTTPS_PORT: 'off',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      GATEWAY_CONFIG: configPath,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  children.add(child);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  const deadline = now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited at start-up (code ${child.exitCode}); see ${logPath}`);
    try {
      const res = await fetch(`${base}/livez`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (now() > deadline) throw new Error(`the gateway did not answer /livez within 15 s; see ${logPath}`);
    await sleep(100);
  }
  return {
    base,
    pid: child.pid,
    logPath,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

// --- traffic --------------------------------------------------------------------------------

const counts = new Map(); // "endpoint status" -> n
const violations = { serverErrors: 0, transport: 0, revokedAlive: 0, liveRejected: 0 };
const examples = [];
let requests = 0;

function note(kind, text) {
  if (examples.length < 20) examples.push(`${kind}: ${text}`);
}

async function call(endpoint, path, init = {}) {
  requests++;
  const started = now();
  let status;
  let body;
  try {
    const res = await fetch(path, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = res.status;
    const text = await res.text();
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
  } catch (error) {
    status = error.name === 'TimeoutError' ? 'timeout' : 'transport-error';
    violations.transport++;
    note(endpoint, `${status} after ${now() - started} ms (${error.cause?.code ?? error.message})`);
  }
  const key = `${endpoint} ${status}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
  if (typeof status === 'number' && status >= 500 && status !== 503) {
    violations.serverErrors++;
    note(endpoint, `${status} ${JSON.stringify(body)}`);
  }
  if (status === 503 && body?.error !== 'temporarily_unavailable')
    note(endpoint, `503 without temporarily_unavailable: ${JSON.stringify(body)}`);
  return { status, body };
}

const form = (params) => ({
  method: 'POST',
  headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(params).toString(),
});
const bearer = (token, method = 'GET') => ({ method, headers: { authorization: `Bearer ${token}` } });

/** Live sessions this soak holds: { user, device, access, refresh }. */
const sessions = [];
/** Access and refresh tokens of grants that were ended with a 200/204: must never work again. */
const revoked = [];
let deviceCounter = 0;
let devicesMounted = true;

const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A session this soak holds as live (no revoke, no device end, no cap reached) was refused. */
function liveRejected(session, endpoint) {
  violations.liveRejected++;
  note('live token refused', `${endpoint} for ${session.user.username} ${session.device}`);
  dropSession(session);
}

function dropSession(session) {
  const index = sessions.indexOf(session);
  if (index >= 0) sessions.splice(index, 1);
}

async function issue(base, user, device) {
  const res = await call(
    'POST /token password',
    `${base}/token`,
    form({
      grant_type: 'password',
      username: user.username,
      password: user.password,
      scope: `${device} orders:read`,
    }),
  );
  if (res.status === 200) return { user, device, access: res.body.access_token, refresh: res.body.refresh_token };
  return undefined;
}

/** A held session no other worker is using right now (marked busy until `release`). */
function take(filter = () => true) {
  const free = sessions.filter((s) => !s.busy && filter(s));
  if (free.length === 0) return undefined;
  const session = pick(free);
  session.busy = true;
  return session;
}
const release = (...list) => list.forEach((s) => s && (s.busy = false));

async function step(base) {
  let roll = Math.random();
  if (!devicesMounted && roll >= 0.85) roll = 0.5; // no /devices: validate instead
  const session = roll < 0.15 || sessions.length < 10 ? undefined : take();
  if (!session) {
    // a new device
    const created = await issue(base, pick(USERS), `device_soak${++deviceCounter}`);
    if (created) sessions.push(created);
    return;
  }
  try {
    if (roll < 0.3) {
      // the same device asks again: reuse
      const again = await issue(base, session.user, session.device);
      if (again && again.access !== session.access) {
        note('reuse gave a new token', `${session.user.username} ${session.device}`);
        Object.assign(session, again);
      }
    } else if (roll < 0.42) {
      const res = await call('POST /token refresh', `${base}/token`, form({ grant_type: 'refresh_token', refresh_token: session.refresh }));
      if (res.status === 200) Object.assign(session, { access: res.body.access_token, refresh: res.body.refresh_token });
      else if (res.status === 400) liveRejected(session, 'POST /token refresh');
    } else if (roll < 0.5) {
      const { access, refresh } = session;
      const res = await call('POST /revoke', `${base}/revoke`, form({ token: access }));
      if (res.status === 200) {
        dropSession(session);
        revoked.push({ access, refresh, at: now(), how: 'revoke' });
      }
    } else if (roll < 0.85) {
      const res = await call('GET /api/orders', `${base}/api/orders`, bearer(session.access));
      if (res.status === 401) liveRejected(session, 'GET /api/orders');
    } else if (roll < 0.95) {
      const res = await call('GET /devices', `${base}/devices`, bearer(session.access));
      if (res.status === 401) liveRejected(session, 'GET /devices');
    } else {
      // end another device of the same user through DELETE /devices/{id}
      const list = await call('GET /devices', `${base}/devices`, bearer(session.access));
      if (list.status === 401) liveRejected(session, 'GET /devices');
      if (list.status !== 200) return;
      const victim = take((s) => s.user === session.user && list.body.devices.some((d) => d.device === s.device && !d.current));
      if (!victim) return;
      try {
        const entry = list.body.devices.find((d) => d.device === victim.device);
        const { access, refresh } = victim;
        const res = await call('DELETE /devices/{id}', `${base}/devices/${encodeURIComponent(entry.id)}`, bearer(session.access, 'DELETE'));
        if (res.status === 204) {
          dropSession(victim);
          revoked.push({ access, refresh, at: now(), how: 'DELETE /devices/{id}' });
        }
      } finally {
        release(victim);
      }
    }
  } finally {
    release(session);
  }
}

/** Re-checks every ended grant: its access token must not validate, its refresh token must not refresh. */
async function recheckRevoked(base, final) {
  // periodically a bounded sample (the newest and some older ones), at the end every one
  const sample = final
    ? revoked
    : [...new Set([...revoked.slice(-RECHECK_SAMPLE / 2), ...Array.from({ length: RECHECK_SAMPLE / 2 }, () => pick(revoked))])].filter(
        Boolean,
      );
  for (const entry of sample) {
    const res = await call('recheck GET /api/orders', `${base}/api/orders`, bearer(entry.access));
    if (res.status === 200) {
      violations.revokedAlive++;
      note('revoked token validated again', `${entry.how} at +${Math.round((entry.at - startedAt) / 1000)} s`);
    }
    if (final) {
      const refreshed = await call(
        'recheck POST /token refresh',
        `${base}/token`,
        form({ grant_type: 'refresh_token', refresh_token: entry.refresh }),
      );
      if (refreshed.status === 200) {
        violations.revokedAlive++;
        note('revoked refresh token refreshed again', `${entry.how} at +${Math.round((entry.at - startedAt) / 1000)} s`);
      }
    }
  }
}

let startedAt = now();

async function main() {
  console.log('soak: building (npm run build --silent)');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

  const dir = mkdtempSync(join(tmpdir(), 'eodt-soak-'));
  const redisPort = await freePort();
  let redis = await startRedis(redisPort, dir);
  const gateway = await startGateway(dir, redisPort);
  console.log(
    `soak: gateway pid ${gateway.pid} at ${gateway.base}, Redis (AOF, appendfsync always) on 127.0.0.1:${redisPort}; ${SECONDS} s at about ${RATE} req/s, at most ${MAX_REQUESTS} requests`,
  );

  let mustFail = false;
  const devicesProbe = await fetch(`${gateway.base}/devices`);
  devicesMounted = devicesProbe.status !== 404;
  await devicesProbe.text();
  if (!devicesMounted) {
    console.log('soak: GET /devices answers 404 (not mounted): device list/end traffic skipped');
  }

  startedAt = now();
  const endAt = startedAt + SECONDS * 1000;
  const restartsAt = [startedAt + SECONDS * 1000 * 0.4, startedAt + SECONDS * 1000 * 0.7];
  const restarts = [];
  let rssWarm;
  const rssSeries = [];
  let stopping = false;

  // Redis restarts: stop, wait 2.5 s, start on the same port and directory.
  const chaos = (async () => {
    for (const [i, at] of restartsAt.entries()) {
      while (now() < at && !stopping) await sleep(200);
      if (stopping) return;
      const signal = i === 0 ? 'SIGTERM' : 'SIGKILL';
      const downAt = now();
      await redis.stop(signal);
      await sleep(RESTART_DOWN_MS);
      redis = await startRedis(redisPort, dir);
      const upAt = now();
      // when did the gateway issue a token again?
      let recoveredAt;
      while (!recoveredAt && now() - upAt < 30_000) {
        const res = await call(
          'probe POST /token password',
          `${gateway.base}/token`,
          form({
            grant_type: 'password',
            username: USERS[0].username,
            password: USERS[0].password,
            scope: 'device_probe orders:read',
          }),
        );
        if (res.status === 200) recoveredAt = now();
        else await sleep(100);
      }
      restarts.push({ signal, downAt, upAt, recoveredAt });
      console.log(
        `soak: Redis restart ${i + 1} (${signal}) at +${Math.round((downAt - startedAt) / 1000)} s: down ${upAt - downAt} ms, service back ${recoveredAt ? `${recoveredAt - upAt} ms` : 'NOT within 30 s'} after Redis`,
      );
    }
  })();

  const sampler = (async () => {
    while (!stopping) {
      // one sample a second; RSS moves with every GC, so each figure is a median of 10 samples
      const second = Math.floor((now() - startedAt) / 1000);
      if (second >= rssSeries.length) rssSeries.push(rssKiB(gateway.pid));
      if (rssWarm === undefined && second >= WARMUP_SECONDS + 10) {
        rssWarm = median(rssSeries.slice(WARMUP_SECONDS, WARMUP_SECONDS + 10));
        console.log(
          `soak: gateway RSS after warm-up (median of seconds ${WARMUP_SECONDS}-${WARMUP_SECONDS + 10}): ${(rssWarm / 1024).toFixed(1)} MiB`,
        );
      }
      await sleep(200);
    }
  })();

  const rechecker = (async () => {
    while (!stopping) {
      await sleep(RECHECK_EVERY_MS);
      if (!stopping) await recheckRevoked(gateway.base, false);
    }
  })();

  const perWorkerGap = (1000 * WORKERS) / RATE;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (now() < endAt && requests < MAX_REQUESTS) {
      const t = now();
      await step(gateway.base);
      const wait = perWorkerGap - (now() - t);
      if (wait > 0) await sleep(wait);
    }
  });
  let lastReport = now();
  const progress = setInterval(() => {
    if (now() - lastReport >= 30_000) {
      lastReport = now();
      console.log(
        `soak: +${Math.round((now() - startedAt) / 1000)} s, ${requests} requests, ${sessions.length} live sessions held, ${revoked.length} ended grants tracked`,
      );
    }
  }, 1_000);

  await Promise.all(workers);
  stopping = true;
  clearInterval(progress);
  await chaos;
  await Promise.all([sampler, rechecker]);
  await recheckRevoked(gateway.base, true);
  const rssEnd = median(rssSeries.slice(-10));
  const elapsed = (now() - startedAt) / 1000;

  await gateway.stop();
  await redis.stop();
  const logText = readFileSync(gateway.logPath, 'utf8');
  rmSync(dir, { recursive: true, force: true });

  // --- report ---
  console.log('');
  console.log(
    `soak: ${requests} requests in ${elapsed.toFixed(0)} s (${(requests / elapsed).toFixed(1)} req/s), ${revoked.length} ended grants re-checked`,
  );
  console.log('requests by endpoint and status:');
  for (const [key, n] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${key.padEnd(40)} ${n}`);
  for (const r of restarts) {
    console.log(
      `Redis restart (${r.signal}): down ${r.upAt - r.downAt} ms; service back ${r.recoveredAt ? `${r.recoveredAt - r.upAt} ms` : 'never'} after Redis returned`,
    );
  }
  const growth = rssWarm && rssEnd ? (rssEnd - rssWarm) / rssWarm : undefined;
  console.log(
    `gateway RSS (medians of 10 one-second samples): after warm-up ${rssWarm ? (rssWarm / 1024).toFixed(1) : '?'} MiB, at the end ${rssEnd ? (rssEnd / 1024).toFixed(1) : '?'} MiB, growth ${growth === undefined ? '?' : `${(growth * 100).toFixed(1)} %`}`,
  );
  console.log(
    `gateway RSS every 10 s (MiB): ${rssSeries
      .filter((_kib, i) => i % 10 === 0)
      .map((kib) => (kib / 1024).toFixed(0))
      .join(' ')}`,
  );
  console.log(`gateway log: ${logText.split('\n').filter(Boolean).length} lines at LOG_LEVEL=warn`);
  if (examples.length > 0) {
    console.log('examples of failures:');
    for (const line of examples) console.log(`  ${line}`);
  }

  const checks = [
    ['5xx other than 503', violations.serverErrors, violations.serverErrors === 0],
    ['requests that hung or failed at the transport level', violations.transport, violations.transport === 0],
    ['revoked tokens that validated (or refreshed) again', violations.revokedAlive, violations.revokedAlive === 0],
    ['live tokens refused (401/invalid_grant) though never ended', violations.liveRejected, violations.liveRejected === 0],
    [
      'RSS growth after warm-up < 10 %',
      growth === undefined ? '?' : `${(growth * 100).toFixed(1)} %`,
      growth !== undefined && growth < RSS_GROWTH_LIMIT,
    ],
    [
      'Redis restarts done, service back each time',
      `${restarts.filter((r) => r.recoveredAt).length}/${restartsAt.length}`,
      restarts.length === restartsAt.length && restarts.every((r) => r.recoveredAt),
    ],
  ];
  console.log('musts:');
  for (const [name, value, ok] of checks) {
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${value}`);
    if (!ok) mustFail = true;
  }
  process.exitCode = mustFail ? 1 : 0;
}

main().catch((error) => {
  console.error(`soak: ${error.stack ?? error}`);
  process.exitCode = 1;
  for (const child of children) child.kill('SIGKILL');
});
