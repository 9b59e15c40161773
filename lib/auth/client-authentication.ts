import basicAuth from 'basic-auth';
import type { Request } from 'express';
import { BASIC_CHALLENGE, InvalidClientError, InvalidRequestError, TooManyClientAttemptsError } from '../errors/oauth-error';
import { counterKey, lockKey } from '../abuse/lockout-cache';
import type { FormParams } from '../params/form-params';
import { clientIp } from '../params/client-ip';
import type { NormalizedClient, NormalizedRouterOptions } from '../options/router-options';
import { safeEqual } from '../crypto/safe-compare';

/** Client credentials as presented, before they are checked. */
interface PresentedCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly usedBasic: boolean;
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new InvalidClientError('the Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)', { challenge: BASIC_CHALLENGE });
  }
}

function presentedCredentials(req: Request, params: FormParams): PresentedCredentials {
  const header = req.get('authorization');
  const usesBasic = header !== undefined && /^basic(\s|$)/i.test(header.trim());
  if (usesBasic) {
    const credentials = basicAuth(req);
    if (!credentials) throw new InvalidClientError('malformed Basic credentials', { challenge: BASIC_CHALLENGE });
    // RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request.
    if (params.client_secret !== undefined) {
      throw new InvalidClientError('use either HTTP Basic or client_secret in the body, not both', { challenge: BASIC_CHALLENGE });
    }
    const clientId = formDecode(credentials.name);
    if (params.client_id !== undefined && params.client_id !== clientId) {
      throw new InvalidClientError('client_id in the body differs from the Basic credentials', { challenge: BASIC_CHALLENGE });
    }
    return { clientId, clientSecret: formDecode(credentials.pass), usedBasic: true };
  }
  if (header !== undefined && params.client_secret !== undefined) {
    throw new InvalidRequestError('use either the Authorization header or client_secret in the body, not both');
  }
  if (params.client_id === undefined || params.client_secret === undefined) {
    // No credentials at all: challenge with Basic so the client knows what to send.
    throw new InvalidClientError('client authentication is required (HTTP Basic or client_id and client_secret)', {
      challenge: BASIC_CHALLENGE,
    });
  }
  return { clientId: params.client_id, clientSecret: params.client_secret, usedBasic: false };
}

/**
 * Authenticates the calling client by HTTP Basic or by `client_id`/`client_secret` in the body
 * (RFC 6749 §2.3.1), comparing the secret in constant time.
 * @throws InvalidClientError (401) for missing, mixed or wrong credentials.
 */
export async function authenticateClient(
  req: Request,
  params: FormParams,
  options: Pick<NormalizedRouterOptions, 'findClient' | 'clientFailures' | 'lockouts' | 'emit'>,
): Promise<NormalizedClient> {
  const presented = presentedCredentials(req, params);
  const ip = clientIp(req) ?? '';
  const locked = lockKey.client(presented.clientId, ip);
  const blocked = options.clientFailures ? options.lockouts.retryAfter(locked) : 0;
  if (blocked > 0) {
    options.emit({ type: 'throttled', clientId: presented.clientId, ip, reason: 'too many failed client authentications' });
    throw new TooManyClientAttemptsError(blocked);
  }
  const found = options.findClient(presented.clientId);
  const client = found instanceof Promise ? await found : found;
  // Compare even for an unknown client, so timing does not tell which client ids exist.
  const secretMatches = safeEqual(presented.clientSecret, client?.clientSecret ?? '\u0000unknown client');
  if (!client || !secretMatches) {
    options.emit({ type: 'client_auth_failed', clientId: presented.clientId, ip, reason: client ? 'wrong secret' : 'unknown client' });
    const seconds = await options.clientFailures?.fail(counterKey(locked));
    if (seconds) options.lockouts.lock(locked, seconds);
    throw new InvalidClientError('client authentication failed', presented.usedBasic ? { challenge: BASIC_CHALLENGE } : undefined);
  }
  return client;
}
