'use strict';

// `npm run bench`: the package's endpoints against baselines that do the same I/O without OAuth,
// over real HTTP on 127.0.0.1, on the memory store and on Redis. Everything runs in this process
// tree: autocannon here, the Express apps in a forked child (server.js), and a private
// redis-server (unless REDIS_URL is set). Only the ratios are meant to be compared across machines
// and runs; the absolute req/s are printed for context.
//
// Env: BENCH_DURATION (s measured per case and side, 5), BENCH_ROUNDS (alternating rounds the
// duration is split into, 4), BENCH_WARMUP (s per case and side before that, 1),
// BENCH_CONNECTIONS (50), REDIS_URL (use that Redis; only keys under a random bench: prefix are
// written, and deleted at the end).

const { fork } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { BASIC, ORDERS, TOKEN_FORM } = require('./fixtures');
const { startPrivateRedis } = require('./redis-server');

/** A number from the environment, at least `min`, or `fallback` when unset. */
function envNumber(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  return value;
}

const DURATION = envNumber('BENCH_DURATION', 5, 0.5);
const WARMUP = envNumber('BENCH_WARMUP', 1, 0);
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 50, 1));
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 4, 1));
const RESULTS_FILE = join(__dirname, 'results', 'latest.json');
const FORM_HEADERS = { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' };

/** Resolves to the child's next IPC message; rejects if it exits first. */
function nextMessage(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`bench server exited early (code ${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

/** Forks server.js for one store; resolves to its ports and a stop(). */
async function startServer(redisUrl) {
  const env = { ...process.env, BENCH_KEY_PREFIX: `bench:${randomBytes(6).toString('hex')}:` };
  delete env.BENCH_REDIS_URL;
  if (redisUrl) env.BENCH_REDIS_URL = redisUrl;
  const child = fork(join(__dirname, 'server.js'), { env });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ports = await nextMessage(child);
  return {
    ...ports,
    send: (message) => {
      child.send(message);
      return nextMessage(child);
    },
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.send('stop'); // it deletes its Redis keys, then exits
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** One request with fetch; the body text of a 200, or an error. */
async function call(port, path, init) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', ...init });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`priming ${path}: HTTP ${response.status} ${text}`);
  return text;
}

/**
 * Gets the device's token from the gateway (and checks it is reused), its introspection answer
 * and the protected API's answer; the baseline then answers the same /token and /introspect bodies.
 */
async function prime(server) {
  const askToken = async () => call(server.gateway, '/token', { headers: FORM_HEADERS, body: TOKEN_FORM });
  const tokenBody = await askToken();
  const token = JSON.parse(tokenBody).access_token;
  if (JSON.parse(await askToken()).access_token !== token) throw new Error('/token did not reuse the live token');
  const introspectForm = new URLSearchParams({ token }).toString();
  const introspectBody = await call(server.gateway, '/introspect', { headers: FORM_HEADERS, body: introspectForm });
  if (JSON.parse(introspectBody).active !== true) throw new Error(`/introspect: token not active: ${introspectBody}`);
  await server.send({ bodies: { token: tokenBody, introspect: introspectBody } });
  const ordersJson = JSON.stringify(ORDERS);
  return [
    {
      name: 'GET /api/orders',
      request: { method: 'GET', path: '/api/orders', headers: { authorization: `Bearer ${token}` } },
      verify: (body) => body === ordersJson,
    },
    {
      name: 'POST /token',
      request: { method: 'POST', path: '/token', headers: FORM_HEADERS, body: TOKEN_FORM },
      // Every answer must carry the primed token: the live token really was reused.
      verify: (body) => body.includes(`"access_token":"${token}"`),
    },
    {
      name: 'POST /introspect',
      request: { method: 'POST', path: '/introspect', headers: FORM_HEADERS, body: introspectForm },
      verify: (body) => body === introspectBody,
    },
  ];
}

/** One autocannon run; resolves to its result plus what was wrong with it (should be nothing). */
async function load(port, benchCase, duration) {
  const { path, ...request } = benchCase.request;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    ...request,
    connections: CONNECTIONS,
    duration,
    verifyBody: benchCase.verify, // body mismatches are counted in result.mismatches
  });
  const problems = [];
  if (!(result['2xx'] > 0)) problems.push('no 2xx response');
  for (const field of ['non2xx', 'errors', 'timeouts', 'mismatches']) {
    if (result[field] > 0) problems.push(`${result[field]} ${field}`);
  }
  return { result, problems };
}

const perSecond = (run) => run.result.requests.total / run.result.duration;

/** Runs of one side merged: req/s over all of them, the worst p99, every problem. */
function merge(runs) {
  const total = runs.reduce((sum, run) => sum + run.result.requests.total, 0);
  const seconds = runs.reduce((sum, run) => sum + run.result.duration, 0);
  return {
    reqPerSec: total / seconds,
    p99Ms: Math.max(...runs.map((run) => run.result.latency.p99)),
    requests: total,
    problems: runs.flatMap((run) => run.problems),
  };
}

/**
 * All cases on one store. Per case: a warm-up of both sides, then ROUNDS rounds of
 * DURATION / ROUNDS seconds each, alternating which side goes first (baseline, package, package,
 * baseline, ...), so a drift of the machine's speed during a case falls on both sides. The ratio
 * is over all rounds; the per-round ratios show how noisy the machine was.
 */
async function benchStore(storeName, redisUrl) {
  const server = await startServer(redisUrl);
  const rows = [];
  try {
    for (const benchCase of await prime(server)) {
      if (WARMUP > 0) {
        await load(server.baseline, benchCase, WARMUP);
        await load(server.gateway, benchCase, WARMUP);
      }
      const runs = { baseline: [], gateway: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? ['baseline', 'gateway'] : ['gateway', 'baseline'];
        for (const side of order) runs[side].push(await load(server[side], benchCase, DURATION / ROUNDS));
      }
      const measured = merge(runs.gateway);
      const baseline = merge(runs.baseline);
      const row = {
        case: benchCase.name,
        store: storeName,
        reqPerSec: measured.reqPerSec,
        baselineReqPerSec: baseline.reqPerSec,
        ratio: measured.reqPerSec / baseline.reqPerSec,
        roundRatios: runs.gateway.map((run, round) => perSecond(run) / perSecond(runs.baseline[round])),
        p99Ms: measured.p99Ms,
        baselineP99Ms: baseline.p99Ms,
        requests: measured.requests,
        baselineRequests: baseline.requests,
        problems: [
          ...measured.problems.map((problem) => `package: ${problem}`),
          ...baseline.problems.map((problem) => `baseline: ${problem}`),
        ],
      };
      rows.push(row);
      console.log(`${row.case} on ${row.store}: ratio ${row.ratio.toFixed(2)}`);
    }
  } finally {
    await server.stop();
  }
  return rows;
}

function printTable(rows) {
  const header = ['case', 'store', 'req/s', 'baseline req/s', 'ratio', 'rounds min-max', 'p99 ms', 'baseline p99 ms'];
  const lines = rows.map((row) => [
    row.case,
    row.store,
    row.reqPerSec.toFixed(0),
    row.baselineReqPerSec.toFixed(0),
    row.ratio.toFixed(2),
    `${Math.min(...row.roundRatios).toFixed(2)}-${Math.max(...row.roundRatios).toFixed(2)}`,
    String(row.p99Ms),
    String(row.baselineP99Ms),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  // Text columns to the left, numbers to the right.
  const format = (cells) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(`\n${format(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}`);
  for (const line of lines) console.log(format(line));
}

async function main() {
  console.log(
    `bench: ${DURATION} s per case and side in ${ROUNDS} rounds (+${WARMUP} s warm-up), ${CONNECTIONS} connections; ` +
      'ratio = package req/s ÷ baseline req/s',
  );
  const redis = process.env.REDIS_URL ? { url: process.env.REDIS_URL, stop: async () => {} } : await startPrivateRedis();
  const rows = [];
  try {
    rows.push(...(await benchStore('memory')));
    rows.push(...(await benchStore('redis', redis.url)));
  } finally {
    await redis.stop();
  }
  printTable(rows);

  const failures = rows.flatMap((row) => row.problems.map((problem) => `${row.case} on ${row.store}, ${problem}`));
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    redis: process.env.REDIS_URL ? 'REDIS_URL' : 'private redis-server',
    durationSeconds: DURATION,
    rounds: ROUNDS,
    warmupSeconds: WARMUP,
    connections: CONNECTIONS,
    ok: failures.length === 0,
    results: rows,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten to ${RESULTS_FILE}`);
  if (failures.length > 0) {
    console.error(`\nFAILED: the measured responses were not all correct:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error('bench:', error);
  process.exitCode = 1;
});
