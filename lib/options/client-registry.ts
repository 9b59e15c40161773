import { OptionError } from '../errors/option-error';
import { GRANT_TYPES, type GrantType, type NormalizedClient, type NormalizedRouterOptions } from './option-types';
import { normalizeSessionPolicy, type SessionPolicy } from './session-options';
import { isNonEmptyString, isObject, positiveInteger, stringList } from './validate';

/** The registered clients: a static list checked at start-up, or a lookup checked per call. */

/** Validates one client record; `name` is its path in the options, for the message. */
export function normalizeClient(
  record: unknown,
  name: string,
  defaults: { accessTokenTtl: number; refreshTokenTtl: number; sessions: SessionPolicy },
): NormalizedClient {
  if (!isObject(record)) throw new OptionError(`${name}`, `must be an object`);
  if (!isNonEmptyString(record.clientId)) throw new OptionError(`${name}.clientId`, `must be a non-empty string`);
  if (!isNonEmptyString(record.clientSecret)) throw new OptionError(`${name}.clientSecret`, `must be a non-empty string`);
  const grants = stringList(record.grants, `${name}.grants`);
  grants.forEach((grant, index) => {
    if (!GRANT_TYPES.includes(grant as GrantType)) {
      throw new OptionError(`${name}.grants[${index}]`, `must be one of ${GRANT_TYPES.join(', ')} (got "${grant}")`);
    }
  });
  if (record.resourceServer !== undefined && typeof record.resourceServer !== 'boolean') {
    throw new OptionError(`${name}.resourceServer`, `must be a boolean`);
  }
  return {
    clientId: record.clientId,
    clientSecret: record.clientSecret,
    grants: new Set(grants as GrantType[]),
    accessTokenTtl: positiveInteger(record.accessTokenTtl, defaults.accessTokenTtl, `${name}.accessTokenTtl`),
    refreshTokenTtl: positiveInteger(record.refreshTokenTtl, defaults.refreshTokenTtl, `${name}.refreshTokenTtl`),
    roles: stringList(record.roles, `${name}.roles`),
    resourceServer: record.resourceServer === true,
    sessions: normalizeSessionPolicy(record, name, defaults.sessions),
  };
}

export function normalizeClients(
  clients: unknown,
  defaults: { accessTokenTtl: number; refreshTokenTtl: number; sessions: SessionPolicy },
): { find: NormalizedRouterOptions['findClient']; needsUsers: boolean; grantTypes: readonly GrantType[] } {
  if (typeof clients === 'function') {
    return {
      needsUsers: false,
      grantTypes: GRANT_TYPES,
      find: async (clientId) => {
        const record: unknown = await (clients as (clientId: string) => unknown)(clientId);
        return record ? normalizeClient(record, `options.clients("${clientId}")`, defaults) : undefined;
      },
    };
  }
  if (!Array.isArray(clients)) throw new OptionError('options.clients', 'must be an array of clients or a lookup function');
  const byId = new Map<string, NormalizedClient>();
  clients.forEach((record, index) => {
    const client = normalizeClient(record, `options.clients[${index}]`, defaults);
    if (byId.has(client.clientId)) throw new OptionError(`options.clients[${index}].clientId`, `"${client.clientId}" is listed twice`);
    byId.set(client.clientId, client);
  });
  return {
    needsUsers: [...byId.values()].some((client) => client.grants.has('password')),
    grantTypes: GRANT_TYPES.filter((grant) => [...byId.values()].some((client) => client.grants.has(grant))),
    find: (clientId) => byId.get(clientId),
  };
}
