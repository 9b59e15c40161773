'use strict';

// `npm run bench`: what users run, side by side in one run, over real HTTP on 127.0.0.1.
// Targets, each its own server process pinned to CPU 0 and kept running the whole bench:
//   gateway  the example gateway exactly as `npm start` runs it (default logging, its
//            Redis-backed login limiter), on a bench config;
//   router   the package's router in a bare Express app (targets/router.js);
//   floor    floor-token and floor-validate (targets/floor.js): the same I/O without OAuth;
//   peer     @node-oauth/oauth2-server with an ioredis model (targets/peer.js).
// This process (autocannon) and the private redis-server share CPU 1. Per path, every target
// gets a warm-up, then BENCH_ROUNDS rounds interleaved across targets in a rotating order;
// req/s, p50 and p99 are the medians of the rounds. Redis round trips and commands per request
// come from a MONITOR probe off load (probe.js), server CPU per request from /proc.
// Every answer is checked; the run exits non-zero only when one was wrong (not for a missed
// target of issue 8, which the tables mark PASS or MISS).
//
// Env: BENCH_DURATION (s per round, 1.5), BENCH_ROUNDS (4), BENCH_WARMUP (s, 1),
// BENCH_CONNECTIONS (16), BENCH_PROBE_REQUESTS (20), BENCH_PATHS (comma list, all),
// REDIS_URL (use that Redis: keys only under a random bench: prefix, deleted at the end).

const { randomBytes } = require('node:crypto');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { Redis } = require('ioredis');
const { SECRET, SCOPES, clientList, userList, deleteKeys } = require('./fixtures');
const { paths, call } = require('./paths');
const { probeRedis } = require('./probe');
const { startPrivateRedis } = require('./redis-server');
const { renderMarkdown, machineInfo } = require('./report');
const { cpuMicros, pinSelf, sleep, startTarget } = require('./targets');

/** A number from the environment, at least `min`, or `fallback` when unset. */
function envNumber(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  return value;
}

const DURATION = envNumber('BENCH_DURATION', 1.5, 0.5);
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 4, 1));
const WARMUP = envNumber('BENCH_WARMUP', 1, 0);
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 16, 1));
const PROBE_REQUESTS = Math.round(envNumber('BENCH_PROBE_REQUESTS', 20, 1));
const ONLY_PATHS = process.env.BENCH_PATHS ? process.env.BENCH_PATHS.split(',').map((name) => name.trim()) : undefined;
const RESULTS = join(__dirname, 'results');
const SERVER_CPU = 0;
const LOAD_CPU = 1;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Rotates `list` left by `by`: rounds go A B C D, B C D A, … */
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

/**
 * One load run of `path` on `target` for `seconds`; resolves to its req/s, latency, CPU and the
 * wrong answers seen (reasons counted, never a body).
 */
async function load(target, path, state, seconds) {
  const problems = new Map();
  const note = (reason) => problems.set(reason, (problems.get(reason) ?? 0) + 1);
  let responses = 0;
  let exhaustedAt;
  let instance;
  const cpuBefore = cpuMicros(target.pid);
  const result = await new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: target.url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'GET', // every field comes from setupRequest, called for each request sent
            path: '/',
            setupRequest: (request) => {
              const next = path.next(state);
              if (state.exhausted && exhaustedAt === undefined) {
                exhaustedAt = Date.now(); // the pool ran out: stop, and count up to here
                setImmediate(() => instance.stop());
              }
              return { ...request, ...next, headers: { ...next.headers } }; // autocannon adds to the headers it is given
            },
            onResponse: (status, body) => {
              if (exhaustedAt !== undefined) return;
              responses++;
              const reason = path.check(state, status, body);
              if (reason) note(reason);
            },
          },
        ],
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
  });
  const cpu = cpuMicros(target.pid) - cpuBefore;
  const elapsed = ((exhaustedAt ?? result.finish.getTime()) - result.start.getTime()) / 1000;
  for (const field of ['errors', 'timeouts']) if (result[field] > 0) note(`${result[field]} ${field}`);
  // A round with no answer in time is no wrong answer (a scrypt-bound path can take seconds
  // per request); its 0 req/s stays in the medians.
  return {
    reqPerSec: responses / elapsed,
    seconds: elapsed,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests.total),
    poolRanOut: exhaustedAt !== undefined,
    problems: Object.fromEntries(problems),
  };
}

/**
 * Waits until no target uses CPU (at most 60 s): a target may still be working off requests of
 * a run that has ended (a password grant's scrypt on the thread pool) or hashing its users at
 * start-up, and that must not fall on the next target's round.
 */
async function waitQuiet(targets) {
  const deadline = Date.now() + 60_000;
  let last = targets.reduce((sum, target) => sum + cpuMicros(target.pid), 0);
  while (Date.now() < deadline) {
    await sleep(200);
    const now = targets.reduce((sum, target) => sum + cpuMicros(target.pid), 0);
    if (now - last <= 10_000) return;
    last = now;
  }
}

/** Requests one run of `seconds` is expected to need (for token pools), from earlier rates. */
function expectedRequests(estimates, target, seconds) {
  const rate = Math.max(...(estimates.get(target.name) ?? [2000]));
  return Math.ceil(rate * seconds * 1.5) + CONNECTIONS * 4;
}

async function benchPath(path, targets, admin, estimates) {
  const active = targets.filter((target) => path.appliesTo(target) && (!target.only || target.only.includes(path.name)));
  const states = new Map();
  const probes = new Map();
  for (const target of active) {
    const state = await path.setup(target);
    states.set(target.name, state);
    // Off load: three requests to load scripts and warm connections, then the counted ones.
    await path.prepare(state, PROBE_REQUESTS + 3, 1);
    const send = async () => {
      const request = path.next(state);
      const { status, body } = await call(target, request);
      const reason = path.check(state, status, body);
      if (reason) throw new Error(`${path.name} on ${target.name}: probe answer wrong (${reason})`);
    };
    for (let i = 0; i < 3; i++) await send();
    probes.set(target.name, await probeRedis({ admin, monitorClient: admin, count: PROBE_REQUESTS, send }));
    if (path.verify) await path.verify(state);
  }
  const runs = new Map(active.map((target) => [target.name, []]));
  if (WARMUP > 0) {
    for (const target of active) {
      const state = states.get(target.name);
      await path.prepare(state, expectedRequests(estimates, target, WARMUP), CONNECTIONS);
      await waitQuiet(targets);
      const warm = await load(target, path, state, WARMUP);
      if (Object.keys(warm.problems).length > 0) runs.get(target.name).push({ ...warm, warmUp: true });
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of rotate(active, round)) {
      const state = states.get(target.name);
      await path.prepare(state, expectedRequests(estimates, target, DURATION), CONNECTIONS);
      await waitQuiet(targets);
      runs.get(target.name).push(await load(target, path, state, DURATION));
    }
  }
  return active.map((target) => {
    const measured = runs.get(target.name).filter((run) => !run.warmUp);
    const all = runs.get(target.name);
    const problems = {};
    for (const run of all) for (const [reason, n] of Object.entries(run.problems)) problems[reason] = (problems[reason] ?? 0) + n;
    const totalRequests = measured.reduce((sum, run) => sum + run.requests, 0);
    const row = {
      path: path.name,
      target: target.name,
      kind: target.kind,
      reqPerSec: median(measured.map((run) => run.reqPerSec)),
      roundReqPerSec: measured.map((run) => Math.round(run.reqPerSec)),
      p50Ms: median(measured.map((run) => run.p50)),
      p99Ms: median(measured.map((run) => run.p99)),
      roundTripsPerRequest: probes.get(target.name).roundTrips,
      commandsPerRequest: probes.get(target.name).commands,
      cpuMicrosPerRequest: measured.reduce((sum, run) => sum + run.cpuMicrosPerRequest * run.requests, 0) / Math.max(1, totalRequests),
      requests: totalRequests,
      poolRanOut: measured.filter((run) => run.poolRanOut).length,
      problems,
    };
    const rates = estimates.get(target.name) ?? [];
    rates.push(row.reqPerSec);
    estimates.set(target.name, rates);
    return row;
  });
}

function writeGatewayConfig(dir) {
  const file = join(dir, 'gateway-config.json');
  writeFileSync(file, JSON.stringify({ clients: clientList(), users: userList(), scopes: SCOPES }, null, 2));
  return file;
}

async function main() {
  pinSelf(LOAD_CPU);
  const started = Date.now();
  const workDir = mkdtempSync(join(os.tmpdir(), 'bench-'));
  const prefix = `bench:${randomBytes(6).toString('hex')}:`;
  const redisServer = process.env.REDIS_URL
    ? { url: process.env.REDIS_URL, stop: async () => {} }
    : await startPrivateRedis({ cpu: LOAD_CPU });
  const admin = new Redis(redisServer.url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  const targets = [];
  const stopAll = async () => {
    await Promise.all(targets.map((target) => target.stop()));
    if (process.env.REDIS_URL) await deleteKeys(admin, prefix);
    await admin.quit();
    await redisServer.stop();
    if (process.exitCode) console.error(`bench: the targets' logs are kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  let rows;
  try {
    const common = { BENCH_REDIS_URL: redisServer.url };
    const launch = (name, kind, options) =>
      startTarget({ name, cpu: SERVER_CPU, logDir: workDir, ready: /listening on/, ...options }).then((target) => {
        targets.push(Object.assign(target, { kind, only: options.only }));
      });
    // Exactly what `npm start` runs once it has built (`npm run bench` builds first).
    await launch('gateway', 'product', {
      script: 'dist/example-gateway/server.js',
      env: {
        NODE_ENV: 'production',
        HTTPS_PORT: 'off',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: `${prefix}gateway:`,
        TOKEN_SECRET: SECRET,
        GATEWAY_CONFIG: writeGatewayConfig(workDir),
      },
    });
    // The same gateway with GATEWAY_METRICS=off, on two paths only (to keep the run short): what
    // /metrics costs (issue 11: at most 0.02 on any ratio).
    await launch('gateway-no-metrics', 'product', {
      script: 'dist/example-gateway/server.js',
      only: ['reuse', 'validate'],
      env: {
        NODE_ENV: 'production',
        HTTPS_PORT: 'off',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: `${prefix}gateway-no-metrics:`,
        TOKEN_SECRET: SECRET,
        GATEWAY_CONFIG: writeGatewayConfig(workDir),
        GATEWAY_METRICS: 'off',
      },
    });
    await launch('router', 'product', { script: 'bench/targets/router.js', env: { ...common, BENCH_KEY_PREFIX: `${prefix}router:` } });
    await launch('floor', 'floor', { script: 'bench/targets/floor.js', env: { ...common, BENCH_KEY_PREFIX: `${prefix}floor:` } });
    await launch('peer', 'peer', { script: 'bench/targets/peer.js', env: { ...common, BENCH_KEY_PREFIX: `${prefix}peer:` } });

    const selected = paths().filter((path) => !ONLY_PATHS || ONLY_PATHS.includes(path.name));
    console.log(
      `bench: ${selected.map((path) => path.name).join(', ')} on ${targets.map((t) => t.name).join(', ')}; ` +
        `${ROUNDS} rounds of ${DURATION} s (+${WARMUP} s warm-up), ${CONNECTIONS} connections`,
    );
    const estimates = new Map();
    rows = [];
    for (const path of selected) {
      const pathRows = await benchPath(path, targets, admin, estimates);
      rows.push(...pathRows);
      console.log(`  ${path.name}: ${pathRows.map((row) => `${row.target} ${Math.round(row.reqPerSec)}/s`).join(', ')}`);
    }
    const report = {
      date: new Date().toISOString(),
      machine: await machineInfo(admin),
      settings: {
        durationSeconds: DURATION,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        connections: CONNECTIONS,
        probeRequests: PROBE_REQUESTS,
        redis: process.env.REDIS_URL ? 'REDIS_URL' : 'private redis-server on CPU 1',
      },
      paths: selected.map((path) => ({ name: path.name, what: path.what })),
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      results: rows,
    };
    report.ok = rows.every((row) => Object.keys(row.problems).length === 0);
    const markdown = renderMarkdown(report);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'latest.md'), markdown);
    console.log(`\n${markdown}\nwritten to bench/results/latest.json and latest.md (${report.elapsedSeconds} s)`);
    const failures = rows.flatMap((row) =>
      Object.entries(row.problems).map(([reason, n]) => `${row.path} on ${row.target}: ${n}× ${reason}`),
    );
    if (failures.length > 0) {
      console.error(`\nFAILED: not every answer was right:\n  ${failures.join('\n  ')}`);
      process.exitCode = 1;
    }
  } catch (error) {
    process.exitCode = 1;
    throw error;
  } finally {
    await stopAll();
  }
}

main().catch((error) => {
  console.error('bench:', error.message, error.cause?.message ?? '');
  process.exitCode = 1;
});
