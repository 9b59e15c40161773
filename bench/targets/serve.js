'use strict';

// What the bench's own targets share: their Redis client (as the README recommends for
// production: no offline queue, one retry), listening on 127.0.0.1:PORT, the line run.js waits
// for, and a clean exit on SIGTERM. Env: PORT, BENCH_REDIS_URL, BENCH_KEY_PREFIX.

const http = require('node:http');
const { Redis } = require('ioredis');

function redisClient() {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error('BENCH_REDIS_URL is not set');
  return new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
}

function keyPrefix() {
  const prefix = process.env.BENCH_KEY_PREFIX;
  if (!prefix) throw new Error('BENCH_KEY_PREFIX is not set');
  return prefix;
}

/**
 * Listens on 127.0.0.1:PORT (a server made with `serverOptions`, e.g. the package's
 * `serverClassesFor(app)`), prints `listening on <port>`, and closes `redis` on SIGTERM.
 */
function serve(name, app, redis, serverOptions = {}) {
  const server = http.createServer(serverOptions, app);
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${name} listening on ${server.address().port}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void redis.quit().finally(() => process.exit(0));
  });
}

/** Runs `main`, exiting non-zero with its error's message if it fails. */
function run(name, main) {
  main().catch((error) => {
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(1);
  });
}

module.exports = { redisClient, keyPrefix, serve, run };
