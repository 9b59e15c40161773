import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Lua scripts of the Redis store, read once from `lua/` beside this module. */
export interface LuaScript {
  /** The ioredis command name it is defined under. */
  readonly command: string;
  readonly lua: string;
  /** Fixed number of KEYS, or `undefined` when the caller passes it first. */
  readonly numberOfKeys?: number;
}

const LUA_DIR = join(__dirname, 'lua');
const INCLUDE = /^--@include ([a-z-]+)$/m;

function load(file: string): string {
  return readFileSync(join(LUA_DIR, file), 'utf8').replace(INCLUDE, (_line, name: string) =>
    readFileSync(join(LUA_DIR, `${name}.include.lua`), 'utf8'),
  );
}

/** `<name>-<numKeys>.lua` has a fixed number of KEYS; `<name>.lua` a variable one. */
function script(command: string, file: string): LuaScript {
  const fixed = /-(\d+)\.lua$/.exec(file);
  return fixed ? { command, lua: load(file), numberOfKeys: Number(fixed[1]) } : { command, lua: load(file) };
}

export const scripts = {
  issue: script('oauthDeviceIssue', 'issue-1.lua'),
  refresh: script('oauthDeviceRefresh', 'refresh.lua'),
  revoke: script('oauthDeviceRevoke', 'revoke.lua'),
  lookup: script('oauthDeviceLookup', 'lookup.lua'),
} as const;
