import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './demo';

/** The compiled gateway, as `npm start` runs it (after `npm run build`). */
export const SERVER = join(ROOT, 'dist', 'example-gateway', 'server.js');
export const HASH_PASSWORD = join(ROOT, 'dist', 'example-gateway', 'hash-password.js');

/** The gateway sources and their compiled files in `dist/`. */
function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/**
 * Fails with a clear message when `dist/` is missing or older than the sources: these tests run
 * the gateway exactly as a user does, from the build (`npm test` builds first).
 */
export function assertBuilt(): void {
  for (const source of [...sources(join(ROOT, 'example-gateway')), ...sources(join(ROOT, 'lib'))]) {
    const compiled = join(ROOT, 'dist', relative(ROOT, source).replace(/\.ts$/, '.js'));
    let builtAt: number;
    try {
      builtAt = statSync(compiled).mtimeMs;
    } catch {
      throw new Error(`${relative(ROOT, compiled)} is missing: run \`npm run build\` first (\`npm test\` does)`);
    }
    if (statSync(source).mtimeMs > builtAt) {
      throw new Error(
        `${relative(ROOT, compiled)} is older than ${relative(ROOT, source)}: run \`npm run build\` first (\`npm test\` does)`,
      );
    }
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A log line of the gateway (pino JSON). */
export type LogLine = Record<string, any> & { msg?: string; level?: number };

const running = new Set<ChildProcess>();

/** Kills every gateway child still running: call from `afterAll`, so a failed test leaves none behind. */
export function killAllGateways(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
process.once('exit', killAllGateways);

/**
 * The environment of a child: only what the test gives, plus PATH. Nothing leaks in from the
 * test process (its REDIS_URL, say), and the gateway never meets a developer's own Redis.
 */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
}

/** A gateway child process and what it printed. */
export class GatewayProcess {
  readonly exited: Promise<Exit>;
  private stdoutText = '';
  private stderrText = '';

  constructor(readonly child: ChildProcess) {
    running.add(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdoutText += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderrText += chunk));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      });
    });
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Everything the process printed. */
  get output(): string {
    return this.stdoutText + this.stderrText;
  }

  /** The JSON log lines on stdout. */
  get logLines(): LogLine[] {
    return this.stdoutText
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** Resolves with the first log line `matches` accepts; rejects if the process exits first. */
  async waitForLog(matches: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logLines.find(matches);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `the gateway exited (${this.child.exitCode ?? this.child.signalCode}) before logging what was awaited:\n${this.output}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`the gateway did not log what was awaited within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for the process to end on its own, killing it after `timeoutMs`. */
  async waitForExit(timeoutMs = 10_000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.waitForExit(timeoutMs);
  }
}

/** Starts `node dist/example-gateway/server.js` with exactly `env` (plus PATH). */
export function spawnGateway(env: Record<string, string>, cwd: string = ROOT): GatewayProcess {
  assertBuilt();
  return new GatewayProcess(spawn(process.execPath, [SERVER], { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A gateway that logged "listening", with the URLs it listens on. */
export interface ListeningGateway extends GatewayProcess {
  readonly urls: { readonly http?: string; readonly https?: string };
}

/**
 * Starts a gateway on free ports (`PORT=0`, `HTTPS_PORT=0` unless `env` says otherwise) and
 * waits until it listens.
 */
export async function startGateway(env: Record<string, string>, cwd?: string): Promise<ListeningGateway> {
  const gateway = spawnGateway({ PORT: '0', HTTPS_PORT: '0', ...env }, cwd);
  try {
    const line = await gateway.waitForLog((entry) => entry.urls !== undefined && /listening/.test(entry.msg ?? ''));
    return Object.assign(gateway, { urls: line.urls as ListeningGateway['urls'] });
  } catch (error) {
    await gateway.stop('SIGKILL');
    throw error;
  }
}
