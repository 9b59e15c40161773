#!/usr/bin/env node
// Measures the example gateway's throughput (req/s) on the memory store, as issue 8 asks:
// the server pinned to CPU 0, autocannon to CPU 1, 16 connections, variants interleaved,
// medians reported. Local only (127.0.0.1), bounded in time.
//
//   node scripts/measure-gateway.js [--runs 3] [--duration 5] [--env KEY=VALUE] <dist-dir>...
//
// Each <dist-dir> is a build (the directory holding example-gateway/server.js); give several to
// compare them (e.g. a build of the previous commit and the current dist/). `--env` applies to
// every variant; `variant@KEY=VALUE` after a dist dir applies to that one only.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { closeSync, openSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const args = process.argv.slice(2);
let runs = 3;
let duration = 5;
const common = {};
const variants = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--runs') runs = Number(args[++i]);
  else if (arg === '--duration') duration = Number(args[++i]);
  else if (arg === '--env') {
    const [key, ...rest] = args[++i].split('=');
    common[key] = rest.join('=');
  } else {
    const [dir, ...envs] = arg.split('@');
    const env = {};
    for (const pair of envs) {
      const [key, ...rest] = pair.split('=');
      env[key] = rest.join('=');
    }
    variants.push({ name: arg, dir: resolve(dir), env });
  }
}
if (variants.length === 0) variants.push({ name: 'dist', dir: resolve('dist'), env: {} });

const CONFIG = join(__dirname, '..', 'example-gateway', 'config.json');
const BASIC = `Basic ${Buffer.from('demo-app:demo-app-secret').toString('base64')}`;
const TOKEN_BODY = 'grant_type=password&username=alice&password=wonderland&scope=device_ipad%20orders%3Aread';
const CLIENT_BODY = 'grant_type=client_credentials&scope=orders%3Aread';

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer().once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startServer(variant) {
  const port = await freePort();
  // The log goes to a file, as a log collector would take it (a pipe left unread would block).
  const fd = openSync(join(tmpdir(), `measure-gateway-${process.pid}.log`), 'w');
  const child = spawn('taskset', ['-c', '0', process.execPath, join(variant.dir, 'example-gateway', 'server.js')], {
    env: { PATH: process.env.PATH, PORT: String(port), HTTPS_PORT: 'off', GATEWAY_CONFIG: CONFIG, ...common, ...variant.env },
    stdio: ['ignore', fd, 'inherit'],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${variant.name} did not answer /healthz within 15 s`);
}

async function token(url) {
  const answer = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
    body: TOKEN_BODY,
  });
  const body = await answer.json();
  if (!body.access_token) throw new Error(`no token: ${answer.status}`);
  return body.access_token;
}

/** CPU time (user + system, ms) the process has used so far, from /proc (Linux). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * Runs autocannon; returns req/s and the server's CPU time per request (µs). The second figure
 * holds up far better than req/s on a machine other work shares: a server that waits for the
 * CPU serves fewer requests, but spends the same CPU on each.
 */
function measure(pid, url, extra, seconds) {
  const before = cpuMs(pid);
  const result = autocannon(url, extra, seconds);
  const cpu = cpuMs(pid) - before;
  return { rps: result.requests.average, cpuUs: Math.round((cpu * 1000) / result.requests.total) };
}

function autocannon(url, extra, seconds) {
  const out = execFileSync(
    'taskset',
    ['-c', '1', process.execPath, require.resolve('autocannon/autocannon.js'), '-c', '16', '-d', String(seconds), '-j', ...extra, url],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const result = JSON.parse(out);
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${bad} failed responses on ${url}`);
  return result;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const summary = (ms) => ({ rps: median(ms.map((m) => m.rps)), cpuUsPerRequest: median(ms.map((m) => m.cpuUs)) });

async function main() {
  const results = new Map(variants.map((variant) => [variant.name, { orders: [], token: [], clientCredentials: [] }]));
  for (let run = 0; run < runs; run++) {
    for (const variant of variants) {
      const { child, url } = await startServer(variant);
      try {
        const access = await token(url);
        const orders = ['-H', `authorization=Bearer ${access}`];
        const post = (body) => [
          '-m',
          'POST',
          '-H',
          `authorization=${BASIC}`,
          '-H',
          'content-type=application/x-www-form-urlencoded',
          '-b',
          body,
        ];
        autocannon(`${url}/api/orders`, orders, 1); // warm-up (JIT)
        autocannon(`${url}/token`, post(TOKEN_BODY), 1);
        const r = results.get(variant.name);
        r.orders.push(measure(child.pid, `${url}/api/orders`, orders, duration));
        r.token.push(measure(child.pid, `${url}/token`, post(TOKEN_BODY), duration));
        r.clientCredentials.push(measure(child.pid, `${url}/token`, post(CLIENT_BODY), duration));
        const show = (m) => `${m.rps} req/s ${m.cpuUs} µs CPU/req`;
        console.error(
          `run ${run + 1} ${variant.name}: orders ${show(r.orders.at(-1))}; token(password) ${show(r.token.at(-1))}; token(client_credentials) ${show(r.clientCredentials.at(-1))}`,
        );
      } finally {
        child.kill('SIGTERM');
        await new Promise((done) => child.once('close', done));
      }
    }
  }
  for (const [name, r] of results) {
    console.log(
      JSON.stringify({
        variant: name,
        medians: { orders: summary(r.orders), tokenPassword: summary(r.token), tokenClientCredentials: summary(r.clientCredentials) },
      }),
    );
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
