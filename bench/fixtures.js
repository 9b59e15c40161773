'use strict';

// What every target serves and every benchmark request uses: the client `bench-app`, the user
// `alice` (her token is the one reused, validated and introspected), users for the `issue` path
// (so its new device sessions spread over several users' device caps), and pool clients whose
// client_credentials tokens fill the `revoke` pools: a password grant costs the product one
// scrypt (it hashes even plain config passwords at load), far too slow to mint tens of thousands
// of tokens before each round; a client_credentials grant does not.

const SECRET = 'bench-token-secret-0123456789abcdef0123';
const PASSWORD = 'wonderland';
const CLIENT = {
  clientId: 'bench-app',
  clientSecret: 'bench-app-secret',
  grants: ['password', 'refresh_token'],
  accessTokenTtl: 3600,
  refreshTokenTtl: 86400,
};
const SCOPES = { 'orders:read': ['subscriber'] };
const USER = 'alice';
/** Users of the `issue` path (and the refresh chains): request n logs in `issue-(n mod ISSUE_USERS)`. */
const ISSUE_USERS = 50;
/** Clients of the `revoke` pools (client_credentials, each with its own device cap). */
const POOL_CLIENTS = 1000;
const POOL_SECRET = 'bench-pool-secret';

function userList() {
  const user = (username) => ({ username, password: PASSWORD, roles: ['subscriber'] });
  return [user(USER), ...Array.from({ length: ISSUE_USERS }, (_, i) => user(`issue-${i}`))];
}

/** `bench-app` and the pool clients, as the router's `clients` and the gateway config's. */
function clientList() {
  return [
    CLIENT,
    ...Array.from({ length: POOL_CLIENTS }, (_, i) => ({
      clientId: `pool-${i}`,
      clientSecret: POOL_SECRET,
      grants: ['client_credentials'],
      roles: ['subscriber'],
      accessTokenTtl: CLIENT.accessTokenTtl,
    })),
  ];
}

const basic = (clientId, clientSecret) => `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;

/** `Authorization: Basic …` for the client (its id and secret need no form-encoding). */
const BASIC = basic(CLIENT.clientId, CLIENT.clientSecret);
const FORM_HEADERS = { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' };

/** The password grant body for one user and device (with `orders:read`, so the token can call the API). */
function passwordForm(username, device) {
  return new URLSearchParams({ grant_type: 'password', username, password: PASSWORD, scope: `${device} orders:read` }).toString();
}

/** A port the OS considers free right now (bind port 0, read it, release it). */
function freePort() {
  const { createServer } = require('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Deletes exactly the keys under `prefix` (SCAN + UNLINK, never a FLUSH). */
async function deleteKeys(redis, prefix) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

module.exports = {
  SECRET,
  PASSWORD,
  CLIENT,
  SCOPES,
  USER,
  ISSUE_USERS,
  POOL_CLIENTS,
  POOL_SECRET,
  BASIC,
  basic,
  clientList,
  FORM_HEADERS,
  userList,
  passwordForm,
  freePort,
  deleteKeys,
};
