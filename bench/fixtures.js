'use strict';

// What every benchmark request uses, shared by the load side (run.js) and the server (server.js).
// The user has a plain `password`: the router compares it in constant time, so what is measured
// is the token service and not scrypt (a `passwordHash` user costs one scrypt per /token).

const SECRET = 'bench-token-secret-0123456789abcdef0123';
const CLIENT = { clientId: 'bench-app', clientSecret: 'bench-app-secret', grants: ['password', 'refresh_token'] };
const USER = { username: 'alice', password: 'wonderland', roles: ['subscriber'] };
const SCOPES = { 'orders:read': ['subscriber'] };
const DEVICE = 'device_iphone';

/** What `GET /api/orders` answers, behind requireToken and on the baseline alike. */
const ORDERS = { user: USER.username, device: DEVICE };

/** The password grant body: same user and device each time, so the live token is reused. */
const TOKEN_FORM = new URLSearchParams({
  grant_type: 'password',
  username: USER.username,
  password: USER.password,
  scope: `${DEVICE} orders:read`,
}).toString();

/** `Authorization: Basic …` for the client (its id and secret need no form-encoding). */
const BASIC = `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`;

module.exports = { SECRET, CLIENT, USER, SCOPES, DEVICE, ORDERS, TOKEN_FORM, BASIC };
