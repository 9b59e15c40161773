import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import Redis from 'ioredis';

// Private redis-server processes for the test suite: each on a free port of 127.0.0.1, with no
// persistence, in its own temporary directory. Nothing here ever connects to a server it did not
// start (no default 6379), so a developer's own Redis is never touched.

const HOST = '127.0.0.1';
const PING_TIMEOUT_MS = 10_000;
const CLUSTER_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
/** Redis Cluster's bus listens on the client port + 10000. */
const CLUSTER_BUS_OFFSET = 10_000;

export interface RedisServerHandle {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Process id of the redis-server (for tests that pause it with SIGSTOP). */
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface RedisSentinelHandle {
  /** The Sentinel to ask for the master, `{ host: '127.0.0.1', port }`. */
  sentinels: RedisNodeAddress[];
  /** The master name the Sentinel monitors. */
  name: string;
  /** The first master (SIGKILL it, by `pid`, to make the Sentinel fail over to the replica). */
  master: RedisServerHandle;
  /** Stops the Sentinel, the master and the replica. Safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisClusterHandle {
  /** The master nodes (3), each `{ host: '127.0.0.1', port }`. */
  nodes: RedisNodeAddress[];
  /** Stops every node and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'Install it (Debian/Ubuntu: `apt-get install -y redis-server`), or point the tests at existing servers ' +
  'with REDIS_URL=redis://host:port and REDIS_CLUSTER_NODES=host:port,host:port,host:port.';

/** The absolute path of an executable on PATH, or a clear error. */
async function findBinary(name: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`\`${name}\` was not found on PATH; the test suite starts its own private Redis servers with it. ${INSTALL_HINT}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether `port` can be bound on 127.0.0.1 right now. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS considers free: bind port 0 on 127.0.0.1, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** A free port whose cluster bus port (port + 10000) is free as well. */
async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port + CLUSTER_BUS_OFFSET <= 65_535 && (await isPortFree(port + CLUSTER_BUS_OFFSET))) return port;
  }
  throw new Error('could not find a free port P with P + 10000 free as well (Redis Cluster bus port)');
}

/** Every redis-server started here and not yet stopped: killed if the process exits without teardown. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

interface Launched {
  port: number;
  dir: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  hasExited(): boolean;
}

async function logTail(dir: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(join(dir, 'redis.log'), 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Runs `ask` on a fresh, non-retrying connection to one local port; resolves to its answer, or
 * to undefined when the server does not answer (yet).
 */
async function probe<T>(port: number, ask: (client: Redis) => Promise<T>): Promise<T | undefined> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    // ioredis arms a timer of this length on disconnect() that a refused connection never clears
    disconnectTimeout: 50,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    // connection refused while the server starts: the caller polls
  });
  try {
    await client.connect();
    return await ask(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** Sends PING over a fresh connection; resolves to whether PONG came back. */
async function answersPing(port: number): Promise<boolean> {
  return (await probe(port, (client) => client.ping())) === 'PONG';
}

async function stopProcess(launched: Launched): Promise<void> {
  if (!launched.hasExited()) {
    launched.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      launched.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && !launched.hasExited()) {
      launched.child.kill('SIGKILL');
      await launched.exited;
    }
  }
  running.delete(launched.child);
  await rm(launched.dir, { recursive: true, force: true });
}

/**
 * Starts one redis-server on a free port and waits until it answers PING. A port taken between
 * choosing and binding it (another process was quicker) is retried with a new port.
 */
async function launch(binary: string, choosePort: () => Promise<number>, extraArgs: string[], configFile?: string): Promise<Launched> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await choosePort();
    const dir = await mkdtemp(join(tmpdir(), 'eodt-redis-'));
    const args = [
      ...(configFile === undefined ? [] : [configFile]),
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--logfile',
      join(dir, 'redis.log'),
      ...extraArgs,
    ];
    const child = spawn(binary, args, { cwd: dir, stdio: 'ignore' });
    let exited = false;
    let exitReason = '';
    const exitedPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = true;
        exitReason = signal ? `signal ${signal}` : `exit code ${String(code)}`;
        running.delete(child);
        resolve();
      });
      child.once('error', (error) => {
        exited = true;
        exitReason = error.message;
        running.delete(child);
        resolve();
      });
    });
    running.add(child);
    installExitHook();
    // Do not keep the jest process alive for this child; teardown (or the exit hook) stops it.
    child.unref();
    const launched: Launched = { port, dir, child, exited: exitedPromise, hasExited: () => exited };

    const deadline = Date.now() + PING_TIMEOUT_MS;
    while (!exited && Date.now() < deadline) {
      if (await answersPing(port)) return launched;
      await sleep(50);
    }
    const log = await logTail(dir);
    if (exited) {
      await stopProcess(launched);
      lastError = new Error(`redis-server on port ${port} exited (${exitReason}) before answering PING:\n${log}`);
      if (/address already in use/i.test(log)) continue; // lost the race for the port: try another one
      throw lastError;
    }
    await stopProcess(launched);
    throw new Error(`redis-server on port ${port} did not answer PING within ${PING_TIMEOUT_MS} ms:\n${log}`);
  }
  throw lastError ?? new Error('could not start redis-server');
}

/** Stops each handle, even when some fail; rethrows the first failure. */
export async function stopAll(handles: Iterable<{ stop(): Promise<void> }>): Promise<void> {
  const results = await Promise.allSettled([...handles].map((handle) => handle.stop()));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}

/**
 * A private standalone redis-server on 127.0.0.1 (no persistence, temp dir): on a free port, or on
 * `options.port` (to bring a stopped server back where its clients look for it).
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServerHandle> {
  const binary = await findBinary('redis-server');
  const { port } = options;
  return handleOf(await launch(binary, port === undefined ? freePort : () => Promise.resolve(port), []));
}

function run(file: string, args: string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error)
        reject(Object.assign(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`), { cause: error }));
      else resolve({ stdout, stderr });
    });
  });
}

/** `CLUSTER INFO` of one node as a field map, or undefined when the node does not answer. */
async function clusterInfo(port: number): Promise<Record<string, string> | undefined> {
  const text = await probe(port, (client) => client.call('CLUSTER', 'INFO') as Promise<string>);
  if (text === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/**
 * A private Redis Cluster: 3 masters on free ports of 127.0.0.1 (no replicas), each in its own
 * temp dir, joined with `redis-cli --cluster create`. Resolves once every node reports
 * `cluster_state:ok`, knows all 3 nodes and sees all 16384 slots assigned.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const [server, cli] = await Promise.all([findBinary('redis-server'), findBinary('redis-cli')]);
  const size = 3;
  const launched: Launched[] = [];
  const stopNodes = () => stopAll(launched.map((node) => ({ stop: () => stopProcess(node) })));
  try {
    for (let i = 0; i < size; i++) {
      launched.push(
        await launch(server, freeClusterPort, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '5000',
        ]),
      );
    }
    const addresses = launched.map((node) => `${HOST}:${node.port}`);
    await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], 30_000);

    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    let infos: (Record<string, string> | undefined)[] = [];
    for (;;) {
      infos = await Promise.all(launched.map((node) => clusterInfo(node.port)));
      const ready = infos.every(
        (info) => info?.cluster_state === 'ok' && info.cluster_known_nodes === String(size) && info.cluster_slots_assigned === '16384',
      );
      if (ready) break;
      if (Date.now() > deadline) {
        const states = infos.map(
          (info, i) =>
            `${addresses[i]}: ${info ? `state=${info.cluster_state} known=${info.cluster_known_nodes} slots=${info.cluster_slots_assigned}` : 'no answer'}`,
        );
        throw new Error(`the private Redis Cluster did not reach cluster_state:ok within ${CLUSTER_TIMEOUT_MS} ms:\n${states.join('\n')}`);
      }
      await sleep(100);
    }
  } catch (error) {
    await stopNodes().catch(() => undefined);
    throw error;
  }
  return {
    nodes: launched.map((node) => ({ host: HOST, port: node.port })),
    stop: once(stopNodes),
  };
}

function handleOf(launched: Launched): RedisServerHandle {
  return {
    url: `redis://${HOST}:${launched.port}`,
    port: launched.port,
    pid: launched.child.pid!,
    stop: once(() => stopProcess(launched)),
  };
}

/**
 * A private Redis Sentinel set-up: a master, one replica and one Sentinel (quorum 1, a master is
 * down after 1 s), on free ports of 127.0.0.1. Resolves once the Sentinel knows the replica and
 * the replica is in sync, so that a failover can happen.
 */
export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const binary = await findBinary('redis-server');
  const name = 'eodt-master';
  const started: RedisServerHandle[] = [];
  const confDir = await mkdtemp(join(tmpdir(), 'eodt-sentinel-'));
  const stopEverything = async () => {
    await stopAll(started.reverse());
    await rm(confDir, { recursive: true, force: true });
  };
  try {
    const master = handleOf(await launch(binary, freePort, []));
    started.push(master);
    const replica = handleOf(await launch(binary, freePort, ['--replicaof', HOST, String(master.port)]));
    started.push(replica);
    // Sentinel rewrites its config file, so it gets a file of its own.
    const conf = join(confDir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `sentinel monitor ${name} ${HOST} ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    const sentinel = handleOf(await launch(binary, freePort, ['--sentinel'], conf));
    started.push(sentinel);

    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    for (;;) {
      const replicas = await probe(sentinel.port, (client) => client.call('SENTINEL', 'REPLICAS', name) as Promise<unknown[]>);
      const link = await probe(replica.port, (client) => client.info('replication'));
      if (replicas && replicas.length > 0 && link?.includes('master_link_status:up')) break;
      if (Date.now() > deadline)
        throw new Error(`the private Redis Sentinel did not see an in-sync replica within ${CLUSTER_TIMEOUT_MS} ms`);
      await sleep(100);
    }
    return { sentinels: [{ host: HOST, port: sentinel.port }], name, master, stop: once(stopEverything) };
  } catch (error) {
    await stopEverything().catch(() => undefined);
    throw error;
  }
}

export interface RedisClusterWithReplicasHandle {
  /** The master nodes (3), each `{ host: '127.0.0.1', port }`. */
  nodes: RedisNodeAddress[];
  /** Every node (masters and replicas) by port, as a handle whose `pid` a test may SIGKILL or SIGSTOP. */
  servers: RedisServerHandle[];
  /** Stops every node and removes their directories. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A private Redis Cluster of 3 masters, each with one replica (6 nodes on free ports of
 * 127.0.0.1), for failover tests: `cluster-node-timeout` is `nodeTimeout` ms (default 1000), so a
 * replica takes over about 2 s after its master dies. Resolves once every node reports
 * `cluster_state:ok`, knows all 6 nodes and sees all 16384 slots assigned, and every replica is in
 * sync with its master.
 */
export async function startRedisClusterWithReplicas(options: { nodeTimeout?: number } = {}): Promise<RedisClusterWithReplicasHandle> {
  const [server, cli] = await Promise.all([findBinary('redis-server'), findBinary('redis-cli')]);
  const size = 6;
  const nodeTimeout = options.nodeTimeout ?? 1000;
  const launched: Launched[] = [];
  const stopNodes = () => stopAll(launched.map((node) => ({ stop: () => stopProcess(node) })));
  try {
    const started = await Promise.all(
      Array.from({ length: size }, () =>
        launch(server, freeClusterPort, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeout),
          // a replica whose master died may take over however long its link was down
          '--cluster-replica-validity-factor',
          '0',
        ]),
      ),
    );
    launched.push(...started);
    const addresses = launched.map((node) => `${HOST}:${node.port}`);
    await run(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], 30_000);

    const deadline = Date.now() + CLUSTER_TIMEOUT_MS;
    for (;;) {
      const infos = await Promise.all(launched.map((node) => clusterInfo(node.port)));
      const links = await Promise.all(launched.map((node) => probe(node.port, (client) => client.info('replication'))));
      const ready =
        infos.every(
          (info) => info?.cluster_state === 'ok' && info.cluster_known_nodes === String(size) && info.cluster_slots_assigned === '16384',
        ) && links.every((link) => link !== undefined && (link.includes('role:master') || link.includes('master_link_status:up')));
      if (ready) break;
      if (Date.now() > deadline) {
        throw new Error(`the private Redis Cluster with replicas did not become ready within ${CLUSTER_TIMEOUT_MS} ms`);
      }
      await sleep(100);
    }
    const roles = await Promise.all(launched.map((node) => probe(node.port, (client) => client.info('replication'))));
    return {
      nodes: launched.filter((_node, i) => roles[i]?.includes('role:master')).map((node) => ({ host: HOST, port: node.port })),
      servers: launched.map(handleOf),
      stop: once(stopNodes),
    };
  } catch (error) {
    await stopNodes().catch(() => undefined);
    throw error;
  }
}

/**
 * A private redis-server like {@link startRedis}, but persistent: `--appendonly yes
 * --appendfsync always` with its data in `dir` (which the caller creates and removes), so that a
 * server started again on the same `port` and `dir` after `stop()` comes back with its data, as
 * a real deployment's does.
 */
export async function startPersistentRedis(options: { dir: string; port?: number }): Promise<RedisServerHandle> {
  const binary = await findBinary('redis-server');
  const { port, dir } = options;
  return handleOf(
    await launch(binary, port === undefined ? freePort : () => Promise.resolve(port), [
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ]),
  );
}
