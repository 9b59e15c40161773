'use strict';

// The measured side, forked by run.js once per store. It serves two Express apps on 127.0.0.1:
//   gateway:  the package as a user mounts it (token router at the root, GET /api/orders behind
//             requireToken), built from ../dist/lib;
//   baseline: the same routes doing the same I/O without OAuth (see README, "Benchmarks").
// IPC with run.js: → { gateway, baseline } ports; ← { bodies }; → 'primed'; ← 'stop'.
// With BENCH_REDIS_URL it runs on Redis and writes only keys under BENCH_KEY_PREFIX, which it
// deletes at the end (SCAN + UNLINK of that prefix, never a FLUSH).

const { timingSafeEqual } = require('node:crypto');
const http = require('node:http');
const basicAuth = require('basic-auth');
const express = require('express');
const { Redis } = require('ioredis');
const { createTokenRouter, requireToken, MemoryTokenStore, RedisTokenStore } = require('../dist/lib');
const { SECRET, CLIENT, USER, SCOPES, ORDERS } = require('./fixtures');

const redisUrl = process.env.BENCH_REDIS_URL;
const keyPrefix = process.env.BENCH_KEY_PREFIX;
const baselineKey = `${keyPrefix}baseline`;

function gatewayApp(store) {
  const app = express();
  app.use(createTokenRouter({ store, clients: [CLIENT], users: [USER], scopes: SCOPES }));
  app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
    res.json({ user: req.oauth.username, device: req.oauth.device });
  });
  return app;
}

function sameSecret(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The baseline: no OAuth, the same I/O. /api/orders does one plain GET (Redis) and answers the
 * same JSON; /token and /introspect parse the same form, check Basic client auth in constant time,
 * run one EVALSHA of a trivial script (Redis) and answer the gateway's own body of a priming call.
 */
function baselineApp(redis, bodies) {
  const app = express();
  app.get('/api/orders', async (_req, res) => {
    if (redis) await redis.get(baselineKey);
    res.json(ORDERS);
  });
  // `name` picks the answer; `param` is the form parameter the real endpoint needs.
  const formRoute = (name, param) => async (req, res) => {
    const credentials = basicAuth(req);
    // Both compared, like the router does, so timing does not tell which one was wrong.
    const idOk = sameSecret(credentials?.name ?? '', CLIENT.clientId);
    const secretOk = sameSecret(credentials?.pass ?? '', CLIENT.clientSecret);
    if (!idOk || !secretOk) {
      res.status(401).json({ error: 'invalid_client' });
      return;
    }
    if (typeof req.body?.[param] !== 'string') {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    if (redis) await redis.benchTrivial(baselineKey);
    res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache').type('json').send(bodies[name]);
  };
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  app.post('/token', form, formRoute('token', 'grant_type'));
  app.post('/introspect', form, formRoute('introspect', 'token'));
  return app;
}

function listen(app) {
  const server = http.createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Deletes exactly the keys under our prefix. */
async function deleteOwnKeys(redis) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function main() {
  let redis;
  let store;
  if (redisUrl) {
    // As the README recommends for production: no offline queue, one retry.
    redis = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await redis.connect();
    redis.defineCommand('benchTrivial', { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
    await redis.set(baselineKey, JSON.stringify(ORDERS), 'EX', 3600);
    store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix });
  } else {
    store = new MemoryTokenStore({ secret: SECRET });
  }
  const bodies = {}; // filled by run.js from the gateway's own answers
  const servers = [await listen(gatewayApp(store)), await listen(baselineApp(redis, bodies))];
  process.on('message', async (message) => {
    if (message.bodies) {
      Object.assign(bodies, message.bodies);
      process.send('primed');
    } else if (message === 'stop') {
      for (const server of servers) server.close();
      for (const server of servers) server.closeAllConnections();
      if (redis) {
        await deleteOwnKeys(redis);
        await redis.quit();
      } else {
        store.close();
      }
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(1)); // run.js died: do not linger
  process.send({ gateway: servers[0].address().port, baseline: servers[1].address().port });
}

main().catch((error) => {
  console.error('bench server:', error);
  process.exit(1);
});
