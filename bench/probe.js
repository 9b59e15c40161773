'use strict';

// Redis cost of one request, measured off load: a MONITOR connection watches the private Redis
// while `count` requests of one path go to one target one after the other.
//   round trips/request: commands the target's clients sent (a command run by a Lua script shows
//     as `[0 lua]` and is not one; MULTI … EXEC counts once), between two ECHO markers sent on
//     the bench's own connection, whose commands are not counted;
//   commands/request: the `INFO commandstats` delta over the same window (script-run commands
//     included), less the bench's own ECHO and INFO.

const { randomBytes } = require('node:crypto');

const OWN_COMMANDS = new Set(['echo', 'info', 'monitor']);

/** Total calls per command from `INFO commandstats`. */
async function commandCalls(redis) {
  const calls = new Map();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  return calls;
}

/**
 * Runs `send()` `count` times in a row under MONITOR; resolves to `{ roundTrips, commands }`
 * per request. `admin` and `monitorClient` are two spare connections to the same Redis.
 */
async function probeRedis({ admin, monitorClient, count, send }) {
  const id = randomBytes(6).toString('hex');
  const start = `bench-start-${id}`;
  const end = `bench-end-${id}`;
  const monitor = await monitorClient.monitor();
  let counting = false;
  let ownSource;
  let roundTrips = 0;
  const inMulti = new Set();
  let sawEnd;
  const ended = new Promise((resolve) => {
    sawEnd = resolve;
  });
  monitor.on('monitor', (_time, args, source) => {
    const command = String(args[0]).toLowerCase();
    if (!counting) {
      if (command === 'echo' && args[1] === start) {
        counting = true;
        ownSource = source;
      }
      return;
    }
    if (source === ownSource) {
      if (command === 'echo' && args[1] === end) sawEnd();
      return;
    }
    if (source === 'lua' || /\blua\b/.test(String(source))) return;
    if (inMulti.has(source)) {
      if (command === 'exec' || command === 'discard') inMulti.delete(source);
      return;
    }
    if (command === 'multi') inMulti.add(source);
    roundTrips++;
  });
  try {
    const before = await commandCalls(admin);
    await admin.echo(start);
    for (let i = 0; i < count; i++) await send(i);
    await admin.echo(end);
    const timer = setTimeout(() => sawEnd(), 5000);
    await ended;
    clearTimeout(timer);
    const after = await commandCalls(admin);
    let commands = 0;
    for (const [name, calls] of after) if (!OWN_COMMANDS.has(name)) commands += calls - (before.get(name) ?? 0);
    return { roundTrips: roundTrips / count, commands: commands / count };
  } finally {
    monitor.disconnect();
  }
}

module.exports = { probeRedis };
