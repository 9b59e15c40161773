'use strict';

// Targets `floor-token` and `floor-validate`, in one process: the least any Express token
// service on Redis does, and so the ceiling of what the product can reach.
//   floor-token:    POST /token, /introspect, /revoke: bare Express 5 + express.urlencoded +
//                   a constant-time Basic client check + ONE EVALSHA of a trivial script, then a
//                   fixed answer of the shape the real endpoint gives.
//   floor-validate: GET /api/orders: ONE Redis GET, then a fixed JSON answer.

const { timingSafeEqual } = require('node:crypto');
const basicAuth = require('basic-auth');
const express = require('express');
const { CLIENT, USER } = require('../fixtures');
const { redisClient, keyPrefix, serve, run } = require('./serve');

/** Fixed answers; `floor-` values so that a check can tell them from real tokens. */
const TOKEN_BODY = JSON.stringify({
  access_token: 'floor-access-token',
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: 'floor-refresh-token',
  scope: 'device_floor orders:read',
});
const INTROSPECT_BODY = JSON.stringify({
  active: true,
  scope: 'device_floor orders:read',
  client_id: CLIENT.clientId,
  username: USER,
  token_type: 'Bearer',
});
const ORDERS_BODY = JSON.stringify({
  user: USER,
  client: CLIENT.clientId,
  scopes: ['device_floor', 'orders:read'],
  device: 'device_floor',
});

function sameSecret(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

run('floor', async () => {
  const redis = redisClient();
  await redis.connect();
  const key = `${keyPrefix()}floor`;
  redis.defineCommand('floorTrivial', { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
  await redis.set(key, ORDERS_BODY, 'EX', 3600);

  /** `param` is the form parameter the real endpoint needs; `body` the answer (none: empty 200). */
  const formRoute = (param, body) => async (req, res) => {
    const credentials = basicAuth(req);
    // Both compared, as a real service does, so timing does not tell which one was wrong.
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
    await redis.floorTrivial(key);
    res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache');
    if (body === undefined) res.end();
    else res.type('json').send(body);
  };

  const app = express();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  app.post('/token', form, formRoute('grant_type', TOKEN_BODY));
  app.post('/introspect', form, formRoute('token', INTROSPECT_BODY));
  app.post('/revoke', form, formRoute('token', undefined));
  app.get('/api/orders', async (_req, res) => {
    const value = await redis.get(key);
    if (value === null) throw new Error('floor key missing');
    res.type('json').send(ORDERS_BODY);
  });
  serve('floor', app, redis);
});
