'use strict';

// `npm run bench:memory`: Redis memory per device session and validation speed with many live
// tokens, on a private redis-server (or REDIS_URL, under a random prefix deleted at the end).
//  1. issues BENCH_MEMORY_SESSIONS (100,000) device sessions through RedisTokenStore's public
//     issue() (one user per session, so no device cap interferes; short device scope
//     `device_a`, 200 in flight) and reports the `used_memory` and DBSIZE deltas per session;
//     then as many again with 2 and with 50 devices per user (devices `device_<n>`), each in a
//     database of its own (SELECT 1, 2: fresh key tables, as the first had), deleted after;
//  2. GET /api/orders through the router app (targets/router.js, pinned to CPU 0) with random
//     tokens of BENCH_MEMORY_LIVE (1,000,000) live sessions, and through a second router app on
//     database 3, which holds only 1,000 sessions, with random tokens of those; the rounds of
//     the two alternate (few, many, many, few, …), so both see the same machine; reports both
//     req/s (medians) and their ratio.
// Env: BENCH_MEMORY_SESSIONS, BENCH_MEMORY_LIVE, BENCH_DURATION (s per round, 3),
// BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), REDIS_URL.

const { randomBytes } = require('node:crypto');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { Redis } = require('ioredis');
const { RedisTokenStore } = require('../dist/lib');
const { SECRET, CLIENT, deleteKeys } = require('./fixtures');
const { startPrivateRedis } = require('./redis-server');
const { machineInfo } = require('./report');
const { pinSelf, startTarget } = require('./targets');

function envInt(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min} (got "${raw}")`);
  return value;
}

const SESSIONS = envInt('BENCH_MEMORY_SESSIONS', 100_000, 1000);
const LIVE = envInt('BENCH_MEMORY_LIVE', 1_000_000, SESSIONS);
const FEW = 1000;
const FEW_DB = 3;
const DURATION = Number(process.env.BENCH_DURATION || 3);
const ROUNDS = envInt('BENCH_ROUNDS', 3, 1);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 16, 1);
const IN_FLIGHT = 200;
const DEVICE = 'device_a';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function usedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
}

/**
 * Issues sessions `from` … `to - 1` (user `m<i>`, one device each; with `perUser`, user
 * `m<i / perUser>` on device `device_<i mod perUser>`), IN_FLIGHT at a time; appends their access tokens.
 */
async function issueSessions(store, from, to, tokens, perUser = 1) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const user = perUser === 1 ? `m${i}` : `m${Math.floor(i / perUser)}`;
      const device = perUser === 1 ? DEVICE : `device_${i % perUser}`;
      const result = await store.issue({
        clientId: CLIENT.clientId,
        subject: user,
        username: user,
        scopes: [device, 'orders:read'],
        deviceScopes: [device],
        accessTokenTtl: CLIENT.accessTokenTtl,
        refreshTokenTtl: CLIENT.refreshTokenTtl,
        reuse: { minRemaining: 60 },
      });
      if (result.status !== 'issued' && result.status !== 'reused') throw new Error(`issue() answered ${result.status}`);
      tokens[i] = result.tokens.accessToken;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Bytes and keys per session of SESSIONS sessions with `perUser` devices per user, in database `db` (emptied after). */
async function perUserMemory(url, prefix, db, perUser) {
  const redis = new Redis(url, { db, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    const store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: prefix });
    const keysBefore = await redis.dbsize();
    const memoryBefore = await usedMemory(redis);
    await issueSessions(store, 0, SESSIONS, [], perUser);
    const bytesPerSession = ((await usedMemory(redis)) - memoryBefore) / SESSIONS;
    const keysPerSession = ((await redis.dbsize()) - keysBefore) / SESSIONS;
    console.log(`  ${perUser} devices per user: ${bytesPerSession.toFixed(0)} bytes and ${keysPerSession.toFixed(2)} keys per session`);
    return { bytesPerSession, keysPerSession };
  } finally {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
}

/** One round of GET /api/orders with a random token of `tokens[0 … count - 1]` per request. */
async function validationRound(target, tokens, count) {
  let bad = 0;
  let responses = 0;
  const result = await new Promise((resolve, reject) => {
    autocannon(
      {
        url: target.url,
        connections: CONNECTIONS,
        duration: DURATION,
        requests: [
          {
            method: 'GET',
            path: '/api/orders',
            setupRequest: (request) => ({
              ...request,
              headers: { authorization: `Bearer ${tokens[Math.floor(Math.random() * count)]}` },
            }),
            onResponse: (status, body) => {
              responses++;
              if (status !== 200 || !body.includes('"device":"device_a"')) bad++;
            },
          },
        ],
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
  });
  if (bad > 0 || responses === 0)
    throw new Error(`validation with ${count} live tokens: ${bad} of ${responses} answers were not 200 with the API's answer`);
  return { reqPerSec: responses / ((result.finish - result.start) / 1000), p50: result.latency.p50, p99: result.latency.p99 };
}

/** Medians of rounds. */
function summary(rounds) {
  return {
    reqPerSec: median(rounds.map((r) => r.reqPerSec)),
    p50Ms: median(rounds.map((r) => r.p50)),
    p99Ms: median(rounds.map((r) => r.p99)),
    rounds: rounds.map((r) => Math.round(r.reqPerSec)),
  };
}

async function main() {
  pinSelf(1);
  const started = Date.now();
  const workDir = mkdtempSync(join(os.tmpdir(), 'bench-memory-'));
  const prefix = `bench:${randomBytes(6).toString('hex')}:m:`;
  const server = process.env.REDIS_URL ? { url: process.env.REDIS_URL, stop: async () => {} } : await startPrivateRedis({ cpu: 1 });
  const redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  const targets = [];
  let fewRedis;
  try {
    const store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: prefix });
    const tokens = [];
    const keysBefore = await redis.dbsize();
    const memoryBefore = await usedMemory(redis);
    console.log(`bench:memory: issuing ${SESSIONS} device sessions …`);
    const issueStart = Date.now();
    await issueSessions(store, 0, SESSIONS, tokens);
    const issueSeconds = (Date.now() - issueStart) / 1000;
    const memoryAfter = await usedMemory(redis);
    const keysAfter = await redis.dbsize();
    const bytesPerSession = (memoryAfter - memoryBefore) / SESSIONS;
    const keysPerSession = (keysAfter - keysBefore) / SESSIONS;
    console.log(`  ${bytesPerSession.toFixed(0)} bytes and ${keysPerSession.toFixed(2)} keys per session`);
    const devicesPerUser = {};
    for (const [db, perUser] of [
      [1, 2],
      [2, 50],
    ]) {
      console.log(`bench:memory: issuing ${SESSIONS} device sessions, ${perUser} per user …`);
      devicesPerUser[perUser] = await perUserMemory(server.url, prefix, db, perUser);
    }

    console.log(`bench:memory: issuing up to ${LIVE} live sessions …`);
    await issueSessions(store, SESSIONS, LIVE, tokens);
    const memoryLive = await usedMemory(redis);

    // The few: FEW sessions alone in database 3, behind a router of their own.
    const fewUrl = new URL(server.url);
    fewUrl.pathname = `/${FEW_DB}`;
    fewRedis = new Redis(fewUrl.toString(), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await fewRedis.connect();
    const fewTokens = [];
    await issueSessions(new RedisTokenStore({ redis: fewRedis, secret: SECRET, keyPrefix: prefix }), 0, FEW, fewTokens);
    const launch = (name, url) =>
      startTarget({
        name,
        script: 'bench/targets/router.js',
        cpu: 0,
        logDir: workDir,
        ready: /listening on/,
        env: { BENCH_REDIS_URL: url, BENCH_KEY_PREFIX: prefix },
      });
    targets.push(await launch('router-many', server.url), await launch('router-few', fewUrl.toString()));
    const [manyTarget, fewTarget] = targets;
    console.log(`bench:memory: validation with ${LIVE} and with ${FEW} live tokens, rounds alternating …`);
    const rounds = { few: [], many: [] };
    const runFew = async () => rounds.few.push(await validationRound(fewTarget, fewTokens, FEW));
    const runMany = async () => rounds.many.push(await validationRound(manyTarget, tokens, LIVE));
    await validationRound(fewTarget, fewTokens, FEW); // warm-up of both
    await validationRound(manyTarget, tokens, LIVE);
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of round % 2 === 0 ? [runFew, runMany] : [runMany, runFew]) await run();
    }
    const few = summary(rounds.few);
    const many = summary(rounds.many);

    const report = {
      date: new Date().toISOString(),
      machine: await machineInfo(redis),
      sessions: SESSIONS,
      deviceScope: DEVICE,
      bytesPerSession,
      keysPerSession,
      devicesPerUser,
      issuePerSecond: SESSIONS / issueSeconds,
      liveSessions: LIVE,
      usedMemoryLiveMiB: memoryLive / 2 ** 20,
      validation: { few: { live: FEW, ...few }, many: { live: LIVE, ...many }, ratio: few.reqPerSec / many.reqPerSec },
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
    };
    const pass = (ok) => (ok ? 'PASS' : 'MISS');
    const m = report.machine;
    const markdown = [
      `Run of ${report.date.slice(0, 10)} (${report.elapsedSeconds} s): ${m.cpuModel}, ${m.cores} cores; Node ${m.node}, Redis ${m.redis}.`,
      '',
      '| measure | value | issue 8 target |',
      '| --- | ---: | --- |',
      `| Redis memory per device session (${SESSIONS.toLocaleString('en')} sessions, \`${DEVICE}\`, all keys) | ${bytesPerSession.toFixed(0)} B | ${pass(bytesPerSession <= 1024)} ≤ 1 KiB |`,
      `| keys per session | ${keysPerSession.toFixed(2)} | |`,
      ...Object.entries(devicesPerUser).map(
        ([perUser, m]) =>
          `| … with ${perUser} devices per user | ${m.bytesPerSession.toFixed(0)} B, ${m.keysPerSession.toFixed(2)} keys | |`,
      ),
      `| used_memory with ${LIVE.toLocaleString('en')} live sessions | ${report.usedMemoryLiveMiB.toFixed(0)} MiB | |`,
      `| store.issue() rate, 200 in flight | ${report.issuePerSecond.toFixed(0)}/s | |`,
      `| GET /api/orders (router), ${FEW.toLocaleString('en')} live tokens | ${few.reqPerSec.toFixed(0)} req/s (p99 ${few.p99Ms} ms) | |`,
      `| GET /api/orders (router), ${LIVE.toLocaleString('en')} live tokens | ${many.reqPerSec.toFixed(0)} req/s (p99 ${many.p99Ms} ms) | |`,
      `| slowdown (1,000 ÷ ${LIVE.toLocaleString('en')}) | ${report.validation.ratio.toFixed(2)}× | ${pass(report.validation.ratio <= 1.2)} ≤ 1.20× |`,
      '',
    ].join('\n');
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'memory.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(__dirname, 'results', 'memory.md'), markdown);
    console.log(`\n${markdown}\nwritten to bench/results/memory.json and memory.md`);
  } finally {
    await Promise.all(targets.map((target) => target.stop()));
    if (process.env.REDIS_URL) await deleteKeys(redis, prefix);
    if (fewRedis) {
      await deleteKeys(fewRedis, prefix);
      await fewRedis.quit();
    }
    await redis.quit();
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error('bench:memory:', error.message);
  process.exitCode = 1;
});
