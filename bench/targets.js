'use strict';

// Starting and watching the bench's targets: each a separate server process pinned to CPU 0
// (`taskset -c 0`), its stdout and stderr going to a log file, started once and kept running for
// the whole bench. Only HTTP is spoken to them; their CPU time is read from /proc.

const { execFileSync, spawn } = require('node:child_process');
const { openSync, readFileSync, closeSync } = require('node:fs');
const { join } = require('node:path');
const { freePort } = require('./fixtures');

const ROOT = join(__dirname, '..');
const START_TIMEOUT_MS = 20_000;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of `pid` in microseconds (/proc/<pid>/stat fields 14 and 15). */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** Pins this process (all its threads) to `cpu`. */
function pinSelf(cpu) {
  execFileSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Spawns `node <script>` under `taskset -c <cpu>` with `env`; resolves once its log shows
 * `ready` (a RegExp), to `{ name, pid, port, url, logFile, stop() }`.
 */
async function startTarget({ name, script, env, cpu, logDir, ready }) {
  const port = await freePort();
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  // taskset execs node, so the child's pid is the server's own.
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let exitCode;
  void exited.then((code) => {
    exitCode = code ?? 'signal';
  });
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const log = readFileSync(logFile, 'utf8');
    if (ready.test(log)) break;
    if (exitCode !== undefined || Date.now() > deadline) {
      await stop();
      const tail = log.split('\n').slice(-5).join('\n');
      throw new Error(
        `target ${name} did not start (${exitCode === undefined ? 'timeout' : `exit ${exitCode}`}); end of ${logFile}:\n${tail}`,
      );
    }
    await sleep(50);
  }
  return { name, pid: child.pid, port, url: `http://127.0.0.1:${port}`, logFile, stop };
}

module.exports = { ROOT, cpuMicros, pinSelf, startTarget, sleep };
