'use strict';

// The bench's tables: one per path, with the targets of issue 8 marked PASS or MISS.

const os = require('node:os');

/**
 * Issue 8, item 8: per target and path, the least ratio to the floor and to the peer; and the
 * gateway's one Redis round trip per request on every path.
 */
const GOALS = {
  gateway: {
    reuse: { floor: 0.7, peer: 1.25 },
    issue: { floor: 0.65, peer: 1.25 },
    refresh: {},
    validate: { floor: 0.9, peer: 1.05 },
    introspect: { floor: 0.7 },
    revoke: { floor: 0.7 },
  },
  router: {
    reuse: { floor: 0.85 },
    issue: { floor: 0.75 },
    validate: { floor: 0.95 },
  },
};
const ROUND_TRIP_GOAL = { gateway: 1 };

async function machineInfo(redis) {
  const cpus = os.cpus();
  const server = await redis.info('server');
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
  };
}

const floorName = (path) => (path === 'validate' || path === 'devices' ? 'floor-validate' : 'floor-token');

/** The rows of `results` with their ratios and goal checks. */
function withRatios(results) {
  return results.map((row) => {
    const floor = results.find((other) => other.path === row.path && other.kind === 'floor');
    const peer = results.find((other) => other.path === row.path && other.kind === 'peer');
    const ratioToFloor = floor ? row.reqPerSec / floor.reqPerSec : undefined;
    const ratioToPeer = peer ? row.reqPerSec / peer.reqPerSec : undefined;
    const checks = [];
    const goal = GOALS[row.target]?.[row.path] ?? {};
    if (goal.floor !== undefined && ratioToFloor !== undefined) {
      checks.push({ goal: `≥ ${goal.floor.toFixed(2)}× floor`, pass: ratioToFloor >= goal.floor });
    }
    if (goal.peer !== undefined && ratioToPeer !== undefined) {
      checks.push({ goal: `≥ ${goal.peer.toFixed(2)}× peer`, pass: ratioToPeer >= goal.peer });
    }
    const rt = ROUND_TRIP_GOAL[row.target];
    if (rt !== undefined) checks.push({ goal: `${rt} round trip`, pass: Math.abs(row.roundTripsPerRequest - rt) < 1e-9 });
    return { ...row, label: row.kind === 'floor' ? floorName(row.path) : row.target, ratioToFloor, ratioToPeer, checks };
  });
}

const fixed = (value, digits) => (value === undefined ? 'n/a' : value.toFixed(digits));

function table(header, lines) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...lines.map((line) => `| ${line.join(' | ')} |`),
  ].join('\n');
}

function renderMarkdown(report) {
  const rows = withRatios(report.results);
  const { machine, settings } = report;
  const parts = [
    `Run of ${report.date.slice(0, 10)} (${report.elapsedSeconds} s): ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ` +
      `${machine.os}; Node ${machine.node}, Redis ${machine.redis}. Servers pinned to CPU 0, autocannon and Redis to CPU 1; ` +
      `${settings.connections} connections, ${settings.rounds} rounds of ${settings.durationSeconds} s per target and path ` +
      `(+${settings.warmupSeconds} s warm-up), interleaved; req/s, p50, p99 = medians of the rounds; round trips and commands ` +
      `from a MONITOR probe of ${settings.probeRequests} sequential requests.`,
  ];
  for (const path of report.paths) {
    const pathRows = rows.filter((row) => row.path === path.name);
    if (pathRows.length === 0) continue;
    const lines = pathRows.map((row) => [
      row.label,
      row.reqPerSec.toFixed(0),
      fixed(row.ratioToFloor, 2),
      fixed(row.ratioToPeer, 2),
      row.p50Ms.toFixed(1),
      row.p99Ms.toFixed(1),
      row.roundTripsPerRequest.toFixed(2),
      row.commandsPerRequest.toFixed(2),
      row.cpuMicrosPerRequest.toFixed(0),
      row.checks.length === 0 ? '' : row.checks.map((check) => `${check.pass ? 'PASS' : 'MISS'} ${check.goal}`).join('; '),
    ]);
    const missing = ['gateway', 'router', 'floor', 'peer'].filter((kind) => !pathRows.some((row) => row.target === kind));
    parts.push(
      `### ${path.name}: ${path.what}\n\n` +
        table(
          ['target', 'req/s', '× floor', '× peer', 'p50 ms', 'p99 ms', 'round trips/req', 'commands/req', 'CPU µs/req', 'issue 8 targets'],
          lines,
        ) +
        (missing.length > 0 ? `\n\nn/a: ${missing.join(', ')} (the peer has no RFC 7662 introspection).` : ''),
    );
  }
  // Issue 11: what /metrics costs, as the gateway's ratio with it minus the same gateway's without it.
  const metricsCost = rows
    .filter((row) => row.target === 'gateway-no-metrics' && row.ratioToFloor !== undefined)
    .map((bare) => {
      const full = rows.find((row) => row.target === 'gateway' && row.path === bare.path);
      return full?.ratioToFloor === undefined ? undefined : `${bare.path} ${(bare.ratioToFloor - full.ratioToFloor).toFixed(2)}`;
    })
    .filter(Boolean);
  if (metricsCost.length > 0) {
    parts.push(
      `Cost of \`/metrics\` (ratio to the floor without it minus with it; issue 11 asks at most 0.02; this machine's noise between ` +
        `rounds is larger): ${metricsCost.join(', ')}.`,
    );
  }
  parts.push(
    'Notes: the peer (@node-oauth/oauth2-server 5, ioredis model) has no token reuse, so its `reuse` answers are new tokens ' +
      '(it does what its `issue` does); its `/revoke` is a hand-written route (client check, HGET, DEL). ' +
      "CPU µs/req is the server process's utime+stime over the measured rounds (clock-tick resolution).",
  );
  if (!report.ok) parts.push('**Some answers were wrong: see `problems` in latest.json.**');
  return `${parts.join('\n\n')}\n`;
}

module.exports = { GOALS, machineInfo, renderMarkdown, withRatios };
