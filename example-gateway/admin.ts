/**
 * The operator's commands for device sessions, against the store the gateway is configured with
 * (the same environment variables: REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS,
 * REDIS_KEY_PREFIX, REDIS_USERNAME / REDIS_PASSWORD, TOKEN_SECRET…):
 *
 *   npm run --silent admin -- list alice [--client demo-app] [--json]
 *   npm run --silent admin -- end alice <session-id>
 *   npm run --silent admin -- end-user alice
 *   npm run --silent admin -- unlock alice
 *
 * Each command is one store call (one Redis round trip, bounded by the store's operation timeout).
 * Exit codes: 0 done; 1 nothing to do (no such session, no session to end); 2 usage error;
 * 69 (EX_UNAVAILABLE) the store did not answer; 78 (EX_CONFIG) a wrong setting, or no Redis
 * configured (the in-memory store lives inside the gateway process and cannot be reached).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { defaultLoginKey, StoreUnavailableError, type SessionInfo } from '../lib';
import { ConfigError } from './config-error';
import { readEnvironment } from './environment';
import type { GatewayStore } from './store';

/** sysexits.h codes, as `server.ts` uses EX_CONFIG. */
export const ADMIN_EXIT = { ok: 0, nothing: 1, usage: 2, unavailable: 69, config: 78 } as const;

export const ADMIN_USAGE = `usage: npm run --silent admin -- <command> [--json]

commands:
  list <username> [--client <client-id>]   the user's live device sessions, most recently used first
  end <username> <session-id>              end one session (its access and refresh token)
  end-user <username>                      end every session of the user, with every client
  unlock <username>                        forget the user's failed logins (lift a lockout)

options:
  --json        machine-readable output on stdout
  -h, --help    this text
  --            what follows is not an option (a username that begins with "-")

exit codes: 0 done, 1 nothing to do (no such session / none to end), 2 usage error,
69 the token store is unavailable, 78 configuration error (no Redis configured, bad variable)
`;

/** Where the commands write; `process.stdout`/`stderr` by default. */
export interface AdminOutput {
  out(text: string): void;
  err(text: string): void;
}

class UsageError extends Error {}

type Command =
  | { readonly name: 'list'; readonly username: string; readonly clientId: string | undefined }
  | { readonly name: 'end'; readonly username: string; readonly sessionId: string }
  | { readonly name: 'end-user'; readonly username: string }
  | { readonly name: 'unlock'; readonly username: string };

interface Invocation {
  readonly command: Command | 'help';
  readonly json: boolean;
}

/**
 * A session id is 16 base64url characters, so one in 32 begins with `-`: an argument of exactly
 * that shape is never an option (no option of this command has it), so `end alice -Qx…` works
 * as pasted from `list`. Such arguments go to `parseArgs` as placeholders and come back after.
 */
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{16}$/;

function parseCommand(argv: readonly string[]): Invocation {
  const dashed: string[] = [];
  const end = argv.indexOf('--');
  const args = argv.map((arg, index) => {
    if ((end !== -1 && index > end) || !arg.startsWith('-') || !SESSION_ID_SHAPE.test(arg)) return arg;
    dashed.push(arg);
    return `\0${dashed.length - 1}`;
  });
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean' }, client: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const positionals = parsed.positionals.map((arg) => (arg.startsWith('\0') ? dashed[Number(arg.slice(1))]! : arg));
  const json = values.json === true;
  if (values.help) return { command: 'help', json };
  const [name, ...rest] = positionals;
  const wants = (count: number, shape: string) => {
    if (rest.length !== count || rest.some((arg) => arg === '')) throw new UsageError(`${name} takes ${shape}`);
  };
  if (name !== 'list' && values.client !== undefined) throw new UsageError('--client goes with list only');
  switch (name) {
    case 'list':
      wants(1, '<username> [--client <client-id>]');
      if (values.client === '') throw new UsageError('--client needs a client id');
      return { command: { name, username: rest[0]!, clientId: values.client }, json };
    case 'end':
      wants(2, '<username> <session-id>');
      return { command: { name, username: rest[0]!, sessionId: rest[1]! }, json };
    case 'end-user':
    case 'unlock':
      wants(1, '<username>');
      return { command: { name, username: rest[0]! }, json };
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

/** NumericDate seconds as `2026-05-01 12:34:56Z` (UTC). */
function time(seconds: number): string {
  return new Date(seconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A plain-text table: a header row and left-aligned columns. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One session as `--json` prints it: the field names and NumericDate times of `GET /devices`. */
function sessionJson(session: SessionInfo) {
  return {
    id: session.id,
    client_id: session.clientId,
    username: session.username,
    device: session.device,
    scope: session.scopes.join(' '),
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
  };
}

async function execute(command: Command, gatewayStore: GatewayStore, json: boolean, io: AdminOutput): Promise<number> {
  const { store } = gatewayStore;
  const print = (value: unknown, text: string) => io.out(`${json ? JSON.stringify(value) : text}\n`);
  switch (command.name) {
    case 'list': {
      const sessions = await store.listSessions(command.username, command.clientId);
      const whose = `${command.username}${command.clientId === undefined ? '' : ` with ${command.clientId}`}`;
      print(
        { username: command.username, sessions: sessions.map(sessionJson) },
        sessions.length === 0
          ? `no live sessions of ${whose}`
          : table(
              ['SESSION', 'CLIENT', 'DEVICE', 'CREATED', 'LAST USED', 'EXPIRES', 'SCOPE'],
              sessions.map((s) => [
                s.id,
                s.clientId,
                s.device ?? '-',
                time(s.createdAt),
                time(s.lastUsedAt),
                time(s.expiresAt),
                s.scopes.join(' '),
              ]),
            ) + `\n${sessions.length} live session${sessions.length === 1 ? '' : 's'} of ${whose}`,
      );
      return ADMIN_EXIT.ok;
    }
    case 'end': {
      const ended = await store.endSession(command.username, command.sessionId);
      print(
        { username: command.username, id: command.sessionId, ended },
        ended
          ? `ended session ${command.sessionId} of ${command.username}`
          : `no live session ${command.sessionId} of ${command.username}: nothing ended`,
      );
      return ended ? ADMIN_EXIT.ok : ADMIN_EXIT.nothing;
    }
    case 'end-user': {
      const ended = await store.endUserSessions(command.username);
      print(
        { username: command.username, ended },
        ended === 0
          ? `${command.username} has no live sessions: nothing ended`
          : `ended ${ended} session${ended === 1 ? '' : 's'} of ${command.username}`,
      );
      return ended === 0 ? ADMIN_EXIT.nothing : ADMIN_EXIT.ok;
    }
    case 'unlock': {
      // The gateway counts failed logins under the router's default loginKey (its JSON config
      // cannot give another one).
      const loginKey = defaultLoginKey(command.username);
      await store.clearLoginFailures(loginKey);
      print(
        { username: command.username, login_key: loginKey, unlocked: true },
        `cleared the failed logins of ${command.username} (counted as "${loginKey}")`,
      );
      return ADMIN_EXIT.ok;
    }
  }
}

/**
 * Runs one admin command; resolves to the exit code.
 * @param argv the arguments after `admin.js`
 * @param variables the environment (the gateway's variables)
 */
export async function runAdmin(
  argv: readonly string[],
  variables: Readonly<Record<string, string | undefined>> = process.env,
  io: AdminOutput = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`admin: ${error.message}\n\n${ADMIN_USAGE}`);
    return ADMIN_EXIT.usage;
  }
  if (invocation.command === 'help') {
    io.out(ADMIN_USAGE);
    return ADMIN_EXIT.ok;
  }

  let env;
  try {
    env = readEnvironment(variables);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`admin: ${error.describe()}\n`);
    return ADMIN_EXIT.config;
  }
  if (!env.redis) {
    io.err(
      'admin: no Redis configured (set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS as for the gateway): ' +
        'a gateway on the in-memory store keeps its sessions inside its own process, where this command cannot see them\n',
    );
    return ADMIN_EXIT.config;
  }

  // The operator calls name sessions by user, never by token: the secret is not needed to find
  // them, so a random one does when TOKEN_SECRET is unset.
  const secrets = env.tokenSecrets.length > 0 ? env.tokenSecrets : [randomBytes(32).toString('base64url')];
  const { createGatewayStore } = await import('./store');
  const gatewayStore = createGatewayStore(env, secrets, pino({ level: 'silent' }));
  try {
    await gatewayStore.connect();
    return await execute(invocation.command, gatewayStore, invocation.json, io);
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      // The display form of the target has its password masked.
      io.err(`admin: the token store (Redis ${env.redis.display}) is unavailable: ${error.message}\n`);
      return ADMIN_EXIT.unavailable;
    }
    throw error;
  } finally {
    await gatewayStore.close();
  }
}

if (require.main === module) {
  runAdmin(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
