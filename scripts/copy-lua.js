// Copies the Redis store's Lua scripts next to the compiled JavaScript that reads them.
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
cpSync(join(root, 'lib/stores/redis/lua'), join(root, 'dist/lib/stores/redis/lua'), { recursive: true });
