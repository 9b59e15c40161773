import { OptionError } from '../errors/option-error';
import { isScopeToken } from '../scopes/scope';
import { isNonEmptyString, stringList } from './validate';

/** What the RFC 8414 metadata document and introspection answers say about this server. */

/** RFC 8414 §2: an http(s) URL without query or fragment; no trailing `/` so `<issuer>/token` is clean. */
export function normalizeIssuer(issuer: unknown): string | undefined {
  if (issuer === undefined) return undefined;
  const problem = 'must be an absolute http(s) URL without query, fragment or trailing "/"';
  if (!isNonEmptyString(issuer)) throw new OptionError('options.issuer', problem);
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new OptionError('options.issuer', `${problem} (got "${issuer}")`);
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.search !== '' ||
    url.hash !== '' ||
    issuer.includes('?') ||
    issuer.includes('#') ||
    issuer.endsWith('/') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new OptionError('options.issuer', `${problem} (got "${issuer}")`);
  }
  return issuer;
}

export function normalizeScopesSupported(scopes: unknown): string[] {
  const list = stringList(scopes, 'options.scopesSupported');
  list.forEach((scope, index) => {
    if (!isScopeToken(scope)) {
      throw new OptionError(`options.scopesSupported[${index}]`, `must be a valid scope token (RFC 6749 §3.3)`);
    }
  });
  return [...new Set(list)];
}
