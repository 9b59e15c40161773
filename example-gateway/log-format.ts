import { ConfigError } from './config-error';

export const LOG_FORMATS = ['json', 'pretty'] as const;
/** `json`: one JSON object a line (log collectors); `pretty`: one readable line (a person at a terminal). */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The log format from `LOG_FORMAT`: `json` or `pretty`; when unset, `pretty` on a terminal and
 * `json` otherwise (a pipe, a file, a container's log driver).
 * @throws ConfigError naming `LOG_FORMAT` for any other value.
 */
export function readLogFormat(env: Readonly<Record<string, string | undefined>>, stdoutIsTerminal: boolean): LogFormat {
  const value = env.LOG_FORMAT?.trim().toLowerCase();
  if (value === undefined || value === '') return stdoutIsTerminal ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigError(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got "${env.LOG_FORMAT!.trim()}")`);
  }
  return value as LogFormat;
}
