// @ts-check
'use strict';

/**
 * The module graph of lib/, checked by `npm test` (`npm run lint:graph`): one-way layers, no
 * cycle (type-only imports included). From top to bottom:
 *
 *   HTTP layer   token-router, endpoints/, grants/, middleware/
 *   auth/        client authentication, bearer tokens
 *   options/     validated router options
 *   scopes/      scope syntax and grant rules
 *   stores/      TokenStore, the Redis and memory stores, keys, scripts
 *   bottom       tokens/ (codec), crypto/, errors/, params/, events/, abuse/, defaults.ts
 *
 * A module may import its own layer and the layers below it, never above. See ARCHITECTURE.md.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
const HTTP = '^lib/(token-router\\.ts|endpoints/|grants/|middleware/)';
const AUTH = '^lib/auth/';
const OPTIONS = '^lib/options/';
const SCOPES = '^lib/scopes/';
const STORES = '^lib/stores/';
const BOTTOM = '^lib/(tokens|crypto|errors|params|events|abuse)/|^lib/defaults\\.ts$';

/** `from` may not import `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules depend on each other one way only.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    forbid(
      'lib-stays-in-lib',
      'The package never imports the gateway, the bench or the tests.',
      '^lib/',
      '^(example-gateway|bench|test|scripts)/',
    ),
    forbid('auth-below-http', 'Authentication knows nothing of endpoints, grants or the router.', AUTH, HTTP),
    forbid('options-below-auth', 'Options are validated without the HTTP layer or authentication.', OPTIONS, `${HTTP}|${AUTH}`),
    forbid('scopes-below-options', 'Scope rules are pure: no options, auth or HTTP.', SCOPES, `${HTTP}|${AUTH}|${OPTIONS}`),
    forbid(
      'stores-below-scopes',
      'Stores know nothing of Express, HTTP, options or scopes.',
      STORES,
      `${HTTP}|${AUTH}|${OPTIONS}|${SCOPES}`,
    ),
    forbid(
      'bottom-is-bottom',
      'The codec, crypto, errors, params, events and defaults import nothing above them.',
      BOTTOM,
      `${HTTP}|${AUTH}|${OPTIONS}|${SCOPES}|${STORES}`,
    ),
    {
      name: 'http-layer-never-imports-ioredis',
      comment: 'The HTTP layer reaches storage only through the TokenStore interface (ARCHITECTURE.md).',
      severity: 'error',
      from: { path: `${HTTP}|${AUTH}|${OPTIONS}|${SCOPES}` },
      to: { path: 'node_modules/ioredis' },
    },
    {
      name: 'stores-never-import-express',
      comment: 'Stores know nothing of Express or HTTP.',
      severity: 'error',
      from: { path: STORES },
      to: { path: 'node_modules/(express|body-parser|basic-auth)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
