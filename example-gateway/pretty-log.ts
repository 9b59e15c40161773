/**
 * A small formatter of pino's JSON lines for people at a terminal:
 *
 *     12:00:01.234 INFO  POST /token 200 3ms client=demo-app user=alice device=device_ipad id=4f1c…
 *     12:00:05.001 WARN  token store: Redis is not reachable yet … redis=redis://127.0.0.1:6379
 *
 * Request lines are told as `METHOD url status time`; any other line as its message followed
 * by its fields as `key=value` (nested objects with dotted keys). An error's stack follows on
 * its own lines. Only fields the logger was given are printed: the same redaction applies.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};

/** A pino line as the gateway writes it (every field optional: any line may be given). */
interface Entry {
  readonly req?: { readonly id?: unknown; readonly method?: unknown; readonly url?: unknown; readonly [field: string]: unknown };
  readonly res?: { readonly statusCode?: number };
  readonly responseTime?: unknown;
  readonly oauth?: { readonly clientId?: unknown; readonly username?: unknown; readonly device?: unknown };
  readonly err?: unknown;
  readonly [field: string]: unknown;
}

/** Fields every line has, shown in the line's head instead of as `key=value`. */
const HEAD = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function value(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text;
}

function fields(object: Record<string, unknown>, prefix: string, out: string[]): void {
  for (const [key, v] of Object.entries(object)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'object' && !Array.isArray(v)) fields(v as Record<string, unknown>, `${prefix}${key}.`, out);
    else out.push(`${prefix}${key}=${value(v)}`);
  }
}

function timeOf(time: unknown): string {
  if (typeof time === 'string' && time.length >= 23) return time.slice(11, 23); // ISO: HH:MM:SS.mmm
  if (typeof time === 'number') return new Date(time).toISOString().slice(11, 23);
  return '';
}

/** One pino JSON line (with or without its newline) as a readable line ending in `\n`. */
export function prettyLine(json: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const paint = (code: string, text: string) => (colors ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level).padEnd(5), color: '0' };
  const { req, res, responseTime, oauth, err, ...rest } = entry as Entry;
  const parts = [paint('90', timeOf(entry.time)), paint(level.color, level.name)];
  const extra: string[] = [];
  if (req && res) {
    // A request line: what was asked and how it went first, who asked after.
    const status = res.statusCode ?? 0;
    parts.push(
      `${String(req.method)} ${String(req.url)} ${paint(status >= 500 ? '31' : status >= 400 ? '33' : '32', String(status))} ${String(responseTime)}ms`,
    );
    if (oauth) {
      if (oauth.clientId !== undefined) extra.push(`client=${value(oauth.clientId)}`);
      if (oauth.username !== undefined) extra.push(`user=${value(oauth.username)}`);
      if (oauth.device !== undefined) extra.push(`device=${value(oauth.device)}`);
    }
    const { id, method: _m, url: _u, ...request } = req;
    extra.push(`id=${value(id)}`);
    fields(request, '', extra);
    if (typeof entry.msg === 'string' && entry.msg !== 'request completed') extra.push(`msg=${value(entry.msg)}`);
    for (const [key, v] of Object.entries(rest)) if (!HEAD.has(key)) fields({ [key]: v }, '', extra);
  } else {
    if (typeof entry.msg === 'string') parts.push(entry.msg);
    for (const [key, v] of Object.entries(rest)) if (!HEAD.has(key)) fields({ [key]: v }, '', extra);
    if (oauth) fields({ oauth }, '', extra);
    if (req) fields({ req }, '', extra);
    if (res) fields({ res }, '', extra);
  }
  let line = [...parts, ...extra.map((field) => paint('90', field))].join(' ');
  if (err && typeof err === 'object') {
    const { stack, message, ...errFields } = err as Record<string, unknown>;
    const details: string[] = [];
    fields(errFields, 'err.', details);
    if (details.length > 0) line += ` ${details.join(' ')}`;
    line +=
      typeof stack === 'string'
        ? `\n    ${stack.split('\n').join('\n    ')}`
        : message !== undefined
          ? ` err.message=${value(message)}`
          : '';
  }
  return `${line}\n`;
}
