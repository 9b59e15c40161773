'use strict';

// The measured paths (the six of issue 8, and GET /devices). Each builds its requests and checks every answer, per target:
//   setup(target)          once per target: tokens the path needs all along
//   prepare(state, count)  before each load run: tokens consumed by about `count` requests
//   next(state)            the next request: { method, path, headers, body }
//   check(state, status, body)  null when the answer is right, else a short reason (no token in it)
// A target's `kind` is `product` (gateway, router), `floor` or `peer`.

const autocannon = require('autocannon');
const { FORM_HEADERS, USER, ISSUE_USERS, POOL_CLIENTS, POOL_SECRET, basic, passwordForm } = require('./fixtures');

const REUSED_DEVICE = 'device_bench';

/** One request with fetch; `{ status, body }`. */
async function call(target, { method, path, headers, body }) {
  const response = await fetch(`${target.url}${path}`, { method, headers, body });
  return { status: response.status, body: await response.text() };
}

function parse(body) {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** A reason for a wrong answer that never includes a token: the status and the RFC error code. */
function wrong(status, body, what) {
  const error = parse(body)?.error;
  return `${what}: HTTP ${status}${typeof error === 'string' ? ` ${error.slice(0, 40)}` : ''}`;
}

const tokenRequest = (form) => ({ method: 'POST', path: '/token', headers: FORM_HEADERS, body: form });

/** A password grant for `username` on `device`; resolves to the parsed answer, throws unless 200. */
async function login(target, username, device) {
  const { status, body } = await call(target, tokenRequest(passwordForm(username, device)));
  const json = parse(body);
  if (status !== 200 || typeof json?.access_token !== 'string')
    throw new Error(`priming ${target.name}: ${wrong(status, body, 'POST /token')}`);
  return json;
}

let deviceCounter = 0;
/** A device scope never used before in this run. */
const newDevice = (letter) => `device_${letter}${(deviceCounter++).toString(36)}`;

/**
 * `count` live access tokens on `target`: client_credentials grants of the pool clients, each on
 * a new device, 16 at a time with autocannon; resolves to `{ token, authorization }` (the
 * owner's Basic header: only the owner may revoke it); throws unless every answer was a 200.
 */
async function issueMany(target, count) {
  const sessions = [];
  const owners = new Map();
  let bad = 0;
  let next = 0;
  await new Promise((resolve, reject) => {
    autocannon(
      {
        url: target.url,
        connections: 16,
        amount: count,
        requests: [
          {
            ...tokenRequest(''),
            setupRequest: (request) => {
              const authorization = basic(`pool-${next++ % POOL_CLIENTS}`, POOL_SECRET);
              const device = newDevice('p');
              owners.set(device, authorization);
              const body = new URLSearchParams({ grant_type: 'client_credentials', scope: `${device} orders:read` }).toString();
              return { ...request, headers: { ...FORM_HEADERS, authorization }, body };
            },
            onResponse: (status, body) => {
              // The answer's scope names the device, and so the client that asked.
              const json = parse(body);
              const scopes = Array.isArray(json?.scope) ? json.scope : String(json?.scope ?? '').split(' ');
              const authorization = owners.get(scopes.find((scope) => owners.has(scope)));
              if (status === 200 && typeof json?.access_token === 'string' && authorization)
                sessions.push({ token: json.access_token, authorization });
              else bad++;
            },
          },
        ],
      },
      (error) => (error ? reject(error) : resolve()),
    );
  });
  if (bad > 0) throw new Error(`issuing ${count} sessions on ${target.name}: ${bad} answers were not 200 with a token`);
  return sessions;
}

/** The token of alice's `device_bench`: reused, validated and introspected. */
async function primedToken(target, cache) {
  if (!cache.has(target.name)) {
    const first = await login(target, USER, REUSED_DEVICE);
    if (target.kind === 'product') {
      const again = await login(target, USER, REUSED_DEVICE);
      if (again.access_token !== first.access_token) throw new Error(`${target.name}: the live token was not reused`);
    }
    cache.set(target.name, first.access_token);
  }
  return cache.get(target.name);
}

function paths() {
  const primed = new Map();
  return [
    {
      name: 'reuse',
      what: 'POST /token, password grant, same user and device every time',
      appliesTo: () => true,
      setup: async (target) => ({ target, token: await primedToken(target, primed) }),
      prepare: async () => {},
      next: () => tokenRequest(passwordForm(USER, REUSED_DEVICE)),
      check: (state, status, body) => {
        const json = parse(body);
        if (status !== 200 || typeof json?.access_token !== 'string') return wrong(status, body, 'no token');
        // The product must hand back the live token; the floor answers a fixed one; the peer
        // has no reuse and mints a new token every time.
        if (state.target.kind === 'product' && json.access_token !== state.token) return 'not the reused token';
        return null;
      },
    },
    {
      name: 'issue',
      what: 'POST /token, password grant, a new device every time (over 50 users)',
      appliesTo: () => true,
      setup: async (target) => ({ target, n: 0 }),
      prepare: async () => {},
      next: (state) => tokenRequest(passwordForm(`issue-${state.n++ % ISSUE_USERS}`, newDevice('b'))),
      check: (state, status, body) => {
        const json = parse(body);
        if (status !== 200 || typeof json?.access_token !== 'string') return wrong(status, body, 'no token');
        return null;
      },
    },
    {
      name: 'refresh',
      what: 'POST /token, refresh_token grant, each chain using the refresh token of its previous answer',
      appliesTo: () => true,
      setup: async (target) => ({ target, queue: [] }),
      // Fresh chains for every run: a request cut off at the end of the last one may have
      // rotated a token whose answer was never read.
      prepare: async (state, _count, connections) => {
        const sessions = await Promise.all(
          Array.from({ length: connections }, (_, i) => login(state.target, `issue-${i % ISSUE_USERS}`, newDevice('r'))),
        );
        state.queue = sessions.map((session) => session.refresh_token);
      },
      next: (state) => {
        // Each connection takes a chain and gives it back with its answer, so every chain is
        // used strictly in turn; an empty queue means an answer lost its chain.
        const refreshToken = state.queue.shift() ?? 'chain-lost';
        return tokenRequest(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString());
      },
      check: (state, status, body) => {
        const json = parse(body);
        if (status !== 200 || typeof json?.refresh_token !== 'string' || typeof json.access_token !== 'string')
          return wrong(status, body, 'no token pair');
        state.queue.push(json.refresh_token);
        return null;
      },
    },
    {
      name: 'validate',
      what: 'GET /api/orders with a live bearer token (needs orders:read)',
      appliesTo: () => true,
      setup: async (target) => ({ target, token: await primedToken(target, primed) }),
      prepare: async () => {},
      next: (state) => ({ method: 'GET', path: '/api/orders', headers: { authorization: `Bearer ${state.token}` } }),
      check: (_state, status, body) => (status === 200 && parse(body)?.user === USER ? null : wrong(status, body, 'not the API answer')),
    },
    {
      name: 'devices',
      what: 'GET /devices with a live bearer token (the floor: its GET /api/orders, one Redis GET)',
      appliesTo: (target) => target.kind !== 'peer', // @node-oauth/oauth2-server has no device sessions
      setup: async (target) => ({ target, token: await primedToken(target, primed) }),
      prepare: async () => {},
      next: (state) => ({
        method: 'GET',
        path: state.target.kind === 'floor' ? '/api/orders' : '/devices',
        headers: { authorization: `Bearer ${state.token}` },
      }),
      check: (state, status, body) => {
        const json = parse(body);
        const right = state.target.kind === 'floor' ? json?.user === USER : Array.isArray(json?.devices) && json.devices.length > 0;
        return status === 200 && right ? null : wrong(status, body, 'not the device list');
      },
    },
    {
      name: 'introspect',
      what: 'POST /introspect of a live token, Basic client auth',
      appliesTo: (target) => target.kind !== 'peer', // @node-oauth/oauth2-server has no RFC 7662
      setup: async (target) => ({ target, token: await primedToken(target, primed) }),
      prepare: async () => {},
      next: (state) => ({
        method: 'POST',
        path: '/introspect',
        headers: FORM_HEADERS,
        body: new URLSearchParams({ token: state.token }).toString(),
      }),
      check: (_state, status, body) => (status === 200 && parse(body)?.active === true ? null : wrong(status, body, 'not active')),
    },
    {
      name: 'revoke',
      what: 'POST /revoke, a different live access token every time',
      appliesTo: () => true,
      setup: async (target) => ({ target, pool: [], revoked: [] }),
      // Tops the pool up to `count`: the live tokens a round left unrevoked serve the next one
      // (issuing them all again took a minute of the run once the targets got fast).
      prepare: async (state, count) => {
        const missing = Math.max(0, count - state.pool.length);
        if (state.target.kind === 'floor') {
          for (let i = 0; i < missing; i++) state.pool.push({ token: `floor-${i}`, authorization: FORM_HEADERS.authorization }); // the floor reads no token
        } else if (missing > 0) {
          for (const session of await issueMany(state.target, missing)) state.pool.push(session);
        }
        state.exhausted = false;
      },
      next: (state) => {
        const entry = state.pool.pop();
        if (entry === undefined) state.exhausted = true;
        else if (state.revoked.length < 5) state.revoked.push(entry.token);
        const headers = { ...FORM_HEADERS, authorization: entry?.authorization ?? FORM_HEADERS.authorization };
        return {
          method: 'POST',
          path: '/revoke',
          headers,
          body: new URLSearchParams({ token: entry?.token ?? 'pool-exhausted' }).toString(),
        };
      },
      check: (_state, status, body) => (status === 200 ? null : wrong(status, body, 'not revoked')),
      /** After a probe: the revoked tokens must be dead. */
      verify: async (state) => {
        if (state.target.kind === 'floor') return;
        for (const token of state.revoked.splice(0)) {
          const { status } = await call(state.target, {
            method: 'GET',
            path: '/api/orders',
            headers: { authorization: `Bearer ${token}` },
          });
          if (status !== 401) throw new Error(`${state.target.name}: a revoked token still answered HTTP ${status} on /api/orders`);
        }
      },
    },
  ];
}

module.exports = { paths, call, parse };
