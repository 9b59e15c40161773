import { urlencoded } from 'body-parser';
import { parse as parseBytes } from 'bytes';
import type { Request, RequestHandler } from 'express';
import { InvalidRequestError } from '../errors/oauth-error';
import { OptionError } from '../errors/option-error';
import { DEFAULTS } from '../defaults';

/** A parsed form body: every parameter present exactly once. */
export type FormParams = Readonly<Record<string, string | undefined>>;

/** Most parameters a form may have (body-parser's `parameterLimit`: more is 413). */
const PARAMETER_LIMIT = 50;

/** The body of a request this module read itself: its content type is known to be a UTF-8 form. */
const OWN_FORM = Symbol('form read by formParser');
type ParsedRequest = Request & { [OWN_FORM]?: true; _body?: boolean };

/** The content types the fast path takes as they are sent; any other spelling goes to body-parser. */
const PLAIN_FORM_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded;charset=utf-8',
]);

/** `decodeURIComponent` after `+` → space; a malformed escape leaves the text as it is (as `qs` does). */
function decode(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * `a=1&b=2` as body-parser's `urlencoded({ extended: false })` reads it: flat keys, a repeated key
 * collected into an array (refused later by {@link formParams}), empty keys dropped; the keys in
 * an object without a prototype, so `__proto__` is a name like any other.
 * @throws InvalidRequestError (413) beyond {@link PARAMETER_LIMIT} parameters.
 */
export function parseFormText(text: string): Record<string, string | string[]> {
  const params = Object.create(null) as Record<string, string | string[]>;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark, as iconv-lite strips it
  if (text === '') return params;
  let count = 0;
  let start = 0;
  for (;;) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (++count > PARAMETER_LIMIT) throw new InvalidRequestError('malformed request body (parameters.too.many)', { status: 413 });
    if (end > start) {
      const equals = text.indexOf('=', start);
      const split = equals !== -1 && equals < end;
      const name = decode(text.slice(start, split ? equals : end));
      if (name !== '') {
        const value = split ? decode(text.slice(equals + 1, end)) : '';
        const seen = params[name];
        if (seen === undefined) params[name] = value;
        else if (typeof seen === 'string') params[name] = [seen, value];
        else seen.push(value);
      }
    }
    if (end === text.length) return params;
    start = end + 1;
  }
}

const SIZE = /^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb|pb)?\s*$/i;

/** The byte count of a `bodyLimit` option: a number, or a size such as `"16kb"`. @throws OptionError naming it. */
export function bodyLimitBytes(limit: string | number): number {
  // `bytes` reads "16 parsecs" as 16 bytes: only its own units are taken here.
  const value = typeof limit === 'number' ? limit : SIZE.test(limit) ? parseBytes(limit) : null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptionError('options.bodyLimit', 'must be a byte count or a size string such as "16kb"');
  }
  return value;
}

/**
 * Reads an `application/x-www-form-urlencoded` body (RFC 6749 §4) into `req.body`, flat keys
 * only. The everyday request (a UTF-8 form with a Content-Length within the limit, no
 * Content-Encoding) is read and parsed here in one pass; anything else goes to body-parser's
 * `urlencoded()`, which answers compressed bodies, other charsets, chunked and oversized ones as
 * it always has (413, 415, 400: see `toOAuthError()`). Both give the same `req.body`.
 */
export function formParser(limit: string | number): RequestHandler {
  const maxBytes = bodyLimitBytes(limit);
  const fallback = urlencoded({ extended: false, limit: maxBytes, parameterLimit: PARAMETER_LIMIT });
  return function parseForm(req: ParsedRequest, res, next) {
    const { headers } = req;
    const length = headers['content-length'];
    const type = headers['content-type'];
    if (
      req._body === true ||
      req.body !== undefined ||
      req.readableEnded ||
      length === undefined ||
      type === undefined ||
      headers['content-encoding'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      !(Number(length) <= maxBytes) ||
      !PLAIN_FORM_TYPES.has(type.toLowerCase())
    ) {
      fallback(req, res, next);
      return;
    }
    // Only 'data' and 'end' are listened to: a request whose client went away ends neither, and
    // Node emits no 'error' on a request nobody listens to for one; its answer has nowhere to go.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      let body;
      try {
        body = parseFormText(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        next(error);
        return;
      }
      req.body = body;
      req._body = true;
      req[OWN_FORM] = true;
      next();
    });
  };
}

/**
 * The request's form parameters. RFC 6749 §3.2: parameters MUST NOT be included more than
 * once; the token endpoint requires `application/x-www-form-urlencoded` (RFC 6749 §4.3.2).
 * @throws InvalidRequestError for another content type or a repeated parameter.
 */
export function formParams(req: Request): FormParams {
  if ((req as ParsedRequest)[OWN_FORM] !== true && !req.is('application/x-www-form-urlencoded')) {
    throw new InvalidRequestError('the request body must be application/x-www-form-urlencoded');
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  const params = Object.create(null) as Record<string, string>;
  for (const name in body) {
    if (!Object.prototype.hasOwnProperty.call(body, name)) continue;
    const value = body[name];
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
