/**
 * The atomic steps of the stores: one Lua script each in Redis (`redis/lua/<file>`), one TS twin
 * each in memory (`memory/scripts.ts`), on the same keys and fields (`keys.ts`); and the one
 * step that needs no script, reading a session's fields (`fields`: `HMGET` in Redis, the
 * keyspace's `hmget` in memory).
 *
 * Replies are arrays of integers and strings. Negative first elements are the named statuses
 * below; `reply.ts` decodes every script's reply in one place for both stores.
 */
export const SCRIPTS = {
  issue: { file: 'issue-5.lua', keys: 5 },
  refresh: { file: 'refresh-5.lua', keys: 5 },
  revoke: { file: 'revoke-3.lua', keys: 3 },
  lookup: { file: 'lookup.lua', keys: undefined, readOnly: true },
  devices: { file: 'devices-3.lua', keys: 3 },
  sessions: { file: 'sessions-1.lua', keys: 1 },
  sessionEnd: { file: 'session-end-2.lua', keys: 2 },
  loginFailure: { file: 'login-failure-1.lua', keys: 1 },
  loginFailuresClear: { file: 'login-failures-clear-1.lua', keys: 1 },
} as const satisfies Record<string, { file: string; keys: number | undefined; readOnly?: boolean }>;

export type ScriptName = keyof typeof SCRIPTS;

/** A script's reply: Lua tables of integers and strings. */
export type Reply = readonly (string | number)[];

/** Runs a script by name, atomically, in one round trip; or one plain read. */
export interface ScriptRunner {
  run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply>;
  /** `HMGET key ...fields`: one command, no script (validating an access token). */
  fields(key: string, fields: readonly string[]): Promise<readonly (string | null)[]>;
}

/** The status each script answers with, as the first element of its reply. */
export const IssueStatus = { REUSED: 1, ISSUED: 0, LOCKED: -1, DEVICE_LIMIT: -2 } as const;
export const RefreshStatus = { CURRENT: 1, ROTATED: 0, INVALID: -1, REPLAYED: -2, INVALID_SCOPE: -4, TOO_LATE: -5 } as const;
export const RevokeStatus = { REVOKED: 1, UNKNOWN: 0, FOREIGN: -1 } as const;
export const LookupStatus = { NONE: 0 } as const;
export const DevicesStatus = { DONE: 1, INVALID_TOKEN: 0, NO_USER: -3, NOT_FOUND: -4 } as const;
