#!/usr/bin/env node
// `prepare`: builds the package's dist/lib when it is missing. npm runs `prepare` (not `prepack`)
// on `npm install` in a clone and when it installs this package from a git URL
// (`npm install github:owner/repo`, `git+https://…`, `git+file://…`): it clones the repository,
// installs its devDependencies, runs `prepare`, then packs the result. Without it such an install
// would have no dist/ at all. An existing dist/lib is left alone (a clone that already built, or
// `npm pack`, whose `prepack` has just built it); `npm pack` and `npm publish` always rebuild.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
if (existsSync(join(ROOT, 'dist', 'lib', 'index.js'))) process.exit(0);
// The same build as `prepack` (no source maps: the package does not ship them).
const npm = process.env.npm_execpath;
const result = npm
  ? spawnSync(process.execPath, [npm, 'run', '--silent', 'prepack'], { cwd: ROOT, stdio: 'inherit' })
  : spawnSync('npm', ['run', '--silent', 'prepack'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
