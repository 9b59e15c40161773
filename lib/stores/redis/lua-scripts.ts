import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRIPTS, type ScriptName } from '../scripts';

/** A Lua script of the Redis store, its includes expanded. */
export interface LuaScript {
  /** The ioredis command name it is defined under. */
  readonly command: string;
  readonly lua: string;
  /** Fixed number of KEYS, or `undefined` when the caller passes it first. */
  readonly numberOfKeys: number | undefined;
  readonly readOnly: boolean;
}

const LUA_DIR = join(__dirname, 'lua');
const INCLUDE = /^--@include ([a-z0-9-]+)[ \t]*$/gm;

/**
 * Reads a script and expands every `--@include <name>` line (`<name>.include.lua`), includes of
 * includes too, each at most once per script.
 * @throws Error naming the chain for an include cycle or a missing file.
 */
export function loadLua(file: string, dir: string = LUA_DIR): string {
  const read = (name: string, chain: readonly string[]): string => {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      throw new Error(`Lua script ${[...chain, name].join(' -> ')}: file not found in ${dir}`);
    }
    return text.replace(INCLUDE, (_line, include: string) => {
      const target = `${include}.include.lua`;
      if (chain.includes(target) || target === name) {
        throw new Error(`Lua script ${[...chain, name, target].join(' -> ')}: include cycle`);
      }
      if (included.has(target)) return `-- (${target} already included)`;
      included.add(target);
      return read(target, [...chain, name]);
    });
  };
  const included = new Set<string>();
  return read(file, []);
}

const commandName = (name: string) => `oauthDevice${name[0]!.toUpperCase()}${name.slice(1)}`;

/** Every script, read and expanded once (at first use), by name. */
export const luaScripts: Readonly<Record<ScriptName, LuaScript>> = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, script]) => [
    name,
    {
      command: commandName(name),
      lua: loadLua(script.file),
      numberOfKeys: script.keys,
      readOnly: 'readOnly' in script && script.readOnly === true,
    },
  ]),
) as Record<ScriptName, LuaScript>;
