import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { readGatewayConfig, type GatewayConfig } from './config';
import { ConfigError } from './config-error';
import { readEnvironment, type GatewayEnvironment } from './environment';
import { readLogFormat } from './log-format';
import type { GatewayStore } from './store';

/** sysexits.h EX_CONFIG: the configuration is wrong, restarting will not help. */
export const EXIT_CONFIG_ERROR = 78;

/** A gateway that is listening. */
export interface RunningGateway {
  /** `http://localhost:8280`, `https://localhost:8243` (the ports actually bound). */
  readonly urls: { readonly http?: string; readonly https?: string };
  readonly logger: Logger;
  /** Writes out buffered log lines synchronously: call right before `process.exit()`. */
  flushLogsSync(): void;
  /**
   * Stops accepting connections, lets requests in flight finish (for up to `SHUTDOWN_TIMEOUT`),
   * then closes the store and writes out the buffered log lines. Resolves `true` when
   * everything finished in time.
   */
  shutdown(reason: string): Promise<boolean>;
}

// Longer than the idle timeout of common load balancers (60 s), so the balancer, not the
// gateway, closes idle keep-alive connections and never sends a request into a closing one.
const KEEP_ALIVE_TIMEOUT = 65_000;

function listen(server: Server, port: number, host: string | undefined, variable: string): Promise<number> {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT + 1000;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      // Told in the operator's terms: "cannot listen on PORT 8280: the port is in use".
      reject(new Error(`cannot listen on ${variable} ${port}${host ? ` (HOST ${host})` : ''}: ${reason}`));
    });
    server.listen({ port, host }, () => resolve((server.address() as AddressInfo).port));
  });
}

function urlOf(protocol: 'http' | 'https', host: string | undefined, port: number): string {
  const name = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${protocol}://${name}:${port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // close() ends idle keep-alive connections once; these end the ones that become idle later,
    // as their request in flight is answered.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.once('close', () => clearInterval(sweep));
  });
}

function warnAboutPlainPasswords(config: GatewayConfig, logger: Logger): void {
  const plain = (config.users ?? []).filter((user) => user.password !== undefined).map((user) => user.username);
  if (plain.length > 0) {
    logger.warn(
      { users: plain },
      'users with a plain-text password in the config: use passwordHash (npm run hash-password) outside of demos',
    );
  }
}

/**
 * Starts the gateway the environment describes: reads and checks the config, builds the store,
 * listens on HTTP and HTTPS. Everything is checked before anything is logged or opened, so a
 * wrong setting costs one {@link ConfigError} and nothing else.
 */
export async function startGateway(variables: Readonly<Record<string, string | undefined>> = process.env): Promise<RunningGateway> {
  const env: GatewayEnvironment = readEnvironment(variables);
  const logFormat = readLogFormat(variables, process.stdout.isTTY === true);
  const config = readGatewayConfig(env.configPath);
  // Loaded once the settings read so far are right: a wrong one is reported without waiting
  // for Express, pino, ioredis and the certificate generator to load.
  const [
    { loadTlsCredentials },
    { createLogger, flushLogs, flushLogsSync },
    { createGatewayStore },
    { createGateway },
    { serverClassesFor },
  ] = await Promise.all([import('./tls'), import('./logging'), import('./store'), import('./create-gateway'), import('../lib')]);
  const tls = env.httpsPort === 'off' ? undefined : await loadTlsCredentials(env);
  const logger = createLogger(env.logLevel, undefined, { format: logFormat, colors: process.stdout.isTTY === true });
  const randomSecret = env.tokenSecrets.length === 0;
  const secrets = randomSecret ? [randomBytes(32).toString('base64url')] : env.tokenSecrets;
  const gatewayStore: GatewayStore = createGatewayStore(env, secrets, logger);

  let draining = false;
  // Answers not yet sent. At shutdown they are told to close their connection, so a client does
  // not send its next request into a connection that is about to go.
  const inFlight = new Set<ServerResponse>();
  const track = (_req: unknown, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res)); // 'close' comes once: no once() wrapper per response
  };
  let app;
  try {
    app = createGateway({
      config,
      configFile: env.configPath,
      store: gatewayStore.store,
      storeKind: gatewayStore.kind,
      logger,
      trustProxy: env.trustProxy,
      isDraining: () => draining,
      ...(env.metrics ? {} : { metrics: false as const }),
    });
  } catch (error) {
    await gatewayStore.close();
    throw error;
  }

  logger.info({ config: env.configPath }, 'starting the example gateway');
  if (randomSecret) {
    logger.warn(
      env.redis
        ? 'TOKEN_SECRET is not set: using a random secret; tokens stop working when this process restarts and are not accepted by other instances sharing this Redis'
        : 'TOKEN_SECRET is not set: using a random secret; tokens stop working when this process restarts',
    );
  }
  warnAboutPlainPasswords(config, logger);
  await gatewayStore.connect();

  const servers: Server[] = [];
  const urls: { http?: string; https?: string } = {};
  try {
    if (env.httpPort !== 'off') {
      const server = createHttpServer(serverClassesFor(app), app).on('request', track);
      servers.push(server);
      urls.http = urlOf('http', env.host, await listen(server, env.httpPort, env.host, 'PORT'));
    }
    if (env.httpsPort !== 'off' && tls) {
      const server = createHttpsServer({ cert: tls.cert, key: tls.key, ...serverClassesFor(app) }, app).on('request', track);
      servers.push(server);
      urls.https = urlOf('https', env.host, await listen(server, env.httpsPort, env.host, 'HTTPS_PORT'));
      if (tls.source === 'self-signed') {
        logger.warn(
          'HTTPS uses a self-signed certificate made at start-up (clients need curl -k); set TLS_CERT and TLS_KEY for a real one',
        );
      }
    }
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    await gatewayStore.close();
    flushLogsSync(logger); // the start-up lines, before the failure line on stderr
    throw error;
  }
  logger.info({ urls, store: gatewayStore.kind }, `example gateway listening on ${Object.values(urls).join(' and ')}`);
  // Whoever waits for the gateway to come up (an operator, a supervisor, a test) sees it now.
  // Synchronously: main() installs its signal handlers in the same tick, before a signal sent
  // on reading this line can be handled.
  flushLogsSync(logger);

  let stopping: Promise<boolean> | undefined;
  return {
    urls,
    logger,
    flushLogsSync: () => flushLogsSync(logger),
    shutdown(reason) {
      stopping ??= (async () => {
        draining = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        logger.info({ reason }, 'shutting down: no new connections, finishing requests in flight');
        let inTime = true;
        const deadline = setTimeout(() => {
          inTime = false;
          logger.error({ timeoutMs: env.shutdownTimeout }, 'requests still in flight at SHUTDOWN_TIMEOUT: closing their connections');
          for (const server of servers) server.closeAllConnections();
        }, env.shutdownTimeout);
        await Promise.all(servers.map(closeServer));
        clearTimeout(deadline);
        await gatewayStore.close();
        logger.info('stopped');
        await flushLogs(logger);
        return inTime;
      })();
      return stopping;
    },
  };
}

/** The one line an operator sees for a start-up failure: no stack trace. */
function startupFailure(error: unknown): { line: string; code: number } {
  if (error instanceof ConfigError) return { line: error.describe(), code: EXIT_CONFIG_ERROR };
  return { line: `start-up error: ${error instanceof Error ? error.message : String(error)}`, code: 1 };
}

async function main(): Promise<void> {
  // Signals are handled from the first moment: one that arrives while the gateway is still
  // starting (a supervisor's quick restart, a test that stops it as soon as it says "listening")
  // stops it as soon as it is up, instead of killing it half-started.
  let gateway: RunningGateway | undefined;
  let stopWith: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (!gateway) {
      stopWith ??= signal;
      return;
    }
    const running = gateway;
    // A second Ctrl-C while draining: the operator wants out now.
    process.once(signal, () => {
      running.logger.warn({ signal }, 'second signal while shutting down: exiting now');
      running.flushLogsSync();
      process.exit(1);
    });
    void running.shutdown(signal).then((inTime) => process.exit(inTime ? 0 : 1));
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));
  try {
    gateway = await startGateway();
  } catch (error) {
    const { line, code } = startupFailure(error);
    process.stderr.write(`${line}\n`);
    process.exit(code);
  }
  const started = gateway;
  process.on('uncaughtException', (error) => {
    started.logger.fatal({ err: error }, 'uncaught exception');
    started.flushLogsSync();
    process.exit(1);
  });
  if (stopWith) stop(stopWith);
}

if (require.main === module) void main();
