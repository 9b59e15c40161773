import { Cluster } from 'ioredis';
import { type RedisClusterWithReplicasHandle, startRedisClusterWithReplicas } from '../support/redis-servers';
import {
  clusterClient,
  expectRecovery,
  expectRevokedStaysDead,
  type Gateway,
  firstServedAt,
  logSwitch,
  prepare,
  ready,
  RECOVERY_WITHIN_MS,
  singleClient,
  sleep,
  startGateway,
  steadyTraffic,
} from './fault-harness';

// The fault matrix, Redis Cluster failover (issue 10, item 5): the master holding the user's slot
// is killed (SIGKILL) under steady traffic; its replica takes over, and the gateway's Cluster
// client follows it by itself.

describe('fault matrix: Redis Cluster master killed, replica promoted', () => {
  let cluster: RedisClusterWithReplicasHandle;
  let redis: Cluster;
  let gateway: Gateway;

  beforeAll(async () => {
    cluster = await startRedisClusterWithReplicas({ nodeTimeout: 1000 });
    redis = clusterClient(cluster.nodes);
    await ready(redis);
    gateway = await startGateway(redis, 'fault:cluster:');
  }, 40_000);
  afterAll(async () => {
    await gateway?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it('under steady traffic: only 503s within 1.5 s while the replica takes over, back by itself, revokes stay', async () => {
    const prepared = await prepare(gateway.base, 'cluster');
    // the master that holds alice's keys (every key of a user shares one hash tag, so one slot)
    const masters = redis.nodes('master');
    const sizes = await Promise.all(masters.map((node) => node.dbsize()));
    const owner = masters[sizes.indexOf(Math.max(...sizes))]!;
    expect(Math.max(...sizes)).toBeGreaterThan(0);
    expect(await owner.call('WAIT', '1', '2000')).toBe(1); // its replica has the revoke
    const ownerPort = owner.options.port!;
    const server = cluster.servers.find((s) => s.port === ownerPort)!;

    const replicaPort = /slave0:ip=[^,]+,port=(\d+)/.exec(await owner.info('replication'))![1];
    const replica = singleClient(`redis://127.0.0.1:${replicaPort}`);
    await ready(replica);

    const traffic = steadyTraffic(gateway.base, prepared.live.access, 'cluster');
    await sleep(500);
    const killedAt = performance.now();
    process.kill(server.pid, 'SIGKILL');
    // when Redis is back for the slot: its replica reports itself master
    const promoted = (async () => {
      for (;;) {
        const info = await replica.info('replication').catch(() => '');
        if (info.includes('role:master')) return performance.now();
        if (performance.now() - killedAt > 20_000) return undefined;
        await sleep(20);
      }
    })();
    await sleep(200);
    const backAt = await firstServedAt(gateway.base, prepared.live.access, killedAt, 20_000);
    await sleep(1_000);
    const report = await traffic.stop();
    const promotedAt = await promoted;
    replica.disconnect();
    expect(promotedAt).toBeDefined();
    expect(backAt).toBeDefined();
    // service returns by itself within 5 s of Redis returning (the replica's promotion)
    expect(backAt! - promotedAt!).toBeLessThan(RECOVERY_WITHIN_MS);

    const recoveryMs = await expectRecovery(gateway.base, 'cluster', prepared.live.access);
    expect(recoveryMs).toBeLessThan(RECOVERY_WITHIN_MS);
    await expectRevokedStaysDead(gateway.base, prepared, {});
    logSwitch(
      'Cluster master killed',
      report,
      `replica promoted ${Math.round(promotedAt! - killedAt)} ms after the kill`,
      killedAt,
      backAt!,
    );
  }, 60_000);
});
