'use strict';

// A private redis-server for the benchmarks: a free port on 127.0.0.1, no persistence, its own
// temporary directory, optionally pinned to one CPU (taskset). Started and stopped by run.js and
// memory.js, so nobody's Redis is touched.

const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const START_TIMEOUT_MS = 10_000;

const { freePort } = require('./fixtures');

/**
 * Starts redis-server (under `taskset -c <cpu>` when `cpu` is given); resolves to
 * `{ url, pid, stop() }` once it accepts connections.
 */
async function startPrivateRedis({ cpu } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const command = cpu === undefined ? ['redis-server', ...args] : ['taskset', '-c', String(cpu), 'redis-server', ...args];
  // taskset execs redis-server, so the child's pid is the server's.
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      let log = '';
      const onData = (chunk) => {
        log += chunk;
        if (!/Ready to accept connections/.test(log)) return;
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.resume(); // keep draining its log, unread
        resolve();
      };
      child.stdout.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        const hint = error.code === 'ENOENT' ? ' (install redis-server, or set REDIS_URL)' : '';
        reject(new Error(`could not start redis-server: ${error.message}${hint}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with code ${code} before it was ready:\n${log}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

module.exports = { startPrivateRedis };
