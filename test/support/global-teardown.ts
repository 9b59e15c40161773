import { takeStartedRedis } from './global-setup';
import { stopAll } from './redis-servers';

// Jest globalTeardown: stops only the servers that globalSetup started (never a Redis given through
// REDIS_URL / REDIS_CLUSTER_NODES) and unsets the variables it set.

export default async function globalTeardown(): Promise<void> {
  const started = takeStartedRedis();
  if (!started) return;
  for (const name of started.env) delete process.env[name];
  await stopAll(started.servers);
}
