// @ts-check
'use strict';

/**
 * Tests run against real Redis: `test/support/global-setup.ts` starts a private redis-server and a
 * private 3-node Redis Cluster on free ports (unless REDIS_URL / REDIS_CLUSTER_NODES are set) and
 * `test/support/global-teardown.ts` stops exactly what it started.
 *
 * ts-jest only transpiles (tsconfig.json has `isolatedModules: true`, which makes ts-jest 29.4 use
 * its fast transpile-only path); type-checking is `tsc --noEmit`, run by `npm test` before jest.
 *
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json', 'node'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/dist/', '<rootDir>/coverage/', '<rootDir>/.tmp/'],
  // Keep jest's module map (haste) away from build output and scratch copies of the package.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/coverage/', '<rootDir>/.tmp/'],
  watchPathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/coverage/', '<rootDir>/.tmp/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 20_000,
  maxWorkers: 2,
};
