'use strict';

// Target `router`: the package's token router mounted in a bare Express app, as its README
// shows, on RedisTokenStore; `GET /api/orders` behind requireToken; served as the README's
// complete gateway serves it (`serverClassesFor(app)`). No logging, nothing else.

const express = require('express');
const { createTokenRouter, requireToken, RedisTokenStore, serverClassesFor } = require('../../dist/lib');
const { SECRET, SCOPES, clientList, userList } = require('../fixtures');
const { redisClient, keyPrefix, serve, run } = require('./serve');

run('router', async () => {
  const redis = redisClient();
  await redis.connect();
  const store = new RedisTokenStore({ redis, secret: SECRET, keyPrefix: keyPrefix() });
  const app = express();
  app.use(createTokenRouter({ store, clients: clientList(), users: userList(), scopes: SCOPES, deviceEndpoints: true }));
  app.get('/api/orders', requireToken({ store, scopes: ['orders:read'] }), (req, res) => {
    const { username, clientId, scopes, device } = req.oauth;
    res.json({ user: username ?? null, client: clientId, scopes, device: device ?? null });
  });
  serve('router', app, redis, serverClassesFor(app));
});
