import { connect, type Socket } from 'node:net';
import { redisUrl, uniquePrefix } from '../support/redis';
import { DEMO_BASIC, DEMO, form } from './demo';
import { killAllGateways, startGateway, type ListeningGateway } from './gateway-process';
import { deleteGatewayKeys } from './redis-keys';

/**
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish, close the store, exit 0.
 * A request is kept in flight by sending its body in two halves around the signal.
 */

const prefix = uniquePrefix('acceptance-shutdown');
afterAll(async () => {
  killAllGateways();
  await deleteGatewayKeys(prefix);
});

/** A raw HTTP/1.1 request whose body is sent by `finish()`, and the answer as text. */
async function startSlowTokenRequest(url: string) {
  const { hostname, port } = new URL(url);
  const body = form({ grant_type: 'password', username: DEMO.alice.username, password: DEMO.alice.password, scope: 'device_iphone' });
  const socket: Socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(answer)));
  socket.write(
    `POST /token HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${DEMO_BASIC}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  return {
    finish: () => socket.write(body.slice(10)),
    answer: ended,
  };
}

function connectionRefused(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

const shuttingDown = (line: { msg?: string }) => /^shutting down/.test(line.msg ?? '');

describe.each([
  ['memory', () => ({})],
  ['redis', () => ({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix })],
] as const)('graceful shutdown (%s store)', (_name, env) => {
  let gateway: ListeningGateway;
  beforeEach(async () => {
    gateway = await startGateway({ ...env(), HTTPS_PORT: 'off' });
  });

  it('finishes a request in flight at SIGTERM, refuses new connections meanwhile, then exits 0', async () => {
    const slow = await startSlowTokenRequest(gateway.urls.http!);
    gateway.child.kill('SIGTERM');
    await gateway.waitForLog(shuttingDown);
    expect(await connectionRefused(gateway.urls.http!)).toBe(true);

    slow.finish();
    const answer = await slow.answer;
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain('"token_type":"Bearer"');
    expect(await gateway.waitForExit()).toEqual({ code: 0, signal: null });
    expect(gateway.logLines.at(-1)?.msg).toBe('stopped');
  });

  it('exits 0 on SIGINT without waiting for idle keep-alive connections', async () => {
    // An idle keep-alive connection, as a browser or a load balancer holds.
    const socket = connect(Number(new URL(gateway.urls.http!).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));

    const started = Date.now();
    expect(await gateway.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(2000);
    socket.destroy();
  });
});

describe('a request that never finishes', () => {
  it('is cut off after SHUTDOWN_TIMEOUT, and the exit code says so (1)', async () => {
    const gateway = await startGateway({ HTTPS_PORT: 'off', SHUTDOWN_TIMEOUT: '0.3' });
    const slow = await startSlowTokenRequest(gateway.urls.http!);
    const started = Date.now();
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 1, signal: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(gateway.logLines.some((line) => /still in flight at SHUTDOWN_TIMEOUT/.test(line.msg ?? ''))).toBe(true);
    await slow.answer; // the gateway closed the connection
  });
});
