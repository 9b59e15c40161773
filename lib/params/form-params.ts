import { urlencoded } from 'body-parser';
import type { Request, RequestHandler } from 'express';
import { InvalidRequestError } from '../errors/oauth-error';
import { DEFAULTS } from '../defaults';

/** A parsed form body: every parameter present exactly once. */
export type FormParams = Readonly<Record<string, string | undefined>>;

/** body-parser for `application/x-www-form-urlencoded` (RFC 6749 §4), flat keys only. */
export function formParser(limit: string | number): RequestHandler {
  return urlencoded({ extended: false, limit, parameterLimit: 50 });
}

/**
 * The request's form parameters. RFC 6749 §3.2: parameters MUST NOT be included more than
 * once; the token endpoint requires `application/x-www-form-urlencoded` (RFC 6749 §4.3.2).
 * @throws InvalidRequestError for another content type or a repeated parameter.
 */
export function formParams(req: Request): FormParams {
  if (!req.is('application/x-www-form-urlencoded')) {
    throw new InvalidRequestError('the request body must be application/x-www-form-urlencoded');
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  const params = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new InvalidRequestError(`the "${name}" parameter must not be repeated`);
    const limit = name === 'username' ? DEFAULTS.limits.username : DEFAULTS.limits.other;
    if (value.length > limit) throw new InvalidRequestError(`the "${name.slice(0, 64)}" parameter is longer than ${limit} characters`);
    // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
    if (value !== '') params[name] = value;
  }
  return params;
}

/** A required parameter. @throws InvalidRequestError when it is missing. */
export function requireParam(params: FormParams, name: string): string {
  const value = params[name];
  if (value === undefined) throw new InvalidRequestError(`the "${name}" parameter is required`);
  return value;
}
