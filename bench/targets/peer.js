'use strict';

// Target `peer`: what a user would pick instead, @node-oauth/oauth2-server 5, mounted on
// Express 5 the way its docs show (Request/Response adapters around `token()` and
// `authenticate()`), with a model written as its docs suggest for Redis through ioredis: each
// token a hash with a TTL (one MULTI … EXEC per save, one HGETALL per lookup), clients and users
// in memory. It has no token reuse (every password grant mints a new token), no introspection
// (RFC 7662) and no revocation endpoint; `/revoke` here is the few lines a user would add
// (client check, HGET of the owner, DEL).

const { timingSafeEqual } = require('node:crypto');
const basicAuth = require('basic-auth');
const express = require('express');
const OAuth2Server = require('@node-oauth/oauth2-server');
const { CLIENT, SCOPES, clientList, userList } = require('../fixtures');
const { redisClient, keyPrefix, serve, run } = require('./serve');

function sameSecret(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function redisModel(redis, prefix) {
  const clients = new Map(
    clientList().map((client) => [
      client.clientId,
      { id: client.clientId, secret: client.clientSecret, grants: client.grants, roles: client.roles ?? [] },
    ]),
  );
  const users = new Map(userList().map((user) => [user.username, user]));
  const accessKey = (token) => `${prefix}access:${token}`;
  const refreshKey = (token) => `${prefix}refresh:${token}`;
  const fromHash = (hash) => ({
    client: { id: hash.client },
    expiresAt: new Date(Number(hash.exp)),
    user: { username: hash.user },
    scope: hash.scope === '' ? [] : hash.scope.split(' '),
  });
  return {
    async getClient(clientId, clientSecret) {
      const client = clients.get(clientId);
      if (!client || (clientSecret !== null && !sameSecret(clientSecret ?? '', client.secret))) return false;
      return client;
    },
    async getUser(username, password) {
      const user = users.get(username);
      if (!user || !sameSecret(password, user.password)) return false;
      return { username: user.username, roles: user.roles };
    },
    async getUserFromClient(client) {
      return { username: client.id, roles: client.roles };
    },
    // device_* scopes pass; an ordinary scope needs a role bound to it.
    async validateScope(user, _client, scope) {
      const granted = (scope ?? []).filter(
        (name) => name.startsWith('device_') || (SCOPES[name] ?? []).some((role) => user.roles?.includes(role)),
      );
      return granted.length > 0 ? granted : false;
    },
    async saveToken(token, client, user) {
      const scope = (token.scope ?? []).join(' ');
      const save = (multi, key, expiresAt) => {
        const exp = expiresAt.getTime();
        return multi.hset(key, { client: client.id, user: user.username, scope, exp }).pexpireat(key, exp);
      };
      const multi = save(redis.multi(), accessKey(token.accessToken), token.accessTokenExpiresAt);
      if (token.refreshToken) save(multi, refreshKey(token.refreshToken), token.refreshTokenExpiresAt);
      await multi.exec();
      return { ...token, client, user };
    },
    async getAccessToken(accessToken) {
      const hash = await redis.hgetall(accessKey(accessToken));
      if (!hash || !hash.client) return false;
      const { expiresAt, ...rest } = fromHash(hash);
      return { accessToken, accessTokenExpiresAt: expiresAt, ...rest };
    },
    async getRefreshToken(refreshToken) {
      const hash = await redis.hgetall(refreshKey(refreshToken));
      if (!hash || !hash.client) return false;
      const { expiresAt, ...rest } = fromHash(hash);
      return { refreshToken, refreshTokenExpiresAt: expiresAt, ...rest };
    },
    async revokeToken(token) {
      return (await redis.del(refreshKey(token.refreshToken))) === 1;
    },
    async verifyScope(token, required) {
      return required.every((name) => token.scope.includes(name));
    },
    /** For `/revoke`: deletes the access token if it belongs to `clientId`. */
    async revokeAccessToken(accessToken, clientId) {
      const owner = await redis.hget(accessKey(accessToken), 'client');
      if (owner === clientId) await redis.del(accessKey(accessToken));
    },
  };
}

/** An OAuth2Server error (or anything else) as RFC error JSON. */
function sendError(res, response, error) {
  res.set(response.headers);
  const status = error instanceof OAuth2Server.OAuthError ? error.code : 500;
  res.status(status).json({ error: error.name ?? 'server_error', error_description: error.message });
}

run('peer', async () => {
  const redis = redisClient();
  await redis.connect();
  const model = redisModel(redis, keyPrefix());
  const oauth = new OAuth2Server({ model, accessTokenLifetime: CLIENT.accessTokenTtl, refreshTokenLifetime: CLIENT.refreshTokenTtl });
  const app = express();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });

  app.post('/token', form, async (req, res) => {
    const response = new OAuth2Server.Response(res);
    try {
      await oauth.token(new OAuth2Server.Request(req), response);
      res.set(response.headers).status(response.status).json(response.body);
    } catch (error) {
      sendError(res, response, error);
    }
  });

  app.get('/api/orders', async (req, res) => {
    const response = new OAuth2Server.Response(res);
    try {
      const token = await oauth.authenticate(new OAuth2Server.Request(req), response, { scope: ['orders:read'] });
      const device = token.scope.find((name) => name.startsWith('device_')) ?? null;
      res.json({ user: token.user.username, client: token.client.id, scopes: token.scope, device });
    } catch (error) {
      sendError(res, response, error);
    }
  });

  app.post('/revoke', form, async (req, res) => {
    const credentials = basicAuth(req);
    const client = credentials && (await model.getClient(credentials.name, credentials.pass));
    if (!client) {
      res.status(401).set('WWW-Authenticate', 'Basic').json({ error: 'invalid_client' });
      return;
    }
    if (typeof req.body?.token !== 'string') {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    await model.revokeAccessToken(req.body.token, client.id);
    res.set('Cache-Control', 'no-store').end();
  });

  serve('peer', app, redis);
});
