// Drives a running token router with two independent OAuth client libraries, `openid-client` v6
// and `oauth4webapi` v3. Both are ESM-only and the jest suites run as CommonJS, so the
// interop suite runs this file with `node` and asserts on the one JSON object it prints.
//
// Usage: node oauth-clients.mjs '<json>' where json is
//   { server, discovery?, api, user: { username, password },
//     app: { clientId, clientSecret }, service: {…}, resourceServer: {…} }
// `server` is the issuer to discover from (RFC 8414 §3); `discovery`, when given, is the full
// metadata URL instead (openid-client then skips its issuer comparison).
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const input = JSON.parse(process.argv[2]);
const results = {};

/** Runs one step; a rejected step is recorded by its OAuth error code instead of crashing. */
async function step(name, run) {
  try {
    results[name] = await run();
  } catch (error) {
    results[name] = {
      failed: true,
      name: error?.name,
      code: error?.code,
      error: error?.error,
      status: error?.status,
      message: error?.message,
    };
  }
  return results[name];
}

const tokenSummary = (tokens) => ({
  token_type: tokens.token_type,
  scope: tokens.scope,
  expires_in: tokens.expires_in,
  expiresIn: tokens.expiresIn(),
  access_token: tokens.access_token,
  refresh_token: tokens.refresh_token,
});

const insecure = { execute: [client.allowInsecureRequests], algorithm: 'oauth2' };
const discover = (who, auth) => client.discovery(new URL(input.discovery ?? input.server), who.clientId, undefined, auth, insecure);

// openid-client, as the mobile app (client_secret_basic).
const app = await discover(input.app, client.ClientSecretBasic(input.app.clientSecret));
results.metadata = app.serverMetadata();

const password = (scope) =>
  client.genericGrantRequest(app, 'password', { username: input.user.username, password: input.user.password, scope });

const ipad = await step('ipad', async () => tokenSummary(await password('device_ipad orders:read')));
const iphone = await step('iphone', async () => tokenSummary(await password('device_iphone orders:read')));
await step('ipadAgain', async () => tokenSummary(await password('device_ipad orders:read')));
await step('wrongPassword', () =>
  client.genericGrantRequest(app, 'password', { username: input.user.username, password: 'not-it', scope: 'device_ipad' }),
);

await step('api', async () => {
  const response = await client.fetchProtectedResource(app, ipad.access_token, new URL(input.api), 'GET');
  return { status: response.status, body: await response.json() };
});

await step('introspectOwn', () => client.tokenIntrospection(app, ipad.access_token));

const refreshed = await step('refresh', async () => tokenSummary(await client.refreshTokenGrant(app, ipad.refresh_token)));

await step('revokeIphone', async () => {
  await client.tokenRevocation(app, iphone.access_token, { token_type_hint: 'access_token' });
  return { revoked: true };
});
await step('revokeUnknown', async () => {
  await client.tokenRevocation(app, 'no-such-token');
  return { revoked: true };
});

// openid-client, as a service (client_credentials; its id and secret need RFC 6749 §2.3.1 encoding).
const service = await discover(input.service, client.ClientSecretBasic(input.service.clientSecret));
await step('clientCredentials', async () => tokenSummary(await client.clientCredentialsGrant(service, { scope: 'orders:write' })));

// oauth4webapi directly, as a resource server (client_secret_post) introspecting the app's tokens.
const issuer = new URL(input.server);
const as = input.discovery
  ? results.metadata
  : await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    );
const resourceServer = { client_id: input.resourceServer.clientId };
const resourceAuth = oauth.ClientSecretPost(input.resourceServer.clientSecret);
const introspect = async (token) => {
  const response = await oauth.introspectionRequest(as, resourceServer, resourceAuth, token, {
    [oauth.allowInsecureRequests]: true,
  });
  return oauth.processIntrospectionResponse(as, resourceServer, response);
};
await step('rsIntrospectRefreshed', () => introspect(refreshed.access_token));
await step('rsIntrospectRotatedAway', () => introspect(ipad.access_token));
await step('rsIntrospectRevoked', () => introspect(iphone.access_token));
await step('rsIntrospectRefreshToken', () => introspect(refreshed.refresh_token));

// A replayed (already rotated) refresh token ends that device's grant (OAuth 2.0 Security BCP).
await step('refreshReplay', () => client.refreshTokenGrant(app, ipad.refresh_token));
await step('rsIntrospectAfterReplay', () => introspect(refreshed.access_token));

process.stdout.write(`${JSON.stringify(results)}\n`);
