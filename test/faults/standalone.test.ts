import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { type RedisServerHandle, startPersistentRedis, startRedis } from '../support/redis-servers';
import {
  everyEndpoint,
  expectRecovery,
  expectRefresherCanRefresh,
  expectRevokedStaysDead,
  expectUnavailable,
  type Gateway,
  prepare,
  ready,
  singleClient,
  sleep,
  slowest,
  startGateway,
} from './fault-harness';

// The fault matrix on a standalone Redis (issue 10, item 5): each test starts its own private
// redis-server, serves the real HTTP surface from it, breaks it, and checks that every endpoint
// answers 503 within about a second, that service returns by itself within 5 s of Redis, and
// that a revoke that answered 200 is never undone.

interface Rig {
  server: RedisServerHandle;
  redis: Redis;
  /** A plain connection of the test's own, for CONFIG and REPLICAOF. */
  admin: Redis;
  gateway: Gateway;
}

const rigs: Rig[] = [];

async function rig(name: string): Promise<Rig> {
  const server = await startRedis();
  const redis = singleClient(server.url);
  const admin = singleClient(server.url);
  await Promise.all([ready(redis), ready(admin)]);
  const gateway = await startGateway(redis, `fault:${name}:`);
  const made = { server, redis, admin, gateway };
  rigs.push(made);
  return made;
}

afterAll(async () => {
  for (const { server, redis, admin, gateway } of rigs) {
    await gateway.close();
    redis.disconnect();
    admin.disconnect();
    await server.stop();
  }
  rigs.length = 0;
});

function log(fault: string, seen: Record<string, number>, recoveryMs: number): void {
  const statuses = Object.values(seen);
  const others = Object.entries(seen)
    .filter(([, status]) => status !== 503)
    .map(([name, status]) => `${name} ${status}`);
  console.log(
    `fault "${fault}": ${statuses.filter((s) => s === 503).length}/${statuses.length} requests answered 503 during the fault` +
      `${others.length ? ` (the others: ${others.join(', ')})` : ''}, slowest ${Math.round(slowest.ms)} ms; ` +
      `service back ${Math.round(recoveryMs)} ms after Redis`,
  );
  slowest.ms = 0;
}

describe('fault matrix: standalone Redis', () => {
  it('Redis stopped: every endpoint 503 within 1.5 s, back within 5 s of Redis restarting with its data, revokes stay', async () => {
    // persistent (AOF, fsync always) as a real deployment: it comes back with its data
    const dir = await mkdtemp(join(tmpdir(), 'eodt-fault-aof-'));
    const server = await startPersistentRedis({ dir });
    const redis = singleClient(server.url);
    await ready(redis);
    const gateway = await startGateway(redis, 'fault:stopped:');
    const entry: Rig = { server, redis, admin: redis, gateway };
    rigs.push(entry);
    try {
      const prepared = await prepare(gateway.base, 'stopped');
      await server.stop();
      const seen = await expectUnavailable(everyEndpoint(gateway.base, prepared, 'stopped'));
      await sleep(500);
      const again = await startPersistentRedis({ dir, port: server.port });
      entry.server = again;
      const recoveryMs = await expectRecovery(gateway.base, 'stopped', prepared.live.access);
      await expectRevokedStaysDead(gateway.base, prepared, seen);
      await expectRefresherCanRefresh(gateway.base, prepared, seen);
      log('Redis stopped', seen, recoveryMs);
    } finally {
      await entry.server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Redis frozen (SIGSTOP): every endpoint 503 within 1.5 s, no 401 for a valid token, back within 5 s of SIGCONT', async () => {
    const { server, gateway } = await rig('frozen');
    const prepared = await prepare(gateway.base, 'frozen');
    process.kill(server.pid, 'SIGSTOP');
    let seen: Record<string, number>;
    try {
      seen = await expectUnavailable(everyEndpoint(gateway.base, prepared, 'frozen'));
      // still frozen a while later: the client has not queued itself into a hang
      seen = { ...seen, ...(await expectUnavailable(everyEndpoint(gateway.base, prepared, 'frozen').slice(8, 9))) };
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    const recoveryMs = await expectRecovery(gateway.base, 'frozen', prepared.live.access);
    await expectRevokedStaysDead(gateway.base, prepared, seen);
    await expectRefresherCanRefresh(gateway.base, prepared, seen);
    log('Redis frozen', seen, recoveryMs);
  });

  it('Redis restarted empty: 503 while it is down, then tokens of the lost data are 401 and new ones work within 5 s', async () => {
    const entry = await rig('empty');
    const { server, gateway } = entry;
    const prepared = await prepare(gateway.base, 'empty');
    await server.stop();
    const seen = await expectUnavailable(everyEndpoint(gateway.base, prepared, 'empty'));
    await sleep(500);
    const again = await startRedis({ port: server.port });
    entry.server = again;
    const recoveryMs = await expectRecovery(gateway.base, 'empty', undefined);
    // the data is gone: the old token is dead (an expected logout after losing Redis), never a 500
    const old = await fetch(`${gateway.base}/api/orders`, { headers: { authorization: `Bearer ${prepared.live.access}` } });
    expect(old.status).toBe(401);
    await expectRevokedStaysDead(gateway.base, prepared, seen);
    log('Redis restarted empty', seen, recoveryMs);
  });

  it('Redis out of memory (maxmemory, noeviction): writes 503 within 1.5 s, reads still right, back within 5 s of the limit going', async () => {
    const { admin, gateway } = await rig('oom');
    const prepared = await prepare(gateway.base, 'oom');
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', String(used + 256 * 1024));
    // fill it up to the limit, as traffic would: 16 KiB values until Redis answers OOM
    const filler = 'x'.repeat(16 * 1024);
    let fillers = 0;
    for (;;) {
      const written = await admin.set(`fault:oom-filler:${fillers}`, filler).then(
        () => true,
        (error: Error) => {
          expect(error.message).toMatch(/^OOM/);
          return false;
        },
      );
      if (!written) break;
      fillers++;
      expect(fillers).toBeLessThan(1_000);
    }
    // The refused SET's own 16 KiB argument counted towards used_memory while it was refused;
    // once it is gone, Redis is just under the limit again. Put the limit below what is used, so
    // Redis is really full (nothing is evicted under noeviction).
    const full = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(full - 64 * 1024));
    let seen: Record<string, number>;
    try {
      // Reads a full Redis can still serve may answer normally; anything that writes must be 503.
      // A revoke only deletes, which Redis allows when full: a 200 there is right (and checked below).
      seen = await expectUnavailable(everyEndpoint(gateway.base, prepared, 'oom'), {
        'POST /introspect': 200,
        'GET /api/orders (valid token)': 200,
        'GET /devices': 200,
        'POST /revoke': 200,
      });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      for (let i = 0; i < fillers; i++) await admin.del(`fault:oom-filler:${i}`);
    }
    const recoveryMs = await expectRecovery(gateway.base, 'oom', prepared.live.access);
    await expectRevokedStaysDead(gateway.base, prepared, seen);
    await expectRefresherCanRefresh(gateway.base, prepared, seen);
    log('Redis out of memory', seen, recoveryMs);
  });

  it('Redis read-only (the store pointed at a replica): writes 503 within 1.5 s, reads right, back within 5 s of the promotion', async () => {
    const { server: primary, gateway: onPrimary } = await rig('readonly-primary');
    const prepared = await prepare(onPrimary.base, 'ro');
    // a replica of it, and a gateway whose store points at the replica
    const replica = await startRedis();
    const replicaAdmin = singleClient(replica.url);
    await ready(replicaAdmin);
    await replicaAdmin.call('REPLICAOF', '127.0.0.1', String(primary.port));
    for (let i = 0; i < 100 && !(await replicaAdmin.info('replication')).includes('master_link_status:up'); i++) await sleep(50);
    const redis = singleClient(replica.url);
    await ready(redis);
    const gateway = await startGateway(redis, 'fault:readonly-primary:');
    rigs.push({ server: replica, redis, admin: replicaAdmin, gateway });
    // wait until the replica holds what the primary has
    for (let i = 0; i < 100 && (await replicaAdmin.dbsize()) !== (await rigs.find((r) => r.server === primary)!.admin.dbsize()); i++)
      await sleep(50);

    const seen = await expectUnavailable(everyEndpoint(gateway.base, prepared, 'ro'), {
      'POST /introspect': 200,
      'GET /api/orders (valid token)': 200,
      'GET /devices': 200,
    });
    // the replica is promoted (what a failover does): the same gateway serves writes again
    const promotedAt = performance.now();
    await replicaAdmin.call('REPLICAOF', 'NO', 'ONE');
    const recoveryMs = await expectRecovery(gateway.base, 'ro', prepared.live.access);
    expect(performance.now() - promotedAt).toBeLessThan(5_000);
    await expectRevokedStaysDead(gateway.base, prepared, seen);
    await expectRefresherCanRefresh(gateway.base, prepared, seen);
    log('Redis read-only (replica)', seen, recoveryMs);
  });
});
