import { grantScopes, parseScope } from '../scopes/scope';
import type { GrantHandler } from './grant-context';
import { issueTokens } from './issue-tokens';

/** RFC 6749 §4.4: the client acts for itself; scopes are checked against the client's roles. */
export const clientCredentialsGrant: GrantHandler = async ({ client, params, options, ip }) => {
  const requested = parseScope(params.scope);
  const granted = await grantScopes(requested, { clientId: client.clientId, roles: client.roles }, options, client.sessions.requireDevice);
  // RFC 6749 §4.4.3: a refresh token SHOULD NOT be included.
  return issueTokens(client, { subject: client.clientId }, granted, { ...options, ip }, false);
};
