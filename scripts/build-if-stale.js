#!/usr/bin/env node
// `npm start` runs this first: it builds (`npm run build`: tsc, then the Lua scripts copied into
// dist/) only when dist/ is missing or older than a source, so starting an up-to-date gateway
// costs no compile. A fresh clone (no dist/) builds once.
//
// Stale means any of:
// - a .ts file of lib/ or example-gateway/ without its .js in dist/, or newer than it;
// - a .lua file of lib/stores/redis/lua/ without its copy in dist/, or newer than it;
// - tsconfig.json, tsconfig.build.json or package.json newer than the oldest of those outputs
//   (compiler settings or dependencies changed: everything may compile differently).
// A source deleted since the last build leaves its old .js in dist/, which nothing imports.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
const SOURCE_DIRS = ['lib', 'example-gateway'];
const SETTINGS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** Every file under `dir` whose name ends with one of `extensions` (none when `dir` is missing). */
function* filesUnder(dir, extensions) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path, extensions);
    else if (extensions.some((extension) => entry.name.endsWith(extension)) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Why `root`'s dist/ needs a build, or `undefined` when it is up to date.
 * @param {string} root the repository root
 * @returns {string | undefined}
 */
function staleReason(root = ROOT) {
  let oldestOutput = Infinity;
  for (const dir of SOURCE_DIRS) {
    for (const source of filesUnder(join(root, dir), ['.ts', '.lua'])) {
      const path = relative(root, source);
      const output = join(root, 'dist', path.endsWith('.ts') ? path.replace(/\.ts$/, '.js') : path);
      const builtAt = mtime(output);
      if (builtAt === undefined) return `${relative(root, output)} is missing`;
      if (mtime(source) > builtAt) return `${path} changed since the last build`;
      oldestOutput = Math.min(oldestOutput, builtAt);
    }
  }
  if (oldestOutput === Infinity) return 'nothing is built yet';
  for (const setting of SETTINGS) {
    const changedAt = mtime(join(root, setting));
    if (changedAt !== undefined && changedAt > oldestOutput) return `${setting} changed since the last build`;
  }
  return undefined;
}

function main() {
  const reason = staleReason();
  if (reason === undefined) return 0;
  process.stderr.write(`building the gateway (${reason})\n`);
  // The one definition of the build: the package's own `build` script, through the npm that
  // runs us (npm_execpath), or the npm on PATH when run by hand.
  const npm = process.env.npm_execpath;
  const result = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) {
    process.stderr.write(`the build could not run: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 1;
}

module.exports = { staleReason };

if (require.main === module) process.exitCode = main();
