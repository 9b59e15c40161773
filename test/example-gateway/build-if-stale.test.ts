import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { staleReason } from '../../scripts/build-if-stale';

// The start script's check, run on a throw-away tree (never the repository's own dist/).

describe('scripts/build-if-stale.js staleReason()', () => {
  let root: string;
  const at = (path: string, seconds: number) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    utimesSync(file, seconds, seconds);
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    at('package.json', 1000);
    at('tsconfig.json', 1000);
    at('lib/index.ts', 1000);
    at('lib/stores/redis/lua/issue-1.lua', 1000);
    at('example-gateway/server.ts', 1000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A build at `seconds`: every output written then. */
  const built = (seconds = 2000) => {
    at('dist/lib/index.js', seconds);
    at('dist/lib/stores/redis/lua/issue-1.lua', seconds);
    at('dist/example-gateway/server.js', seconds);
  };

  it('asks for a build when nothing is built yet (a fresh clone)', () => {
    expect(staleReason(root)).toBe('dist/lib/index.js is missing');
  });

  it('is satisfied by a build newer than every source and setting', () => {
    built();
    expect(staleReason(root)).toBeUndefined();
  });

  it('asks for a build when a source, a Lua script or a setting changed since', () => {
    built(2000);
    at('example-gateway/server.ts', 3000);
    expect(staleReason(root)).toBe('example-gateway/server.ts changed since the last build');
    built(4000);
    at('lib/stores/redis/lua/issue-1.lua', 5000);
    expect(staleReason(root)).toBe('lib/stores/redis/lua/issue-1.lua changed since the last build');
    built(6000);
    expect(staleReason(root)).toBeUndefined();
    at('package.json', 7000);
    expect(staleReason(root)).toBe('package.json changed since the last build');
  });

  it('asks for a build when a new source has no output yet', () => {
    built();
    at('lib/new-module.ts', 1500);
    expect(staleReason(root)).toBe('dist/lib/new-module.js is missing');
  });
});
